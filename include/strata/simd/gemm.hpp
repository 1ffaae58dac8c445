// Register-blocked matrix multiply on xsimd: the one kernel that convolutions
// (through im2col) and dense layers share. A micro-kernel keeps an MR x NR
// tile of C in vector registers. Operands whose layout already streams well
// (B by whole rows, A transposed) are read in place; the others are packed
// one panel at a time, since our products are thin (N = 10..288) and packing
// a whole A block cost as much as the arithmetic. gemm_reference is the oracle.
#pragma once

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <type_traits>

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

// out (cols x rows) = in (rows x cols) transposed, both row-major with row
// strides ld_in >= cols and ld_out >= rows, in blocks that keep the lines
// of both in L1 (32 x 32 floats ran a 1600 x 32 transpose 2x faster than 16 x 16).
template <class T>
void transpose(const T* in, std::size_t rows, std::size_t cols, std::size_t ld_in, T* out,
               std::size_t ld_out) {
    constexpr std::size_t block = 32;
    for (std::size_t i0 = 0; i0 < rows; i0 += block)
        for (std::size_t j0 = 0; j0 < cols; j0 += block) {
            const std::size_t i1 = std::min(rows, i0 + block), j1 = std::min(cols, j0 + block);
            for (std::size_t i = i0; i < i1; ++i)
                for (std::size_t j = j0; j < j1; ++j) out[j * ld_out + i] = in[i * ld_in + j];
        }
}

namespace detail {

// The register tile: MR rows x NR = Vectors vectors of C columns.
template <class T, std::size_t Vectors = 2>
struct gemm_tile {
    static constexpr std::size_t vectors = Vectors;
    static constexpr std::size_t nr = vectors * width<T>;
    // Leave registers for the B vectors and the broadcast A value.
    static constexpr std::size_t mr = (vector_registers - vectors - 1) / vectors;
    static constexpr std::size_t kc = 512;  // C tiles are reloaded once per depth block
};

}  // namespace detail

// Tile width for n columns of C: the widest of two, three or one vectors
// that divides n, so no column of a tile is computed to be thrown away. A
// 16-filter convolution with AVX-512 ran two-vector tiles at half their
// columns and stored every result through the scalar tail. Callers that
// know n at compile time pass this as gemm's Vectors, so only that tile is
// compiled: choosing at run time compiles all three, which added a quarter
// to a training test's compile time.
template <class T>
constexpr std::size_t tile_vectors(std::size_t n) {
    constexpr std::size_t w = width<T>;
    if (n % (2 * w) == 0) return 2;
    if (n % (3 * w) == 0 && (vector_registers - 4) / 3 >= 4) return 3;
    if (n % w == 0 || n < w) return 1;
    return 2;
}

