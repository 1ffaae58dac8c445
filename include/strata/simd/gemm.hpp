// Packed, register-blocked matrix multiply on xsimd: the one kernel that
// convolutions (through im2col) and dense layers share. A micro-kernel keeps
// an MR x NR tile of C in vector registers; A and B are packed into panels so
// its loads are sequential and aligned. gemm_reference is the test oracle.
#pragma once

#include <algorithm>
#include <cstddef>

#include "../core/aligned_buffer.hpp"
#include "../core/simd.hpp"

namespace strata::simd {

// Row-major operands. op(A) is M x K: A itself (lda >= K) or, with
// transpose_a, A stored K x M (lda >= M). Likewise op(B) is K x N.
template <class T>
struct gemm_operands {
    const T* a;
    std::size_t lda;
    bool transpose_a;
    const T* b;
    std::size_t ldb;
    bool transpose_b;
    T* c;
    std::size_t ldc;
};

// C = op(A) op(B), or C += op(A) op(B) when accumulate.
template <class T>
void gemm_reference(std::size_t m, std::size_t n, std::size_t k, const gemm_operands<T>& g, bool accumulate) {
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            T sum = 0;
            for (std::size_t p = 0; p < k; ++p) {
                const T a = g.transpose_a ? g.a[p * g.lda + i] : g.a[i * g.lda + p];
                const T b = g.transpose_b ? g.b[j * g.ldb + p] : g.b[p * g.ldb + j];
                sum += a * b;
            }
            T& c = g.c[i * g.ldc + j];
            c = accumulate ? c + sum : sum;
        }
}

namespace detail {

template <class T>
struct gemm_tile {
    static constexpr std::size_t vectors = 2;  // NR = two vectors of C columns
    static constexpr std::size_t nr = vectors * width<T>;
    // Leave registers for the B vectors and the broadcast A value.
    static constexpr std::size_t mr = (vector_registers - vectors - 1) / vectors;
    static constexpr std::size_t kc = 256;      // A panel + B panel stay in L1/L2
    static constexpr std::size_t mc = mr * 12;  // A block stays in L2
    static constexpr std::size_t nc = 4096;
};

template <class T>
inline T element_a(const gemm_operands<T>& g, std::size_t i, std::size_t p) {
    return g.transpose_a ? g.a[p * g.lda + i] : g.a[i * g.lda + p];
}

// Packs rows [i0, i0+mc) x depth [p0, p0+kc) of op(A) into MR-row panels,
// depth-major inside a panel; rows past m are zero.
template <class T>
void pack_a(const gemm_operands<T>& g, std::size_t m, std::size_t i0, std::size_t mc, std::size_t p0,
            std::size_t kc, T* out) {
    constexpr std::size_t mr = gemm_tile<T>::mr;
    for (std::size_t panel = 0; panel < mc; panel += mr) {
        const std::size_t rows = std::min(mr, m - (i0 + panel));
        for (std::size_t p = 0; p < kc; ++p) {
            T* dst = out + panel * kc + p * mr;
            if (g.transpose_a) {
                const T* src = g.a + (p0 + p) * g.lda + i0 + panel;
                for (std::size_t r = 0; r < rows; ++r) dst[r] = src[r];
            } else {
                const T* src = g.a + (i0 + panel) * g.lda + p0 + p;
                for (std::size_t r = 0; r < rows; ++r) dst[r] = src[r * g.lda];
            }
            for (std::size_t r = rows; r < mr; ++r) dst[r] = T(0);
        }
    }
}

// Packs depth [p0, p0+kc) x columns [j0, j0+nc) of op(B) into NR-column
// panels; columns past n are zero.
template <class T>
void pack_b(const gemm_operands<T>& g, std::size_t n, std::size_t j0, std::size_t nc, std::size_t p0,
            std::size_t kc, T* out) {
    constexpr std::size_t nr = gemm_tile<T>::nr;
    for (std::size_t panel = 0; panel < nc; panel += nr) {
        const std::size_t cols = std::min(nr, n - (j0 + panel));
        T* dst_panel = out + panel * kc;
        if (!g.transpose_b) {
            for (std::size_t p = 0; p < kc; ++p) {
                const T* src = g.b + (p0 + p) * g.ldb + j0 + panel;
                T* dst = dst_panel + p * nr;
                std::size_t c = 0;
                if (cols == nr)
                    for (; c < nr; c += width<T>) store(dst + c, load(src + c));
                for (; c < cols; ++c) dst[c] = src[c];
                for (; c < nr; ++c) dst[c] = T(0);
            }
        } else {
            for (std::size_t c = 0; c < nr; ++c) {
                if (c < cols) {
                    const T* src = g.b + (j0 + panel + c) * g.ldb + p0;
                    for (std::size_t p = 0; p < kc; ++p) dst_panel[p * nr + c] = src[p];
                } else {
                    for (std::size_t p = 0; p < kc; ++p) dst_panel[p * nr + c] = T(0);
                }
            }
        }
    }
}

// C tile (rows x cols valid) = / += packed A panel x packed B panel.
template <class T>
inline void micro_kernel(std::size_t kc, const T* __restrict ap, const T* __restrict bp, T* c,
                         std::size_t ldc, std::size_t rows, std::size_t cols, bool accumulate) {
    using tile = gemm_tile<T>;
    constexpr std::size_t mr = tile::mr, nv = tile::vectors, w = width<T>;
    batch<T> acc[mr][nv];
#pragma GCC unroll 32
    for (std::size_t r = 0; r < mr; ++r)
#pragma GCC unroll 4
        for (std::size_t v = 0; v < nv; ++v) acc[r][v] = batch<T>(T(0));

    for (std::size_t p = 0; p < kc; ++p) {
        batch<T> b[nv];
#pragma GCC unroll 4
        for (std::size_t v = 0; v < nv; ++v) b[v] = batch<T>::load_aligned(bp + p * tile::nr + v * w);
#pragma GCC unroll 32
        for (std::size_t r = 0; r < mr; ++r) {
            const batch<T> a(ap[p * mr + r]);
#pragma GCC unroll 4
            for (std::size_t v = 0; v < nv; ++v) acc[r][v] = xsimd::fma(a, b[v], acc[r][v]);
        }
    }

    if (rows == mr && cols == tile::nr) {
#pragma GCC unroll 32
        for (std::size_t r = 0; r < mr; ++r)
#pragma GCC unroll 4
            for (std::size_t v = 0; v < nv; ++v) {
                T* dst = c + r * ldc + v * w;
                store(dst, accumulate ? acc[r][v] + load(dst) : acc[r][v]);
            }
        return;
    }
    alignas(64) T tmp[mr * tile::nr];
    for (std::size_t r = 0; r < mr; ++r)
        for (std::size_t v = 0; v < nv; ++v) acc[r][v].store_aligned(tmp + r * tile::nr + v * w);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < cols; ++j) {
            T& dst = c[r * ldc + j];
            dst = accumulate ? dst + tmp[r * tile::nr + j] : tmp[r * tile::nr + j];
        }
}

