// Winograd F(2x2, 3x3) against the direct convolution loop, in double, on
// shapes with odd and even outputs, padding, vector and scalar-tail channels.
#include <algorithm>
#include <cmath>
#include <vector>

#include <doctest/doctest.h>
#include <strata/core/aligned_buffer.hpp>
#include <strata/core/random.hpp>
#include <strata/simd/winograd.hpp>

namespace st = strata;

namespace {
// Returns the largest error of Winograd's output relative to the sum of |terms|
// of each output (the scale rounding is bounded by).
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
                    double sum = 0, scale = 0;
                    for (std::size_t ky = 0; ky < 3; ++ky)
                        for (std::size_t kx = 0; kx < 3; ++kx) {
                            const auto y = std::ptrdiff_t(oy + ky) - std::ptrdiff_t(PadTop);
                            const auto x = std::ptrdiff_t(ox + kx) - std::ptrdiff_t(PadLeft);
                            if (y < 0 || y >= std::ptrdiff_t(H) || x < 0 || x >= std::ptrdiff_t(W)) continue;
                            for (std::size_t c = 0; c < C; ++c) {
                                const double term = double(in[((s * H + y) * W + x) * C + c]) *
                                                    double(weights[((ky * 3 + kx) * C + c) * F + f]);
                                sum += term;
                                scale += std::abs(term);
                            }
                        }
                    const double got = out[((s * OH + oy) * OW + ox) * F + f];
                    worst = std::max(worst, std::abs(got - sum) / std::max(scale, 1e-30));
                }
    return worst;
}
}  // namespace

TEST_CASE_TEMPLATE("Winograd F(2x2, 3x3) convolves as the direct loop does", T, float, double) {
    // Rounding: the transforms add a few terms of the same scale as the direct sum's.
    const double tolerance = std::is_same_v<T, float> ? 2e-6 : 1e-14;
    // The reference network's conv 2: valid, an odd output (the last tile half outside).
    CHECK(worst_error<T, 13, 13, 32, 64, 11, 11, 0, 0>(3, 1) < tolerance);
    // ResNet's stage 1, same padding, an even output; and more tiles than one block holds.
    CHECK(worst_error<T, 28, 28, 16, 16, 28, 28, 1, 1>(2, 2) < tolerance);
    // Channel counts with scalar tails, a non-square image.
    CHECK(worst_error<T, 7, 9, 3, 5, 7, 9, 1, 1>(4, 3) < tolerance);
    CHECK(worst_error<T, 6, 5, 11, 20, 4, 3, 0, 0>(2, 4) < tolerance);
}
