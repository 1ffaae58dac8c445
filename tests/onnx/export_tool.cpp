// The strata side of the strata -> ONNX conformance test (export_check.py is
// the other side): builds each network with random weights, random biases and
// batch_norm statistics, writes DIR/<name>.onnx, a random NCHW input batch
// and strata's outputs for it (NCHW for images) as .npy.
//   onnx_export_tool DIR
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <strata/onnx/export.hpp>
#include <strata/strata.hpp>

#include "chain_zoo.hpp"

namespace st = strata;
namespace fs = std::filesystem;

namespace {

using reference_net = st::models::fashion_mnist_cnn;
using bn_net = st::models::fashion_mnist_cnn_bn;
using resnet_net = st::models::resnet<8, st::input<28, 28, 1>, 10>;
template <std::size_t F>
using double_conv = st::chain<st::conv2d<F, 3, st::relu, st::same>, st::batch_norm,
                              st::conv2d<F, 3, st::relu, st::same>, st::batch_norm>;
// examples/segmentation's U-Net, smaller, with a transposed convolution as one of its up-steps.
using unet_net =
    st::sequential<st::input<32, 32, 1>, double_conv<8>,
                   st::skip_concat<st::max_pool<2>, double_conv<16>,
                                   st::skip_concat<st::max_pool<2>, double_conv<32>, st::upsample<2>>,
                                   double_conv<16>, st::conv2d_transpose<16, 2, st::stride<2>>>,
                   double_conv<8>, st::conv2d<5, 1>, st::softmax>;
// Every other layer and option strata has.
using zoo_net = st::sequential<
    st::input<17, 17, 3>, st::zero_padding<1>, st::conv2d<8, 3, st::leaky_relu, st::stride<2>, st::same>,
    st::depthwise_conv2d<3, 2, st::elu, st::same>, st::conv2d<8, 1, st::tanh, st::no_bias>,
    st::concat<st::avg_pool<2, 1>,
               st::chain<st::max_pool<3, 1>, st::zero_padding<1>, st::conv2d<4, 2, st::sigmoid>>>,
    st::conv2d_transpose<6, 3, st::relu, st::stride<2>, st::same>, st::upsample<2, st::bilinear>,
    st::conv2d_transpose<4, 2, st::same>, st::max_pool<2>,
    st::residual<st::conv2d<4, 3, st::same>, st::batch_norm, st::relu, st::conv2d<4, 3, st::same>>,
    st::concat<st::global_avg_pool, st::global_max_pool>, st::batch_norm, st::dense<16, st::elu>,
    st::dropout<0.2>, st::dense<5, st::softmax>>;
using onnx_test::chain_zoo_net;  // the layers and options strata-onnx prints

// Random values for every tensor: weights keep their initialization, biases,
// gamma and beta get noise, moving variances stay positive.
template <class Net>
void randomize(Net& net, st::rng& r) {
    st::for_each_tensor(net, [&](const st::layer_path&, const auto& t) {
        const std::string_view name = t.name;
        for (std::size_t k = 0; k < t.count; ++k) {
            const float u = float(r.uniform());
            if (name == "bias" || name == "beta" || name == "moving_mean")
                t.data[k] = u - 0.5f;
            else if (name == "gamma" || name == "moving_variance")
                t.data[k] = 0.5f + u;
        }
    });
}

template <class Net>
void write_case(const fs::path& dir, const std::string& name, std::uint64_t seed) {
    Net net{st::seed{seed}};
    st::rng r(seed + 1);
    randomize(net, r);
    using In = typename Net::in_shape;
    using Out = typename Net::out_shape;
    constexpr std::size_t n = 3;
    xt::xtensor<float, 2> x = xt::zeros<float>({n, In::size});
    for (auto& v : x) v = float(r.uniform());
    const xt::xtensor<float, 2> y = st::predict(net, x);
    // strata's NHWC to the graph's NCHW
    auto nchw = [&](const float* src, auto shape, std::vector<std::size_t>& dims) {
        std::vector<float> out(n * shape.size);
        if constexpr (shape.rank == 3) {
            constexpr std::size_t h = shape.dims[0], w = shape.dims[1], c = shape.dims[2];
            dims = {n, c, h, w};
            for (std::size_t s = 0; s < n; ++s)
                for (std::size_t i = 0; i < h * w; ++i)
                    for (std::size_t k = 0; k < c; ++k)
                        out[(s * c + k) * h * w + i] = src[(s * h * w + i) * c + k];
        } else {
            dims = {n, shape.size};
            std::copy_n(src, out.size(), out.begin());
        }
        return out;
    };
    std::vector<std::size_t> in_dims, out_dims;
    const auto in_values = nchw(x.data(), In{}, in_dims);
    const auto out_values = nchw(y.data(), Out{}, out_dims);
    st::detail::save_tensor(dir / (name + ".input.npy"), in_values.data(), in_dims);
    st::detail::save_tensor(dir / (name + ".output.npy"), out_values.data(), out_dims);
    st::save_onnx(net, dir / (name + ".onnx"));
    std::printf("%s: %zu nodes, %zu parameters\n", name.c_str(), st::to_onnx(net).nodes.size(),
                net.parameters().size());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: onnx_export_tool DIR\n";
        return 2;
    }
    try {
        const fs::path dir = argv[1];
        fs::create_directories(dir);
        write_case<reference_net>(dir, "reference", 1);
        write_case<bn_net>(dir, "bn", 2);
        write_case<resnet_net>(dir, "resnet8", 3);
        write_case<unet_net>(dir, "unet", 4);
        write_case<zoo_net>(dir, "zoo", 5);
        write_case<chain_zoo_net>(dir, "chain_zoo", 6);
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "onnx_export_tool: " << e.what() << "\n";
        return 1;
    }
}
