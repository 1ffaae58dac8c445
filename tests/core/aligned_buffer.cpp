#include <cstdint>

#include <doctest/doctest.h>
#include <strata/core/aligned_buffer.hpp>

namespace st = strata;

TEST_CASE("aligned_buffer is aligned, zeroed, keeps contents and never shrinks its allocation") {
    st::aligned_buffer<float> b(10);
    CHECK(reinterpret_cast<std::uintptr_t>(b.data()) % 64 == 0);
    for (std::size_t i = 0; i < 10; ++i) CHECK(b[i] == 0.0f);
    b[3] = 5;
    b.resize(1000);
    CHECK(b[3] == 5);
    CHECK(b[999] == 0);
    const float* before = b.data();
    b.resize(10);
    b.resize(500);
    CHECK(b.data() == before);
    CHECK(b[400] == 0);  // re-grown elements are zero again
    st::aligned_buffer<float> copy = b;
    CHECK(copy[3] == 5);
    CHECK(copy.data() != b.data());
}
