// Networks with composites: summary counts against PyTorch's, weight files
// named by path, save/load round trips, penalties on nested kernels, and
// visit_layers reaching every layer.
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <strata/strata.hpp>
#include <xtensor/xadapt.hpp>

namespace st = strata;
namespace fs = std::filesystem;

using resnet8 = st::models::resnet<8, st::input<28, 28, 1>, 10>;

TEST_CASE("summary of a ResNet-20 lists nested layers with PyTorch's parameter counts") {
    // benchmarks/resnet_pytorch.py's ResNet(20): sum(p.numel() for p in parameters()) is 272,186 and its
    // batch norms hold 1,568 running statistics; Keras counts both, as strata's Total.
    using resnet20 = st::models::resnet<20, st::input<28, 28, 1>, 10>;
    static_assert(resnet20::param_count == 272186);
    static_assert(resnet20::state_count == 1568);
    resnet20 net;
    const auto s = st::summary(net);
    CHECK(s.total_params == 273754);
    // conv, batch_norm, relu, then stage 1: a chain of residual, relu, ... with the block's layers inside.
    REQUIRE(s.rows.size() > 12);
    CHECK(s.rows[3].layer == "chain");
    CHECK(s.rows[3].params == 3 * 4736);
    CHECK(s.rows[4].layer == "residual");
    CHECK(s.rows[4].depth == 1);
    CHECK(s.rows[4].params == 2 * 2304 + 2 * 64);
    CHECK(s.rows[5].layer == "conv2d");
    CHECK(s.rows[5].depth == 2);
    CHECK(s.rows[5].params == 2304);
    std::size_t top = 0;
    for (const auto& r : s.rows) top += r.depth == 0 ? r.params : 0;
    CHECK(top == 273754);
    std::ostringstream out;
    out << s;
    CHECK(out.str().find("\n  residual_0 ") != std::string::npos);
    CHECK(out.str().find("\n    shortcut_5 ") != std::string::npos);
    CHECK(out.str().find("Total params: 273,754") != std::string::npos);
}

TEST_CASE("weights of nested layers are saved under their paths and load back in both layouts") {
    resnet8 net{st::seed{4}};
    // Moving statistics away from 0 and 1, so the state round trip is seen.
    st::for_each_tensor(net, [](const st::layer_path&, const auto& t) {
        if (!t.trainable)
            for (std::size_t i = 0; i < t.count; ++i) t.data[i] = 0.25f + 0.001f * float(i % 97);
    });
    for (auto layout : {st::weight_layout::strata, st::weight_layout::pytorch}) {
        const fs::path dir = fs::temp_directory_path() /
                             (layout == st::weight_layout::pytorch ? "strata_nested_pt" : "strata_nested_st");
        fs::remove_all(dir);
        st::save_weights(net, dir, layout);
        const bool pt = layout == st::weight_layout::pytorch;
        CHECK(fs::exists(dir / "3_chain.0_residual.0_conv2d.weight.npy"));
        CHECK(fs::exists(dir / (std::string("4_chain.0_residual.5_shortcut.1_batch_norm.") +
                                (pt ? "running_var" : "moving_variance") + ".npy")));
        std::size_t files = 0;
        for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++files;
        CHECK(files == 1 + 4 + 3 * (2 + 8) + 2 * (1 + 4) + 2);  // conv, bn; blocks; shortcuts; dense

        resnet8 other{st::seed{5}};
        st::load_weights(other, dir, layout);
        CHECK(std::equal(net.parameters().begin(), net.parameters().end(), other.parameters().begin()));
        CHECK(std::equal(net.state().begin(), net.state().end(), other.state().begin()));
        fs::remove_all(dir);
    }
}

TEST_CASE("weight penalties reach kernels inside composites") {
    // A hand-written residual block used to lose the penalty of its inner kernels.
    using net_t =
        st::sequential<st::input<4, 4, 2>, st::conv2d<2, 3, st::same>,
                       st::residual<st::conv2d<2, 3, st::same>, st::relu,
                                    st::conv2d<2, 3, st::same, st::kernel_regularizer<st::regularize::l1>>>,
                       st::flatten, st::dense<3>>;
    net_t net{st::seed{6}};
    auto& block = net.layer<1>().block;
    std::get<2>(block.layers).kernel_penalty = st::regularize::l1{0.5};
    double inner_l1 = 0, kernels_l2 = 0;
    auto squares = [](const float* w, std::size_t n) {
        double s = 0;
        for (std::size_t i = 0; i < n; ++i) s += double(w[i]) * w[i];
        return s;
    };
    const auto& inner = std::get<2>(block.layers);
    for (std::size_t i = 0; i < 36; ++i) inner_l1 += std::abs(inner.weights()[i]);
    kernels_l2 = squares(net.layer<0>().weights(), 36) + squares(std::get<0>(block.layers).weights(), 36) +
                 squares(inner.weights(), 36) + squares(net.layer<3>().weights(), 96);
    CHECK(st::detail::apply_weight_penalties(net, std::span<float>(), {}) ==
          doctest::Approx(0.5 * inner_l1).epsilon(1e-6));
    const auto global = st::detail::erase_penalty<st::regularize::l2, float>(st::regularize::l2{0.1});
    CHECK(st::detail::apply_weight_penalties(net, std::span<float>(), global) ==
          doctest::Approx(0.5 * inner_l1 + 0.1 * kernels_l2).epsilon(1e-6));
}

