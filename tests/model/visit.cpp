#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <strata/strata.hpp>

namespace st = strata;

TEST_CASE("for_each_tensor shows every tensor once, with its path, layout and place in the buffers") {
    using net_t =
        st::sequential<st::input<8, 8, 2>, st::conv2d<4, 3, st::relu>, st::batch_norm, st::max_pool<2>,
                       st::flatten, st::dense<5, st::identity, st::no_bias>, st::dense<3>>;
    net_t net{st::seed{1}};
    std::vector<std::string> seen;
    std::size_t trainable = 0, state = 0;
    st::for_each_tensor(net, [&](const st::layer_path& path, const auto& t) {
        std::string dims;
        for (std::size_t a = 0; a < t.rank; ++a) dims += (a ? "x" : "") + std::to_string(t.dims[a]);
        seen.push_back(path.to_string() + "." + std::string(t.name) + "/" + std::string(t.torch_name) + " " +
                       dims + (t.kernel ? " kernel" : ""));
        (t.trainable ? trainable : state) += t.count;
        // The tensor lies inside the buffer it claims.
        const auto& buffer = t.trainable ? net.parameters() : net.state();
        CHECK(t.data >= buffer.data());
        CHECK(t.data + t.count <= buffer.data() + buffer.size());
    });
    CHECK(seen == std::vector<std::string>{"0_conv2d.weight/weight 3x3x2x4 kernel", "0_conv2d.bias/bias 4",
                                           "1_batch_norm.gamma/weight 4", "1_batch_norm.beta/bias 4",
                                           "1_batch_norm.moving_mean/running_mean 4",
                                           "1_batch_norm.moving_variance/running_var 4",
                                           "4_dense.weight/weight 36x5 kernel",
                                           "5_dense.weight/weight 5x3 kernel", "5_dense.bias/bias 3"});
    CHECK(trainable == net_t::param_count);
    CHECK(state == net_t::state_count);
    // A const network gives const data.
    const net_t& view = net;
    st::for_each_tensor(view, [](const st::layer_path&, const auto& t) {
        static_assert(std::is_const_v<std::remove_pointer_t<decltype(t.data)>>);
    });
}

TEST_CASE("a layer's own penalty and fit's weight_penalty both reach the tensors through the visitor") {
    using net_t =
        st::sequential<st::input<3>, st::dense<4, st::identity, st::kernel_regularizer<st::regularize::l2>>,
                       st::dense<2, st::identity, st::bias_regularizer<st::regularize::l1>>>;
    net_t net{st::seed{2}};
    net.layer<0>().kernel_penalty = st::regularize::l2{0.5};
    net.layer<1>().bias_penalty = st::regularize::l1{0.25};
    for (std::size_t i = 0; i < 2; ++i) net.layer<1>().bias()[i] = i == 0 ? -2.0f : 4.0f;
    double kernel0 = 0, kernel1 = 0;
    for (std::size_t i = 0; i < 12; ++i)
        kernel0 += double(net.layer<0>().weights()[i]) * net.layer<0>().weights()[i];
    for (std::size_t i = 0; i < 8; ++i)
        kernel1 += double(net.layer<1>().weights()[i]) * net.layer<1>().weights()[i];
    const double own = 0.5 * kernel0 + 0.25 * (2.0 + 4.0);
    CHECK(st::detail::apply_weight_penalties(net, std::span<float>(), {}) ==
          doctest::Approx(own).epsilon(1e-6));
    // weight_penalty{l2} applies to both kernels, never to biases.
    const auto global = st::detail::erase_penalty<st::regularize::l2, float>(st::regularize::l2{0.1});
    CHECK(st::detail::apply_weight_penalties(net, std::span<float>(), global) ==
          doctest::Approx(own + 0.1 * (kernel0 + kernel1)).epsilon(1e-6));
}
