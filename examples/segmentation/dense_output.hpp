// What the segmentation example shares with examples/diagnose (its
// wrong_architecture scenario): the canvas size, the classes and their
// colours, and the articles' dense-output network.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include <strata/strata.hpp>

namespace segmentation_example {

constexpr std::size_t side = 64, classes = 11;

// Background black, the garments in ten distinct colours.
constexpr std::array<std::array<std::uint8_t, 3>, classes> palette{{{0, 0, 0},
                                                                    {230, 25, 75},
                                                                    {60, 180, 75},
                                                                    {255, 225, 25},
                                                                    {67, 99, 216},
                                                                    {245, 130, 49},
                                                                    {145, 30, 180},
                                                                    {66, 212, 244},
                                                                    {240, 50, 230},
                                                                    {191, 239, 69},
                                                                    {250, 190, 212}}};

// conv, pool, conv, pool, flatten, dense, dense(64 * 64 * 11): every pixel's
// scores from one flat vector.
using dense_output_t =
    strata::sequential<strata::input<side, side, 1>, strata::conv2d<32, 3, strata::relu>, strata::max_pool<2>,
                       strata::conv2d<64, 3, strata::relu>, strata::max_pool<2>, strata::flatten,
                       strata::dense<128, strata::relu>, strata::dense<side * side * classes>>;

}  // namespace segmentation_example