namespace detail {

template <class T>
inline T element_a(const gemm_operands<T>& g, std::size_t i, std::size_t p) {
    return g.transpose_a ? g.a[p * g.lda + i] : g.a[i * g.lda + p];
}

// Packs rows [i0, i0 + rows) x depth [p0, p0 + kc) of op(A) into one MR-row
// panel, depth-major (panel[p * MR + r]); rows past `rows` are zero. Fills
// the panel a row of op(A) at a time, also for a transposed A: filled a
// depth step at a time, the kernel's broadcasts from it ran 2x slower.
template <class T, std::size_t Vectors>
void pack_a_panel(const gemm_operands<T>& g, std::size_t i0, std::size_t rows, std::size_t p0, std::size_t kc,
                  T* panel) {
    constexpr std::size_t mr = gemm_tile<T, Vectors>::mr;
    if (g.transpose_a) {
        for (std::size_t r = 0; r < rows; ++r) {
            const T* src = g.a + p0 * g.lda + i0 + r;
            for (std::size_t p = 0; p < kc; ++p) panel[p * mr + r] = src[p * g.lda];
        }
        for (std::size_t r = rows; r < mr; ++r)
            for (std::size_t p = 0; p < kc; ++p) panel[p * mr + r] = T(0);
        return;
    }
    for (std::size_t r = 0; r < rows; ++r) {
        const T* src = g.a + (i0 + r) * g.lda + p0;
        for (std::size_t p = 0; p < kc; ++p) panel[p * mr + r] = src[p];
    }
    for (std::size_t r = rows; r < mr; ++r)
        for (std::size_t p = 0; p < kc; ++p) panel[p * mr + r] = T(0);
}

// Packs depth [p0, p0 + kc) x all n columns of op(B) into NR-column panels
// (panel j at out + j * kc, element [p * NR + c]); columns past n are zero.
template <class T, std::size_t Vectors>
void pack_b(const gemm_operands<T>& g, std::size_t n, std::size_t p0, std::size_t kc, T* out) {
    constexpr std::size_t nr = gemm_tile<T, Vectors>::nr;
    for (std::size_t j0 = 0; j0 < n; j0 += nr) {
        const std::size_t cols = std::min(nr, n - j0);
        T* panel = out + j0 * kc;
        if (cols < nr)
            for (std::size_t p = 0; p < kc; ++p) std::fill_n(panel + p * nr + cols, nr - cols, T(0));
        if (g.transpose_b) {
            // Each source row is one panel column: read it sequentially, write with stride NR.
            for (std::size_t c = 0; c < cols; ++c) {
                const T* src = g.b + (j0 + c) * g.ldb + p0;
                for (std::size_t p = 0; p < kc; ++p) panel[p * nr + c] = src[p];
            }
        } else {
            for (std::size_t p = 0; p < kc; ++p)
                std::copy_n(g.b + (p0 + p) * g.ldb + j0, cols, panel + p * nr);
        }
    }
}

// C tile (rows x cols valid) = / += A tile x B tile over kc steps. A's
// element (r, p) is at a[r + p * a_step] (a packed panel has a_step = MR; a
// transposed operand read in place has a_step = lda); B's vector v at depth p
// is at b + p * b_step + v * width (packed: b_step = NR; in place: ldb).
//
// On the last depth block (`last`), finish(value, column) transforms each
// result vector (and, for ragged tiles, each scalar) in registers before
// its one store: that is where layers add bias and apply the activation.
//
// MR is the number of rows computed, at most gemm_tile::mr: short tiles (a
// batch of one through a dense layer, a ragged last row block) use a smaller
// kernel instead of computing rows that are thrown away.
//
// Depth > 0 reads a row-major A in place instead: element (r, p) at
// a[r * Depth + p], over exactly Depth steps (kc is ignored). With the depth
// known at compile time every A address is a constant offset and the loop
// unrolls where it is short (a 3x3 kernel over one channel: depth 9).
template <class T, std::size_t Vectors, std::size_t MR, class Finish, std::size_t Depth = 0>
inline void micro_kernel(std::size_t kc, const T* __restrict a, std::size_t a_step, const T* __restrict b,
                         std::size_t b_step, T* c, std::size_t ldc, std::size_t rows, std::size_t cols,
                         bool accumulate, std::size_t first_col, bool last, const Finish& finish) {
    using tile = gemm_tile<T, Vectors>;
    constexpr std::size_t mr = MR, nv = tile::vectors, w = width<T>;
    batch<T> acc[mr][nv];
#pragma GCC unroll 32
    for (std::size_t r = 0; r < mr; ++r)
#pragma GCC unroll 4
        for (std::size_t v = 0; v < nv; ++v) acc[r][v] = batch<T>(T(0));

    const std::size_t depth = Depth > 0 ? Depth : kc;
    for (std::size_t p = 0; p < depth; ++p) {
        batch<T> bv[nv];
#pragma GCC unroll 4
        for (std::size_t v = 0; v < nv; ++v) bv[v] = load(b + p * b_step + v * w);
#pragma GCC unroll 32
        for (std::size_t r = 0; r < mr; ++r) {
            const batch<T> av(Depth > 0 ? a[r * Depth + p] : a[p * a_step + r]);
#pragma GCC unroll 4
            for (std::size_t v = 0; v < nv; ++v) acc[r][v] = simd::fma(av, bv[v], acc[r][v]);
        }
    }

    if (rows == mr && cols == tile::nr) {
#pragma GCC unroll 32
        for (std::size_t r = 0; r < mr; ++r)
#pragma GCC unroll 4
            for (std::size_t v = 0; v < nv; ++v) {
                T* dst = c + r * ldc + v * w;
                const batch<T> value = accumulate ? acc[r][v] + load(dst) : acc[r][v];
                store(dst, last ? finish(value, first_col + v * w) : value);
            }
        return;
    }
    alignas(64) T tmp[mr * tile::nr];
    for (std::size_t r = 0; r < mr; ++r)
        for (std::size_t v = 0; v < nv; ++v) acc[r][v].store_aligned(tmp + r * tile::nr + v * w);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < cols; ++j) {
            T& dst = c[r * ldc + j];
            const T value = accumulate ? dst + tmp[r * tile::nr + j] : tmp[r * tile::nr + j];
            dst = last ? finish(value, first_col + j) : value;
        }
}

