// Comparing trained tensors: the largest difference against the reference's
// scale, so weights near zero do not blow a per-element ratio up.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace strata::testing {

// max |a - b| / max |b|; the sizes must match.
template <class A, class B>
double scaled_max_difference(const A& a, const B& b) {
    if (a.size() != b.size()) return INFINITY;
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
        scale = std::max(scale, std::abs(double(b[i])));
    }
    return diff / std::max(scale, 1e-30);
}

}  // namespace strata::testing
