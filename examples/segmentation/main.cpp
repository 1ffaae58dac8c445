// Segmentation, and the dense-output mistake measured. Canvases of 64x64
// holding 1-4 Fashion-MNIST garments (training canvases from training
// images, fresh every epoch; test canvases from test images) are segmented into 11 classes
// (background and the ten garments) by
//   (a) a small U-Net: three levels of convolutions with batch_norm,
//       max_pool down, upsample and skip_concat back up, and a 1x1
//       convolution giving 11 scores per pixel;
//   (b) the articles' dense-output network: conv, pool, conv, pool,
//       flatten, dense, dense(64 * 64 * 11).
// Both train with the same per-pixel cross-entropy on the same canvases.
// For each it prints the parameters, training time, pixel accuracy, mean
// IoU, foreground IoU and per-class IoU on the test canvases, and it
// writes a PNG grid: input, true mask, U-Net and dense predictions for a
// few test canvases, coloured by class. --json prints one JSON object as
// the last line.
#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <strata/image/encode.hpp>
#include <strata/metrics/segmentation.hpp>

#include "common.hpp"

using namespace segmentation_example;

namespace {

// Rows of [input | true mask | U-Net | dense], each pixel a scale x scale block, cells 4 px apart.
class grid_image {
public:
    grid_image(std::size_t rows, std::size_t scale)
        : scale_(scale),
          cell_(side * scale),
          img_{columns * (cell_ + gap) - gap, rows * (cell_ + gap) - gap, 3, {}} {
        img_.pixels.assign(img_.width * img_.height * 3, 255);
    }
    void grey(std::size_t row, std::size_t column, const float* x) {
        paint(row, column, [&](std::size_t p) {
            const auto v = static_cast<std::uint8_t>(std::clamp(x[p], 0.0f, 1.0f) * 255.0f + 0.5f);
            return std::array<std::uint8_t, 3>{v, v, v};
        });
    }
    void labels(std::size_t row, std::size_t column, const std::vector<std::size_t>& mask) {
        paint(row, column, [&](std::size_t p) { return palette[mask[p]]; });
    }
    const st::image::image8& image() const { return img_; }

private:
    static constexpr std::size_t gap = 4, columns = 4;
    template <class Colour>
    void paint(std::size_t row, std::size_t column, Colour colour) {
        for (std::size_t y = 0; y < cell_; ++y)
            for (std::size_t x = 0; x < cell_; ++x) {
                const auto c = colour((y / scale_) * side + x / scale_);
                const std::size_t at =
                    ((row * (cell_ + gap) + y) * img_.width + column * (cell_ + gap) + x) * 3;
                std::copy(c.begin(), c.end(), img_.pixels.begin() + static_cast<std::ptrdiff_t>(at));
            }
    }
    std::size_t scale_, cell_;
    st::image::image8 img_;
};

std::string json_numbers(const std::vector<double>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + example::json_number(v[i]);
    return s + "]";
}

}  // namespace

