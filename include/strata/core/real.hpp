// A number that can be a template argument on every compiler we support.
// clang before 18 rejects floating-point non-type template parameters but
// accepts class types, so the value travels as its bit pattern: dropout<0.5>,
// basic_leaky_relu<0.3> and init::constant<1> read the same on g++ and clang 14.
#pragma once

#include <bit>
#include <concepts>
#include <cstdint>

namespace strata {

struct real {
    std::uint64_t bits;

    constexpr real(double v) noexcept : bits(std::bit_cast<std::uint64_t>(v)) {}
    // Template arguments allow no int->double or float->double conversion.
    constexpr real(float v) noexcept : real(static_cast<double>(v)) {}
    template <std::integral I>
    constexpr real(I v) noexcept : real(static_cast<double>(v)) {}

    constexpr double value() const noexcept { return std::bit_cast<double>(bits); }
};

}  // namespace strata
