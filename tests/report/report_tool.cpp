// Writes a sample training report for check_outputs.py and render_check.py:
// a synthetic history (early stop, a learning-rate drop, a validation gap), a
// 10-class confusion matrix with a hostile class name, images (grey, RGB and
// feature maps), findings and a network summary; plus each chart as an .svg
// file and two PNGs of known pixels.
//
// usage: report_tool DIR
// The page has 6 charts (loss, accuracy, f1_macro, learning rate, confusion
// matrix, class scores) and 10 images (6 grey, 2 RGB, 2 feature maps).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <strata/layers/activation.hpp>
#include <strata/layers/conv2d.hpp>
#include <strata/layers/dense.hpp>
#include <strata/layers/flatten.hpp>
#include <strata/layers/max_pool.hpp>
#include <strata/model/summary.hpp>
#include <strata/report/feature_maps.hpp>
#include <strata/report/html.hpp>

namespace st = strata;
namespace report = strata::report;
namespace fs = std::filesystem;

namespace {

using net_t = st::sequential<st::input<28, 28, 1>, st::conv2d<8, 3, st::relu>, st::max_pool<2>,
                             st::conv2d<16, 3, st::relu>, st::max_pool<2>, st::flatten, st::dense<10>>;

// 15 of 30 planned epochs: validation loss is lowest in epoch 9 and training
// stopped in epoch 15; epoch 4 was not validated; the rate drops 10x after epoch 10.
st::history sample_history() {
    st::history h;
    for (std::size_t e = 1; e <= 15; ++e) {
        const double t = static_cast<double>(e);
        st::epoch_record r;
        r.epoch = e;
        r.loss = 1.8 * std::exp(-0.18 * t) + 0.08;
        r.accuracy = 0.95 - 0.55 * std::exp(-0.25 * t);
        r.val_loss = 1.5 * std::exp(-0.2 * t) + 0.004 * (t - 9) * (t - 9) + 0.2;
        r.val_accuracy = 0.9 - 0.5 * std::exp(-0.3 * t) - 0.001 * (t - 9) * (t - 9);
        r.metrics = {{"f1_macro", r.accuracy - 0.03}, {"val_f1_macro", r.val_accuracy - 0.04}};
        if (e == 4) {
            r.val_loss = r.val_accuracy = st::not_measured;
            r.metrics[1].second = st::not_measured;
        }
        r.learning_rate = e <= 10 ? 1e-3 : 1e-4;
        r.seconds = 2.5;
        h.epochs.push_back(r);
    }
    h.best_epoch = 9;
    h.stopped_epoch = 15;
    h.cause = st::stop_cause::callback;
    h.stop_reason = "early_stopping: val_loss did not improve for 6 epochs";
    return h;
}

// Fashion-MNIST's classes, one renamed to show that names are escaped.
std::vector<std::string> class_names() {
    return {"T-shirt/top", "Trouser", "Pullover", "Dress",           "Coat",
            "Sandal",      "Shirt",   "Sneaker",  "<b>Bag</b> & co", "Ankle boot"};
}

st::metrics::confusion_matrix sample_confusion() {
    st::metrics::confusion_matrix m(10);
    for (std::size_t t = 0; t < 10; ++t)
        for (std::size_t p = 0; p < 10; ++p)
            m.add(t, p, t == p ? 800 + 15 * t : (t * 7 + p * 3) % 11 == 0 ? 40 + t : (t + p) % 4);
    m.add(6, 0, 120);  // shirts taken for T-shirts, as real runs do
    return m;
}

// A 28 x 28 garment-like blob, different for each k.
std::vector<float> synthetic_image(std::size_t k) {
    std::vector<float> x(28 * 28);
    const double cx = 14 + 3 * std::sin(static_cast<double>(k)),
                 cy = 14 + 3 * std::cos(static_cast<double>(k));
    for (std::size_t y = 0; y < 28; ++y)
        for (std::size_t i = 0; i < 28; ++i) {
            const double dx = (static_cast<double>(i) - cx) / (6 + static_cast<double>(k % 3)),
                         dy = (static_cast<double>(y) - cy) / 9;
            x[y * 28 + i] = static_cast<float>(std::max(0.0, 1 - dx * dx - dy * dy) *
                                               (0.6 + 0.4 * std::sin(0.5 * static_cast<double>(y + k))));
        }
    return x;
}

std::vector<std::uint8_t> grey_pattern() {  // 7 x 5
    std::vector<std::uint8_t> p;
    for (std::size_t y = 0; y < 5; ++y)
        for (std::size_t x = 0; x < 7; ++x) p.push_back(static_cast<std::uint8_t>((x * 37 + y * 11) % 256));
    return p;
}
std::vector<std::uint8_t> rgb_pattern() {  // 6 x 4
    std::vector<std::uint8_t> p;
    for (std::size_t y = 0; y < 4; ++y)
        for (std::size_t x = 0; x < 6; ++x)
            for (const std::size_t v : {x * 40, y * 60, (x + y) * 20})
                p.push_back(static_cast<std::uint8_t>(v));
    return p;
}

void write_bytes(const fs::path& file, const std::vector<std::uint8_t>& bytes) {
    std::ofstream out(file, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc != 2) {
        std::fprintf(stderr, "usage: report_tool DIR\n");
        return 2;
    }
    const fs::path dir = argv[1];
    fs::create_directories(dir);

    net_t net(st::seed{7});
    std::ostringstream summary;
    summary << st::summary(net);

    report::content c;
    c.title = "Sample report <strata> & friends";
    c.network_summary = summary.str();
    c.training = sample_history();
    c.confusion = sample_confusion();
    c.class_names = class_names();

    const auto names = class_names();
    report::image_group wrong{"Most confidently wrong test images", {}};
    for (std::size_t k = 0; k < 6; ++k) {
        const auto x = synthetic_image(k);
        wrong.images.push_back(report::to_image(std::span<const float>(x), 28, 28, 1,
                                                "true: " + names[(k + 8) % 10] + ", predicted: " + names[k] +
                                                    " (" + std::to_string(99 - k) + "%)",
                                                report::value_range{0, 1}));
    }
    c.images.push_back(std::move(wrong));
    report::image_group colour{"RGB images", {}};
    for (std::size_t k = 0; k < 2; ++k) {
        std::vector<float> rgb;
        for (std::size_t y = 0; y < 32; ++y)
            for (std::size_t x = 0; x < 32; ++x)
                for (std::size_t ch = 0; ch < 3; ++ch)
                    rgb.push_back(static_cast<float>(ch == k ? x / 31.0 : ch == 2 ? y / 31.0 : 0.2));
        colour.images.push_back(report::to_image(std::span<const float>(rgb), 32, 32, 3,
                                                 "gradient " + std::to_string(k), report::value_range{0, 1}));
    }
    c.images.push_back(std::move(colour));
    const auto probe = synthetic_image(3);
    c.images.push_back(
        {"Feature maps of one image", report::feature_maps(net, std::span<const float>(probe))});

    c.findings = std::vector<report::finding_text>{
        {"overfitting", report::severity::warning, "Validation loss rose for 6 epochs after epoch 9.",
         "val_loss 0.44 in epoch 9, 0.57 in epoch 15; loss fell from 0.23 to 0.20",
         "Add st::dropout<0.5> before the last dense layer, or stop at epoch 9 (restore_best_weights)."},
        {"class confusion", report::severity::info, "Shirt is taken for T-shirt/top 120 times.",
         "recall of Shirt 0.78, others >= 0.85", "<script>alert('not run')</script>"},
        {"non-finite loss", report::severity::error, "A made-up error to show the style.", "-", "-"}};

    report::html(dir / "report.html", c);
    report::save_svg(dir / "loss.svg", report::learning_curves_svg(*c.training, "loss"));
    report::save_svg(dir / "accuracy.svg", report::learning_curves_svg(*c.training, "accuracy"));
    report::save_svg(dir / "f1_macro.svg", report::learning_curves_svg(*c.training, "f1_macro"));
    report::save_svg(dir / "learning_rate.svg", report::learning_rate_svg(*c.training));
    report::save_svg(dir / "confusion.svg", report::confusion_matrix_svg(*c.confusion, c.class_names));
    report::save_svg(dir / "class_scores.svg", report::class_scores_svg(*c.confusion, c.class_names));
    write_bytes(dir / "grey.png", report::encode_png_grey(grey_pattern(), 7, 5));
    write_bytes(dir / "rgb.png", report::encode_png_rgb(rgb_pattern(), 6, 4));
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "report_tool: %s\n", e.what());
    return 1;
}
