// Winograd's minimal filtering F(2x2, 3x3) for stride-1 3x3 convolutions of
// NHWC images (Lavin and Gray, 2015): each 2x2 block of output pixels comes
// from a 4x4 input tile through 16 multiplications per channel pair instead
// of 36, 2.25x fewer. The 16 element-wise products over channels are 16
// matrix products [tiles x C] x [C x F], done by the GEMM kernels; the input
// and output transforms are additions along the channel vectors, with the
// bias and activation applied as the output is stored.
//
// The transforms (Lavin's B, G, A for F(2, 3)):
//   input  V = B^T d B,  B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//   kernel U = G g G^T,  G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//   output Y = A^T M A,  A^T = [1 1 1 0; 0 1 -1 -1]
// Their entries are 0, +-1 and +-1/2, so float results stay within a few
// ulps of direct convolution's.
#pragma once

#include <algorithm>
#include <cstddef>

#include "../core/simd.hpp"
#include "gemm.hpp"

namespace strata::simd {

// Image H x W x C to OH x OW x F with a 3x3 kernel, stride 1, PadTop and
// PadLeft pixels of zeros before the image (any after it follow from OH, OW).
template <class T, std::size_t H, std::size_t W, std::size_t C, std::size_t F, std::size_t OH, std::size_t OW,
          std::size_t PadTop, std::size_t PadLeft>
struct winograd_f2_3 {
    static constexpr std::size_t tiles_y = (OH + 1) / 2, tiles_x = (OW + 1) / 2;
    static constexpr std::size_t tiles_per_image = tiles_y * tiles_x;
    // Tiles transformed and multiplied together: their V and M blocks,
    // 16 x block x (C + F) values, stay within about half an L2.
    // (A whole number of the GEMM's row tiles.)
    static constexpr std::size_t tile_rows = detail::gemm_tile<T, tile_vectors<T>(F)>::mr;
    static constexpr std::size_t block_tiles =
        std::max<std::size_t>(
            1, std::min<std::size_t>(96, 128 * 1024 / (16 * (C + F) * sizeof(T))) / tile_rows) *
        tile_rows;
    // U (16 x C x F), then one block's V (16 x block x C) and M (16 x block x F).
    static constexpr std::size_t kernel_size = 16 * C * F, block_size = 16 * block_tiles * (C + F);
    static constexpr std::size_t workspace_size() { return kernel_size + block_size; }
    static constexpr std::size_t tiles(std::size_t images) { return images * tiles_per_image; }

    // U[e][c][f] from weights stored [ky][kx][c][f], a vector of filters at a
    // time: one scalar at a time, the 25 rows it touches (C x F apart, a power
    // of two in most networks) thrashed one cache set, 335 us for 64 x 64.
    static void transform_kernel(const T* weights, T* u) { transform_kernel(weights, u, 0, C); }
    // Input channels [c_begin, c_end) of it, for threads to share.
    static void transform_kernel(const T* weights, T* u, std::size_t c_begin, std::size_t c_end) {
        for (std::size_t c = c_begin; c < c_end; ++c)
            over_channels<T, F>([&](std::size_t f, auto kind) {
                using V = decltype(kind);
                V g[3][3], gg[4][3];
                for (std::size_t ky = 0; ky < 3; ++ky)
                    for (std::size_t kx = 0; kx < 3; ++kx)
                        g[ky][kx] = load_as<V>(weights + ((ky * 3 + kx) * C + c) * F + f);
                for (std::size_t kx = 0; kx < 3; ++kx) {  // G g: rows
                    gg[0][kx] = g[0][kx];
                    gg[1][kx] = V(T(0.5)) * (g[0][kx] + g[1][kx] + g[2][kx]);
                    gg[2][kx] = V(T(0.5)) * (g[0][kx] - g[1][kx] + g[2][kx]);
                    gg[3][kx] = g[2][kx];
                }
                for (std::size_t i = 0; i < 4; ++i) {  // (G g) G^T: columns
                    T* at = u + (i * 4) * C * F + c * F + f;
                    store_as(at, gg[i][0]);
                    store_as(at + C * F, V(V(T(0.5)) * (gg[i][0] + gg[i][1] + gg[i][2])));
                    store_as(at + 2 * C * F, V(V(T(0.5)) * (gg[i][0] - gg[i][1] + gg[i][2])));
                    store_as(at + 3 * C * F, gg[i][2]);
                }
            });
    }

    // out = finish(conv(in)) for n images; workspace holds workspace_size()
    // values. finish(value, filter) as gemm's: bias and activation.
    template <class Finish>
    static void forward(const T* in, const T* weights, T* out, std::size_t n, T* workspace,
                        const Finish& finish) {
        transform_kernel(weights, workspace);
        forward_tiles(in, workspace, out, 0, tiles(n), workspace + kernel_size, finish);
    }

