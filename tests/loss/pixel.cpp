// The per-pixel losses against PyTorch per image (pixel_reference.py): loss
// and gradient, with class weights, an ignore label, probabilities instead of
// logits, and an image with nothing counted. pixel_crossentropy against
// F.cross_entropy, pixel_binary_crossentropy against
// F.binary_cross_entropy(_with_logits), dice and jaccard against the same
// formula in torch ops (autograd for the gradient), in both target modes;
// dice and jaccard also against finite differences in double. Then a small
// fully-convolutional network trained with each.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <support/reference_files.hpp>

#include "strata/data/fashion_mnist.hpp"
#include "strata/strata.hpp"

namespace {
namespace st = strata;
namespace fs = std::filesystem;

// Worst error relative to the value, with a floor of 1e-3 of the largest
// value so that gradients near 0 are not held to a relative bound.
double worst_relative_error(const std::vector<float>& got, const std::vector<float>& want) {
    double largest = 0;
    for (const float v : want) largest = std::max(largest, std::abs(static_cast<double>(v)));
    double worst = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        const double ref = want[i];
        worst =
            std::max(worst, std::abs(static_cast<double>(got[i]) - ref) / (std::abs(ref) + 1e-3 * largest));
    }
    return worst;
}

std::vector<double> parse_weights(const std::string& text) {
    std::vector<double> weights;
    if (text == "-") return weights;
    std::stringstream list(text);
    for (std::string w; std::getline(list, w, ',');) weights.push_back(std::stod(w));
    return weights;
}

// One reference case: the loss of N images from PyTorch, and its gradient.
template <class Loss>
void check_against_reference(const Loss& loss, const fs::path& dir, const std::string& prefix, int k,
                             std::size_t n, double expected) {
    constexpr std::size_t out = Loss::required_outputs;
    const std::size_t width = loss.target_width(out);
    const std::string id = std::to_string(k) + ".npy";
    const auto scores = st::testing::read_reference(dir / (prefix + "_scores" + id), {n, out});
    const auto targets = st::testing::read_reference(dir / (prefix + "_targets" + id), {n, width});
    const auto grad = st::testing::read_reference(dir / (prefix + "_grad" + id), {n, out});
    loss.check_targets(targets.data(), n, out);
    std::vector<float> g(n * out, -1.0f);
    const double total = loss.evaluate(scores.data(), targets.data(), n, out, g.data(), 1.0f / n);
    CHECK(total / n == doctest::Approx(expected).epsilon(1e-5));
    CHECK(worst_relative_error(g, grad) < 1e-5);
    // Without a gradient buffer the loss is the same.
    CHECK(loss.evaluate(scores.data(), targets.data(), n, out, static_cast<float*>(nullptr), 1.0f) == total);
}

}  // namespace

TEST_CASE("pixel_crossentropy matches PyTorch's cross_entropy image by image, loss and gradient") {
    const fs::path dir = st::testing::reference_dir("STRATA_PIXEL_LOSS_DIR");
    constexpr std::size_t N = 3, H = 5, W = 6, C = 4, out = H * W * C;
    std::ifstream index(dir / "cases.txt");
    std::string line;
    int cases = 0;
    while (std::getline(index, line)) {
        std::istringstream in(line);
        int k = 0, logits = 0;
        long ignore = 0;
        std::string name, weights;
        double expected = 0;
        in >> k >> name >> logits >> ignore >> weights >> expected;
        CAPTURE(name);
        st::loss::pixel_crossentropy<H, W, C> loss{.from_logits = logits == 1};
        if (ignore >= 0) loss.ignore_label = static_cast<std::size_t>(ignore);
        if (weights != "-") {
            std::stringstream list(weights);
            for (std::string w; std::getline(list, w, ',');) loss.class_weights.push_back(std::stod(w));
        }
        const auto scores =
            st::testing::read_reference(dir / ("scores" + std::to_string(k) + ".npy"), {N, out});
        const auto labels =
            st::testing::read_reference(dir / ("labels" + std::to_string(k) + ".npy"), {N, H * W});
        const auto grad = st::testing::read_reference(dir / ("grad" + std::to_string(k) + ".npy"), {N, out});
        loss.check_targets(labels.data(), N, out);
        std::vector<float> g(N * out, -1.0f);
        const double total = loss.evaluate(scores.data(), labels.data(), N, out, g.data(), 1.0f / N);
        CHECK(total / N == doctest::Approx(expected).epsilon(1e-5));
        double worst = 0;
        for (std::size_t i = 0; i < g.size(); ++i)
            worst =
                std::max(worst, std::abs(static_cast<double>(g[i]) - grad[i]) / (1e-3 + std::abs(grad[i])));
        CHECK(worst < 1e-4);
        ++cases;
    }
    CHECK(cases == 4);

    st::loss::pixel_crossentropy<H, W, C> loss{.from_logits = true};
    std::vector<float> scores(out), labels(H * W, 0.0f);
    labels[7] = 4.0f;
    CHECK_THROWS_WITH_AS(loss.check_targets(labels.data(), 1, out), doctest::Contains("pixel 7 has label 4"),
                         st::usage_error);
    loss.ignore_label = 4;
    CHECK_NOTHROW(loss.check_targets(labels.data(), 1, out));
    loss.class_weights = {1, 2};
    CHECK_THROWS_WITH_AS(loss.check_targets(labels.data(), 1, out),
                         doctest::Contains("2 class weights for 4"), st::usage_error);
}

