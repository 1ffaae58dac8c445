// Winograd F(2x2, 3x3) and its weight gradient against the direct
// convolution loop, in double, on shapes with odd and even outputs, padding,
// vector and scalar-tail channels.
#include <algorithm>
#include <cmath>
#include <vector>

#include <doctest/doctest.h>
#include <strata/core/aligned_buffer.hpp>
#include <strata/core/random.hpp>
#include <strata/simd/winograd.hpp>

namespace st = strata;

namespace {
// Offset of the input pixel that kernel tap (ky, kx) of output (s, oy, ox)
// reads, or -1 where it falls in the padding.
template <std::size_t H, std::size_t W, std::size_t C, std::size_t PadTop, std::size_t PadLeft>
std::ptrdiff_t input_offset(std::size_t s, std::size_t oy, std::size_t ox, std::size_t ky, std::size_t kx) {
    const auto y = std::ptrdiff_t(oy + ky) - std::ptrdiff_t(PadTop);
    const auto x = std::ptrdiff_t(ox + kx) - std::ptrdiff_t(PadLeft);
    if (y < 0 || y >= std::ptrdiff_t(H) || x < 0 || x >= std::ptrdiff_t(W)) return -1;
    return ((std::ptrdiff_t(s) * std::ptrdiff_t(H) + y) * std::ptrdiff_t(W) + x) * std::ptrdiff_t(C);
}

// A sum in double and the sum of its terms' magnitudes, the scale that
// bounds rounding in any order of summation.
struct direct_sum {
    double sum = 0, scale = 0;
    void add(double term) {
        sum += term;
        scale += std::abs(term);
    }
    double relative_error(double got) const { return std::abs(got - sum) / std::max(scale, 1e-30); }
};

// Returns the largest error of Winograd's output relative to the sum of |terms|
// of each output.
template <class T, std::size_t H, std::size_t W, std::size_t C, std::size_t F, std::size_t OH, std::size_t OW,
          std::size_t PadTop, std::size_t PadLeft>
double worst_error(std::size_t n, std::uint64_t seed) {
    using wino = st::simd::winograd_f2_3<T, H, W, C, F, OH, OW, PadTop, PadLeft>;
    st::rng r(seed);
    st::aligned_buffer<T> in(n * H * W * C), weights(9 * C * F), out(n * OH * OW * F),
        workspace(wino::workspace_size());
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = T(r.uniform(-1, 1));
    for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = T(r.uniform(-1, 1));
    std::fill_n(out.data(), out.size(), T(1e30));  // every output must be written
    wino::forward(in.data(), weights.data(), out.data(), n, workspace.data(), st::simd::no_finish{});
    double worst = 0;
    for (std::size_t s = 0; s < n; ++s)
        for (std::size_t oy = 0; oy < OH; ++oy)
            for (std::size_t ox = 0; ox < OW; ++ox)
                for (std::size_t f = 0; f < F; ++f) {
                    direct_sum expected;
                    for (std::size_t ky = 0; ky < 3; ++ky)
                        for (std::size_t kx = 0; kx < 3; ++kx) {
                            const auto at = input_offset<H, W, C, PadTop, PadLeft>(s, oy, ox, ky, kx);
                            if (at < 0) continue;
                            for (std::size_t c = 0; c < C; ++c)
                                expected.add(double(in[std::size_t(at) + c]) *
                                             double(weights[((ky * 3 + kx) * C + c) * F + f]));
                        }
                    worst = std::max(worst, expected.relative_error(out[((s * OH + oy) * OW + ox) * F + f]));
                }
    return worst;
}

// The largest error of Winograd's weight gradient relative to the sum of
// |terms| of each weight's sum; it must add to what dweights held.
template <class T, std::size_t H, std::size_t W, std::size_t C, std::size_t F, std::size_t OH, std::size_t OW,
          std::size_t PadTop, std::size_t PadLeft>
double worst_weight_gradient_error(std::size_t n, std::uint64_t seed) {
    using wino = st::simd::winograd_f2_3<T, H, W, C, F, OH, OW, PadTop, PadLeft>;
    st::rng r(seed);
    st::aligned_buffer<T> in(n * H * W * C), dout(n * OH * OW * F), dweights(9 * C * F),
        workspace(wino::workspace_size());
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = T(r.uniform(-1, 1));
    for (std::size_t i = 0; i < dout.size(); ++i) dout[i] = T(r.uniform(-1, 1));
    for (std::size_t i = 0; i < dweights.size(); ++i) dweights[i] = T(i % 7);
    std::fill_n(workspace.data(), workspace.size(), T(1e30));  // nothing may be read before it is written
    wino::weight_gradient(in.data(), dout.data(), dweights.data(), n, workspace.data());
    double worst = 0;
    for (std::size_t ky = 0; ky < 3; ++ky)
        for (std::size_t kx = 0; kx < 3; ++kx)
            for (std::size_t c = 0; c < C; ++c)
                for (std::size_t f = 0; f < F; ++f) {
                    const std::size_t i = ((ky * 3 + kx) * C + c) * F + f;
                    direct_sum expected;
                    expected.add(double(i % 7));
                    for (std::size_t s = 0; s < n; ++s)
                        for (std::size_t oy = 0; oy < OH; ++oy)
                            for (std::size_t ox = 0; ox < OW; ++ox) {
                                const auto at = input_offset<H, W, C, PadTop, PadLeft>(s, oy, ox, ky, kx);
                                if (at >= 0)
                                    expected.add(double(in[std::size_t(at) + c]) *
                                                 double(dout[((s * OH + oy) * OW + ox) * F + f]));
                            }
                    worst = std::max(worst, expected.relative_error(dweights[i]));
                }
    return worst;
}
}  // namespace

TEST_CASE_TEMPLATE("Winograd F(2x2, 3x3) convolves, and sums the weight gradient, as the direct loop does", T,
                   float, double) {
    // Rounding: the transforms add a few terms of the same scale as the direct sum's.
    // (Measured for the weight gradient: at most 1.4e-7 in float and 5e-16 in double.)
    const double tolerance = std::is_same_v<T, float> ? 2e-6 : 1e-14;
    // The reference network's conv 2: valid, an odd output (the last tile half outside).
    CHECK(worst_error<T, 13, 13, 32, 64, 11, 11, 0, 0>(3, 1) < tolerance);
    CHECK(worst_weight_gradient_error<T, 13, 13, 32, 64, 11, 11, 0, 0>(3, 5) < tolerance);
    // ResNet's stage 1, same padding, an even output; and more tiles than one block holds.
    CHECK(worst_error<T, 28, 28, 16, 16, 28, 28, 1, 1>(2, 2) < tolerance);
    CHECK(worst_weight_gradient_error<T, 28, 28, 16, 16, 28, 28, 1, 1>(2, 6) < tolerance);
    // Channel counts with scalar tails, a non-square image.
    CHECK(worst_error<T, 7, 9, 3, 5, 7, 9, 1, 1>(4, 3) < tolerance);
    CHECK(worst_weight_gradient_error<T, 7, 9, 3, 5, 7, 9, 1, 1>(4, 7) < tolerance);
    CHECK(worst_error<T, 6, 5, 11, 20, 4, 3, 0, 0>(2, 4) < tolerance);
    CHECK(worst_weight_gradient_error<T, 6, 5, 11, 20, 4, 3, 0, 0>(2, 8) < tolerance);
}
