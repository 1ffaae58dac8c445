// Small hand-made images for the augmentation tests.
#pragma once

#include <vector>

namespace strata::testing {

// 4x5 single channel: value 10 * row + col, so each pixel names where it came from.
inline std::vector<double> ramp_4x5() {
    std::vector<double> x;
    for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 5; ++c) x.push_back(10 * r + c);
    return x;
}

}  // namespace strata::testing
