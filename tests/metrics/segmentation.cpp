// Per-pixel metrics against sklearn (segmentation_reference.py): pixel
// accuracy, per-class and mean IoU (jaccard_score), mean Dice (f1_score,
// macro) and the foreground IoU, with classes absent from the targets or
// never predicted.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <support/reference_files.hpp>

#include "strata/metrics/segmentation.hpp"

namespace {
namespace st = strata;
namespace fs = std::filesystem;

}  // namespace

TEST_CASE("segmentation metrics match sklearn's over every pixel") {
    const fs::path dir = st::testing::reference_dir("STRATA_SEG_METRICS_DIR");
    std::ifstream index(dir / "cases.txt");
    std::string line;
    int cases = 0;
    while (std::getline(index, line)) {
        std::istringstream in(line);
        std::size_t k, n, h, w, c;
        in >> k >> n >> h >> w >> c;
        double accuracy, miou, dice, fg;
        in >> accuracy >> miou >> dice >> fg;
        std::vector<double> iou(c);
        for (auto& v : iou) {
            std::string text;
            in >> text;
            v = text == "nan" ? std::nan("") : std::stod(text);
        }
        CAPTURE(k);
        const auto scores =
            st::testing::read_reference(dir / ("scores" + std::to_string(k) + ".npy"), {n, h * w * c});
        const auto labels =
            st::testing::read_reference(dir / ("labels" + std::to_string(k) + ".npy"), {n, h * w});
        const st::metrics::predictions<float> p{
            .outputs = scores, .targets = labels, .count = n, .width = h * w * c, .target_width = h * w};
        CHECK(st::metrics::pixel_accuracy{}(p) == doctest::Approx(accuracy).epsilon(1e-12));
        CHECK(st::metrics::mean_iou{}(p) == doctest::Approx(miou).epsilon(1e-12));
        CHECK(st::metrics::mean_dice{}(p) == doctest::Approx(dice).epsilon(1e-12));
        CHECK(st::metrics::foreground_iou{}(p) == doctest::Approx(fg).epsilon(1e-12));
        const auto per_class = st::metrics::class_iou(st::metrics::pixel_confusion(p));
        for (std::size_t cls = 0; cls < c; ++cls) {
            CAPTURE(cls);
            if (std::isnan(iou[cls]))
                CHECK(std::isnan(per_class[cls]));
            else
                CHECK(per_class[cls] == doctest::Approx(iou[cls]).epsilon(1e-12));
        }
        ++cases;
    }
    CHECK(cases == 4);
    const std::vector<float> out(10), target(3);
    const st::metrics::predictions<float> bad{
        .outputs = out, .targets = target, .count = 1, .width = 10, .target_width = 3};
    CHECK_THROWS_WITH_AS(st::metrics::mean_iou{}(bad), doctest::Contains("whole number"), st::usage_error);
}
