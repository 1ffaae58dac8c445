// fit, evaluate and predict: the Keras-like entry points over a network type,
// a data set, a loss policy and an optimizer policy. fit sorts its options
// into the trainer's settings and a list of callbacks; the loop itself is
// trainer::run (trainer.hpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iomanip>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "../augment/pipeline.hpp"
#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../data/dataset.hpp"
#include "../data/source.hpp"
#include "../distributed/communicator.hpp"
#include "../loss/loss.hpp"
#include "../metrics/metrics.hpp"
#include "../metrics/segmentation.hpp"
#include "../model/sequential.hpp"
#include "../optim/clip.hpp"
#include "../optim/optimizer.hpp"
#include "../optim/schedule.hpp"
#include "../regularize/penalty.hpp"
#include "callbacks.hpp"
#include "executor.hpp"
#include "history.hpp"
#include "options.hpp"
#include "penalties.hpp"
#include "trainer.hpp"

namespace strata {

namespace detail {

template <class T>
struct fit_config : train_settings<T> {
    std::size_t epoch_count = 1;
    std::size_t batch = 32;
    const data::dataset<T>* validation_data = nullptr;
    std::optional<std::size_t> balanced_classes;

    void apply(epochs e) { epoch_count = e.value; }
    void apply(batch_size b) { batch = b.value; }
    void apply(seed s) { this->seed_value = s.value; }
    void apply(threads t) { this->thread_count = t; }
    void apply(const validation<T>& v) { validation_data = &v.data; }
    void apply(class_balanced_sampling b) {
        if (b.classes == 0) throw usage_error("fit: class_balanced_sampling needs at least one class");
        balanced_classes = b.classes;
    }
    void apply(const class_weights& w) { this->class_weight = w.weights; }
    template <class M>
    requires metrics::metric_policy<M, T>
    void apply(const M& m) { this->metrics.emplace_back(m); }
    void apply(const sample_weights& w) { this->sample_weight = w.weights; }
    // Data-parallel: the default thread count (every core) would
    // oversubscribe a machine running several processes; give each its share.
    void share_cores_with_local_processes() {
        if (!this->comm || this->thread_count.count != 0) return;
        const auto local = static_cast<std::size_t>(std::max(1, this->comm->local_size()));
        this->thread_count.count = std::max<std::size_t>(1, resolve_thread_count({}) / local);
    }
    void apply(const distributed& d) {
        this->comm = d.comm;
        this->synchronise_batch_norm = d.synchronise_batch_norm;
    }
    template <class R>
    void apply(const weight_penalty<R>& p) {
        static_assert(check_regularizer<R, T>());
        if constexpr (regularizer<R, T>) {
            if constexpr (requires { p.regularizer.check(); }) p.regularizer.check();
            this->global_penalty = erase_penalty<R, T>(p.regularizer);
        }
    }
    // Training batches only: validation and test data are never augmented.
    template <class... A>
    void apply(const augment::pipeline<A...>& p) {
        this->augmentation = [p](const T* in, T* out, std::size_t n, augment::image_shape s,
                                 std::uint64_t seed,
                                 std::size_t first) { p.apply(in, out, n, s, seed, first); };
        this->mask_augmentation = [p](const T* in, T* out, std::size_t n, augment::image_shape s,
                                      std::uint64_t seed, std::size_t first,
                                      double fill) { p.apply_to_masks(in, out, n, s, seed, first, fill); };
    }
    // Training works on its own copy of the schedule, shared by both functions.
    template <learning_rate_schedule S>
    void apply(const S& s) {
        static_assert(check_schedule<S>());
        if constexpr (requires { s.check(); }) s.check();
        auto live = std::make_shared<S>(s);
        this->learning_rate_at = [live](const schedule_point& p) {
            return static_cast<double>(live->learning_rate(p));
        };
        if constexpr (observes_metric<S>) {
            this->schedule_monitor = s.monitor;
            this->schedule_observe = [live](const epoch_record& r) { live->observe(r.value(live->monitor)); };
        }
    }
};

template <class O>
inline constexpr bool is_resume_v = requires {
    typename O::resume_tag;
};
template <class O>
inline constexpr bool is_validation_v = false;
template <class T>
inline constexpr bool is_validation_v<validation<T>> = true;
template <class O>
inline constexpr bool is_pipeline_v = false;
template <class... A>
inline constexpr bool is_pipeline_v<augment::pipeline<A...>> = true;
template <class O>
inline constexpr bool is_weight_penalty_v = false;
template <class R>
inline constexpr bool is_weight_penalty_v<weight_penalty<R>> = true;

// Options that set one value may appear once: a second would silently win.
template <class... Options>
constexpr bool each_setting_once() {
    constexpr auto count = [](auto... flags) { return (std::size_t{0} + ... + std::size_t{flags}); };
    static_assert(count(std::is_same_v<Options, epochs>...) <= 1, "fit: epochs{n} is given twice");
    static_assert(count(std::is_same_v<Options, batch_size>...) <= 1, "fit: batch_size{n} is given twice");
    static_assert(count(std::is_same_v<Options, seed>...) <= 1, "fit: seed{s} is given twice");
    static_assert(count(std::is_same_v<Options, threads>...) <= 1, "fit: threads{n} is given twice");
    static_assert(count(is_validation_v<Options>...) <= 1, "fit: validation{data} is given twice");
    static_assert(count(learning_rate_schedule<Options>...) <= 1,
                  "fit: two learning-rate schedules; give one (a learning_rate_scheduler callback composes "
                  "with it)");
    static_assert(count(is_pipeline_v<Options>...) <= 1,
                  "fit: two augment::pipeline options; put every augmentation in one pipeline");
    static_assert(count(std::is_same_v<Options, class_weights>...) <= 1, "fit: class_weights is given twice");
    static_assert(count(is_resume_v<Options>...) <= 1, "fit: resume_from is given twice");
    static_assert(count(std::is_same_v<Options, class_balanced_sampling>...) <= 1,
                  "fit: class_balanced_sampling is given twice");
    static_assert(count(std::is_same_v<Options, sample_weights>...) <= 1,
                  "fit: sample_weights is given twice");
    static_assert(count(std::is_same_v<Options, distributed>...) <= 1, "fit: distributed is given twice");
    static_assert(count(is_weight_penalty_v<Options>...) <= 1,
                  "fit: weight_penalty is given twice; combine the regularizers in one (e.g. l1_l2)");
    return true;
}

// What fit does with an option that is a callback: keep it; on_epoch_end
// becomes a lambda_callback; anything else is a setting.
template <class Net, class O>
auto as_callbacks(const O& o) {
    if constexpr (std::is_same_v<O, on_epoch_end>) {
        return std::tuple<lambda_callback>{
            lambda_callback{.on_epoch_end_fn = [f = o.callback](training_view& s) {
                if (f && !f(s.logs()))
                    s.stop("stopped by on_epoch_end after epoch " + std::to_string(s.epoch()));
            }}};
    } else if constexpr (callback_for<O, training_state<Net>>) {
        return std::tuple<O>{o};
    } else {
        return std::tuple<>{};
    }
}

// A setting fit_config takes, a callback for this network, or resume_from.
template <class Net, class Option>
concept fit_option = requires(fit_config<typename Net::scalar_type>& c, const Option& o) {
    c.apply(o);
}
|| std::is_same_v<Option, on_epoch_end> || callback_for<Option, training_state<Net>> || is_resume_v<Option>;
// predict takes only these; a schedule or a pipeline there would be ignored.
template <class Option>
concept inference_option = std::is_same_v<Option, batch_size> || std::is_same_v<Option, threads>;
// evaluate also weighs the loss and takes metric policies.
template <class Option, class T>
concept evaluate_option = inference_option<Option> || std::is_same_v<Option, class_weights> ||
    std::is_same_v<Option, sample_weights> || std::is_same_v<Option, distributed> ||
    metrics::metric_policy<Option, T>;

// Weights must be finite and >= 0, one per class of the loss's targets or one per sample.
template <class T>
void check_weights(const fit_config<T>& cfg, std::size_t samples, std::size_t target_width,
                   std::size_t outputs, const char* what) {
    auto check = [&](const std::vector<double>& w, const char* name) {
        for (std::size_t i = 0; i < w.size(); ++i)
            if (!(std::isfinite(w[i]) && w[i] >= 0))
                throw usage_error(std::string(what) + ": " + name + " weight " + std::to_string(i) + " is " +
                                  std::to_string(w[i]) + "; weights must be finite and >= 0");
    };
    check(cfg.class_weight, "class_weights");
    check(cfg.sample_weight, "sample_weights");
    // Class indices (one output per class, or 0/1 for one sigmoid) or one-hot rows.
    const std::size_t classes = target_width > 1 ? target_width : std::max<std::size_t>(outputs, 2);
    if (!cfg.class_weight.empty() && cfg.class_weight.size() != classes)
        throw usage_error(std::string(what) + ": class_weights has " +
                          std::to_string(cfg.class_weight.size()) + " weights, but the targets have " +
                          std::to_string(classes) + " classes");
    if (!cfg.sample_weight.empty() && cfg.sample_weight.size() != samples)
        throw usage_error(std::string(what) + ": sample_weights has " +
                          std::to_string(cfg.sample_weight.size()) + " weights for " +
                          std::to_string(samples) + " samples");
}

// Names the first sample with a NaN or infinite value. One pass over the
// data per call, at memory speed (15 ms for Fashion-MNIST's 60,000 images);
// NaN would otherwise vanish in relu and pooling and train on garbage.
template <class T>
void check_finite_samples(const T* x, std::size_t n, std::size_t sample_size, const std::string& what) {
    for (std::size_t s = 0; s < n; ++s) {
        const T* sample = x + s * sample_size;
        if (simd::all_finite(sample, sample_size)) continue;
        const auto bad = std::find_if(sample, sample + sample_size, [](T v) { return !std::isfinite(v); });
        throw usage_error(what + ": sample " + std::to_string(s) + " has a non-finite value (" +
                          std::to_string(static_cast<double>(*bad)) + ") at position " +
                          std::to_string(bad - sample) + " of its " + std::to_string(sample_size) +
                          "; clean or drop it before training or inference");
    }
}

template <class Net, class T>
void check_data_fits(const data::dataset<T>& d, std::size_t target_width, const char* what) {
    using in = typename Net::in_shape;
    // Before anything reads y by x's count.
    if (d.y.shape()[0] != d.x.shape()[0])
        throw usage_error(std::string(what) + ": the data set has " + std::to_string(d.x.shape()[0]) +
                          " samples in x but " + std::to_string(d.y.shape()[0]) +
                          " target rows in y; every sample needs exactly one");
    if (d.size() == 0) throw usage_error(std::string(what) + ": the data set is empty");
    if (d.sample_size() != in::size)
        throw usage_error(std::string(what) + ": the network takes samples of " + std::to_string(in::size) +
                          " values " + in::to_string() + ", but the data set's samples have " +
                          std::to_string(d.sample_size()));
    if (d.target_width() != target_width)
        throw usage_error(std::string(what) + ": the loss expects " + std::to_string(target_width) +
                          " target value(s) per sample, but the data set has " +
                          std::to_string(d.target_width()));
    check_finite_samples(d.x.data(), d.size(), in::size, what);
}

// A streamed source is checked for its sizes, and for its targets when it
// can list them (targets()); a dataset fully, samples included.
template <class Net, class Source, class Loss>
void check_source_fits(const Source& train, std::size_t target_width, const Loss& loss, const char* what) {
    using in = typename Net::in_shape;
    constexpr std::size_t out = Net::out_shape::size;
    if constexpr (requires {
                      train.x;
                      train.y;
                  }) {
        check_data_fits<Net>(train, target_width, what);
        loss.check_targets(train.y.data(), train.size(), out);
    } else {
        if (train.size() == 0) throw usage_error(std::string(what) + ": the data source is empty");
        if (train.sample_size() != in::size)
            throw usage_error(std::string(what) + ": the network takes samples of " +
                              std::to_string(in::size) + " values " + in::to_string() +
                              ", but the data source's samples have " + std::to_string(train.sample_size()));
        if (train.target_width() != target_width)
            throw usage_error(std::string(what) + ": the loss expects " + std::to_string(target_width) +
                              " target value(s) per sample, but the data source has " +
                              std::to_string(train.target_width()));
        if constexpr (requires { train.targets(); })
            loss.check_targets(train.targets().data(), train.size(), out);
    }
}

// The class of each of a source's targets, for class-balanced sampling (the
// sampler checks them against its class count).
template <class T, class Source>
std::vector<std::size_t> class_labels_of(const Source& train) {
    if constexpr (requires { train.y; })
        return data::class_labels_of(train.y.data(), train.size(), train.target_width(),
                                     "class_balanced_sampling");
    else if constexpr (requires { train.targets(); })
        return data::class_labels_of(train.targets().data(), train.size(), train.target_width(),
                                     "class_balanced_sampling");
    else
        throw usage_error(
            "class_balanced_sampling needs the classes of the training data: a dataset, or a source "
            "with targets()");
}

}  // namespace detail

// Loss, accuracy and metrics of the network over a data set, in inference
// mode: the confusion matrix for classification losses (of pixels, for
// per-pixel losses: metrics::class_iou reads it), mean absolute and
// squared errors when there is one target per output, and any metric
// policies given (strata::metrics::top_k{5}, f1{}, auc{}, ...).
template <class T, class Input, class... Layers, class Loss, class... Options>
evaluation evaluate(const basic_sequential<T, Input, Layers...>& net, const data::dataset<T>& d,
                    const Loss& loss, const Options&... options) {
    using Net = basic_sequential<T, Input, Layers...>;
    static_assert(detail::check_loss<Loss, T>());
    static_assert(detail::check_loss_outputs<Loss, Net::out_shape::size>());
    detail::fit_config<T> cfg;
    cfg.batch = 256;
    static_assert((detail::evaluate_option<Options, T> && ...),
                  "evaluate: options are batch_size{n}, threads{n}, class_weights{...}, sample_weights{...}, "
                  "distributed{comm} and metric policies from strata::metrics");
    (cfg.apply(options), ...);
    cfg.share_cores_with_local_processes();
    constexpr std::size_t out = Net::out_shape::size;
    const std::size_t tw = loss.target_width(out);
    detail::check_data_fits<Net>(d, tw, "evaluate");
    loss.check_targets(d.y.data(), d.size(), out);
    detail::check_weights(cfg, d.size(), tw, out, "evaluate");
    executor<Net> exec(cfg.thread_count);
    // Everything is tallied batch by batch, so a large data set's outputs are never all held.
    detail::metric_pass<T> measured(cfg.metrics, out, tw, detail::decision_threshold(loss));
    measured.begin(d.size());
    metrics::confusion_matrix confusion;
    metrics::error_sums errors;
    const auto on_batch = [&](const T* outputs, const T* targets, std::size_t count) {
        const auto batch = measured.predictions_of(outputs, targets, count);
        if constexpr (Loss::has_accuracy)
            confusion.add(batch);
        else if constexpr (requires { Loss::required_outputs; })
            confusion.add(metrics::per_pixel(batch));
        if (tw == out) errors.add(batch);
        measured.add(outputs, targets, count);
    };
    evaluation e = evaluate_with(exec, net, d, loss, cfg.batch, cfg.class_weight, cfg.sample_weight,
                                 std::function<void(const T*, const T*, std::size_t)>(on_batch), cfg.comm);
    e.loss += detail::apply_weight_penalties(net, std::span<T>(), {});  // the layers' own penalties
    if constexpr (Loss::has_accuracy || requires { Loss::required_outputs; })
        e.confusion = std::move(confusion);
    if (tw == out) {
        e.mean_absolute_error = errors.mean_absolute();
        e.mean_squared_error = errors.mean_squared();
    }
    measured.record(e.metrics, "");
    return e;
}

// Network outputs for every sample of x (N, ...), as an (N, outputs) tensor.
template <class T, class Input, class... Layers, class E, class... Options>
xt::xtensor<T, 2> predict(const basic_sequential<T, Input, Layers...>& net, const xt::xexpression<E>& x_expr,
                          const Options&... options) {
    using Net = basic_sequential<T, Input, Layers...>;
    constexpr std::size_t in = Net::in_shape::size, out = Net::out_shape::size;
    detail::fit_config<T> cfg;
    cfg.batch = 256;
    static_assert((detail::inference_option<Options> && ...),
                  "predict: options are batch_size{n} and threads{n}");
    (cfg.apply(options), ...);
    // Evaluated once into contiguous row-major memory (an expression's
    // iterators run row-major whatever its storage).
    const auto& e = x_expr.derived_cast();
    if (e.dimension() == 0 || e.size() == 0 || e.size() % in != 0 || e.size() / e.shape()[0] != in)
        throw usage_error("predict: the network takes samples of " + std::to_string(in) + " values " +
                          Net::in_shape::to_string() + "; the input's first axis must count samples");
    const std::size_t n = e.shape()[0];
    const std::vector<T> x(e.begin(), e.end());
    detail::check_finite_samples(x.data(), n, in, "predict");
    xt::xtensor<T, 2> result = xt::xtensor<T, 2>::from_shape({n, out});
    executor<Net> exec(n >= 8 ? cfg.thread_count : threads{1});
    for (std::size_t first = 0; first < n; first += cfg.batch) {
        const std::size_t count = std::min(cfg.batch, n - first);
        exec.predict_batch(net, x.data() + first * in, count, result.data() + first * out);
    }
    return result;
}

namespace detail {
template <class T, class Input, class... Layers, class Source, class Loss, class Optimizer, class... Options>
history fit_checked(basic_sequential<T, Input, Layers...>& net, const Source& train, const Loss& loss,
                    const Optimizer& opt, const Options&... options);
}  // namespace detail

// Trains net on train with mini-batches, in place. Options: epochs{n},
// batch_size{n}, seed{s} (shuffling, dropout and augmentation), threads{n},
// validation{data}, class_weights{...} and sample_weights{...} (Keras'
// weighted training loss), metric policies (strata::metrics::top_k{5}, f1{},
// auc{}, ...: reported per epoch in the history, name and val_name),
// weight_penalty{regularizer} (on every kernel), a
// learning-rate schedule, an augment::pipeline applied to every training
// batch (never to validation), and any number of callbacks (progress{stream},
// early_stopping{...}, csv_logger{...}, learning_rate_scheduler{...},
// lambda_callback{...}, on_epoch_end{f}, or a type of your own), called in
// the order given, and distributed{comm} (data-parallel over the processes
// of an MPI job: every process runs this fit on the same data). Each step: gradients, + weight penalties,
// clipping (the optimizer's clip field), then the optimizer's step at the schedule's rate. Reported losses
// include the penalties. A non-finite loss, gradient or weight stops training before the step that would
// apply it, so the network keeps its last finite weights; history.stop_reason says so.
template <class T, class Input, class... Layers, class Source, class Loss, class Optimizer, class... Options>
requires data::source<Source, T> history fit(basic_sequential<T, Input, Layers...>& net, const Source& train,
                                             const Loss& loss, const Optimizer& opt,
                                             const Options&... options) {
    using Net = basic_sequential<T, Input, Layers...>;
    // Each check names what is missing; the training loop is only compiled
    // when they pass, so a bad policy gives one message, not pages.
    static_assert(detail::check_loss<Loss, T>());
    static_assert(detail::check_loss_outputs<Loss, Net::out_shape::size>());
    static_assert(detail::check_optimizer<Optimizer, T>());
    static_assert(
        (detail::fit_option<Net, Options> && ...),
        "fit: options are epochs{n}, batch_size{n}, seed{s}, threads{n}, validation{data}, "
        "class_weights{...}, sample_weights{...}, class_balanced_sampling{classes}, metric policies "
        "from strata::metrics, weight_penalty{regularizer}, a learning-rate schedule from strata::schedule, "
        "an augment::pipeline, distributed{comm}, and callbacks: types with at least one of on_train_begin, "
        "on_epoch_begin, on_batch_end, on_epoch_end or on_train_end taking the training state");
    static_assert(detail::each_setting_once<Options...>());
    if constexpr (loss_function<Loss, T> && optimizer<Optimizer, T> &&
                  detail::loss_fits_outputs<Loss, Net::out_shape::size>() &&
                  (detail::fit_option<Net, Options> && ...)) {
        std::optional<any_communicator> comm;
        (
            [&] {
                if constexpr (std::is_same_v<Options, distributed>) comm = options.comm;
            }(),
            ...);
        if (!comm || comm->size() <= 1) return detail::fit_checked(net, train, loss, opt, options...);
        // A process that fails alone would leave the others waiting in a
        // collective forever: end the whole job with its message instead.
        try {
            return detail::fit_checked(net, train, loss, opt, options...);
        } catch (const std::exception& e) {
            comm->abort(std::string("fit failed: ") + e.what());
        }
    } else {
        return {};
    }
}

namespace detail {
// The epoch loop under a sampler, resumed when an option says so.
template <class Net, class Trainer, class Sampler, class Source, class T, class... Options>
history run_fit(Trainer& t, Sampler& sampler, const Source& train, std::size_t epochs, std::size_t batch,
                const data::dataset<T>* validation, const Options&... options) {
    resume_point start;
    (
        [&] {
            if constexpr (requires { typename Options::resume_tag; }) start = options.restore(t, sampler);
        }(),
        ...);
    auto callbacks = std::tuple_cat(detail::as_callbacks<Net>(options)...);
    return std::apply(
        [&](auto&... c) {
            return t.run_from(std::move(start), train, sampler, epochs, batch, validation, c...);
        },
        callbacks);
}

template <class T, class Input, class... Layers, class Source, class Loss, class Optimizer, class... Options>
history fit_checked(basic_sequential<T, Input, Layers...>& net, const Source& train, const Loss& loss,
                    const Optimizer& opt, const Options&... options) {
    using Net = basic_sequential<T, Input, Layers...>;
    detail::fit_config<T> cfg;
    (
        [&] {
            if constexpr (requires { cfg.apply(options); }) cfg.apply(options);
        }(),
        ...);
    if (cfg.batch == 0) throw usage_error("fit: batch_size must be at least 1");
    cfg.share_cores_with_local_processes();
    if (cfg.schedule_monitor)
        detail::check_monitor(*cfg.schedule_monitor, cfg.validation_data != nullptr, Loss::has_accuracy,
                              "fit: the schedule");
    detail::check_weight_penalties(net);
    if constexpr (requires { opt.clip; }) optim::clip_gradients<T>(opt.clip, {});  // rejects bad settings now

    constexpr std::size_t out = Net::out_shape::size;
    const std::size_t tw = loss.target_width(out);
    detail::check_source_fits<Net>(train, tw, loss, "fit");
    if (cfg.validation_data) {
        detail::check_data_fits<Net>(*cfg.validation_data, tw, "fit (validation data)");
        loss.check_targets(cfg.validation_data->y.data(), cfg.validation_data->size(), out);
    }
    detail::check_weights(cfg, train.size(), tw, out, "fit");
    const std::size_t epoch_count = cfg.epoch_count, batch = cfg.batch;
    const data::dataset<T>* validation_data = cfg.validation_data;
    const std::uint64_t shuffle_seed = cfg.seed_value;
    trainer<Net, Loss, Optimizer> t(net, loss, opt, std::move(static_cast<train_settings<T>&>(cfg)));
    if (cfg.balanced_classes) {
        data::class_balanced_sampler sampler(detail::class_labels_of<T>(train), *cfg.balanced_classes,
                                             shuffle_seed);
        return run_fit<Net>(t, sampler, train, epoch_count, batch, validation_data, options...);
    }
    data::shuffle_sampler sampler(train.size(), shuffle_seed);
    return run_fit<Net>(t, sampler, train, epoch_count, batch, validation_data, options...);
}

}  // namespace detail

}  // namespace strata