TEST_CASE("pixel_binary_crossentropy matches PyTorch's binary_cross_entropy image by image") {
    const fs::path dir = st::testing::reference_dir("STRATA_PIXEL_LOSS_DIR");
    constexpr std::size_t N = 3, H = 5, W = 6, C = 3;
    std::ifstream index(dir / "bce_cases.txt");
    std::string line;
    int cases = 0;
    while (std::getline(index, line)) {
        std::istringstream in(line);
        int k = 0, logits = 0;
        double ignore = 0, expected = 0;
        std::string name, weights;
        in >> k >> name >> logits >> ignore >> weights >> expected;
        CAPTURE(name);
        st::loss::pixel_binary_crossentropy<H, W, C> loss{.from_logits = logits == 1,
                                                          .class_weights = parse_weights(weights)};
        if (ignore >= 0) loss.ignore_value = ignore;
        check_against_reference(loss, dir, "bce", k, N, expected);
        ++cases;
    }
    CHECK(cases == 4);
}

TEST_CASE("dice and jaccard match the same formula in PyTorch, classes and masks, loss and gradient") {
    const fs::path dir = st::testing::reference_dir("STRATA_PIXEL_LOSS_DIR");
    constexpr std::size_t N = 3, H = 5, W = 6, C = 4;
    std::ifstream index(dir / "overlap_cases.txt");
    std::string line;
    int cases = 0;
    while (std::getline(index, line)) {
        std::istringstream in(line);
        int k = 0, logits = 0;
        long ignore = 0;
        double smooth = 0, expected = 0;
        std::string kind, name, mode, weights;
        in >> k >> kind >> name >> mode >> logits >> ignore >> weights >> smooth >> expected;
        CAPTURE(kind);
        CAPTURE(name);
        auto configure = [&](auto loss) {
            loss.from_logits = logits == 1;
            loss.targets =
                mode == "classes" ? st::loss::pixel_targets::classes : st::loss::pixel_targets::masks;
            loss.class_weights = parse_weights(weights);
            if (ignore >= 0) loss.ignore_label = static_cast<std::size_t>(ignore);
            loss.smooth = smooth;
            return loss;
        };
        if (kind == "dice")
            check_against_reference(configure(st::loss::dice<H, W, C>{}), dir, "overlap", k, N, expected);
        else
            check_against_reference(configure(st::loss::jaccard<H, W, C>{}), dir, "overlap", k, N, expected);
        ++cases;
    }
    CHECK(cases == 16);
}

