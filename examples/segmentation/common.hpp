// The segmentation example's pieces shared by main.cpp and the two networks'
// translation units (unet.cpp, dense.cpp), which compile in parallel.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <vector>

#include <strata/data/segmentation.hpp>
#include <strata/strata.hpp>

#include "../common/example_cli.hpp"
#include "dense_output.hpp"

namespace segmentation_example {

namespace st = strata;

struct options : example::training_flags {
    std::size_t train_canvases = 6000, test_canvases = 1000, dense_epochs = 0, grid_rows = 6, grid_scale = 2;
    double lr = 2e-3;
    bool augment = false;
    std::string grid = "segmentation_grid.png", save_data;
};

struct outcome {
    std::string name;
    std::size_t parameters = 0;
    st::history history;
    st::evaluation test;
    std::vector<double> iou;
    std::vector<std::vector<std::size_t>> grid_masks;  // predicted classes of the first test canvases
};

// What both networks train and test on.
struct context {
    const options& opt;
    std::ostream& human;
    const st::data::segmentation_source& train;
    const st::data::dataset<float>& test;
    std::size_t grid_rows;
};

outcome train_unet(const context& c);
outcome train_dense_output(const context& c);

}  // namespace segmentation_example
