// Segmentation data as image/mask folder pairs: root/images/NAME and
// root/masks/NAME, the mask an 8-bit grey PNG whose values are class
// indices. write_segmentation_folder writes a data set that way (what
// make_segmentation builds); load_segmentation_folder reads such pairs with
// the image-folder decoders, resizing images with the chosen filter and
// masks by nearest neighbour (a class index must never be interpolated).
// Needs the optional strata::image target.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../image/decode.hpp"
#include "../image/encode.hpp"
#include "../image/pixels.hpp"
#include "dataset.hpp"
#include "image_folder.hpp"

namespace strata::data {

// Images (values in [0, 1]) and masks (y of width H * W, class indices
// below 256) as two folders of PNG files named by sample index.
inline void write_segmentation_folder(const dataset<float>& d, const std::filesystem::path& root) {
    const auto& shape = d.x.shape();
    const std::size_t pixels = shape[1] * shape[2];
    if (d.target_width() != pixels)
        throw usage_error("write_segmentation_folder: masks must hold one class per pixel (" +
                          std::to_string(pixels) + " values), found " + std::to_string(d.target_width()));
    if (shape[3] < 1 || shape[3] > 4)
        throw usage_error("write_segmentation_folder: images must have 1 to 4 channels");
    std::filesystem::create_directories(root / "images");
    std::filesystem::create_directories(root / "masks");
    const std::size_t sample = d.sample_size();
    for (std::size_t n = 0; n < d.size(); ++n) {
        image::image8 img{shape[2], shape[1], shape[3], std::vector<std::uint8_t>(sample)};
        image::image8 mask{shape[2], shape[1], 1, std::vector<std::uint8_t>(pixels)};
        for (std::size_t i = 0; i < sample; ++i) {
            const float v = d.x.data()[n * sample + i];
            if (!(v >= 0.0f && v <= 1.0f))
                throw usage_error("write_segmentation_folder: image " + std::to_string(n) + " has value " +
                                  std::to_string(v) + ", expected [0, 1]");
            img.pixels[i] = static_cast<std::uint8_t>(std::lround(v * 255.0f));
        }
        for (std::size_t i = 0; i < pixels; ++i) {
            const std::size_t c = class_index(d.y.data() + n * pixels + i, 1);
            if (c > 255 || static_cast<float>(c) != d.y.data()[n * pixels + i])
                throw usage_error("write_segmentation_folder: mask " + std::to_string(n) + " pixel " +
                                  std::to_string(i) + " is not a class index in [0, 255]");
            mask.pixels[i] = static_cast<std::uint8_t>(c);
        }
        char name[32];
        std::snprintf(name, sizeof name, "%08zu.png", n);
        image::write_png(root / "images" / name, img);
        image::write_png(root / "masks" / name, mask);
    }
}

// Every image of root/images (sorted by name) with the mask of the same
// name in root/masks. Options as for load_image_folder: height, width,
// color, resize (images only), divide_by, limits, workers, on_bad_file
// (a pair with a bad or missing mask is skipped as a whole).
struct segmentation_folder {
    dataset<float> data;  // x (N, H, W, C), y (N, H * W) class indices
    std::vector<std::filesystem::path> images;
    std::vector<std::string> problems;
};

inline segmentation_folder load_segmentation_folder(const std::filesystem::path& root,
                                                    const image_folder_options& options) {
    detail::check_target_size(options);
    const auto image_dir = root / "images", mask_dir = root / "masks";
    std::error_code ec;
    if (!std::filesystem::is_directory(image_dir, ec) || !std::filesystem::is_directory(mask_dir, ec))
        throw data_error(root.string() + ": expected the sub-folders images/ and masks/");
    std::vector<std::filesystem::path> files;
    for (std::filesystem::directory_iterator it(image_dir, ec), end; !ec && it != end; it.increment(ec))
        if (!it->is_directory() && detail::image_extension(it->path())) files.push_back(it->path());
    if (ec) throw data_error(image_dir.string() + ": cannot list the folder: " + ec.message());
    std::sort(files.begin(), files.end());
    const std::size_t n = files.size(), channels = image::channels_of(options.color);
    const std::size_t pixels = options.height * options.width, sample = pixels * channels;
    dataset<float> all;
    all.x = xt::xtensor<float, 4>::from_shape({n, options.height, options.width, channels});
    all.y = xt::xtensor<float, 2>::from_shape({n, pixels});
    const auto scale = detail::pixel_scale(options.divide_by);
    segmentation_folder out;
    const auto loaded = detail::load_in_parallel(
        n, options, [&](std::size_t i) { return files[i].string(); },
        [&](std::size_t i) {
            detail::load_sample(files[i], options, scale, all.x.data() + i * sample);
            const auto mask_file = mask_dir / files[i].filename();
            const auto mask = image::read(mask_file, options.limits);
            if (mask.channels != 1)
                throw data_error(mask_file.string() +
                                 ": a mask must be a grey image of class indices, found " +
                                 std::to_string(mask.channels) + " channels");
            const auto sized =
                image::resize(mask, options.width, options.height, image::interpolation::nearest);
            for (std::size_t p = 0; p < pixels; ++p) all.y(i, p) = static_cast<float>(sized.pixels[p]);
        },
        out.problems);
    for (std::size_t i = 0; i < n; ++i)
        if (loaded[i]) out.images.push_back(files[i]);
    out.data = detail::loaded_samples(std::move(all), loaded);
    return out;
}

}  // namespace strata::data
