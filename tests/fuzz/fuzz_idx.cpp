// libFuzzer target: read_idx on arbitrary bytes, raw or gzipped. Every input
// must give an idx_array or a data_error; anything else (a crash, a sanitizer
// report, another exception) is a bug.
#include <unistd.h>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include <strata/data/idx.hpp>

#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const strata::fuzzing::scratch_file file("idx");
    file.write(data, size);
    try {
        const auto a = strata::data::read_idx(file.path);
        std::size_t total = 1;
        for (auto d : a.dims) total *= d;
        if (total != a.data.size()) __builtin_trap();  // dims must describe the data
    } catch (const strata::data_error&) {
    }
    return 0;
}