// The rows of the kernel that runs a tile of `rows` rows: the smallest that
// covers it. Only gemm's two-vector tile, which dense layers use at small
// batches, has short kernels: the other tiles serve convolutions over
// hundreds of rows or more, where one ragged block per product is not worth
// four more kernels per layer shape. The 3-row kernel is for a 3x3
// single-channel convolution's weight gradient on AVX2 (9 = 6 + 3 rows of
// a transposed A, read in place by an exact kernel): 21% faster than packing.
template <class T, std::size_t Vectors>
constexpr std::size_t kernel_rows(std::size_t rows) {
    constexpr std::size_t mr = gemm_tile<T, Vectors>::mr;
    if (Vectors != 2) return mr;
    for (std::size_t k : {1, 2, 3, 4, 8})
        if (k < mr && rows <= k) return k;
    return mr;
}

template <class T, std::size_t Vectors, class Finish, std::size_t Depth = 0>
inline void micro_kernel_for_rows(std::size_t kc, const T* a, std::size_t a_step, const T* b,
                                  std::size_t b_step, T* c, std::size_t ldc, std::size_t rows,
                                  std::size_t cols, bool accumulate, std::size_t first_col, bool last,
                                  const Finish& finish) {
    auto run = [&]<std::size_t MR>(std::integral_constant<std::size_t, MR>) {
        micro_kernel<T, Vectors, MR, Finish, Depth>(kc, a, a_step, b, b_step, c, ldc, rows, cols, accumulate,
                                                    first_col, last, finish);
    };
    constexpr std::size_t mr = gemm_tile<T, Vectors>::mr;
    // (kernel_rows says why only the two-vector tile has short kernels;
    // the fixed-depth products have none either.)
    if constexpr (Vectors != 2 || Depth > 0) return run(std::integral_constant<std::size_t, mr>{});
    switch (kernel_rows<T, Vectors>(rows)) {
        case 1:
            return run(std::integral_constant<std::size_t, 1>{});
        case 2:
            return run(std::integral_constant<std::size_t, 2>{});
        case 3:
            return run(std::integral_constant<std::size_t, 3>{});
        case 4:
            return run(std::integral_constant<std::size_t, 4>{});
        case 8:
            if constexpr (mr > 8) return run(std::integral_constant<std::size_t, 8>{});
            break;
        default:
            break;
    }
    run(std::integral_constant<std::size_t, mr>{});
}