template <class T>
struct gemm_scratch {
    aligned_buffer<T> a, b;
};

template <class T>
gemm_scratch<T>& thread_scratch() {
    // One per thread: every worker runs its own GEMMs; grown once, then reused.
    thread_local gemm_scratch<T> scratch;
    return scratch;
}

}  // namespace detail

// C = op(A) op(B), or C += op(A) op(B) when accumulate. k == 0 gives C = 0
// (or leaves C alone when accumulating).
template <class T>
void gemm(std::size_t m, std::size_t n, std::size_t k, const gemm_operands<T>& g, bool accumulate) {
    using tile = detail::gemm_tile<T>;
    if (m == 0 || n == 0) return;
    if (k == 0) {
        if (!accumulate)
            for (std::size_t i = 0; i < m; ++i) std::fill_n(g.c + i * g.ldc, n, T(0));
        return;
    }
    auto& scratch = detail::thread_scratch<T>();
    const std::size_t kc_max = std::min(tile::kc, k);
    const std::size_t nc_max = std::min(tile::nc, (n + tile::nr - 1) / tile::nr * tile::nr);
    const std::size_t mc_max = std::min(tile::mc, (m + tile::mr - 1) / tile::mr * tile::mr);
    if (scratch.b.size() < kc_max * nc_max) scratch.b.resize(kc_max * nc_max);
    if (scratch.a.size() < kc_max * mc_max) scratch.a.resize(kc_max * mc_max);

    for (std::size_t j0 = 0; j0 < n; j0 += tile::nc) {
        const std::size_t nc = std::min(tile::nc, n - j0);
        const std::size_t nc_padded = (nc + tile::nr - 1) / tile::nr * tile::nr;
        for (std::size_t p0 = 0; p0 < k; p0 += tile::kc) {
            const std::size_t kc = std::min(tile::kc, k - p0);
            const bool acc = accumulate || p0 > 0;
            detail::pack_b(g, n, j0, nc_padded, p0, kc, scratch.b.data());
            for (std::size_t i0 = 0; i0 < m; i0 += tile::mc) {
                const std::size_t mc = std::min(tile::mc, m - i0);
                const std::size_t mc_padded = (mc + tile::mr - 1) / tile::mr * tile::mr;
                detail::pack_a(g, m, i0, mc_padded, p0, kc, scratch.a.data());
                for (std::size_t jr = 0; jr < nc; jr += tile::nr)
                    for (std::size_t ir = 0; ir < mc; ir += tile::mr)
                        detail::micro_kernel(kc, scratch.a.data() + ir * kc, scratch.b.data() + jr * kc,
                                             g.c + (i0 + ir) * g.ldc + j0 + jr, g.ldc,
                                             std::min(tile::mr, mc - ir), std::min(tile::nr, nc - jr), acc);
            }
        }
    }
}

}  // namespace strata::simd
