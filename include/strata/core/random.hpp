// Seeded random numbers with the same sequence on every platform (the
// standard distributions are implementation-defined). Counter-based streams
// let dropout masks depend on the sample, not on which thread ran it.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>

namespace strata {

struct seed {
    std::uint64_t value = 0;
};

inline constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// Mixes several keys (seed, step, sample, ...) into one independent stream seed.
template <class... Keys>
inline constexpr std::uint64_t mix_keys(std::uint64_t first, Keys... rest) noexcept {
    std::uint64_t h = splitmix64(first);
    ((h = splitmix64(h ^ static_cast<std::uint64_t>(rest))), ...);
    return h;
}

// xoshiro256** seeded through splitmix64.
class rng {
public:
    explicit rng(std::uint64_t s = 0) noexcept {
        for (auto& w : state_) w = s = splitmix64(s);
    }
    explicit rng(seed s) noexcept : rng(s.value) {}

    std::uint64_t next() noexcept {
        const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
        const std::uint64_t t = state_[1] << 17;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotl(state_[3], 45);
        return result;
    }
    // Uniform in [0, 1) with 53 random bits.
    double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
    // Uniform integer in [0, n) without modulo bias (Lemire's method).
    std::uint64_t below(std::uint64_t n) noexcept {
        std::uint64_t high, low;
        multiply(next(), n, high, low);
        if (low < n) {
            const std::uint64_t threshold = -n % n;
            while (low < threshold) multiply(next(), n, high, low);
        }
        return high;
    }
    // Standard normal by Box-Muller (one value per call; simple beats fast here).
    double normal() noexcept {
        double u1 = uniform();
        while (u1 <= 0.0) u1 = uniform();
        const double u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    }

    // The generator's position, for checkpoints that resume a sequence exactly.
    std::array<std::uint64_t, 4> position() const noexcept {
        return {state_[0], state_[1], state_[2], state_[3]};
    }
    void set_position(const std::array<std::uint64_t, 4>& p) noexcept {
        for (std::size_t i = 0; i < 4; ++i) state_[i] = p[i];
    }

private:
    // The 128-bit product a * b as (high, low) words, in ISO C++ (no __int128).
    static void multiply(std::uint64_t a, std::uint64_t b, std::uint64_t& high, std::uint64_t& low) noexcept {
        const std::uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32, b_lo = b & 0xffffffffu, b_hi = b >> 32;
        const std::uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi;
        const std::uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xffffffffu) + lo_hi;
        high = a_hi * b_hi + (hi_lo >> 32) + (cross >> 32);
        low = (cross << 32) | (lo_lo & 0xffffffffu);
    }

    static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
        return (x << k) | (x >> (64 - k));
    }
    std::uint64_t state_[4];
};

}  // namespace strata