// One or two rows of C (a sample or two through a dense layer): B is read
// row by row, `Vectors` vectors of it at a time, contiguous so the
// prefetcher streams it, and the whole depth accumulates in registers. The
// 14 x 32 tile path reads two lines of a different B row per depth step and
// managed ~20 bytes a cycle from L2 on a 1600 x 128 product.
template <class T, std::size_t Rows, std::size_t Vectors, class Finish>
void few_rows_block(std::size_t j, std::size_t k, const gemm_operands<T>& g, bool accumulate,
                    const Finish& finish) {
    constexpr std::size_t w = width<T>;
    batch<T> acc[Rows][Vectors];
    for (auto& row : acc)
        for (auto& v : row) v = batch<T>(T(0));
    for (std::size_t p = 0; p < k; ++p) {
        const T* b_row = g.b + p * g.ldb + j;
        batch<T> bv[Vectors];
#pragma GCC unroll 8
        for (std::size_t v = 0; v < Vectors; ++v) bv[v] = load(b_row + v * w);
#pragma GCC unroll 2
        for (std::size_t r = 0; r < Rows; ++r) {
            const batch<T> av(element_a(g, r, p));
#pragma GCC unroll 8
            for (std::size_t v = 0; v < Vectors; ++v) acc[r][v] = simd::fma(av, bv[v], acc[r][v]);
        }
    }
    for (std::size_t r = 0; r < Rows; ++r)
        for (std::size_t v = 0; v < Vectors; ++v) {
            T* dst = g.c + r * g.ldc + j + v * w;
            const batch<T> value = accumulate ? acc[r][v] + load(dst) : acc[r][v];
            store(dst, finish(value, j + v * w));
        }
}

template <class T, std::size_t Rows, class Finish>
void gemm_few_rows(std::size_t n, std::size_t k, const gemm_operands<T>& g, bool accumulate,
                   const Finish& finish) {
    constexpr std::size_t w = width<T>, wide = vector_registers >= 32 ? 8 : 4;
    std::size_t j = 0;
    // Widest blocks first: each block streams all k rows of B once.
    for (; j + wide * w <= n; j += wide * w) few_rows_block<T, Rows, wide>(j, k, g, accumulate, finish);
    for (; j + 4 * w <= n; j += 4 * w) few_rows_block<T, Rows, 4>(j, k, g, accumulate, finish);
    for (; j + 2 * w <= n; j += 2 * w) few_rows_block<T, Rows, 2>(j, k, g, accumulate, finish);
    for (; j + w <= n; j += w) few_rows_block<T, Rows, 1>(j, k, g, accumulate, finish);
    for (; j < n; ++j)  // fewer columns than a vector
        for (std::size_t r = 0; r < Rows; ++r) {
            T sum = T(0);
            for (std::size_t p = 0; p < k; ++p) sum += element_a(g, r, p) * g.b[p * g.ldb + j];
            T& dst = g.c[r * g.ldc + j];
            dst = finish(accumulate ? dst + sum : sum, j);
        }
}

template <class T>
struct gemm_scratch {
    aligned_buffer<T> a, b;
    // Winograd's transformed tiles when threads share one image's convolution.
    aligned_buffer<T> transforms;
};

template <class T>
gemm_scratch<T>& thread_scratch() {
    // One per thread: every worker runs its own GEMMs; grown once, then reused.
    thread_local gemm_scratch<T> scratch;
    return scratch;
}

}  // namespace detail

// C = op(A) op(B), or C += op(A) op(B) when accumulate. k == 0 gives C = 0
// (or leaves C alone when accumulating). Operands are read in place where
// their layout already suits the micro-kernel (B with whole rows of NR
// columns, A transposed); otherwise one panel at a time is packed.
//
// finish(value, column) runs on every result, vector or scalar, as it is
// stored for the last time (see micro_kernel); no_finish leaves it alone.
struct no_finish {
    template <class V>
    V operator()(const V& value, std::size_t) const noexcept {
        return value;
    }
};

