// Image folders, as Keras' flow_from_directory reads them: one sub-folder per
// class (classes in sorted name order, or an explicit list), images found
// recursively, files in sorted order within each folder and folders in sorted
// path order, and validation_split taking the first fraction of each class's
// files. load_image_folder decodes everything into a dataset on the thread
// pool; image_folder_source (image_source.hpp) streams the same samples for
// folders larger than memory. Needs the optional strata::image target.
#pragma once

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../core/thread_pool.hpp"
#include "../image/decode.hpp"
#include "../image/encode.hpp"
#include "../image/pixels.hpp"
#include "dataset.hpp"

namespace strata::data {

enum class split_subset { all, training, validation };

// per_class: Keras' flow_from_directory (the first validation_split of each
// class's sorted files is the validation subset). seeded: the
// image_dataset_from_directory rule (all files shuffled with the seed, the
// last fraction for validation); the permutation is strata's own, not
// TensorFlow's.
enum class split_rule { per_class, seeded };

enum class bad_file { error, skip };

struct image_folder_options {
    std::size_t height = 0, width = 0;  // every image is resized to this (Keras' target_size)
    image::color_mode color = image::color_mode::rgb;
    image::interpolation resize = image::interpolation::nearest;  // Keras' default
    std::vector<std::string> classes;                             // empty: every sub-folder, in sorted order
    double validation_split = 0.0;
    split_subset subset = split_subset::all;
    split_rule split = split_rule::per_class;
    std::uint64_t seed = 0;  // split_rule::seeded only
    bool follow_links = false;
    bad_file on_bad_file = bad_file::error;
    image::decode_limits limits{};
    // Pixels are divided by this: 255 gives [0, 1], exactly as the IDX
    // loader; 1 keeps Keras' raw 0-255.
    float divide_by = 255.0f;
    strata::threads workers{};
};

// What a folder holds: each file with its class index.
struct image_listing {
    std::vector<std::filesystem::path> files;
    std::vector<std::size_t> labels;
    std::vector<std::string> class_names;
    std::vector<std::string> problems;  // skipped symlink loops and unreadable folders
};

namespace detail {

inline bool image_extension(const std::filesystem::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    static constexpr std::array known{".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff"};
    return std::find(known.begin(), known.end(), ext) != known.end();
}

struct folder_walk {
    const image_folder_options& options;
    std::vector<std::string>& problems;
    std::vector<std::pair<std::string, std::vector<std::string>>> folders;  // (path, sorted image file names)

    void problem(const std::string& what) {
        if (options.on_bad_file == bad_file::error) throw data_error(what);
        problems.push_back(what);
    }

