// The one place strata names xsimd's functions. It bridges xsimd 8.1 (Debian
// bookworm) and 9 to 13 (ConanCenter pairs xtensor 0.24.7 with xsimd 13):
// 9 renamed hadd to reduce_add. Scalar overloads let element-wise code be
// written once for T and batch.
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>

#include <xsimd/xsimd.hpp>

namespace strata::simd {

// The architecture the user's compiler flags select (never forced by strata).
using arch = xsimd::default_arch;

template <class T>
using batch = xsimd::batch<T, arch>;

template <class T>
inline constexpr std::size_t width = batch<T>::size;

// 32 vector registers with AVX-512, 16 otherwise; register tiles size from this.
inline constexpr std::size_t vector_registers = sizeof(batch<float>) >= 64 ? 32 : 16;

template <class T>
inline T reduce_add(const batch<T>& b) noexcept {
#if XSIMD_VERSION_MAJOR >= 9
    return xsimd::reduce_add(b);
#else
    return xsimd::hadd(b);
#endif
}

template <class T>
inline batch<T> load(const T* p) noexcept {
    return batch<T>::load_unaligned(p);
}

template <class T>
inline void store(T* p, const batch<T>& b) noexcept {
    b.store_unaligned(p);
}

// Scalar and batch spellings of the functions activations use (one template
// where a scalar goes to std:: and a batch to xsimd), so an activation's
// formula is written once and runs in both the kernel and the reference loop.
template <class T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
inline T max(T a, T b) noexcept {
    return a > b ? a : b;
}
template <class T>
inline batch<T> max(const batch<T>& a, const batch<T>& b) noexcept {
    return xsimd::max(a, b);
}

template <class V>
inline V exp(const V& a) noexcept {
    if constexpr (std::is_floating_point_v<V>)
        return std::exp(a);
    else
        return xsimd::exp(a);
}

template <class V>
inline V tanh(const V& a) noexcept {
    if constexpr (std::is_floating_point_v<V>)
        return std::tanh(a);
    else
        return xsimd::tanh(a);
}

template <class T>
inline batch<T> min(const batch<T>& a, const batch<T>& b) noexcept {
    return xsimd::min(a, b);
}

// a * b + c, one rounding where the target has FMA, for batches and
// scalars alike, so a loop's scalar tail rounds as its vectors do.
template <class T>
inline batch<T> fma(const batch<T>& a, const batch<T>& b, const batch<T>& c) noexcept {
    return xsimd::fma(a, b, c);
}
template <class T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
inline T fma(T a, T b, T c) noexcept {
#ifdef __FMA__
    return std::fma(a, b, c);
#else
    return a * b + c;
#endif
}

template <class V>
inline V sqrt(const V& a) noexcept {
    if constexpr (std::is_floating_point_v<V>)
        return std::sqrt(a);
    else
        return xsimd::sqrt(a);
}

template <class V>
inline V abs(const V& a) noexcept {
    if constexpr (std::is_floating_point_v<V>)
        return std::abs(a);
    else
        return xsimd::abs(a);
}

// Lanes of if_true where mask is set, else of otherwise.
template <class T, class Mask>
inline batch<T> select(const Mask& mask, const batch<T>& if_true, const batch<T>& otherwise) noexcept {
    return xsimd::select(mask, if_true, otherwise);
}

template <class T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
inline T positive_select(T cond, T if_positive, T otherwise) noexcept {
    return cond > T(0) ? if_positive : otherwise;
}
template <class T>
inline batch<T> positive_select(const batch<T>& cond, const batch<T>& if_positive,
                                const batch<T>& otherwise) noexcept {
    return xsimd::select(cond > batch<T>(T(0)), if_positive, otherwise);
}

// One spelling of a loop body for vectors (V a batch) and the scalar tail (V = T).
template <class V, class T>
inline V load_as(const T* p) noexcept {
    if constexpr (std::is_same_v<V, T>)
        return *p;
    else
        return load(p);
}
template <class T, class V>
inline void store_as(T* p, const V& v) noexcept {
    if constexpr (std::is_same_v<V, T>)
        *p = v;
    else
        store(p, v);
}

// Calls body(c, V{}) for each offset c of Channels values, with V a batch
// where a whole vector fits and T for the tail.
template <class T, std::size_t Channels, class Body>
inline void over_channels(Body&& body) {
    // Compile-time bounds: GCC warns about the tail loop otherwise.
    constexpr std::size_t w = width<T>, vectors_end = Channels / w * w;
    for (std::size_t c = 0; c < vectors_end; c += w) body(c, batch<T>{});
    for (std::size_t c = vectors_end; c < Channels; ++c) body(c, T{});
}

// Calls body(i, V{}) for i in [begin, end), stepping by V's width: V a
// batch where a whole vector fits, then T for the tail. With load_as and
// store_as, one spelling of an element-wise update serves both.
template <class T, class Body>
inline void over_range(std::size_t begin, std::size_t end, Body&& body) {
    constexpr std::size_t w = width<T>;
    std::size_t i = begin;
    for (; i + w <= end; i += w) body(i, batch<T>{});
    for (; i < end; ++i) body(i, T{});
}

// Applies f to n elements: vectors first, then a scalar tail through the same f.
template <class T, class F>
inline void transform(const T* in, T* out, std::size_t n, F f) noexcept {
    constexpr std::size_t w = width<T>;
    std::size_t i = 0;
    for (; i + w <= n; i += w) store(out + i, f(load(in + i)));
    for (; i < n; ++i) out[i] = f(in[i]);
}

// out[i] = f(a[i], b[i]) over n elements, vectors then scalar tail.
template <class T, class F>
inline void transform(const T* a, const T* b, T* out, std::size_t n, F f) noexcept {
    constexpr std::size_t w = width<T>;
    std::size_t i = 0;
    for (; i + w <= n; i += w) store(out + i, f(load(a + i), load(b + i)));
    for (; i < n; ++i) out[i] = f(a[i], b[i]);
}

// True when none of n values is NaN or infinite. v * 0 is 0 for finite v and
// NaN otherwise; summing in vector lanes keeps the scan at memory speed,
// where a scalar float sum is bound by the add's latency.
template <class T>
inline bool all_finite(const T* p, std::size_t n) noexcept {
    constexpr std::size_t w = width<T>;
    const batch<T> zero(T(0));
    batch<T> probe(T(0));
    std::size_t i = 0;
    for (; i + w <= n; i += w) probe = fma(load(p + i), zero, probe);
    T tail = 0;
    for (; i < n; ++i) tail += p[i] * T(0);
    return reduce_add(probe) + tail == T(0);
}

}  // namespace strata::simd
