// Replaces the global operator new to count heap allocations, so a test can
// prove that a training step allocates nothing once its buffers exist.
// Include it in one source file of a test executable only.
#pragma once

#include <atomic>
#include <cstdlib>
#include <new>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STRATA_TEST_UNDER_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define STRATA_TEST_UNDER_TSAN 1
#endif

namespace strata_test {
inline std::atomic<std::size_t> allocations{0};
// ThreadSanitizer's runtime defines operator new itself, so under it nothing
// is counted and only the threading is checked.
#ifdef STRATA_TEST_UNDER_TSAN
inline constexpr bool counting_allocations = false;
#else
inline constexpr bool counting_allocations = true;
#endif
}  // namespace strata_test

#ifndef STRATA_TEST_UNDER_TSAN
void* operator new(std::size_t n) {
    strata_test::allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a) {
    strata_test::allocations.fetch_add(1, std::memory_order_relaxed);
    const std::size_t align = static_cast<std::size_t>(a);
    if (void* p = std::aligned_alloc(align, (n + align - 1) / align * align)) return p;
    throw std::bad_alloc();
}
// These replace the global functions, so free() matches the malloc() above;
// GCC 12 sees the inlined pair as mismatched (its -Wmismatched-new-delete).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#endif