    // Folders on the current path, by device and inode, to catch symlink loops.
    void walk(const std::filesystem::path& dir, std::vector<std::pair<dev_t, ino_t>>& ancestors) {
        struct stat info {};
        if (::stat(dir.c_str(), &info) != 0) return problem(dir.string() + ": cannot read the folder");
        const std::pair<dev_t, ino_t> id{info.st_dev, info.st_ino};
        if (std::find(ancestors.begin(), ancestors.end(), id) != ancestors.end())
            return problem(dir.string() + ": symlink loop (the link leads back to a folder above it)");
        ancestors.push_back(id);
        std::error_code ec;
        std::vector<std::string> files;
        std::vector<std::filesystem::path> subfolders;
        std::filesystem::directory_iterator it(dir, ec), end;
        if (ec) {
            ancestors.pop_back();
            return problem(dir.string() + ": cannot list the folder: " + ec.message());
        }
        for (; it != end; it.increment(ec)) {
            if (ec) break;
            const auto& entry = *it;
            std::error_code type_error;
            // Like os.walk: a link to a folder is a folder (descended only
            // with follow_links); anything else, broken links included, a file.
            if (entry.is_directory(type_error)) {
                if (options.follow_links || !entry.is_symlink(type_error)) subfolders.push_back(entry.path());
            } else if (image_extension(entry.path())) {
                files.push_back(entry.path().filename().string());
            }
        }
        if (ec) problem(dir.string() + ": listing the folder failed: " + ec.message());
        std::sort(files.begin(), files.end());
        folders.emplace_back(dir.string(), std::move(files));
        for (const auto& sub : subfolders) walk(sub, ancestors);
        ancestors.pop_back();
    }
};

}  // namespace detail

// The files a loader reads, in Keras' order, with the subset applied.
inline image_listing list_image_folder(const std::filesystem::path& root,
                                       const image_folder_options& options) {
    if (!(options.validation_split >= 0.0 && options.validation_split < 1.0))
        throw usage_error("image folder: validation_split must be in [0, 1), got " +
                          std::to_string(options.validation_split));
    if (options.subset != split_subset::all && options.validation_split == 0.0)
        throw usage_error("image folder: a training or validation subset needs validation_split > 0");
    std::error_code ec;
    if (!std::filesystem::is_directory(root, ec))
        throw data_error(root.string() + ": not a folder (expected one sub-folder per class)");
    image_listing out;
    out.class_names = options.classes;
    if (out.class_names.empty()) {
        for (std::filesystem::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
            if (it->is_directory()) out.class_names.push_back(it->path().filename().string());
        if (ec) throw data_error(root.string() + ": cannot list the folder: " + ec.message());
        std::sort(out.class_names.begin(), out.class_names.end());
        if (out.class_names.empty()) throw data_error(root.string() + ": no class sub-folders");
    }
    for (std::size_t c = 0; c < out.class_names.size(); ++c) {
        const auto dir = root / out.class_names[c];
        if (!std::filesystem::is_directory(dir, ec))
            throw data_error(dir.string() + ": class folder '" + out.class_names[c] + "' not found");
        detail::folder_walk walker{options, out.problems, {}};
        std::vector<std::pair<dev_t, ino_t>> ancestors;
        walker.walk(dir, ancestors);
        std::sort(walker.folders.begin(), walker.folders.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        std::vector<std::filesystem::path> files;
        for (const auto& [folder, names] : walker.folders)
            for (const auto& name : names) files.push_back(std::filesystem::path(folder) / name);
        std::size_t first = 0, last = files.size();
        if (options.split == split_rule::per_class && options.subset != split_subset::all) {
            const auto at = [&](double fraction) {
                return static_cast<std::size_t>(fraction * static_cast<double>(files.size()));
            };
            if (options.subset == split_subset::validation)
                last = at(options.validation_split);
            else
                first = at(options.validation_split);
        }
        for (std::size_t i = first; i < last; ++i) {
            out.files.push_back(files[i]);
            out.labels.push_back(c);
        }
    }
    if (options.split == split_rule::seeded && options.subset != split_subset::all) {
        std::vector<std::size_t> order(out.files.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        rng shuffle(mix_keys(options.seed, 0x5917));
        for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle.below(i)]);
        const std::size_t validation = static_cast<std::size_t>(options.validation_split * order.size());
        const std::size_t first = options.subset == split_subset::validation ? order.size() - validation : 0;
        const std::size_t last =
            options.subset == split_subset::validation ? order.size() : order.size() - validation;
        image_listing picked{{}, {}, out.class_names, out.problems};
        for (std::size_t i = first; i < last; ++i) {
            picked.files.push_back(out.files[order[i]]);
            picked.labels.push_back(out.labels[order[i]]);
        }
        out = std::move(picked);
    }
    return out;
}

namespace detail {

inline void check_target_size(const image_folder_options& options) {
    if (options.height == 0 || options.width == 0)
        throw usage_error("image folder: set height and width (the size every image is resized to)");
    if (!(options.divide_by > 0.0f)) throw usage_error("image folder: divide_by must be positive");
}

// One file, decoded, converted and resized, into a row of floats.
inline void load_sample(const std::filesystem::path& file, const image_folder_options& options,
                        const std::array<float, 256>& scale, float* out) {
    const image::image8 decoded = image::read(file, options.limits);
    const image::image8 img =
        image::resize(image::convert(decoded, options.color), options.width, options.height, options.resize);
    for (std::size_t i = 0; i < img.pixels.size(); ++i) out[i] = scale[img.pixels[i]];
}

inline std::array<float, 256> pixel_scale(float divide_by) {
    std::array<float, 256> scale{};
    for (std::size_t v = 0; v < scale.size(); ++v) scale[v] = static_cast<float>(v) / divide_by;
    return scale;
}

// Runs load(i) for i in [0, n) on the workers. A file that fails (a
// data_error, or no memory to decode it) stops everything with
// bad_file::error, or is recorded in problems and left out; returns which
// samples loaded.
template <class Load, class Name>
std::vector<char> load_in_parallel(std::size_t n, const image_folder_options& options, Name name_of,
                                   Load load, std::vector<std::string>& problems) {
    std::vector<std::string> errors(n);
    thread_pool pool(options.workers);
    const std::size_t tasks = std::min(n, pool.size() * 8);
    pool.run(tasks, [&](std::size_t task) {
        for (std::size_t i = task; i < n; i += tasks) {
            try {
                load(i);
            } catch (const data_error& e) {
                errors[i] = e.what();
            } catch (const std::bad_alloc&) {
                errors[i] = name_of(i) + ": out of memory while decoding";
            }
        }
    });
    std::vector<char> loaded(n, 1);
    for (std::size_t i = 0; i < n; ++i) {
        if (errors[i].empty()) continue;
        if (options.on_bad_file == bad_file::error) throw data_error(errors[i]);
        problems.push_back(std::move(errors[i]));
        loaded[i] = 0;
    }
    return loaded;
}

// The loaded samples of d, in order: d itself when all loaded.
inline dataset<float> loaded_samples(dataset<float>&& d, const std::vector<char>& loaded) {
    std::size_t kept = 0;
    const std::size_t sample = d.sample_size(), width = d.target_width();
    for (std::size_t i = 0; i < loaded.size(); ++i) {
        if (!loaded[i]) continue;
        if (kept != i) {
            std::copy_n(d.x.data() + i * sample, sample, d.x.data() + kept * sample);
            std::copy_n(d.y.data() + i * width, width, d.y.data() + kept * width);
        }
        ++kept;
    }
    return kept == loaded.size() ? std::move(d) : take(d, kept);
}

}  // namespace detail

struct image_folder {
    dataset<float> data;  // (N, height, width, channels), targets the class index
    std::vector<std::string> class_names;
    std::vector<std::filesystem::path> files;  // the file of each sample
    std::vector<std::string> problems;         // what was skipped, and why (bad_file::skip)
};

// Every image of the folder (or of the chosen subset), decoded in parallel.
inline image_folder load_image_folder(const std::filesystem::path& root,
                                      const image_folder_options& options) {
    detail::check_target_size(options);
    image_listing listing = list_image_folder(root, options);
    const std::size_t n = listing.files.size(), channels = image::channels_of(options.color);
    const std::size_t sample = options.height * options.width * channels;
    dataset<float> all;
    all.x = xt::xtensor<float, 4>::from_shape({n, options.height, options.width, channels});
    all.y = xt::xtensor<float, 2>::from_shape({n, 1});
    const auto scale = detail::pixel_scale(options.divide_by);
    image_folder out;
    out.problems = std::move(listing.problems);
    const auto loaded = detail::load_in_parallel(
        n, options, [&](std::size_t i) { return listing.files[i].string(); },
        [&](std::size_t i) {
            detail::load_sample(listing.files[i], options, scale, all.x.data() + i * sample);
            all.y(i, 0) = static_cast<float>(listing.labels[i]);
        },
        out.problems);
    for (std::size_t i = 0; i < n; ++i)
        if (loaded[i]) out.files.push_back(std::move(listing.files[i]));
    out.class_names = std::move(listing.class_names);
    out.data = detail::loaded_samples(std::move(all), loaded);
    return out;
}

// Writes a data set as an image folder of PNG files, one sub-folder per
// class (class_names[c], or the class index) and one file per sample
// (its index, zero-padded, so sorted order is sample order). Pixels in
// [0, 1] are stored as round(v * 255), so IDX data round-trips exactly.
// Returns the number of files written.
inline std::size_t write_image_folder(const dataset<float>& d, const std::filesystem::path& root,
                                      const std::vector<std::string>& class_names = {}) {
    if (d.target_width() != 1)
        throw usage_error("write_image_folder: expected class-index targets (width 1), found width " +
                          std::to_string(d.target_width()));
    const auto& shape = d.x.shape();
    if (shape[3] < 1 || shape[3] > 4)
        throw usage_error("write_image_folder: images must have 1 to 4 channels, found " +
                          std::to_string(shape[3]));
    const std::size_t sample = d.sample_size();
    for (std::size_t i = 0; i < d.size(); ++i) {
        const std::size_t label = class_index(d.y.data() + i, 1);
        const std::string folder = label < class_names.size() ? class_names[label] : std::to_string(label);
        if (label >= 1e15 || (!class_names.empty() && label >= class_names.size()))
            throw usage_error("write_image_folder: sample " + std::to_string(i) +
                              " has no class name for label " + std::to_string(label));
        std::filesystem::create_directories(root / folder);
        image::image8 img{shape[2], shape[1], shape[3], std::vector<std::uint8_t>(sample)};
        const float* x = d.x.data() + i * sample;
        for (std::size_t k = 0; k < sample; ++k) {
            if (!(x[k] >= 0.0f && x[k] <= 1.0f))
                throw usage_error("write_image_folder: sample " + std::to_string(i) + " has pixel value " +
                                  std::to_string(x[k]) + " at " + std::to_string(k) + ", expected [0, 1]");
            img.pixels[k] = static_cast<std::uint8_t>(std::lround(x[k] * 255.0f));
        }
        char name[32];
        std::snprintf(name, sizeof name, "%08zu.png", i);
        image::write_png(root / folder / name, img);
    }
    return d.size();
}

}  // namespace strata::data