namespace detail {
template <class T, std::size_t Vectors, class Finish>
void gemm_tiled(std::size_t m, std::size_t n, std::size_t k, const gemm_operands<T>& g, bool accumulate,
                const Finish& finish) {
    using tile = gemm_tile<T, Vectors>;
    constexpr std::size_t mr = tile::mr, nr = tile::nr;
    auto& scratch = thread_scratch<T>();
    const bool b_in_place = !g.transpose_b && n % nr == 0;
    const std::size_t n_padded = (n + nr - 1) / nr * nr;
    const std::size_t kc_max = std::min(tile::kc, k);
    if (!b_in_place && scratch.b.size() < kc_max * n_padded) scratch.b.resize(kc_max * n_padded);
    if (scratch.a.size() < kc_max * mr) scratch.a.resize(kc_max * mr);

    for (std::size_t p0 = 0; p0 < k; p0 += tile::kc) {
        const std::size_t kc = std::min(tile::kc, k - p0);
        const bool acc = accumulate || p0 > 0;
        if (!b_in_place) pack_b<T, Vectors>(g, n, p0, kc, scratch.b.data());
        for (std::size_t i0 = 0; i0 < m; i0 += mr) {
            const std::size_t rows = std::min(mr, m - i0);
            const T* a = scratch.a.data();
            std::size_t a_step = mr;
            // A transposed is read in place by a kernel of exactly its rows:
            // a 4-row tile of a 16-row product ran 6x slower through the panel.
            if (g.transpose_a && kernel_rows<T, Vectors>(rows) == rows) {
                a = g.a + p0 * g.lda + i0;
                a_step = g.lda;
            } else {
                pack_a_panel<T, Vectors>(g, i0, rows, p0, kc, scratch.a.data());
            }
            for (std::size_t j0 = 0; j0 < n; j0 += nr) {
                const T* b = b_in_place ? g.b + p0 * g.ldb + j0 : scratch.b.data() + j0 * kc;
                micro_kernel_for_rows<T, Vectors>(kc, a, a_step, b, b_in_place ? g.ldb : nr,
                                                  g.c + i0 * g.ldc + j0, g.ldc, rows, std::min(nr, n - j0),
                                                  acc, j0, p0 + kc == k, finish);
            }
        }
    }
}

// Calls f(integral_constant<Vectors>) with the tile width chosen for n columns.
template <class T, class F>
decltype(auto) with_tile_vectors(std::size_t n, F&& f) {
    switch (tile_vectors<T>(n)) {
        case 1:
            return f(std::integral_constant<std::size_t, 1>{});
        case 3:
            return f(std::integral_constant<std::size_t, 3>{});
        default:
            return f(std::integral_constant<std::size_t, 2>{});
    }
}
}  // namespace detail

// Vectors fixes the register tile's width (tile_vectors(n) where n is known
// at compile time); 0 chooses it from n at run time.
template <class T, std::size_t Vectors = 0, class Finish = no_finish>
void gemm(std::size_t m, std::size_t n, std::size_t k, const gemm_operands<T>& g, bool accumulate,
          const Finish& finish = {}) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
        if (!accumulate)
            for (std::size_t i = 0; i < m; ++i) std::fill_n(g.c + i * g.ldc, n, T(0));
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) g.c[i * g.ldc + j] = finish(g.c[i * g.ldc + j], j);
        return;
    }
    if (m <= 2 && !g.transpose_b) {
        if (m == 1)
            detail::gemm_few_rows<T, 1>(n, k, g, accumulate, finish);
        else
            detail::gemm_few_rows<T, 2>(n, k, g, accumulate, finish);
        return;
    }
    if constexpr (Vectors > 0)
        detail::gemm_tiled<T, Vectors>(m, n, k, g, accumulate, finish);
    else
        detail::with_tile_vectors<T>(n, [&]<std::size_t V>(std::integral_constant<std::size_t, V>) {
            detail::gemm_tiled<T, V>(m, n, k, g, accumulate, finish);
        });
}

// Past this depth a fixed-depth tile would stream a B panel too large for L2
// once per row tile; gemm's depth blocking takes over. At 512, a 3x3
// 64-channel convolution (depth 576) went through packing and ran 46% longer.
inline constexpr std::size_t max_fixed_depth = 1024;

