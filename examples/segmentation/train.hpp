// Training and testing one network of the segmentation example; unet.cpp and
// dense.cpp each instantiate it for their network.
#pragma once

#include <algorithm>
#include <ostream>

#include <strata/metrics/segmentation.hpp>

#include "common.hpp"

namespace segmentation_example {

// Each pixel's highest-scoring class.
inline std::vector<std::size_t> predicted_mask(const float* scores) {
    std::vector<std::size_t> mask(side * side);
    for (std::size_t p = 0; p < mask.size(); ++p)
        mask[p] = static_cast<std::size_t>(
            std::max_element(scores + p * classes, scores + (p + 1) * classes) - (scores + p * classes));
    return mask;
}

template <class Net, class... Extra>
outcome train_and_test(const context& c, const std::string& name, std::size_t epochs, const Extra&... extra) {
    const auto& opt = c.opt;
    Net net{st::seed{opt.seed}};
    outcome o{name, Net::param_count, {}, {}, {}, {}};
    c.human << "\n(" << name << ") " << o.parameters << " parameters\n";
    const st::loss::pixel_crossentropy<side, side, classes> loss{.from_logits = true};
    // The rate falls along a cosine to 5% over the run: the last epochs settle the outlines.
    const std::size_t steps = epochs * ((c.train.size() + opt.batch - 1) / opt.batch);
    o.history =
        st::fit(net, c.train, loss, st::optim::adam{.lr = static_cast<float>(opt.lr)},
                st::schedule::cosine_decay{.decay_steps = steps, .alpha = 0.05}, st::epochs{epochs},
                st::batch_size{opt.batch}, st::seed{opt.seed}, st::threads{opt.threads},
                st::metrics::pixel_accuracy{}, st::metrics::mean_iou{}, st::progress{c.human}, extra...);
    o.test = st::evaluate(net, c.test, loss, st::threads{opt.threads});
    o.iou = st::metrics::class_iou(o.test.confusion);
    const auto shown = st::data::take(c.test, std::min(c.grid_rows, c.test.size()));
    const auto scores = st::predict(net, shown.x, st::threads{opt.threads});
    for (std::size_t r = 0; r < shown.size(); ++r) o.grid_masks.push_back(predicted_mask(&scores(r, 0)));
    return o;
}

}  // namespace segmentation_example
