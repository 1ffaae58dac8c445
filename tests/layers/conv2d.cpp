#include <doctest/doctest.h>
#include <strata/layers/conv2d.hpp>
#include <support/gradient_check.hpp>

namespace st = strata;
using st::testing::require_gradients_match;

TEST_CASE("conv2d output shapes follow Keras for valid and same padding") {
    using valid = st::conv2d<8, 3>::bind<float, st::shape<28, 28, 1>>;
    CHECK(std::is_same_v<valid::out_shape, st::shape<26, 26, 8>>);
    using same = st::conv2d<8, 3, st::identity, st::same>::bind<float, st::shape<28, 28, 1>>;
    CHECK(std::is_same_v<same::out_shape, st::shape<28, 28, 8>>);
    using strided = st::conv2d<4, 3, st::identity, st::stride<2>>::bind<float, st::shape<9, 9, 2>>;
    CHECK(std::is_same_v<strided::out_shape, st::shape<4, 4, 4>>);
    using strided_same =
        st::conv2d<4, 3, st::identity, st::same, st::stride<2>>::bind<float, st::shape<8, 8, 2>>;
    CHECK(std::is_same_v<strided_same::out_shape, st::shape<4, 4, 4>>);
    CHECK(valid::param_count == 3 * 3 * 1 * 8 + 8);
    using unbiased = st::conv2d<8, 3, st::relu, st::no_bias>::bind<float, st::shape<5, 5, 2>>;
    CHECK(unbiased::param_count == 3 * 3 * 2 * 8);
}

TEST_CASE("conv2d forward equals a direct convolution on a hand-made example") {
    // One 3x3 single-channel image, one 2x2 filter, bias 0.5, valid padding.
    using L = st::conv2d<1, 2>::bind<float, st::shape<3, 3, 1>>;
    L layer;
    float params[L::param_count] = {1, 2, 3, 4, 0.5f};  // w[ky][kx], bias
    layer.bind_parameters(params);
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float out[4];
    float workspace[4 * 4];
    layer.forward(x, out, 1, {false, 0, 0, 0, workspace});
    // 1*1+2*2+3*4+4*5 = 37, then +0.5
    CHECK(out[0] == doctest::Approx(37.5));
    CHECK(out[1] == doctest::Approx(1 * 2 + 2 * 3 + 3 * 5 + 4 * 6 + 0.5));
    CHECK(out[2] == doctest::Approx(1 * 4 + 2 * 5 + 3 * 7 + 4 * 8 + 0.5));
    CHECK(out[3] == doctest::Approx(1 * 5 + 2 * 6 + 3 * 8 + 4 * 9 + 0.5));
}

TEST_CASE("conv2d same padding puts the odd pixel after, as TensorFlow") {
    // 4x4 input, 2x2 kernel, same: total padding 1, all of it bottom/right.
    using L = st::conv2d<1, 2, st::identity, st::same, st::no_bias>::bind<float, st::shape<4, 4, 1>>;
    static_assert(L::rows_axis::pad_before == 0 && L::rows_axis::total_pad == 1);
    L layer;
    float w[4] = {1, 1, 1, 1};
    layer.bind_parameters(w);
    float x[16];
    for (int i = 0; i < 16; ++i) x[i] = static_cast<float>(i);
    float out[16], ws[16 * 4];
    layer.forward(x, out, 1, {false, 0, 0, 0, ws});
    CHECK(out[0] == doctest::Approx(0 + 1 + 4 + 5));
    CHECK(out[3] == doctest::Approx(3 + 7));  // right column: padding to the right
    CHECK(out[15] == doctest::Approx(15));    // bottom-right corner: only itself
}

TEST_CASE("conv2d backward matches finite differences") {
    SUBCASE("valid, stride 1, relu") {
        require_gradients_match<st::conv2d<4, 3, st::relu>, st::shape<6, 7, 3>>();
    }
    SUBCASE("same, stride 1, tanh") {
        require_gradients_match<st::conv2d<3, 3, st::tanh, st::same>, st::shape<5, 5, 2>>();
    }
    SUBCASE("same, stride 1, even kernel (the input gradient's padding is uneven)") {
        require_gradients_match<st::conv2d<3, 2, st::identity, st::same>, st::shape<5, 6, 2>>();
    }
    SUBCASE("same, stride 1, 5x5 kernel, more filters than channels") {
        require_gradients_match<st::conv2d<5, 5, st::relu, st::same, st::no_bias>, st::shape<6, 5, 3>>();
    }
    SUBCASE("64 filters: the input gradient is a convolution of depth 576") {
        require_gradients_match<st::conv2d<64, 3, st::identity, st::same>, st::shape<4, 4, 2>>(1);
    }
    SUBCASE("valid, stride 2") {
        require_gradients_match<st::conv2d<5, 3, st::identity, st::stride<2>>, st::shape<9, 8, 2>>();
    }
    SUBCASE("same, stride 2, even kernel, no bias") {
        require_gradients_match<st::conv2d<3, 4, st::sigmoid, st::same, st::stride<2>, st::no_bias>,
                                st::shape<7, 7, 2>>();
    }
    SUBCASE("1x1 kernel (no im2col)") {
        require_gradients_match<st::conv2d<6, 1, st::elu>, st::shape<4, 4, 5>>();
    }
    SUBCASE("one input channel, many filters (first-layer shape)") {
        require_gradients_match<st::conv2d<32, 3, st::relu>, st::shape<10, 10, 1>>(3);
    }
    SUBCASE("wide enough to cross GEMM tiles (Winograd forward, valid)") {
        static_assert(st::conv2d<40, 3, st::leaky_relu>::bind<double, st::shape<8, 8, 20>>::winograd);
        require_gradients_match<st::conv2d<40, 3, st::leaky_relu>, st::shape<8, 8, 20>>(3);
    }
    SUBCASE("Winograd forward and input gradient: same padding, odd sizes, scalar channel tails") {
        using in = st::shape<5, 7, 18>;
        static_assert(st::conv2d<17, 3, st::elu, st::same>::bind<double, in>::winograd);
        require_gradients_match<st::conv2d<17, 3, st::elu, st::same>, in>(3);
        require_gradients_match<st::conv2d<16, 3, st::identity, st::same, st::no_bias>, st::shape<6, 6, 16>>(
            2);
    }
}