TEST_CASE("visit_layers reaches every layer, composites before their children") {
    resnet8 net;
    std::vector<std::string> paths;
    std::size_t batch_norms = 0;
    st::visit_layers(net, [&](const st::layer_path& path, auto& layer) {
        paths.push_back(path.to_string());
        if constexpr (requires { layer.set_momentum(0.9); }) {
            layer.set_momentum(0.9);
            ++batch_norms;
        }
    });
    CHECK(batch_norms == 1 + 3 * 2 + 2);
    CHECK(paths[3] == "3_chain");
    CHECK(paths[4] == "3_chain.0_residual");
    CHECK(paths[5] == "3_chain.0_residual.0_conv2d");
    CHECK(std::get<1>(net.layer<1 + 3>().list.layers).name == "relu");
}

TEST_CASE("the README's composition examples build and run") {
    using basic_block =
        st::residual<st::conv2d<32, 3, st::same, st::stride<2>, st::no_bias>, st::batch_norm, st::relu,
                     st::conv2d<32, 3, st::same, st::no_bias>, st::batch_norm,
                     st::shortcut<st::conv2d<32, 1, st::stride<2>, st::no_bias>, st::batch_norm>>;
    using inception =
        st::concat<st::conv2d<16, 1, st::relu>,
                   st::chain<st::conv2d<16, 1, st::relu>, st::conv2d<16, 3, st::relu, st::same>>,
                   st::chain<st::max_pool<3, 1>, st::zero_padding<1>, st::conv2d<16, 1, st::relu>>>;
    using unet =
        st::sequential<st::input<64, 64, 1>, st::conv2d<16, 3, st::relu, st::same>,
                       st::skip_concat<st::max_pool<2>, st::conv2d<32, 3, st::relu, st::same>,
                                       st::skip_concat<st::max_pool<2>, st::conv2d<64, 3, st::relu, st::same>,
                                                       st::conv2d_transpose<32, 2, st::stride<2>>>,
                                       st::conv2d<32, 3, st::relu, st::same>, st::upsample<2, st::bilinear>>,
                       st::conv2d<16, 3, st::relu, st::same>, st::conv2d<11, 1>>;
    static_assert(std::is_same_v<unet::out_shape, st::shape<64, 64, 11>>);
    static_assert(std::is_same_v<unet::layer_type<1>::out_shape, st::shape<64, 64, 48>>);
    using blocks = st::sequential<st::input<16, 16, 8>, basic_block, st::relu, inception, st::global_avg_pool,
                                  st::dense<3>>;
    static_assert(std::is_same_v<blocks::layer_type<2>::out_shape, st::shape<8, 8, 48>>);
    blocks net{st::seed{1}};
    std::vector<float> x(2 * 16 * 16 * 8, 0.25f);
    const auto y = st::predict(net, xt::adapt(x, std::vector<std::size_t>{2, 16, 16, 8}));
    CHECK(y.shape()[1] == 3);
    unet u{st::seed{2}};
    std::vector<float> image(64 * 64, 0.5f);
    const auto masks = st::predict(u, xt::adapt(image, std::vector<std::size_t>{1, 64, 64, 1}));
    CHECK(masks.shape()[1] == 64 * 64 * 11);
}

TEST_CASE_TEMPLATE("every new layer and composite saves and loads back in both layouts", T, float, double) {
    using net_t = st::basic_sequential<
        T, st::input<8, 8, 2>, st::depthwise_conv2d<3, 2, st::relu, st::same>,
        st::concat<st::conv2d<3, 1>, st::chain<st::conv2d<2, 3, st::same>, st::batch_norm>>,
        st::skip_concat<st::max_pool<2>, st::conv2d<4, 3, st::same>,
                        st::conv2d_transpose<3, 2, st::stride<2>>>,
        st::residual<st::conv2d<8, 3, st::same>, st::batch_norm>, st::global_max_pool, st::dense<2>>;
    net_t net{st::seed{8}};
    // Moving statistics away from 0 and 1 (the padding between slices stays 0, as it is never saved).
    st::for_each_tensor(net, [](const st::layer_path&, const auto& t) {
        if (!t.trainable)
            for (std::size_t i = 0; i < t.count; ++i) t.data[i] = T(0.5) + T(0.01) * T(i % 13);
    });
    for (auto layout : {st::weight_layout::strata, st::weight_layout::pytorch}) {
        const fs::path dir = fs::temp_directory_path() / ("strata_new_layers_" + std::to_string(sizeof(T)) +
                                                          "_" + std::to_string(static_cast<int>(layout)));
        fs::remove_all(dir);
        st::save_weights(net, dir, layout);
        CHECK(fs::exists(dir / "0_depthwise_conv2d.weight.npy"));
        CHECK(fs::exists(dir / "1_concat.1_chain.1_batch_norm.gamma.npy") !=
              (layout == st::weight_layout::pytorch));
        CHECK(fs::exists(dir / "2_skip_concat.2_conv2d_transpose.weight.npy"));
        net_t other{st::seed{9}};
        st::load_weights(other, dir, layout);
        CHECK(std::equal(net.parameters().begin(), net.parameters().end(), other.parameters().begin()));
        CHECK(std::equal(net.state().begin(), net.state().end(), other.state().begin()));
        fs::remove_all(dir);
    }
}
