// Writes a PNG grid to see what an augmentation pipeline does: one row per
// Fashion-MNIST test image, the original in the first column and augmented
// draws in the others.
// Usage: augment_preview [--output FILE] [--samples N] [--columns N] [--seed N]
//                        [--rotation DEG] [--shift FRACTION] [--zoom RANGE] [--shear DEG]
//                        [--flip P] [--fill nearest|constant|reflect|wrap] [--data DIR] [--json]
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <stb_image_write.h>
#include <unistd.h>
#include <strata/strata.hpp>

#include "../common/example_cli.hpp"

namespace st = strata;
namespace aug = st::augment;

namespace {

struct options {
    std::string output = "augment_preview.png", data_dir;
    std::size_t samples = 8, columns = 8;
    std::uint64_t seed = 1;
    double rotation = 15, shift = 0.1, zoom = 0.1, shear = 10, flip = 0.5;
    aug::fill_mode fill = aug::fill_mode::nearest;
    bool json = false;
};

options parse_options(int argc, char** argv) {
    options o;
    CLI::App app{
        "Writes a grid of augmented Fashion-MNIST images: each row one image, the first column the "
        "original.",
        "augment_preview"};
    app.add_option("--output", o.output, "PNG file to write")->capture_default_str();
    app.add_option("--samples", o.samples, "rows (images)")
        ->check(example::positive_whole)
        ->capture_default_str();
    app.add_option("--columns", o.columns, "columns, the original included")
        ->check(CLI::Range(std::size_t{2}, std::size_t{1000}))
        ->capture_default_str();
    app.add_option("--seed", o.seed, "seed of the random transforms")->capture_default_str();
    app.add_option("--rotation", o.rotation, "largest rotation in degrees")
        ->check(example::real_above(0, false))
        ->capture_default_str();
    app.add_option("--shift", o.shift, "largest shift as a fraction of the size")
        ->check(example::real_above(0, false))
        ->capture_default_str();
    app.add_option("--zoom", o.zoom, "zoom range")
        ->check(example::real_above(0, false))
        ->capture_default_str();
    app.add_option("--shear", o.shear, "largest shear in degrees")
        ->check(example::real_above(0, false))
        ->capture_default_str();
    app.add_option("--flip", o.flip, "probability of a horizontal flip")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    const std::map<std::string, aug::fill_mode> fills{{"nearest", aug::fill_mode::nearest},
                                                      {"constant", aug::fill_mode::constant},
                                                      {"reflect", aug::fill_mode::reflect},
                                                      {"wrap", aug::fill_mode::wrap}};
    std::string fill = "nearest";
    app.add_option("--fill", fill, "how pixels outside the image are filled")
        ->check(CLI::IsMember({"nearest", "constant", "reflect", "wrap"}))
        ->capture_default_str();
    app.add_option("--data", o.data_dir, "directory with the Fashion-MNIST IDX files");
    app.add_flag("--json", o.json, "print one JSON object with the results as the last line of stdout");
    example::parse_or_exit(app, argc, argv);
    o.fill = fills.at(fill);
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    const options opt = parse_options(argc, argv);
    std::ostream& human = opt.json ? std::cerr : std::cout;
    try {
        const auto data = st::data::fashion_mnist(opt.data_dir);
        const std::size_t samples = std::min(opt.samples, data.test.size());
        const aug::image_shape shape{data.test.x.shape()[1], data.test.x.shape()[2], data.test.x.shape()[3]};
        // Constructors reject bad ranges with a message naming the transform.
        const aug::pipeline pipeline{aug::sampling{.fill = opt.fill}, aug::random_rotation{opt.rotation},
                                     aug::random_shift{opt.shift},    aug::random_shear{opt.shear},
                                     aug::random_zoom{opt.zoom},      aug::horizontal_flip{opt.flip}};

        // One grid cell per image, with a 2-pixel white border between cells.
        constexpr std::size_t gap = 2;
        const std::size_t h = shape.height, w = shape.width, c = shape.channels;
        const std::size_t grid_w = opt.columns * (w + gap) + gap, grid_h = samples * (h + gap) + gap;
        std::vector<unsigned char> grid(grid_w * grid_h * c, 255);
        std::vector<float> image(shape.size());
        for (std::size_t row = 0; row < samples; ++row) {
            const float* original = data.test.x.data() + row * shape.size();
            for (std::size_t col = 0; col < opt.columns; ++col) {
                if (col == 0)
                    std::copy_n(original, shape.size(), image.data());
                else  // each cell its own draw: sample index row * columns + col
                    pipeline.apply(original, image.data(), 1, shape, opt.seed, row * opt.columns + col);
                for (std::size_t y = 0; y < h; ++y)
                    for (std::size_t x = 0; x < w; ++x)
                        for (std::size_t k = 0; k < c; ++k) {
                            const float v = std::clamp(image[(y * w + x) * c + k], 0.0f, 1.0f);
                            const std::size_t gy = gap + row * (h + gap) + y, gx = gap + col * (w + gap) + x;
                            grid[(gy * grid_w + gx) * c + k] = static_cast<unsigned char>(v * 255.0f + 0.5f);
                        }
            }
        }
        // Written under a temporary name, then renamed: never a half-written PNG.
        const std::string temporary = opt.output + ".tmp-" + std::to_string(::getpid());
        if (!stbi_write_png(temporary.c_str(), static_cast<int>(grid_w), static_cast<int>(grid_h),
                            static_cast<int>(c), grid.data(), static_cast<int>(grid_w * c))) {
            std::filesystem::remove(temporary);
            throw std::runtime_error("cannot write " + opt.output);
        }
        std::filesystem::rename(temporary, opt.output);
        human << "wrote " << opt.output << ": " << samples << " test images (rows) x " << opt.columns
              << " columns (original, then " << opt.columns - 1 << " augmented), " << grid_w << "x" << grid_h
              << " pixels\n";
        if (opt.json)
            std::cout << "{\"output\": \"" << opt.output << "\", \"width\": " << grid_w
                      << ", \"height\": " << grid_h << ", \"samples\": " << samples
                      << ", \"columns\": " << opt.columns << "}" << std::endl;
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "augment_preview: " << e.what() << "\n";
        return 1;
    }
}