    // Output tiles [first, end) (counted across the images) from the
    // transformed kernel u, with block_size values of scratch: a share of
    // forward's work that threads can split. Each tile's arithmetic is the
    // same however the tiles are shared.
    template <class Finish>
    static void forward_tiles(const T* in, const T* u, T* out, std::size_t first, std::size_t end, T* scratch,
                              const Finish& finish) {
        T* v = scratch;
        T* m = v + 16 * block_tiles * C;
        for (std::size_t t0 = first; t0 < end; t0 += block_tiles) {
            const std::size_t count = std::min(block_tiles, end - t0);
            for (std::size_t t = 0; t < count; ++t) transform_input(in, t0 + t, v + t * C, block_tiles * C);
            for (std::size_t e = 0; e < 16; ++e)
                gemm_fixed_depth<T, C, tile_vectors<T>(F)>(count, F, v + e * block_tiles * C, u + e * C * F,
                                                           F, m + e * block_tiles * F, F, false);
            for (std::size_t t = 0; t < count; ++t)
                transform_output(m + t * F, block_tiles * F, t0 + t, out, finish);
        }
    }

    // dweights += the gradient of conv(in) with respect to its weights, from
    // dout over n images: the adjoint of forward. With M = U . V and
    // Y = A^T M A, dU = (A dY A^T) . V summed over tiles, and dg = G^T dU G.
    // So 16 products [C x tiles] x [tiles x F] replace direct's 9 of
    // [C x pixels] x [pixels x F], 2.25x fewer multiply-adds (fewer where
    // an odd output leaves half a tile outside). workspace holds
    // workspace_size() values: dU, then one block's V and A dY A^T.
    static void weight_gradient(const T* in, const T* dout, T* dweights, std::size_t n, T* workspace) {
        T* du = workspace;
        T* v = du + kernel_size;
        T* dm = v + 16 * block_tiles * C;
        std::fill_n(du, kernel_size, T(0));
        const std::size_t end = tiles(n);
        for (std::size_t t0 = 0; t0 < end; t0 += block_tiles) {
            const std::size_t count = std::min(block_tiles, end - t0);
            for (std::size_t t = 0; t < count; ++t) {
                transform_input(in, t0 + t, v + t * C, block_tiles * C);
                transform_output_gradient(dout, t0 + t, dm + t * F, block_tiles * F);
            }
            for (std::size_t e = 0; e < 16; ++e)
                gemm<T, tile_vectors<T>(F)>(
                    C, F, count,
                    {v + e * block_tiles * C, C, true, dm + e * block_tiles * F, F, false, du + e * C * F, F},
                    true);
        }
        add_kernel_gradient(du, dweights);
    }

private:
    // Tile `tile` (across the images) of the input, transformed, to v[e * stride + c].
    static void transform_input(const T* in, std::size_t tile, T* v, std::size_t stride) {
        const std::size_t image = tile / tiles_per_image, at = tile % tiles_per_image;
        const std::ptrdiff_t y0 = static_cast<std::ptrdiff_t>(at / tiles_x * 2) - std::ptrdiff_t(PadTop);
        const std::ptrdiff_t x0 = static_cast<std::ptrdiff_t>(at % tiles_x * 2) - std::ptrdiff_t(PadLeft);
        const T* base = in + image * H * W * C;
        const T* rows[4][4];
        alignas(64) static constexpr T zeros[C]{};
        for (std::ptrdiff_t i = 0; i < 4; ++i)
            for (std::ptrdiff_t j = 0; j < 4; ++j) {
                const std::ptrdiff_t y = y0 + i, x = x0 + j;
                rows[i][j] = y >= 0 && y < std::ptrdiff_t(H) && x >= 0 && x < std::ptrdiff_t(W)
                                 ? base + (y * std::ptrdiff_t(W) + x) * std::ptrdiff_t(C)
                                 : zeros;
            }
        over_channels<T, C>([&](std::size_t c, auto kind) {
            using V = decltype(kind);
            V d[4][4], t[4][4];
            for (std::size_t i = 0; i < 4; ++i)
                for (std::size_t j = 0; j < 4; ++j) d[i][j] = load_as<V>(rows[i][j] + c);
            for (std::size_t j = 0; j < 4; ++j) {  // B^T d
                t[0][j] = d[0][j] - d[2][j];
                t[1][j] = d[1][j] + d[2][j];
                t[2][j] = d[2][j] - d[1][j];
                t[3][j] = d[1][j] - d[3][j];
            }
            for (std::size_t i = 0; i < 4; ++i) {  // (B^T d) B
                T* row = v + i * 4 * stride + c;
                store_as(row, t[i][0] - t[i][2]);
                store_as(row + stride, t[i][1] + t[i][2]);
                store_as(row + 2 * stride, t[i][2] - t[i][1]);
                store_as(row + 3 * stride, t[i][1] - t[i][3]);
            }
        });
    }

