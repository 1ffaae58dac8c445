// The image-folder loader against keras_preprocessing's flow_from_directory
// (Pillow underneath) on a folder of every format and mode, written by
// image_folder_reference.py: file order, class indices, subsets and pixels.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <support/reference_files.hpp>

#include "strata/data/image_folder.hpp"

namespace {

namespace fs = std::filesystem;
namespace st = strata;

fs::path reference_dir() { return st::testing::reference_dir("STRATA_IMAGE_FOLDER_DIR"); }

struct config {
    int index = 0;
    std::string folder, mode, interp, subset;
    std::size_t height = 0, width = 0, count = 0;
};

std::vector<config> configs() {
    std::ifstream in(reference_dir() / "configs.txt");
    std::vector<config> out;
    config c;
    while (in >> c.index >> c.folder >> c.height >> c.width >> c.mode >> c.interp >> c.subset >> c.count)
        out.push_back(c);
    return out;
}

st::data::image_folder_options options_for(const config& c) {
    st::data::image_folder_options o;
    o.height = c.height;
    o.width = c.width;
    o.color = c.mode == "grayscale" ? st::image::color_mode::grayscale
              : c.mode == "rgb"     ? st::image::color_mode::rgb
                                    : st::image::color_mode::rgba;
    o.resize = c.interp == "nearest"    ? st::image::interpolation::nearest
               : c.interp == "bilinear" ? st::image::interpolation::bilinear
                                        : st::image::interpolation::area;
    if (c.subset != "all") {
        o.validation_split = 0.3;
        o.subset =
            c.subset == "training" ? st::data::split_subset::training : st::data::split_subset::validation;
    }
    o.divide_by = 1.0f;  // Keras' raw 0-255
    return o;
}

}  // namespace

TEST_CASE("image folders load as keras_preprocessing's flow_from_directory does") {
    const auto all = configs();
    REQUIRE(all.size() == 66);
    for (const config& c : all) {
        CAPTURE(c.index);
        CAPTURE(c.folder);
        CAPTURE(c.mode);
        CAPTURE(c.interp);
        CAPTURE(c.subset);
        CAPTURE(c.height);
        CAPTURE(c.width);
        const fs::path root = reference_dir() / c.folder;
        const auto loaded = st::data::load_image_folder(root, options_for(c));
        // Same files in the same order, same classes.
        std::ifstream listing(reference_dir() / ("files" + std::to_string(c.index) + ".txt"));
        std::vector<std::pair<std::size_t, std::string>> expected;
        std::string line;
        while (std::getline(listing, line)) {
            const auto space = line.find(' ');
            expected.emplace_back(std::stoul(line.substr(0, space)), line.substr(space + 1));
        }
        REQUIRE(loaded.files.size() == expected.size());
        REQUIRE(loaded.files.size() == c.count);
        if (c.folder != "formats")
            CHECK(loaded.class_names == std::vector<std::string>{"cat", "dog", "zebra"});
        for (std::size_t i = 0; i < expected.size(); ++i) {
            CHECK(fs::relative(loaded.files[i], root).string() == expected[i].second);
            CHECK(loaded.data.y(i, 0) == static_cast<float>(expected[i].first));
        }
        // Pixels: identical to Pillow's, resized or not (the acceptance asks
        // a mean difference of at most 1/255 with bilinear).
        std::vector<std::size_t> shape;
        const auto x = st::testing::read_reference_and_shape(
            reference_dir() / ("x" + std::to_string(c.index) + ".npy"), shape);
        REQUIRE(shape ==
                std::vector<std::size_t>(loaded.data.x.shape().begin(), loaded.data.x.shape().end()));
        double total = 0, worst = 0;
        std::string worst_file;
        const std::size_t sample = loaded.data.sample_size();
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double d = std::abs(static_cast<double>(x[i]) - loaded.data.x.data()[i]);
            total += d;
            if (d > worst) worst = d, worst_file = expected[i / sample].second;
        }
        CAPTURE(worst_file);
        CHECK(total / static_cast<double>(x.size()) <= 1.0);
        CHECK(worst == 0.0);
    }
}