// C = A B (or C += A B) for a depth known at compile time, with A row-major
// and read in place (lda == Depth) and B in place: nothing is packed, and
// every A address is a constant offset from the tile's first row. This is
// how convolutions multiply their im2col rows: packing A cost as much as the
// arithmetic at depth 9 and ~25% at depth 288 (3x3x32). Falls back to gemm
// past max_fixed_depth or when n is not a whole number of register tiles.
// Vectors fixes the tile width where the caller knows n at compile time
// (tile_vectors); 0 chooses it from n.
template <class T, std::size_t Depth, std::size_t Vectors = 0, class Finish = no_finish>
void gemm_fixed_depth(std::size_t m, std::size_t n, const T* a, const T* b, std::size_t ldb, T* c,
                      std::size_t ldc, bool accumulate, const Finish& finish = {}) {
    static_assert(Depth >= 1, "gemm_fixed_depth: depth must be at least 1");
    if constexpr (Vectors == 0) {
        detail::with_tile_vectors<T>(n, [&]<std::size_t V>(std::integral_constant<std::size_t, V>) {
            gemm_fixed_depth<T, Depth, V>(m, n, a, b, ldb, c, ldc, accumulate, finish);
        });
    } else if constexpr (Depth > max_fixed_depth) {
        gemm<T, Vectors>(m, n, Depth, {a, Depth, false, b, ldb, false, c, ldc}, accumulate, finish);
    } else {
        constexpr std::size_t mr = detail::gemm_tile<T, Vectors>::mr, nr = detail::gemm_tile<T, Vectors>::nr;
        if (n % nr != 0) {
            gemm<T, Vectors>(m, n, Depth, {a, Depth, false, b, ldb, false, c, ldc}, accumulate, finish);
            return;
        }
        for (std::size_t i0 = 0; i0 < m; i0 += mr) {
            const std::size_t rows = std::min(mr, m - i0);
            const T* a_rows = a + i0 * Depth;
            // The kernel reads a whole tile of rows: a ragged last block is
            // copied out, zero-padded, so the read stays inside A. The copy
            // goes to the thread's scratch (grown once), not the stack: at
            // depth 1024 a tile is 120 KB of floats.
            if (rows != mr) {
                auto& scratch = detail::thread_scratch<T>().a;
                if (scratch.size() < mr * Depth) scratch.resize(mr * Depth);
                std::fill(std::copy_n(a_rows, rows * Depth, scratch.data()), scratch.data() + mr * Depth,
                          T(0));
                a_rows = scratch.data();
            }
            for (std::size_t j0 = 0; j0 < n; j0 += nr)
                detail::micro_kernel_for_rows<T, Vectors, Finish, Depth>(Depth, a_rows, 0, b + j0, ldb,
                                                                         c + i0 * ldc + j0, ldc, rows, nr,
                                                                         accumulate, j0, true, finish);
        }
    }
}

// C (M x n) = / += A^T B, with A stored k x M row-major (A^T read in place,
// lda == M) and M at most one register tile's rows, known at compile time:
// the whole depth accumulates in registers and each C tile is stored once.
// A 3x3 single-channel convolution's weight gradient has M = 9 and a depth
// of every pixel in the batch; the general path computed 14 rows for it
// and packed A^T. Falls back to gemm when n is not whole register tiles or
// M exceeds the rows of the tile n calls for.
template <class T, std::size_t M>
void gemm_transposed_a_few_rows(std::size_t n, std::size_t k, const T* a, const T* b, std::size_t ldb, T* c,
                                std::size_t ldc, bool accumulate) {
    static_assert(M >= 1, "gemm_transposed_a_few_rows: M must be at least 1");
    detail::with_tile_vectors<T>(n, [&]<std::size_t V>(std::integral_constant<std::size_t, V>) {
        constexpr std::size_t nr = detail::gemm_tile<T, V>::nr;
        if constexpr (M <= detail::gemm_tile<T, V>::mr) {
            if (n % nr == 0 && k > 0) {
                for (std::size_t j0 = 0; j0 < n; j0 += nr)
                    detail::micro_kernel<T, V, M>(k, a, M, b + j0, ldb, c + j0, ldc, M, nr, accumulate, j0,
                                                  true, no_finish{});
                return;
            }
        }
        gemm<T, V>(M, n, k, {a, M, true, b, ldb, false, c, ldc}, accumulate);
    });
}

}  // namespace strata::simd
