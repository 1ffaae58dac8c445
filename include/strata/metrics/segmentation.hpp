// Segmentation metrics: every pixel is a sample. A network's outputs for
// one image are H x W x C values (channels last: C class scores per pixel,
// or one logit/probability per pixel for a binary mask) and its targets
// H x W class indices, so the predictions of a batch read as those of
// count x H x W pixels, and the confusion matrix, pixel accuracy, IoU
// (Jaccard) and Dice follow from it. Averages run over the classes that
// occur in the targets or the predictions, as sklearn's jaccard_score and
// f1_score do by default.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "metrics.hpp"

namespace strata::metrics {

// The same buffers, read pixel by pixel.
template <class T>
predictions<T> per_pixel(const predictions<T>& p) {
    if (p.target_width == 0 || p.width % p.target_width != 0)
        throw usage_error("segmentation metrics: " + std::to_string(p.width) +
                          " outputs per image are not a whole number of scores for each of its " +
                          std::to_string(p.target_width) + " target pixels");
    predictions<T> pixels = p;
    pixels.count = p.count * p.target_width;
    pixels.width = p.width / p.target_width;
    pixels.target_width = 1;
    return pixels;
}

template <class T>
confusion_matrix pixel_confusion(const predictions<T>& p) {
    return confusion_matrix::of(per_pixel(p));
}

namespace detail {
// score(tp, fp, fn) per class; NaN for a class neither true nor predicted.
template <class Score>
std::vector<double> per_class(const confusion_matrix& m, Score score) {
    std::vector<double> out(m.classes());
    for (std::size_t c = 0; c < m.classes(); ++c) {
        const double tp = static_cast<double>(m(c, c));
        const double fn = static_cast<double>(m.support(c)) - tp,
                     fp = static_cast<double>(m.predicted_count(c)) - tp;
        out[c] = tp + fp + fn > 0 ? score(tp, fp, fn) : std::numeric_limits<double>::quiet_NaN();
    }
    return out;
}
inline double mean_present(const std::vector<double>& v) {
    double sum = 0;
    std::size_t n = 0;
    for (const double x : v)
        if (!std::isnan(x)) sum += x, ++n;
    return n ? sum / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
}
}  // namespace detail

// Intersection over union per class: tp / (tp + fp + fn).
inline std::vector<double> class_iou(const confusion_matrix& m) {
    return detail::per_class(m, [](double tp, double fp, double fn) { return tp / (tp + fp + fn); });
}
// Dice (F1) per class: 2 tp / (2 tp + fp + fn).
inline std::vector<double> class_dice(const confusion_matrix& m) {
    return detail::per_class(m, [](double tp, double fp, double fn) { return 2 * tp / (2 * tp + fp + fn); });
}
// The mean of class_iou over the classes that occur.
inline double mean_iou_of(const confusion_matrix& m) { return detail::mean_present(class_iou(m)); }
// Every class but `background` against it: the IoU of the binary mask "something here".
inline double foreground_iou_of(const confusion_matrix& m, std::size_t background = 0) {
    double tp = 0, fp = 0, fn = 0;
    for (std::size_t t = 0; t < m.classes(); ++t)
        for (std::size_t p = 0; p < m.classes(); ++p) {
            const double n = static_cast<double>(m(t, p));
            if (t != background && p != background) tp += n;
            if (t == background && p != background) fp += n;
            if (t != background && p == background) fn += n;
        }
    return tp + fp + fn > 0 ? tp / (tp + fp + fn) : std::numeric_limits<double>::quiet_NaN();
}

namespace detail {
// The segmentation policies keep the pixels' confusion matrix over the
// batches of a pass, so fit never holds an epoch's outputs.
template <class Score>
struct pixel_tallied : Score {
    using tally_type = confusion_matrix;
    tally_type start() const { return {}; }
    template <class T>
    void add(tally_type& m, const predictions<T>& p) const {
        m.add(per_pixel(p));
    }
    template <class T>
    double operator()(const predictions<T>& p) const {
        return this->result(pixel_confusion(p));
    }
};
struct pixel_accuracy_score {
    std::string name() const { return "pixel_accuracy"; }
    double result(const confusion_matrix& m) const { return m.accuracy(); }
};
struct mean_iou_score {
    std::string name() const { return "mean_iou"; }
    double result(const confusion_matrix& m) const { return mean_iou_of(m); }
};
struct mean_dice_score {
    std::string name() const { return "mean_dice"; }
    double result(const confusion_matrix& m) const { return mean_present(class_dice(m)); }
};
}  // namespace detail

// Metric policies for fit and evaluate.
using pixel_accuracy = detail::pixel_tallied<detail::pixel_accuracy_score>;
using mean_iou = detail::pixel_tallied<detail::mean_iou_score>;
using mean_dice = detail::pixel_tallied<detail::mean_dice_score>;
struct foreground_iou {
    std::size_t background = 0;
    using tally_type = confusion_matrix;
    std::string name() const { return "foreground_iou"; }
    tally_type start() const { return {}; }
    template <class T>
    void add(tally_type& m, const predictions<T>& p) const {
        m.add(per_pixel(p));
    }
    double result(const confusion_matrix& m) const { return foreground_iou_of(m, background); }
    template <class T>
    double operator()(const predictions<T>& p) const {
        return result(pixel_confusion(p));
    }
};

}  // namespace strata::metrics
