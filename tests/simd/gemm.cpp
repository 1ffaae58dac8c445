#include <algorithm>
#include <cmath>
#include <vector>

#include <doctest/doctest.h>
#include <strata/core/random.hpp>
#include <strata/simd/gemm.hpp>

namespace st = strata;

TEST_CASE_TEMPLATE("gemm agrees with the reference loop in every transpose mode and edge size", T, float,
                   double) {
    st::rng r(3);
    // Sizes straddle the register tile (MR, NR) and cache blocks (KC = 512); one-
    // and two-row products take the row-streaming path in every block width.
    // Widths of one and three vectors (16, 48, 144 floats) take the one- and
    // three-vector tiles.
    const std::size_t sizes[][3] = {{1, 1, 1},      {7, 5, 3},      {15, 33, 17},   {29, 65, 257},
                                    {1, 10, 1600},  {130, 64, 288}, {300, 9, 31},   {1, 200, 37},
                                    {2, 150, 9},    {2, 96, 5},     {61, 16, 144},  {33, 48, 600},
                                    {144, 144, 16}, {3, 8, 40},     {32, 130, 128}, {5, 7, 19},
                                    {9, 32, 700}};  // conv1's weight gradient: 6 + 3 rows, two depth blocks
    for (const auto& size : sizes)
        for (int mode = 0; mode < 8; ++mode) {
            const std::size_t m = size[0], n = size[1], k = size[2];  // INFO captures them
            const bool ta = mode & 1, tb = mode & 2, accumulate = mode & 4;
            std::vector<T> a(m * k), b(k * n), c(m * n), expected;
            for (auto& v : a) v = T(r.uniform(-1, 1));
            for (auto& v : b) v = T(r.uniform(-1, 1));
            for (auto& v : c) v = T(r.uniform(-1, 1));
            expected = c;
            const st::simd::gemm_operands<T> g{a.data(),   ta ? m : k, ta,       b.data(),
                                               tb ? k : n, tb,         c.data(), n};
            st::simd::gemm<T>(m, n, k, g, accumulate);
            // Oracle: the reference loop in double; errors are measured against
            // sum |a||b|, the scale that bounds rounding in any summation order.
            std::vector<double> a64(a.begin(), a.end()), b64(b.begin(), b.end()),
                c64(expected.begin(), expected.end());
            std::vector<double> abs_a(a64.size()), abs_b(b64.size()), scale(c.size(), 0.0);
            for (std::size_t i = 0; i < a64.size(); ++i) abs_a[i] = std::abs(a64[i]);
            for (std::size_t i = 0; i < b64.size(); ++i) abs_b[i] = std::abs(b64[i]);
            st::simd::gemm_reference<double>(
                m, n, k, {a64.data(), g.lda, ta, b64.data(), g.ldb, tb, c64.data(), n}, accumulate);
            st::simd::gemm_reference<double>(
                m, n, k, {abs_a.data(), g.lda, ta, abs_b.data(), g.ldb, tb, scale.data(), n}, false);
            double worst = 0;
            for (std::size_t i = 0; i < c.size(); ++i)
                worst = std::max(worst, std::abs(double(c[i]) - c64[i]) / (1.0 + scale[i]));
            INFO("m=" << m << " n=" << n << " k=" << k << " ta=" << ta << " tb=" << tb
                      << " acc=" << accumulate);
            CHECK(worst < (sizeof(T) == 4 ? 1e-6 : 1e-14));
        }
}

TEST_CASE("gemm writes only inside C's leading-dimension window") {
    // C is 3 x 4 inside rows of 6: columns 4 and 5 must stay untouched.
    std::vector<float> a(3 * 2, 1.0f), b(2 * 4, 1.0f), c(3 * 6, -7.0f);
    st::simd::gemm<float>(3, 4, 2, {a.data(), 2, false, b.data(), 4, false, c.data(), 6}, false);
    for (std::size_t i = 0; i < 3; ++i) {
        for (std::size_t j = 0; j < 4; ++j) CHECK(c[i * 6 + j] == 2.0f);
        CHECK(c[i * 6 + 4] == -7.0f);
        CHECK(c[i * 6 + 5] == -7.0f);
    }
}

TEST_CASE("gemm with k = 0 clears or keeps C") {
    std::vector<float> c(4, 3.0f);
    st::simd::gemm<float>(2, 2, 0, {nullptr, 0, false, nullptr, 2, false, c.data(), 2}, true);
    CHECK(c[0] == 3.0f);
    st::simd::gemm<float>(2, 2, 0, {nullptr, 0, false, nullptr, 2, false, c.data(), 2}, false);
    CHECK(c[3] == 0.0f);
}

