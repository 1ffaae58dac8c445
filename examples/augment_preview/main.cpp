// Writes a PNG grid to see what an augmentation pipeline does: one row per
// Fashion-MNIST test image, the original in the first column and augmented
// draws in the others.
// Usage: augment_preview [--output FILE] [--samples N] [--columns N] [--seed N]
//                        [--rotation DEG] [--shift FRACTION] [--zoom RANGE] [--shear DEG]
//                        [--flip P] [--fill nearest|constant|reflect|wrap] [--data DIR] [--json]
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <stb_image_write.h>
#include <unistd.h>
#include <strata/strata.hpp>

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

[[noreturn]] void usage(const std::string& problem) {
    std::cerr
        << "augment_preview: " << problem << "\n"
        << "usage: augment_preview [--output FILE] [--samples N] [--columns N] [--seed N]\n"
        << "                       [--rotation DEG] [--shift FRACTION] [--zoom RANGE] [--shear DEG]\n"
        << "                       [--flip P] [--fill nearest|constant|reflect|wrap] [--data DIR] [--json]\n"
        << "  defaults: augment_preview.png, 8 samples x 8 columns (the first is the original),\n"
        << "  seed 1, rotation 15, shift 0.1, zoom 0.1, shear 10, flip 0.5, fill nearest\n";
    std::exit(2);
}

template <class N>
N parse(std::string_view flag, std::string_view text) {
    N v{};
    const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (err != std::errc{} || end != text.data() + text.size())
        usage(std::string(flag) + " expects a number, got '" + std::string(text) + "'");
    return v;
}

options parse_options(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> std::string_view {
            if (i + 1 >= argc) usage(std::string(a) + " needs a value");
            return argv[++i];
        };
        if (a == "--output")
            o.output = value();
        else if (a == "--data")
            o.data_dir = value();
        else if (a == "--samples")
            o.samples = parse<std::size_t>(a, value());
        else if (a == "--columns")
            o.columns = parse<std::size_t>(a, value());
        else if (a == "--seed")
            o.seed = parse<std::uint64_t>(a, value());
        else if (a == "--rotation")
            o.rotation = parse<double>(a, value());
        else if (a == "--shift")
            o.shift = parse<double>(a, value());
        else if (a == "--zoom")
            o.zoom = parse<double>(a, value());
        else if (a == "--shear")
            o.shear = parse<double>(a, value());
        else if (a == "--flip")
            o.flip = parse<double>(a, value());
        else if (a == "--fill") {
            const auto f = value();
            if (f == "nearest")
                o.fill = aug::fill_mode::nearest;
            else if (f == "constant")
                o.fill = aug::fill_mode::constant;
            else if (f == "reflect")
                o.fill = aug::fill_mode::reflect;
            else if (f == "wrap")
                o.fill = aug::fill_mode::wrap;
            else
                usage("--fill expects nearest, constant, reflect or wrap, got '" + std::string(f) + "'");
        } else if (a == "--json")
            o.json = true;
        else if (a == "--help" || a == "-h")
            usage("previews image augmentation");
        else
            usage("unknown option '" + std::string(a) + "'");
    }
    if (o.samples == 0 || o.columns < 2) usage("--samples must be at least 1 and --columns at least 2");
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
