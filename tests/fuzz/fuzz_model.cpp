// libFuzzer target: load() of a .npz model file (the zip reader, the
// architecture JSON, every tensor's .npy) on arbitrary bytes, into a small
// network with batch_norm. Every input must load or give a data_error;
// anything else is a bug.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include <strata/model/model_file.hpp>
#include <strata/strata.hpp>

#include "fuzz_file.hpp"

namespace {
using net_t = strata::sequential<strata::input<4, 4, 1>, strata::conv2d<2, 3, strata::relu>,
                                 strata::batch_norm, strata::flatten, strata::dense<3>>;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const strata::fuzzing::scratch_file file("model");
    static net_t net;
    file.write(data, size);
    try {
        strata::load(net, file.path);
        for (float v : net.parameters())
            if (!std::isfinite(v)) __builtin_trap();  // the default refuses non-finite values
    } catch (const strata::data_error&) {
    }
    return 0;
}
