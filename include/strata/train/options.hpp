// The options fit, evaluate and predict take, as small tagged types so a call
// reads like Keras: fit(net, data, loss, opt, epochs{10}, batch_size{64},
// validation{test}, progress{std::cout}).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <iostream>
#include <ostream>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../core/thread_pool.hpp"
#include "../data/dataset.hpp"
#include "history.hpp"

namespace strata {

struct epochs {
    std::size_t value = 1;
};
struct batch_size {
    std::size_t value = 32;
};

template <class T>
struct validation {
    const data::dataset<T>& data;
};
template <class T>
validation(const data::dataset<T>&) -> validation<T>;

// Draw each epoch's samples class-balanced (data::class_balanced_sampler:
// a class uniformly, then one of its samples) instead of shuffling: the
// rare classes are seen as often as the common ones. Targets are class
// indices below `classes`.
struct class_balanced_sampling {
    std::size_t classes = 0;
};

// Keras' class_weight: in the training loss, a sample of class c counts
// weights[c] times (validation and test losses stay unweighted unless given
// to evaluate). The reduction is Keras': sum(w_i loss_i) / batch size.
// PyTorch's CrossEntropyLoss(weight=w) divides by sum(w_i) instead.
struct class_weights {
    std::vector<double> weights;

    // sklearn's compute_class_weight("balanced"): n_samples / (classes * count(c)).
    template <class T>
    static class_weights balanced(const data::dataset<T>& d, std::size_t classes) {
        if (classes == 0) throw usage_error("class_weights::balanced: classes must be at least 1");
        std::vector<std::size_t> counts(classes, 0);
        const std::size_t width = d.target_width();
        for (std::size_t i = 0; i < d.size(); ++i) {
            const T* y = d.y.data() + i * width;
            const double label = width == 1 ? static_cast<double>(*y)
                                            : static_cast<double>(std::max_element(y, y + width) - y);
            if (!(label >= 0 && label < static_cast<double>(classes)) || label != std::floor(label))
                throw usage_error("class_weights::balanced: sample " + std::to_string(i) + " has label " +
                                  std::to_string(label) + ", expected a class in [0, " +
                                  std::to_string(classes) + ")");
            ++counts[static_cast<std::size_t>(label)];
        }
        class_weights w;
        for (std::size_t c = 0; c < classes; ++c) {
            if (counts[c] == 0)
                throw usage_error("class_weights::balanced: class " + std::to_string(c) +
                                  " has no samples, so its weight would be infinite");
            w.weights.push_back(static_cast<double>(d.size()) /
                                (static_cast<double>(classes) * static_cast<double>(counts[c])));
        }
        return w;
    }
};

// Keras' sample_weight: one weight per training sample, in the data set's order.
struct sample_weights {
    std::vector<double> weights;
};

// Called after each epoch with its record; return false to stop training.
struct on_epoch_end {
    std::function<bool(const epoch_record&)> callback;
};

}  // namespace strata
