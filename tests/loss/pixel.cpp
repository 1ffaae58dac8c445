// pixel_crossentropy against PyTorch's F.cross_entropy per image
// (pixel_reference.py): loss and gradient, with class weights, an ignore
// label, probabilities instead of logits, and an image with nothing counted;
// then a small fully-convolutional network trained with it.
#include <doctest/doctest.h>

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
