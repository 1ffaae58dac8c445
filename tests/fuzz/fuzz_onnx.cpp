// libFuzzer target for the ONNX reader (strata::onnx): any bytes either load
// into the networks below, or are a data_error; describe (strata-onnx) reads
// whatever decodes. Anything else (a crash, another exception, a sanitizer
// report) is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <strata/onnx/import.hpp>
#include <strata/strata.hpp>

#include "fuzz_file.hpp"

namespace st = strata;

// Small, so each input runs fast: a chain as PyTorch exports one (Flatten
// straight after NCHW features), and the composites and remaining layers.
using chain_net =
    st::sequential<st::input<8, 8, 1>, st::conv2d<4, 3, st::relu>, st::batch_norm, st::max_pool<2>,
                   st::flatten, st::dense<6, st::relu>, st::dropout<0.5>, st::dense<3, st::softmax>>;
using composite_net = st::sequential<
    st::input<8, 8, 2>, st::zero_padding<2>, st::conv2d<4, 3, st::leaky_relu, st::stride<2>, st::same>,
    st::residual<st::conv2d<4, 3, st::same>, st::batch_norm, st::relu, st::depthwise_conv2d<3, 1, st::same>>,
    st::skip_concat<st::avg_pool<2>, st::conv2d_transpose<3, 2, st::elu, st::stride<2>>>,
    st::concat<st::upsample<2>, st::upsample<2, st::bilinear>>, st::global_max_pool, st::dense<2, st::tanh>>;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const strata::fuzzing::scratch_file file("onnx");
    file.write(data, size);
    static chain_net chain{st::seed{1}};
    static composite_net composite{st::seed{1}};
    try {
        st::load_onnx(file.path, chain);
    } catch (const st::data_error& e) {
        if (std::string_view(e.what()).find(file.path.string()) == std::string_view::npos) __builtin_trap();
    }
    try {
        st::load_onnx(file.path, composite);
    } catch (const st::data_error&) {
    }
    try {
        const auto m =
            st::onnx::decode(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz: ");
        const auto d = st::onnx::describe(m);
        if (d.type.empty() == d.unsupported.empty()) __builtin_trap();  // one or the other
    } catch (const st::data_error&) {
    }
    return 0;
}
