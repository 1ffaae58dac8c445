// wrong_architecture: the articles' dense-output segmentation network
// (examples/segmentation's dense_t) on 64 x 64 canvases of garments, in a
// translation unit of its own. Its last layer gives each of the 64 x 64 x 11
// pixel scores its own weights over a flat vector: nothing ties a pixel's
// score to its neighbourhood. diagnose sees that in architecture_of(net,
// loss): per-pixel scores from a dense layer.
#include <array>
#include <cstdint>

#include "../segmentation/dense_output.hpp"
#include "train.hpp"

namespace diagnose_example {

constexpr std::size_t side = segmentation_example::side, pixel_classes = segmentation_example::classes;
using dense_output_net = segmentation_example::dense_output_t;
using segmentation_example::palette;

namespace {

st::report::image mask_picture(const float* classes_or_scores, bool scores, std::string caption) {
    st::report::image im{side, side, 3, {}, std::move(caption)};
    for (std::size_t p = 0; p < side * side; ++p) {
        std::size_t k = 0;
        if (scores) {
            const float* s = classes_or_scores + p * pixel_classes;
            k = static_cast<std::size_t>(std::max_element(s, s + pixel_classes) - s);
        } else {
            k = static_cast<std::size_t>(classes_or_scores[p]);
        }
        im.pixels.insert(im.pixels.end(), palette[k].begin(), palette[k].end());
    }
    return im;
}

}  // namespace

outcome train_dense_segmentation(const context& c, const job& j) {
    const auto& opt = c.opt;
    dense_output_net net{st::seed{opt.seed}};
    outcome o;
    const st::loss::pixel_crossentropy<side, side, pixel_classes> loss{.from_logits = true};
    const auto probe =
        fit_job(c, j, net, loss, o, "canvases", st::metrics::pixel_accuracy{}, st::metrics::mean_iou{});

    // The network's structure against the per-pixel loss is the evidence.
    // The confusion matrix counts pixels and goes in as it would for any
    // run; training "class counts" would be pixel counts, mostly background,
    // so they are left out.
    st::diagnose_inputs in{.validation_confusion = o.validation.confusion, .classes = pixel_classes};
    in.diagnostics = *probe.records;
    in.architecture = st::architecture_of(net, loss);
    o.findings = st::diagnose(o.history, in);
    const auto& last = o.history.epochs.back();
    o.numbers = key_numbers(o.history) + ", pixel acc " + fixed(last.value("pixel_accuracy")) + " / val " +
                fixed(last.value("val_pixel_accuracy")) + ", mean IoU " + fixed(last.value("mean_iou")) +
                " / val " + fixed(last.value("val_mean_iou")) + ", params " + std::to_string(o.parameters) +
                " for " + std::to_string(j.train.size()) + " canvases (" +
                std::to_string(o.parameters / std::max<std::size_t>(1, j.train.size())) + " per canvas)";

    auto& r = o.report;
    start_report(o, j, summary_of(net),
                 "Validation canvases, per pixel (" + std::to_string(j.validation.size()) + " canvases)");
    const std::size_t shown = std::min<std::size_t>(4, j.validation.size());
    const auto scores = st::predict(net, st::data::take(j.validation, shown).x, st::threads{opt.threads});
    st::report::image_group canvases{"Validation canvases: input, true mask, prediction", {}};
    for (std::size_t i = 0; i < shown; ++i) {
        canvases.images.push_back(picture(j.validation, i, "canvas " + std::to_string(i)));
        canvases.images.push_back(mask_picture(j.validation.y.data() + i * side * side, false, "true mask"));
        canvases.images.push_back(mask_picture(&scores(i, 0), true, "dense-output prediction"));
    }
    r.images.push_back(std::move(canvases));
    add_feature_maps(r, net, j.validation, "validation canvas 0");
    return o;
}

}  // namespace diagnose_example