TEST_CASE("dice and jaccard gradients match finite differences in double") {
    constexpr std::size_t N = 2, H = 2, W = 3, C = 3, out = H * W * C;
    // Logits, or probabilities away from 0 and 1 (the loss reads them as given).
    std::vector<double> logits(N * out), probabilities(N * out);
    for (std::size_t i = 0; i < N * out; ++i) {
        logits[i] = std::sin(1.7 * static_cast<double>(i) + 0.3) * 2;
        probabilities[i] = 0.1 + 0.8 * (0.5 + 0.5 * std::cos(2.3 * static_cast<double>(i)));
    }
    const std::vector<double> labels = {0, 1, 2, 2, 9, 1, 1, 1, 0, 9, 2, 0};
    std::vector<double> masks(N * out);
    for (std::size_t i = 0; i < N * out; ++i)
        masks[i] = i % 7 == 3 ? 9.0 : (i % 3 == 0 ? 1.0 : 0.25 * (i % 4));

    auto check = [&](auto loss) {
        const bool by_class = loss.targets == st::loss::pixel_targets::classes;
        auto y = by_class ? labels : masks;
        if (!loss.ignore_label) std::replace(y.begin(), y.end(), 9.0, 0.0);
        auto pred = loss.from_logits ? logits : probabilities;
        loss.check_targets(y.data(), N, out);
        std::vector<double> g(N * out);
        loss.evaluate(pred.data(), y.data(), N, out, g.data(), 1.0);
        constexpr double h = 1e-6;
        double worst = 0;
        for (std::size_t i = 0; i < N * out; ++i) {
            const double keep = pred[i];
            pred[i] = keep + h;
            const double up =
                loss.evaluate(pred.data(), y.data(), N, out, static_cast<double*>(nullptr), 1.0);
            pred[i] = keep - h;
            const double down =
                loss.evaluate(pred.data(), y.data(), N, out, static_cast<double*>(nullptr), 1.0);
            pred[i] = keep;
            worst = std::max(worst, std::abs((up - down) / (2 * h) - g[i]));
        }
        CHECK(worst < 1e-8);
    };
    for (const bool from_logits : {true, false})
        for (const auto targets : {st::loss::pixel_targets::classes, st::loss::pixel_targets::masks}) {
            CAPTURE(from_logits);
            CAPTURE(targets == st::loss::pixel_targets::classes);
            const std::vector<double> weights = {0.5, 2.0, 1.0};
            check(st::loss::dice<H, W, C>{.from_logits = from_logits, .targets = targets});
            check(st::loss::dice<H, W, C>{
                .from_logits = from_logits, .targets = targets, .class_weights = weights, .ignore_label = 9});
            check(st::loss::jaccard<H, W, C>{.from_logits = from_logits, .targets = targets, .smooth = 0.5});
            check(st::loss::jaccard<H, W, C>{
                .from_logits = from_logits, .targets = targets, .class_weights = weights, .ignore_label = 9});
        }
}

TEST_CASE("the mask losses name the image, pixel and channel of a bad target") {
    constexpr std::size_t H = 2, W = 3, C = 2, out = H * W * C;
    std::vector<float> masks(2 * out, 0.5f);
    masks[out + 4 * C + 1] = 1.5f;  // image 1, pixel 4, channel 1
    st::loss::pixel_binary_crossentropy<H, W, C> bce{.from_logits = true};
    CHECK_THROWS_WITH_AS(bce.check_targets(masks.data(), 2, out),
                         doctest::Contains("image 1, pixel 4, channel 1 has target 1.5"), st::usage_error);
    CHECK_THROWS_WITH_AS(bce.check_targets(masks.data(), 2, out - 1),
                         doctest::Contains("gives 11 outputs per image; a 2x3 mask of 2 channels needs 12"),
                         st::usage_error);
    bce.class_weights = {1, -1};
    CHECK_THROWS_WITH_AS(bce.check_targets(masks.data(), 1, out), doctest::Contains("class weight 1 is -1"),
                         st::usage_error);
    bce.class_weights = {};
    masks[out + 4 * C + 1] = 255.0f;
    CHECK_THROWS_WITH_AS(bce.check_targets(masks.data(), 2, out), doctest::Contains("has target 255"),
                         st::usage_error);
    bce.ignore_value = 255;
    CHECK_NOTHROW(bce.check_targets(masks.data(), 2, out));

    st::loss::dice<H, W, C> dice{.from_logits = true};
    std::vector<float> labels(2 * H * W, 1.0f);
    labels[H * W + 3] = 2.0f;
    CHECK_THROWS_WITH_AS(dice.check_targets(labels.data(), 2, out),
                         doctest::Contains("image 1, pixel 3 has label 2"), st::usage_error);
    dice.ignore_label = 2;
    CHECK_NOTHROW(dice.check_targets(labels.data(), 2, out));
    dice.class_weights = {0, 0};
    CHECK_THROWS_WITH_AS(dice.check_targets(labels.data(), 2, out), doctest::Contains("all 0"),
                         st::usage_error);
    dice.class_weights = {};
    dice.smooth = -1;
    CHECK_THROWS_WITH_AS(dice.check_targets(labels.data(), 2, out), doctest::Contains("smooth is -1"),
                         st::usage_error);

    st::loss::jaccard<H, W, C> jaccard{.targets = st::loss::pixel_targets::masks};
    CHECK(jaccard.target_width(out) == out);
    masks[3] = -0.5f;  // image 0, pixel 1, channel 1
    CHECK_THROWS_WITH_AS(jaccard.check_targets(masks.data(), 2, out),
                         doctest::Contains("image 0, pixel 1, channel 1 has target -0.5"), st::usage_error);

    // One channel holds a mask, not a softmax over classes.
    st::loss::dice<H, W, 1> one{};
    CHECK(one.targets == st::loss::pixel_targets::masks);
    one.targets = st::loss::pixel_targets::classes;
    CHECK_THROWS_WITH_AS(one.check_targets(labels.data(), 1, H * W),
                         doctest::Contains("pixel_targets::masks"), st::usage_error);
}

