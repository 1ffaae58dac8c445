// Loads Fashion-MNIST (or any MNIST-format image/label IDX pair) into strata::data::dataset<float>.
// The data directory comes from the caller, else $STRATA_DATA, else Debian's install location.
#pragma once

#include <array>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "strata/core/error.hpp"
#include "strata/data/dataset.hpp"
#include "strata/data/idx.hpp"

namespace strata::data {

struct fashion_mnist_set {
    dataset<float> train, test;
    static constexpr std::array<std::string_view, 10> class_names{
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
};

inline constexpr std::string_view fashion_mnist_default_dir = "/usr/share/datasets/fashion-mnist";

// Images as (N, rows, cols, 1) floats in [0,1], labels as (N, 1) class indices.
inline dataset<float> load_idx_images_labels(const std::filesystem::path& images,
                                             const std::filesystem::path& labels, std::size_t num_classes) {
    if (num_classes == 0) {
        throw usage_error("load_idx_images_labels: num_classes must be at least 1");
    }
    const idx_array img = read_idx(images);
    if (img.rank() != 3) {
        detail::idx_fail(
            images, "rank",
            "expected 3 dimensions (count, rows, cols) for images, found " + std::to_string(img.rank()));
    }
    const idx_array lab = read_idx(labels);
    if (lab.rank() != 1) {
        detail::idx_fail(labels, "rank",
                         "expected 1 dimension (count) for labels, found " + std::to_string(lab.rank()));
    }
    const std::size_t n = img.dims[0];
    if (lab.dims[0] != n) {
        throw data_error("image count " + std::to_string(n) + " in \"" + images.string() +
                         "\" does not match label count " + std::to_string(lab.dims[0]) + " in \"" +
                         labels.string() + "\"");
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (lab.data[i] >= num_classes) {
            detail::idx_fail(labels, "label " + std::to_string(i),
                             "expected a class index below " + std::to_string(num_classes) + ", found " +
                                 std::to_string(lab.data[i]) + " (first bad label is at index " +
                                 std::to_string(i) + ")");
        }
    }

    // A table keeps the conversion exact (v / 255.0f) without a division per pixel.
    std::array<float, 256> scale{};
    for (std::size_t v = 0; v < scale.size(); ++v) {
        scale[v] = static_cast<float>(v) / 255.0f;
    }
    dataset<float> out;
    out.x = xt::xtensor<float, 4>({n, img.dims[1], img.dims[2], std::size_t{1}});
    out.y = xt::xtensor<float, 2>({n, std::size_t{1}});
    float* x = out.x.data();
    const std::uint8_t* src = img.data.data();
    for (std::size_t i = 0, total = img.data.size(); i < total; ++i) {
        x[i] = scale[src[i]];
    }
    float* y = out.y.data();
    for (std::size_t i = 0; i < n; ++i) {
        y[i] = static_cast<float>(lab.data[i]);
    }
    return out;
}

namespace detail {

inline constexpr std::array<std::string_view, 4> fashion_mnist_files{
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

// name or name.gz inside dir; the uncompressed file wins because it loads faster.
inline std::optional<std::filesystem::path> find_idx_file(const std::filesystem::path& dir,
                                                          std::string_view name) {
    for (const auto& candidate : {dir / std::string(name), dir / (std::string(name) + ".gz")}) {
        std::error_code ec;
        if (std::filesystem::is_regular_file(candidate, ec)) {
            return candidate;
        }
    }
    return std::nullopt;
}

}  // namespace detail

// dir: explicit directory; else $STRATA_DATA; else /usr/share/datasets/fashion-mnist. Each base
// directory is searched as is and in its fashion-mnist/ subdirectory; no fallback to the next source,
// so a wrong setting is reported instead of silently ignored.
inline fashion_mnist_set fashion_mnist(const std::filesystem::path& dir = {}) {
    std::filesystem::path base;
    std::string origin;
    if (!dir.empty()) {
        base = dir;
        origin = "the given directory";
    } else if (const char* env = std::getenv("STRATA_DATA"); env != nullptr && *env != '\0') {
        base = env;
        origin = "$STRATA_DATA";
    } else {
        base = fashion_mnist_default_dir;
        origin = "the default location";
    }

    std::string searched;
    for (const auto& candidate : {base, base / "fashion-mnist"}) {
        std::array<std::filesystem::path, 4> found;
        std::string missing;
        for (std::size_t i = 0; i < found.size(); ++i) {
            const auto name = detail::fashion_mnist_files[i];
            if (auto p = detail::find_idx_file(candidate, name)) {
                found[i] = *p;
            } else {
                missing += (missing.empty() ? "" : ", ") + std::string(name) + "[.gz]";
            }
        }
        if (missing.empty()) {
            return {load_idx_images_labels(found[0], found[1], fashion_mnist_set::class_names.size()),
                    load_idx_images_labels(found[2], found[3], fashion_mnist_set::class_names.size())};
        }
        std::error_code ec;
        searched +=
            "\n  " + candidate.string() +
            (std::filesystem::is_directory(candidate, ec) ? ": missing " + missing : ": no such directory");
    }
    throw data_error(
        "Fashion-MNIST not found: no directory holds all four IDX files. Searched (based on " + origin +
        "):" + searched +
        "\nTo fix: install Debian's dataset-fashion-mnist, or pass --data DIR / set STRATA_DATA.");
}

}  // namespace strata::data