    // dM = A dY A^T for tile `tile` of dout, to dm[e * stride + f]; pixels
    // outside the output count as zero.
    static void transform_output_gradient(const T* dout, std::size_t tile, T* dm, std::size_t stride) {
        const std::size_t image = tile / tiles_per_image, at = tile % tiles_per_image;
        const std::size_t oy = at / tiles_x * 2, ox = at % tiles_x * 2;
        const T* base = dout + (image * OH * OW + oy * OW + ox) * F;
        const bool right = ox + 1 < OW, below = oy + 1 < OH;
        alignas(64) static constexpr T zeros[F]{};
        const T* rows[2][2] = {{base, right ? base + F : zeros},
                               {below ? base + OW * F : zeros, below && right ? base + (OW + 1) * F : zeros}};
        over_channels<T, F>([&](std::size_t f, auto kind) {
            using V = decltype(kind);
            V a[4][2];
            for (std::size_t j = 0; j < 2; ++j) {  // A dY: rows
                const V y0 = load_as<V>(rows[0][j] + f), y1 = load_as<V>(rows[1][j] + f);
                a[0][j] = y0;
                a[1][j] = y0 + y1;
                a[2][j] = y0 - y1;
                a[3][j] = -y1;
            }
            for (std::size_t i = 0; i < 4; ++i) {  // (A dY) A^T: columns
                T* row = dm + i * 4 * stride + f;
                store_as(row, a[i][0]);
                store_as(row + stride, V(a[i][0] + a[i][1]));
                store_as(row + 2 * stride, V(a[i][0] - a[i][1]));
                store_as(row + 3 * stride, V(-a[i][1]));
            }
        });
    }

    // dweights[ky][kx][c][f] += (G^T dU G)[ky][kx] for dU stored as U is.
    static void add_kernel_gradient(const T* du, T* dweights) {
        for (std::size_t c = 0; c < C; ++c)
            over_channels<T, F>([&](std::size_t f, auto kind) {
                using V = decltype(kind);
                const V half(T(0.5));
                V r[3][4];
                for (std::size_t j = 0; j < 4; ++j) {  // G^T dU: rows
                    const T* at = du + j * C * F + c * F + f;
                    const V m0 = load_as<V>(at), m1 = load_as<V>(at + 4 * C * F),
                            m2 = load_as<V>(at + 8 * C * F), m3 = load_as<V>(at + 12 * C * F);
                    r[0][j] = m0 + half * (m1 + m2);
                    r[1][j] = half * (m1 - m2);
                    r[2][j] = half * (m1 + m2) + m3;
                }
                for (std::size_t ky = 0; ky < 3; ++ky) {  // (G^T dU) G: columns
                    T* at = dweights + ky * 3 * C * F + c * F + f;
                    store_as(at, V(load_as<V>(at) + r[ky][0] + half * (r[ky][1] + r[ky][2])));
                    store_as(at + C * F, V(load_as<V>(at + C * F) + half * (r[ky][1] - r[ky][2])));
                    store_as(at + 2 * C * F,
                             V(load_as<V>(at + 2 * C * F) + half * (r[ky][1] + r[ky][2]) + r[ky][3]));
                }
            });
    }

    // The 2x2 output pixels of tile `tile` from m[e * stride + f], those inside the image.
    template <class Finish>
    static void transform_output(const T* m, std::size_t stride, std::size_t tile, T* out,
                                 const Finish& finish) {
        const std::size_t image = tile / tiles_per_image, at = tile % tiles_per_image;
        const std::size_t oy = at / tiles_x * 2, ox = at % tiles_x * 2;
        T* base = out + (image * OH * OW + oy * OW + ox) * F;
        const bool right = ox + 1 < OW, below = oy + 1 < OH;
        over_channels<T, F>([&](std::size_t f, auto kind) {
            using V = decltype(kind);
            V s[4][2];
            for (std::size_t i = 0; i < 4; ++i) {  // M A: columns
                const T* row = m + i * 4 * stride + f;
                const V m1 = load_as<V>(row + stride), m2 = load_as<V>(row + 2 * stride);
                s[i][0] = load_as<V>(row) + m1 + m2;
                s[i][1] = m1 - m2 - load_as<V>(row + 3 * stride);
            }
            for (std::size_t j = 0; j < 2; ++j) {  // A^T (M A): rows
                if (j == 1 && !right) break;
                store_as(base + j * F + f, finish(V(s[0][j] + s[1][j] + s[2][j]), f));
                if (below) store_as(base + (OW + j) * F + f, finish(V(s[1][j] - s[2][j] - s[3][j]), f));
            }
        });
    }
};

}  // namespace strata::simd