template <class T>
double max_abs_difference(const std::vector<T>& got, const std::vector<T>& expected) {
    double worst = 0;
    for (std::size_t i = 0; i < got.size(); ++i)
        worst = std::max(worst, std::abs(double(got[i]) - double(expected[i])));
    return worst;
}

template <class T, std::size_t Depth>
void check_fixed_depth(st::rng& r) {
    // Rows straddle every kernel size (1, 2, 4, 8, MR) and ragged blocks that must
    // be copied out; n = 10 takes the fallback; C sits inside wider rows.
    constexpr std::size_t w = st::simd::width<T>;
    for (std::size_t m : {1, 2, 3, 5, 13, 14, 15, 29, 31, 676})
        for (std::size_t n : {std::size_t(10), w, st::simd::detail::gemm_tile<T>::nr, 3 * w,
                              2 * st::simd::detail::gemm_tile<T>::nr})
            for (bool accumulate : {false, true}) {
                const std::size_t ldc = n + 3;
                // A is exactly m x Depth: reading a row past its end would leave the vector (ASan).
                std::vector<T> a(m * Depth), b(Depth * n), c(m * ldc), expected;
                for (auto& v : a) v = static_cast<T>(r.uniform() - 0.5);
                for (auto& v : b) v = static_cast<T>(r.uniform() - 0.5);
                for (auto& v : c) v = static_cast<T>(r.uniform());
                expected = c;
                st::simd::gemm_reference<T>(
                    m, n, Depth, {a.data(), Depth, false, b.data(), n, false, expected.data(), ldc},
                    accumulate);
                st::simd::gemm_fixed_depth<T, Depth>(m, n, a.data(), b.data(), n, c.data(), ldc, accumulate);
                INFO("depth=" << Depth << " m=" << m << " n=" << n << " acc=" << accumulate);
                const double worst = max_abs_difference(c, expected);
                CHECK(worst < (sizeof(T) == 4 ? 1e-5 : 1e-13));
            }
}

TEST_CASE_TEMPLATE("gemm_fixed_depth (A read in place, no packing) agrees with the reference loop", T, float,
                   double) {
    st::rng r(11);
    check_fixed_depth<T, 1>(r);
    check_fixed_depth<T, 9>(r);
    check_fixed_depth<T, 27>(r);
    check_fixed_depth<T, 288>(r);
    check_fixed_depth<T, 576>(r);
}

template <class T, std::size_t M>
void check_transposed_few_rows(st::rng& r) {
    constexpr std::size_t w = st::simd::width<T>;
    for (std::size_t n : {std::size_t(10), w, st::simd::detail::gemm_tile<T>::nr, 3 * w,
                          2 * st::simd::detail::gemm_tile<T>::nr})
        for (std::size_t k : {std::size_t(1), std::size_t(7), std::size_t(2000)})
            for (bool accumulate : {false, true}) {
                const std::size_t ldc = n + 5;
                std::vector<T> a(k * M), b(k * n), c(M * ldc), expected;  // a is A^T's storage: k x M
                for (auto& v : a) v = static_cast<T>(r.uniform() - 0.5);
                for (auto& v : b) v = static_cast<T>(r.uniform() - 0.5);
                for (auto& v : c) v = static_cast<T>(r.uniform());
                expected = c;
                st::simd::gemm_reference<T>(
                    M, n, k, {a.data(), M, true, b.data(), n, false, expected.data(), ldc}, accumulate);
                st::simd::gemm_transposed_a_few_rows<T, M>(n, k, a.data(), b.data(), n, c.data(), ldc,
                                                           accumulate);
                INFO("M=" << M << " n=" << n << " k=" << k << " acc=" << accumulate);
                const double worst = max_abs_difference(c, expected);
                CHECK(worst < (sizeof(T) == 4 ? 1e-4 : 1e-12));  // k = 2000 sums in one float chain
            }
}

TEST_CASE_TEMPLATE("gemm_transposed_a_few_rows (whole depth in registers) agrees with the reference loop", T,
                   float, double) {
    st::rng r(13);
    check_transposed_few_rows<T, 1>(r);
    check_transposed_few_rows<T, 3>(r);
    check_transposed_few_rows<T, 6>(r);  // the largest M an AVX2 tile allows
    if constexpr (st::simd::detail::gemm_tile<T>::mr >= 9) check_transposed_few_rows<T, 9>(r);  // conv1's
}
