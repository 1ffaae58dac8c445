// chain, residual, concat and skip_concat: gradients against finite
// differences (batch_norm in training mode and dropout inside), hand-computed
// outputs, parameter layout, and the keys that keep dropout masks apart.
#include <cstdint>
#include <set>
#include <vector>

#include <doctest/doctest.h>
#include <strata/strata.hpp>
#include <support/gradient_check.hpp>

namespace st = strata;
using st::testing::require_gradients_match;

TEST_CASE("composites' backward matches finite differences") {
    SUBCASE("chain") {
        require_gradients_match<
            st::chain<st::conv2d<3, 3, st::tanh, st::same>, st::avg_pool<2>, st::conv2d<2, 1, st::elu>>,
            st::shape<4, 4, 2>>(3);
    }
    SUBCASE("chains with flatten inside (read in place) and at either end (copied)") {
        require_gradients_match<st::chain<st::conv2d<3, 3, st::tanh, st::same>, st::flatten, st::dense<4>>,
                                st::shape<3, 3, 2>>(3);
        require_gradients_match<st::chain<st::flatten, st::dense<4, st::tanh>, st::dense<3>>,
                                st::shape<2, 2, 2>>(3);
        require_gradients_match<st::chain<st::conv2d<3, 1, st::tanh>, st::flatten>, st::shape<2, 2, 2>>(3);
    }
    SUBCASE("chains with a max_pool doing its convolution's activation and bias gradient") {
        using first_and_last = st::chain<st::conv2d<3, 3, st::tanh, st::same>, st::max_pool<2>>;
        static_assert(first_and_last::bind<double, st::shape<5, 5, 2>>::list_type::pools_next<0>());
        require_gradients_match<first_and_last, st::shape<5, 5, 2>>(3);  // 5x5 leaves a border unpooled
        using inside = st::chain<st::conv2d<3, 1, st::elu>, st::conv2d<4, 3, st::tanh, st::same, st::no_bias>,
                                 st::max_pool<2>, st::conv2d<2, 1>>;
        static_assert(inside::bind<double, st::shape<4, 4, 2>>::list_type::pools_next<1>());
        require_gradients_match<inside, st::shape<4, 4, 2>>(3);
    }
    SUBCASE("residual with the identity shortcut, batch_norm in training mode") {
        require_gradients_match<st::residual<st::conv2d<2, 3, st::tanh, st::same>, st::batch_norm, st::elu,
                                             st::conv2d<2, 3, st::same>>,
                                st::shape<4, 4, 2>>(3);
    }
    SUBCASE("residual with a strided projection shortcut") {
        require_gradients_match<
            st::residual<st::conv2d<4, 3, st::same, st::stride<2>>, st::batch_norm, st::tanh,
                         st::shortcut<st::conv2d<4, 1, st::stride<2>>, st::batch_norm>>,
            st::shape<5, 5, 2>>(3);
    }
    SUBCASE("residuals with the activation after the sum applied in their pass") {
        // As ResNet: chain<residual, relu>; elu and tanh are smooth for finite differences.
        using identity_block = st::residual<st::conv2d<2, 3, st::same>, st::batch_norm, st::elu,
                                            st::conv2d<2, 3, st::same>, st::batch_norm>;
        using projecting_block =
            st::residual<st::conv2d<4, 3, st::same, st::stride<2>>, st::batch_norm, st::tanh,
                         st::shortcut<st::conv2d<4, 1, st::stride<2>>, st::batch_norm>>;
        using in = st::shape<4, 4, 2>;
        static_assert(
            st::detail::fuses_activation<identity_block::bind<double, in>, st::elu::bind<double, in>>::value);
        // Blocks ending in batch_norm add the shortcut in its store (ResNet's two kinds).
        using resnet_projecting = st::residual<st::conv2d<4, 3, st::same, st::stride<2>>, st::batch_norm,
                                               st::tanh, st::conv2d<4, 3, st::same>, st::batch_norm,
                                               st::shortcut<st::conv2d<4, 1, st::stride<2>>, st::batch_norm>>;
        static_assert(identity_block::bind<double, in>::block_type::last_adds<st::elu>());
        static_assert(resnet_projecting::bind<double, st::shape<5, 5, 2>>::block_type::last_adds<st::tanh>());
        static_assert(!projecting_block::bind<double, st::shape<5, 5, 2>>::block_type::last_adds<st::tanh>());
        require_gradients_match<st::chain<resnet_projecting, st::tanh>, st::shape<5, 5, 2>>(3);
        require_gradients_match<resnet_projecting, st::shape<5, 5, 2>>(3);  // the sum alone
        require_gradients_match<st::chain<identity_block, st::elu>, in>(3);
        require_gradients_match<st::chain<projecting_block, st::tanh>, st::shape<5, 5, 2>>(3);
        require_gradients_match<st::chain<identity_block, st::elu, identity_block, st::elu>, in>(2, 4);
    }
    SUBCASE("residual with dropout inside (the same masks in both passes)") {
        require_gradients_match<
            st::residual<st::conv2d<3, 3, st::tanh, st::same>, st::dropout<0.4>, st::conv2d<3, 1>>,
            st::shape<3, 3, 3>>(2);
    }
    SUBCASE("residual of dense layers") {
        require_gradients_match<st::residual<st::dense<6, st::tanh>, st::dense<6>>, st::shape<6>>(3);
    }
    SUBCASE("concat of three branches, one a chain and one without parameters") {
        require_gradients_match<
            st::concat<st::conv2d<2, 1, st::tanh>,
                       st::chain<st::conv2d<3, 3, st::elu, st::same>, st::batch_norm>, st::sigmoid>,
            st::shape<4, 3, 2>>(3);
    }
    SUBCASE("concat of dense branches") {
        require_gradients_match<st::concat<st::dense<3, st::tanh>, st::dense<2>>, st::shape<5>>(3);
    }
    SUBCASE("skip_concat with pooling and bilinear upsampling") {
        require_gradients_match<st::skip_concat<st::avg_pool<2>, st::conv2d<3, 3, st::tanh, st::same>,
                                                st::upsample<2, st::bilinear>>,
                                st::shape<4, 4, 2>>(2);
    }
    SUBCASE("nested: a residual around a skip_concat") {
        require_gradients_match<
            st::residual<st::skip_concat<st::conv2d<2, 3, st::tanh, st::same>>, st::conv2d<2, 1>>,
            st::shape<4, 4, 2>>(2);
    }
}

