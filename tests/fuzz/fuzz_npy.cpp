// libFuzzer target: the .npy reader behind load_weights, on arbitrary bytes,
// for a tensor of shape (2, 3) as a layer would ask. Every input must load or
// give a data_error; anything else is a bug.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include <strata/data/npy.hpp>

#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const strata::fuzzing::scratch_file file("npy");
    file.write(data, size);
    float values[6];
    try {
        strata::detail::load_tensor(file.path, "fuzz", {2, 3}, values);
        for (float v : values)
            if (!std::isfinite(v)) __builtin_trap();  // the default refuses non-finite values
    } catch (const strata::data_error&) {
    }
    try {
        std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
        strata::detail::read_npy_header(in, "fuzz: ");
    } catch (const strata::data_error&) {
    }
    return 0;
}
