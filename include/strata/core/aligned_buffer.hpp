// A contiguous, 64-byte aligned, zero-initialised buffer. Networks keep their
// parameters, gradients and activations in these so kernels get cache-line
// aligned rows and so growing happens only when a larger batch arrives.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>
#include <span>
#include <utility>

namespace strata {

inline constexpr std::size_t buffer_alignment = 64;

template <class T>
class aligned_buffer {
public:
    aligned_buffer() = default;
    explicit aligned_buffer(std::size_t n) { resize(n); }
    aligned_buffer(const aligned_buffer& o) : aligned_buffer(o.size_) {
        if (size_) std::memcpy(data_, o.data_, size_ * sizeof(T));
    }
    aligned_buffer(aligned_buffer&& o) noexcept
        : data_(std::exchange(o.data_, nullptr)),
          size_(std::exchange(o.size_, 0)),
          capacity_(std::exchange(o.capacity_, 0)) {}
    aligned_buffer& operator=(aligned_buffer o) noexcept {
        std::swap(data_, o.data_);
        std::swap(size_, o.size_);
        std::swap(capacity_, o.capacity_);
        return *this;
    }
    ~aligned_buffer() { release(); }

    // Keeps the contents up to min(old, new) size; new elements are zero.
    // Never shrinks the allocation, so a smaller batch after a larger one is free.
    void resize(std::size_t n) {
        if (n > capacity_) {
            auto* fresh =
                static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t{buffer_alignment}));
            if (size_) std::memcpy(fresh, data_, size_ * sizeof(T));
            std::memset(static_cast<void*>(fresh + size_), 0, (n - size_) * sizeof(T));
            release();
            data_ = fresh;
            capacity_ = n;
        } else if (n > size_ && data_) {
            std::memset(static_cast<void*>(data_ + size_), 0, (n - size_) * sizeof(T));
        }
        size_ = n;
    }
    void fill_zero() noexcept {
        if (size_) std::memset(static_cast<void*>(data_), 0, size_ * sizeof(T));
    }

    T* data() noexcept { return data_; }
    const T* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    T& operator[](std::size_t i) noexcept { return data_[i]; }
    const T& operator[](std::size_t i) const noexcept { return data_[i]; }
    std::span<T> span() noexcept { return {data_, size_}; }
    std::span<const T> span() const noexcept { return {data_, size_}; }

private:
    void release() noexcept {
        if (data_) ::operator delete[](data_, std::align_val_t{buffer_alignment});
        data_ = nullptr;
    }
    T* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
};

// Rounds n up to a whole number of cache lines' worth of T.
template <class T>
constexpr std::size_t round_up_to_line(std::size_t n) {
    constexpr std::size_t per_line = buffer_alignment / sizeof(T);
    return (n + per_line - 1) / per_line * per_line;
}

}  // namespace strata