namespace {
template <class Spec, class In, std::size_t N>
std::vector<float> run(const std::array<float, N>& x, const std::vector<float>& params) {
    using L = typename Spec::template bind<float, In>;
    L layer;
    st::aligned_buffer<float> p(std::max<std::size_t>(L::param_count, 1)), state(1),
        ws(L::workspace_size(1) + 1);
    layer.bind_parameters(p.data());
    layer.bind_state(state.data());
    std::copy(params.begin(), params.end(), p.data());
    std::vector<float> out(L::out_shape::size);
    layer.forward(x.data(), out.data(), 1, st::pass_context<float>{.workspace = ws.data()});
    return out;
}
}  // namespace

TEST_CASE("residual adds its input; concat and skip_concat join channels in order") {
    // One 1x1 kernel of 2 on two pixels: y = x + 2x.
    const std::array<float, 2> pixels{1.5f, -2.0f};
    using res = st::residual<st::conv2d<1, 1, st::no_bias>>;
    CHECK(run<res, st::shape<1, 2, 1>>(pixels, {2.0f}) == std::vector<float>{4.5f, -6.0f});

    // Two pixels of two channels (1, 2) and (3, 4); the 1x1 conv sums them with weights 10 and 1.
    const std::array<float, 4> x{1, 2, 3, 4};
    using joined = st::concat<st::identity, st::conv2d<1, 1, st::no_bias>>;
    CHECK(run<joined, st::shape<1, 2, 2>>(x, {10.0f, 1.0f}) == std::vector<float>{1, 2, 12, 3, 4, 34});
    using skip = st::skip_concat<st::conv2d<1, 1, st::no_bias>>;
    CHECK(run<skip, st::shape<1, 2, 2>>(x, {10.0f, 1.0f}) == std::vector<float>{1, 2, 12, 3, 4, 34});
}

TEST_CASE("a composite's children get aligned, disjoint slices of the network's parameters and state") {
    using net_t = st::sequential<st::input<6, 6, 3>, st::conv2d<5, 3, st::same>,
                                 st::residual<st::conv2d<3, 3, st::same>, st::batch_norm,
                                              st::shortcut<st::conv2d<3, 1>, st::batch_norm>>,
                                 st::flatten, st::dense<2>>;
    static_assert(net_t::layer_type<1>::trainable_count == 138 + 6 + 18 + 6);
    static_assert(net_t::layer_type<1>::non_trainable_count == 6 + 6);
    static_assert(net_t::param_count == 140 + 168 + 218);
    net_t net{st::seed{3}};
    std::set<const float*> starts;
    std::size_t covered = 0;
    st::for_each_tensor(net, [&](const st::layer_path& path, const auto& t) {
        INFO(path.to_string() << "." << t.name);
        const auto span = t.trainable ? net.parameters() : net.state();
        CHECK(t.data >= span.data());
        CHECK(t.data + t.count <= span.data() + span.size());
        if (t.name == "weight") CHECK(reinterpret_cast<std::uintptr_t>(t.data) % 64 == 0);
        CHECK(starts.insert(t.data).second);
        covered += t.count;
    });
    CHECK(covered == net_t::param_count + net_t::state_count);
}

TEST_CASE("dropouts inside composites draw their own masks") {
    // Two dropouts in parallel branches see the same ones: their masks must differ.
    using L = st::concat<st::dropout<0.5>, st::dropout<0.5>>::bind<float, st::shape<256>>;
    L layer;
    std::vector<float> x(256, 1.0f), out(512);
    st::aligned_buffer<float> ws(L::workspace_size(1));
    layer.forward(x.data(), out.data(), 1,
                  st::pass_context<float>{.training = true, .step_seed = 9, .workspace = ws.data()});
    std::size_t differ = 0, kept = 0;
    for (std::size_t i = 0; i < 256; ++i) {
        differ += (out[i] == 0) != (out[256 + i] == 0);
        kept += out[i] != 0;
    }
    CHECK(kept > 96);
    CHECK(kept < 160);
    CHECK(differ > 64);  // independent masks disagree on about half
}