TEST_CASE("a fully-convolutional network learns Fashion-MNIST canvases with pixel_crossentropy") {
    const auto fm = st::data::fashion_mnist();
    st::data::segmentation_options o;
    o.count = 300, o.height = 32, o.width = 32, o.max_objects = 2, o.min_scale = 0.5, o.max_scale = 1.0,
    o.seed = 4;
    const auto train = st::data::make_segmentation(st::data::take(fm.train, 3000), 10, o);
    using fcn = st::sequential<st::input<32, 32, 1>, st::conv2d<16, 3, st::relu, st::same>,
                               st::conv2d<16, 3, st::relu, st::same>, st::conv2d<11, 1>>;
    fcn net{st::seed{1}};
    const st::loss::pixel_crossentropy<32, 32, 11> loss{.from_logits = true};
    const auto h =
        st::fit(net, train.data, loss, st::optim::adam{.lr = 3e-3}, st::epochs{4}, st::batch_size{16},
                st::seed{2}, st::threads{2}, st::metrics::pixel_accuracy{}, st::metrics::foreground_iou{});
    REQUIRE(h.epochs.size() == 4);
    CHECK(h.epochs.back().loss < h.epochs.front().loss);
    // Background alone is about 80% of the pixels; telling garment from background is easy.
    CHECK(h.epochs.back().value("foreground_iou") > 0.8);
    const auto e = st::evaluate(net, train.data, loss, st::metrics::mean_iou{});
    CHECK(std::isnan(e.accuracy));
    CHECK(e.metrics.size() == 1);
}

TEST_CASE("a fully-convolutional network learns foreground masks with dice and pixel_binary_crossentropy") {
    const auto fm = st::data::fashion_mnist();
    st::data::segmentation_options o;
    o.count = 200, o.height = 32, o.width = 32, o.max_objects = 2, o.min_scale = 0.5, o.max_scale = 1.0,
    o.seed = 4;
    auto canvases = st::data::make_segmentation(st::data::take(fm.train, 3000), 10, o).data;
    // Garment or background. Over all 11 classes, per-image Dice from scratch
    // settles on "all background": a garment's class guessed wrong costs a
    // whole absent channel, more than the right guess gains.
    for (auto& v : canvases.y) v = v > 0 ? 1.0f : 0.0f;

    SUBCASE("dice over two classes, from logits") {
        using fcn = st::sequential<st::input<32, 32, 1>, st::conv2d<16, 3, st::relu, st::same>,
                                   st::conv2d<16, 3, st::relu, st::same>, st::conv2d<2, 1>>;
        fcn net{st::seed{1}};
        const st::loss::dice<32, 32, 2> loss{.from_logits = true};
        const auto h =
            st::fit(net, canvases, loss, st::optim::adam{.lr = 3e-3}, st::epochs{4}, st::batch_size{16},
                    st::seed{2}, st::threads{2}, st::metrics::foreground_iou{});
        REQUIRE(h.epochs.size() == 4);
        CHECK(h.epochs.back().loss < 0.5 * h.epochs.front().loss);
        CHECK(h.epochs.back().value("foreground_iou") > 0.8);
    }
    SUBCASE("binary cross-entropy on a one-channel mask") {
        using fcn =
            st::sequential<st::input<32, 32, 1>, st::conv2d<8, 3, st::relu, st::same>, st::conv2d<1, 1>>;
        fcn net{st::seed{1}};
        const st::loss::pixel_binary_crossentropy<32, 32, 1> loss{.from_logits = true};
        const auto h = st::fit(net, canvases, loss, st::optim::adam{.lr = 1e-2}, st::epochs{4},
                               st::batch_size{16}, st::seed{2}, st::threads{2});
        REQUIRE(h.epochs.size() == 4);
        // Predicting the foreground share everywhere would score about 0.5.
        CHECK(h.epochs.back().loss < 0.5 * h.epochs.front().loss);
    }
}