TEST_CASE("conv2d initialisation is seeded and uses the initializer's scale") {
    using L = st::conv2d<16, 3, st::relu, st::init::he_uniform>::bind<float, st::shape<8, 8, 4>>;
    std::vector<float> a(L::param_count), b(L::param_count), c(L::param_count);
    L la, lb, lc;
    la.bind_parameters(a.data());
    lb.bind_parameters(b.data());
    lc.bind_parameters(c.data());
    st::rng ra(5), rb(5), rc(6);
    la.initialize(ra);
    lb.initialize(rb);
    lc.initialize(rc);
    CHECK(a == b);
    CHECK(a != c);
    const double limit = std::sqrt(6.0 / (3 * 3 * 4));
    double max_abs = 0;
    for (std::size_t i = 0; i < L::weight_count; ++i) max_abs = std::max(max_abs, std::abs(double(a[i])));
    CHECK(max_abs <= limit);
    CHECK(max_abs > 0.9 * limit);
    for (std::size_t i = L::weight_count; i < L::param_count; ++i) CHECK(a[i] == 0.0f);
}

namespace {
// Runs the layer (GEMM path) and the direct reference loop on the same random
// data and returns the largest relative difference.
template <class Spec, class In, std::size_t N = 5>
double fast_vs_reference() {
    using L = typename Spec::template bind<float, In>;
    L layer;
    std::vector<float> params(L::param_count), in(N * In::size), fast(N * L::out_shape::size),
        slow(fast.size()), workspace(L::workspace_size(N));
    layer.bind_parameters(params.data());
    st::rng r(11);
    layer.initialize(r);
    for (std::size_t i = L::weight_count; i < L::param_count; ++i) params[i] = float(r.uniform(-0.5, 0.5));
    for (auto& v : in) v = float(r.uniform(-1, 1));
    layer.forward(in.data(), fast.data(), N, {false, 0, 0, 0, workspace.data()});
    st::detail::conv2d_reference<float, typename L::activation, L::H, L::W, L::C, L::filters, L::kernel,
                                 L::stride, L::same_padding>(in.data(), layer.weights(), layer.bias(),
                                                             slow.data(), N);
    double worst = 0;
    for (std::size_t i = 0; i < fast.size(); ++i)
        worst =
            std::max(worst, std::abs(double(fast[i]) - double(slow[i])) / (1.0 + std::abs(double(slow[i]))));
    return worst;
}
}  // namespace

TEST_CASE("conv2d's fast path agrees with the direct reference loop to 1e-5 (float)") {
    // Winograd's layers: the reference network's conv 2 and ResNet's stages.
    static_assert(st::conv2d<64, 3, st::relu>::bind<float, st::shape<13, 13, 32>>::winograd);
    CHECK(fast_vs_reference<st::conv2d<16, 3, st::identity, st::same, st::no_bias>, st::shape<28, 28, 16>>() <
          1e-5);
    CHECK(fast_vs_reference<st::conv2d<32, 3, st::relu, st::same>, st::shape<14, 14, 32>>() < 1e-5);
    CHECK(fast_vs_reference<st::conv2d<32, 3, st::relu>, st::shape<28, 28, 1>>() < 1e-5);
    CHECK(fast_vs_reference<st::conv2d<64, 3, st::relu>, st::shape<13, 13, 32>>() < 1e-5);
    CHECK(fast_vs_reference<st::conv2d<24, 5, st::tanh, st::same, st::stride<2>>, st::shape<11, 9, 3>>() <
          1e-5);
    CHECK(fast_vs_reference<st::conv2d<10, 1, st::identity, st::no_bias>, st::shape<6, 6, 7>>() < 1e-5);
    // Enough samples that the column chunking splits the batch.
    CHECK(fast_vs_reference<st::conv2d<16, 3, st::elu, st::same>, st::shape<40, 40, 8>, 9>() < 1e-5);
    CHECK(fast_vs_reference<st::conv2d<64, 3, st::relu, st::same>, st::shape<7, 7, 64>>() <
          1e-5);  // depth 576
}