int main(int argc, char** argv) {
    options opt;
    opt.epochs = 24;  // the acceptance run: mean IoU 0.715 (README); --epochs 8 for a quicker look
    opt.batch = 32;
    CLI::App app{
        "Segments Fashion-MNIST canvases with a small U-Net and with the articles' dense-output network, "
        "and compares them: parameters, time, pixel accuracy, IoU; writes a PNG grid of predictions.",
        "segmentation"};
    example::add_training_flags(app, opt);
    app.add_option("--train-canvases", opt.train_canvases, "training canvases (from training images)")
        ->check(example::positive_whole)
        ->capture_default_str();
    app.add_option("--test-canvases", opt.test_canvases, "test canvases (from test images)")
        ->check(example::positive_whole)
        ->capture_default_str();
    app.add_option("--dense-epochs", opt.dense_epochs,
                   "epochs of the dense-output network (default: --epochs)");
    app.add_option("--lr", opt.lr, "Adam's initial learning rate (a cosine takes it to 5% by the end)")
        ->check(example::real_above(0, true))
        ->capture_default_str();
    app.add_flag("--augment", opt.augment,
                 "augment the U-Net's canvases (flips and shifts; the masks follow the images)");
    app.add_option("--grid", opt.grid, "where the PNG grid of predictions is written")->capture_default_str();
    app.add_option(
        "--save-data", opt.save_data,
        "also write the canvases as .npy files in this folder (for benchmarks/segmentation_pytorch.py)");
    app.add_option("--grid-scale", opt.grid_scale, "pixels of the grid per canvas pixel (each way)")
        ->check(example::positive_whole)
        ->capture_default_str();
    app.add_option("--grid-rows", opt.grid_rows, "test canvases shown in the grid")
        ->check(example::positive_whole)
        ->capture_default_str();
    example::parse_or_exit(app, argc, argv);
    if (opt.dense_epochs == 0) opt.dense_epochs = opt.epochs;
    std::ostream& human = opt.json ? std::cerr : std::cout;
    try {
        const auto fm = st::data::fashion_mnist(opt.data_dir);
        st::data::dataset<float> limited;
        if (opt.limit) limited = st::data::take(fm.train, std::min(opt.limit, fm.train.size()));
        const auto& train_images = opt.limit ? limited : fm.train;
        st::data::segmentation_options canvas;
        canvas.height = canvas.width = side;
        canvas.count = opt.train_canvases;
        canvas.seed = opt.seed;
        // Fresh training canvases every epoch: the garments are seen in ever new company.
        const st::data::segmentation_source train(train_images, 10, canvas);
        const auto train_canvas_options = canvas;
        canvas.count = opt.test_canvases;
        canvas.seed = opt.seed + 1;
        const auto test = st::data::make_segmentation(fm.test, 10, canvas);
        if (!opt.save_data.empty()) {
            std::filesystem::create_directories(opt.save_data);
            const std::filesystem::path dir(opt.save_data);
            // Every epoch's canvases, epoch after epoch: what the PyTorch twin trains on.
            auto all_epochs = train_canvas_options;
            all_epochs.count *= std::max(opt.epochs, opt.dense_epochs);
            const auto seen = st::data::make_segmentation(train_images, 10, all_epochs);
            st::data::save_npy(dir / "train_x.npy", seen.data.x);
            st::data::save_npy(dir / "train_y.npy", seen.data.y);
            st::data::save_npy(dir / "test_x.npy", test.data.x);
            st::data::save_npy(dir / "test_y.npy", test.data.y);
        }
        std::vector<std::string> names{"background"};
        for (const auto name : st::data::fashion_mnist_set::class_names) names.emplace_back(name);
        human << train.size() << " fresh training canvases per epoch and " << test.data.size()
              << " test canvases of " << side << "x" << side << ", " << classes << " pixel classes\n";

        const context shared{opt, human, train, test.data, opt.grid_rows};
        std::vector<outcome> runs;
        runs.push_back(train_unet(shared));
        runs.push_back(train_dense_output(shared));

        human << "\ntest canvases        " << std::setw(14) << "parameters" << std::setw(10) << "train s"
              << std::setw(10) << "pixel acc" << std::setw(10) << "mean IoU" << std::setw(10) << "fg IoU\n";
        for (const auto& o : runs)
            human << std::left << std::setw(21) << o.name << std::right << std::setw(14) << o.parameters
                  << std::fixed << std::setprecision(1) << std::setw(10) << o.history.train_seconds()
                  << std::setprecision(4) << std::setw(10) << o.test.confusion.accuracy() << std::setw(10)
                  << st::metrics::mean_iou_of(o.test.confusion) << std::setw(10)
                  << st::metrics::foreground_iou_of(o.test.confusion) << "\n";
        human << "\nIoU per class        " << std::setw(10) << runs[0].name << std::setw(14) << runs[1].name
              << "\n";
        for (std::size_t c = 0; c < classes; ++c)
            human << std::left << std::setw(21) << names[c] << std::right << std::setw(10) << runs[0].iou[c]
                  << std::setw(14) << runs[1].iou[c] << "\n";

        // The grid: a few test canvases and what each network makes of them.
        const std::size_t rows = std::min(opt.grid_rows, test.data.size());
        grid_image grid(rows, opt.grid_scale);
        for (std::size_t r = 0; r < rows; ++r) {
            grid.grey(r, 0, &test.data.x(r, 0, 0, 0));
            std::vector<std::size_t> truth(side * side);
            for (std::size_t p = 0; p < truth.size(); ++p)
                truth[p] = static_cast<std::size_t>(test.data.y(r, p));
            grid.labels(r, 1, truth);
            grid.labels(r, 2, runs[0].grid_masks[r]);
            grid.labels(r, 3, runs[1].grid_masks[r]);
        }
        st::image::write_png(opt.grid, grid.image());
        human << "\nwrote " << opt.grid << ": input, true mask, U-Net, dense-output network for " << rows
              << " test canvases\n";

        if (opt.json) {
            std::ostringstream j;
            j << std::setprecision(6) << "{\"train_canvases\": " << train.size()
              << ", \"test_canvases\": " << test.data.size() << ", \"seed\": " << opt.seed
              << ", \"batch\": " << opt.batch << ", \"augment\": " << (opt.augment ? "true" : "false")
              << ", \"grid\": " << example::json_string(opt.grid) << ", \"class_names\": [";
            for (std::size_t c = 0; c < classes; ++c) j << (c ? ", " : "") << example::json_string(names[c]);
            j << "], \"runs\": {";
            for (std::size_t r = 0; r < runs.size(); ++r) {
                const auto& o = runs[r];
                j << (r ? ", " : "") << "\"" << o.name << "\": {\"parameters\": " << o.parameters
                  << ", \"epochs\": " << o.history.epochs.size()
                  << ", \"train_seconds\": " << o.history.train_seconds()
                  << ", \"pixel_accuracy\": " << example::json_number(o.test.confusion.accuracy())
                  << ", \"mean_iou\": " << example::json_number(st::metrics::mean_iou_of(o.test.confusion))
                  << ", \"foreground_iou\": "
                  << example::json_number(st::metrics::foreground_iou_of(o.test.confusion))
                  << ", \"test_loss\": " << example::json_number(o.test.loss)
                  << ", \"class_iou\": " << json_numbers(o.iou) << "}";
            }
            j << "}}";
            std::cout << j.str() << std::endl;
        }
        return example::exit_code(runs[0].history) | example::exit_code(runs[1].history);
    } catch (const std::exception& e) {
        std::cerr << "segmentation: " << e.what() << "\n";
        return 1;
    }
}
