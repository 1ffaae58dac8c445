// fit, evaluate and predict: the Keras-like training loop over a network type,
// a data set, a loss policy and an optimizer policy.
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
#include "../loss/loss.hpp"
#include "../model/sequential.hpp"
#include "../optim/clip.hpp"
#include "../optim/optimizer.hpp"
#include "../optim/schedule.hpp"
#include "../regularize/penalty.hpp"
#include "executor.hpp"
#include "history.hpp"
#include "options.hpp"
#include "penalties.hpp"

namespace strata {

struct evaluation {
    double loss = not_measured;
    double accuracy = not_measured;
    std::size_t samples = 0;
};

namespace detail {

template <class T>
struct fit_config {
    std::size_t epoch_count = 1;
    std::size_t batch = 32;
    std::uint64_t seed_value = 0;
    threads thread_count{};
    const data::dataset<T>* validation_data = nullptr;
    std::optional<progress> progress_to;
    std::function<bool(const epoch_record&)> epoch_callback;
    tensor_penalty<T> global_penalty;
    std::function<double(const schedule_point&)> learning_rate_at;
    std::function<void(const epoch_record&)> schedule_observe;
    std::optional<metric> schedule_monitor;
    std::function<void(const T*, T*, std::size_t, augment::image_shape, std::uint64_t, std::size_t)>
        augmentation;

    void apply(epochs e) { epoch_count = e.value; }
    void apply(batch_size b) { batch = b.value; }
    void apply(seed s) { seed_value = s.value; }
    void apply(threads t) { thread_count = t; }
    void apply(const validation<T>& v) { validation_data = &v.data; }
    void apply(const progress& p) { progress_to = p; }
    void apply(const on_epoch_end& c) { epoch_callback = c.callback; }
    template <class R>
    void apply(const weight_penalty<R>& p) {
        static_assert(check_regularizer<R, T>());
        if constexpr (regularizer<R, T>) {
            if constexpr (requires { p.regularizer.check(); }) p.regularizer.check();
            global_penalty = erase_penalty<R, T>(p.regularizer);
        }
    }
    // Training batches only: validation and test data are never augmented.
    template <class... A>
    void apply(const augment::pipeline<A...>& p) {
        augmentation = [p](const T* in, T* out, std::size_t n, augment::image_shape s, std::uint64_t seed,
                           std::size_t first) { p.apply(in, out, n, s, seed, first); };
    }
    // Training works on its own copy of the schedule, shared by both callbacks.
    template <learning_rate_schedule S>
    void apply(const S& s) {
        static_assert(check_schedule<S>());
        if constexpr (requires { s.check(); }) s.check();
        auto live = std::make_shared<S>(s);
        learning_rate_at = [live](const schedule_point& p) {
            return static_cast<double>(live->learning_rate(p));
        };
        if constexpr (observes_metric<S>) {
            schedule_monitor = s.monitor;
            schedule_observe = [live](const epoch_record& r) { live->observe(r.value(live->monitor)); };
        }
    }
};

template <class Config, class Option>
concept fit_option = requires(Config& c, const Option& o) {
    c.apply(o);
};
// evaluate and predict take only these; a schedule or a pipeline there would be ignored.
template <class Option>
concept inference_option = std::is_same_v<Option, batch_size> || std::is_same_v<Option, threads>;

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

inline std::string format_metrics(const epoch_record& r) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(4) << "loss: " << r.loss;
    if (!std::isnan(r.accuracy)) s << " - accuracy: " << r.accuracy;
    if (!std::isnan(r.val_loss)) s << " - val_loss: " << r.val_loss;
    if (!std::isnan(r.val_accuracy)) s << " - val_accuracy: " << r.val_accuracy;
    return s.str();
}

inline void print_progress(const progress& p, std::size_t epoch, std::size_t total_epochs, std::size_t done,
                           std::size_t batches, double seconds, const epoch_record& r, bool final_line) {
    std::ostream& out = *p.out;
    constexpr int bar = 30;
    const int filled = static_cast<int>(bar * done / batches);
    std::ostringstream line;
    line << "Epoch " << epoch << "/" << total_epochs << " "
         << std::setw(static_cast<int>(std::to_string(batches).size())) << done << "/" << batches << " ["
         << std::string(static_cast<std::size_t>(filled), '=')
         << std::string(static_cast<std::size_t>(bar - filled), '.') << "] " << std::fixed
         << std::setprecision(1) << seconds << "s - " << format_metrics(r);
    if (final_line) line << " - " << std::setprecision(0) << r.images_per_second << " img/s";
    if (p.interactive) out << "\r\033[K";
    out << line.str();
    if (final_line || !p.interactive) out << '\n';
    out.flush();
}

}  // namespace detail

// Loss and accuracy over a data set with an existing executor, in batches.
template <class Net, class T, class Loss>
evaluation evaluate_with(executor<Net>& exec, const Net& net, const data::dataset<T>& d, const Loss& loss,
                         std::size_t batch) {
    constexpr std::size_t in = Net::in_shape::size;
    const std::size_t tw = loss.target_width(Net::out_shape::size);
    double loss_sum = 0, accuracy_sum = 0;
    for (std::size_t first = 0; first < d.size(); first += batch) {
        const std::size_t n = std::min(batch, d.size() - first);
        const auto s = exec.evaluate_batch(net, d.x.data() + first * in, d.y.data() + first * tw, n, loss);
        loss_sum += s.loss_sum;
        accuracy_sum += s.accuracy_sum;
    }
    const double count = static_cast<double>(d.size());
    return {loss_sum / count, Loss::has_accuracy ? accuracy_sum / count : not_measured, d.size()};
}

// Loss and accuracy of the network over a data set, in inference mode.
template <class T, class Input, class... Layers, class Loss, class... Options>
evaluation evaluate(const basic_sequential<T, Input, Layers...>& net, const data::dataset<T>& d,
                    const Loss& loss, const Options&... options) {
    using Net = basic_sequential<T, Input, Layers...>;
    static_assert(detail::check_loss<Loss, T>());
    static_assert(detail::check_loss_outputs<Loss, Net::out_shape::size>());
    detail::fit_config<T> cfg;
    cfg.batch = 256;
    static_assert((detail::inference_option<Options> && ...),
                  "evaluate: options are batch_size{n} and threads{n}");
    (cfg.apply(options), ...);
    const std::size_t tw = loss.target_width(Net::out_shape::size);
    detail::check_data_fits<Net>(d, tw, "evaluate");
    loss.check_targets(d.y.data(), d.size(), Net::out_shape::size);
    executor<Net> exec(cfg.thread_count);
    evaluation e = evaluate_with(exec, net, d, loss, cfg.batch);
    e.loss += detail::apply_weight_penalties(net, std::span<T>(), {});  // the layers' own penalties
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
template <class T, class Input, class... Layers, class Loss, class Optimizer, class... Options>
history fit_checked(basic_sequential<T, Input, Layers...>& net, const data::dataset<T>& train,
                    const Loss& loss, const Optimizer& opt, const Options&... options);
}  // namespace detail

// Trains net on train with mini-batches, in place. Options: epochs{n},
// batch_size{n}, seed{s} (shuffling and dropout), threads{n},
// validation{data}, progress{stream}, on_epoch_end{callback},
// weight_penalty{regularizer} (on every kernel), a learning-rate schedule and
// an augment::pipeline applied to every training batch (never to validation).
// Each step: gradients, + weight penalties, clipping (the optimizer's clip
// field), then the optimizer's step at the schedule's rate. Reported losses
// include the penalties.
// A non-finite loss or gradient stops training before the step that would
// apply it, so the network keeps its last finite weights; history.stop_reason says so.
template <class T, class Input, class... Layers, class Loss, class Optimizer, class... Options>
history fit(basic_sequential<T, Input, Layers...>& net, const data::dataset<T>& train, const Loss& loss,
            const Optimizer& opt, const Options&... options) {
    // Each check names what is missing; the training loop is only compiled
    // when they pass, so a bad policy gives one message, not pages.
    static_assert(detail::check_loss<Loss, T>());
    static_assert(detail::check_loss_outputs<Loss, basic_sequential<T, Input, Layers...>::out_shape::size>());
    static_assert(detail::check_optimizer<Optimizer, T>());
    static_assert((detail::fit_option<detail::fit_config<T>, Options> && ...),
                  "fit: options are epochs{n}, batch_size{n}, seed{s}, threads{n}, validation{data}, "
                  "progress{stream}, on_epoch_end{callback}, weight_penalty{regularizer}, a "
                  "learning-rate schedule from strata::schedule and an augment::pipeline");
    if constexpr (loss_function<Loss, T> && optimizer<Optimizer, T> &&
                  detail::loss_fits_outputs<Loss, basic_sequential<T, Input, Layers...>::out_shape::size>() &&
                  (detail::fit_option<detail::fit_config<T>, Options> && ...))
        return detail::fit_checked(net, train, loss, opt, options...);
    else
        return {};
}

namespace detail {
template <class T, class Input, class... Layers, class Loss, class Optimizer, class... Options>
history fit_checked(basic_sequential<T, Input, Layers...>& net, const data::dataset<T>& train,
                    const Loss& loss, const Optimizer& opt, const Options&... options) {
    using Net = basic_sequential<T, Input, Layers...>;
    detail::fit_config<T> cfg;
    (cfg.apply(options), ...);
    if (cfg.batch == 0) throw usage_error("fit: batch_size must be at least 1");
    if (cfg.schedule_monitor) {
        const metric m = *cfg.schedule_monitor;
        if ((m == metric::val_loss || m == metric::val_accuracy) && !cfg.validation_data)
            throw usage_error("fit: the schedule monitors " + std::string(metric_name(m)) +
                              ", which needs validation{data}");
        if ((m == metric::accuracy || m == metric::val_accuracy) && !Loss::has_accuracy)
            throw usage_error("fit: the schedule monitors " + std::string(metric_name(m)) +
                              ", which this loss does not measure");
    }
    detail::check_weight_penalties(net);
    if constexpr (requires { opt.clip; }) optim::clip_gradients<T>(opt.clip, {});  // rejects bad settings now

    constexpr std::size_t in = Net::in_shape::size, out = Net::out_shape::size;
    const std::size_t tw = loss.target_width(out);
    detail::check_data_fits<Net>(train, tw, "fit");
    loss.check_targets(train.y.data(), train.size(), out);
    if (cfg.validation_data) {
        detail::check_data_fits<Net>(*cfg.validation_data, tw, "fit (validation data)");
        loss.check_targets(cfg.validation_data->y.data(), cfg.validation_data->size(), out);
    }

    batch_augmenter<T> augmenter;
    if (cfg.augmentation) {
        using in_shape = typename Net::in_shape;
        if constexpr (is_image_shape<in_shape>) {
            const augment::image_shape shape{height_of<in_shape>, width_of<in_shape>, channels_of<in_shape>};
            augmenter = [&cfg, shape](const T* in, T* out, std::size_t count, std::size_t first,
                                      std::uint64_t seed) {
                cfg.augmentation(in, out, count, shape, seed, first);
            };
        } else {
            throw usage_error(
                "fit: an augment::pipeline needs image input (height, width, channels); the network "
                "takes " +
                in_shape::to_string());
        }
    }

    executor<Net> exec(cfg.thread_count);
    Optimizer live = opt;  // a schedule sets its lr step by step
    auto state = live.template make_state<T>(net.parameters().size());
    std::size_t steps_done = 0;
    const std::size_t n = train.size();
    const std::size_t batch = std::min(cfg.batch, n);
    const std::size_t batches = (n + batch - 1) / batch;
    aligned_buffer<T> xb(batch * in), yb(batch * tw), last_good(net.parameters().size()),
        last_good_state(net.state().size());
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    rng shuffler(mix_keys(cfg.seed_value, 0x5eed));

    history h;
    using clock = std::chrono::steady_clock;
    for (std::size_t epoch = 1; epoch <= cfg.epoch_count; ++epoch) {
        for (std::size_t i = n - 1; i > 0; --i) std::swap(order[i], order[shuffler.below(i + 1)]);
        const auto start = clock::now();
        auto last_print = start;
        double loss_sum = 0, accuracy_sum = 0;
        std::size_t seen = 0;
        epoch_record rec;
        rec.epoch = epoch;
        for (std::size_t b = 0; b < batches; ++b) {
            const std::size_t first = b * batch, count = std::min(batch, n - first);
            // Every stop leaves the weights as they were before this batch.
            auto stop = [&](const std::string& cause, const char* advice) {
                h.stop_reason = "training stopped at epoch " + std::to_string(epoch) + ", batch " +
                                std::to_string(b + 1) + ": " + cause +
                                "; the weights are those from before this batch. " + advice;
                if (cfg.progress_to) *cfg.progress_to->out << '\n' << h.stop_reason << '\n';
                return h;
            };
            if (cfg.learning_rate_at) live.lr = cfg.learning_rate_at({steps_done, epoch - 1, opt.lr});
            // A negative rate climbs the loss and a NaN one poisons every weight, silently.
            if (const double lr = static_cast<double>(live.lr); !(std::isfinite(lr) && lr >= 0)) {
                std::ostringstream value;
                value << lr;
                return stop("the learning rate is " + value.str() + " at step " + std::to_string(steps_done),
                            cfg.learning_rate_at ? "The schedule must give a finite rate >= 0."
                                                 : "The optimizer's lr must be finite and >= 0.");
            }
            for (std::size_t k = 0; k < count; ++k) {
                const std::size_t src = order[first + k];
                std::copy_n(train.x.data() + src * in, in, xb.data() + k * in);
                std::copy_n(train.y.data() + src * tw, tw, yb.data() + k * tw);
            }
            // The forward pass updates moving statistics and the step the weights;
            // keep both to go back to if either turns non-finite.
            std::copy(net.parameters().begin(), net.parameters().end(), last_good.data());
            std::copy(net.state().begin(), net.state().end(), last_good_state.data());
            auto restore = [&] {
                std::copy_n(last_good.data(), last_good.size(), net.parameters().data());
                std::copy_n(last_good_state.data(), last_good_state.size(), net.state().data());
            };
            const auto stats =
                exec.train_batch(net, xb.data(), yb.data(), count, loss, mix_keys(cfg.seed_value, epoch, b),
                                 augmenter ? &augmenter : nullptr);
            const double penalty =
                detail::apply_weight_penalties(net, exec.writable_gradients(), cfg.global_penalty);
            if (!stats.finite || !std::isfinite(penalty)) {
                restore();
                const double batch_loss = stats.loss_sum / static_cast<double>(count) + penalty;
                return stop(std::isfinite(batch_loss) ? "a gradient is NaN or infinite"
                                                      : "the loss is " + std::to_string(batch_loss),
                            "Lower the learning rate or check the data for NaN/Inf.");
            }
            if constexpr (requires { live.clip; })
                optim::clip_gradients(live.clip, exec.writable_gradients());
            live.step(net.parameters(), exec.gradients(), state);
            ++steps_done;
            // A finite gradient can still overflow a weight.
            if (!simd::all_finite(net.parameters().data(), net.parameters().size())) {
                restore();
                return stop("the update made a weight NaN or infinite", "Lower the learning rate.");
            }
            loss_sum += stats.loss_sum + penalty * static_cast<double>(count);
            accuracy_sum += stats.accuracy_sum;
            seen += count;
            if (cfg.progress_to && cfg.progress_to->interactive) {
                const auto now = clock::now();
                if (now - last_print > std::chrono::milliseconds(250) && b + 1 < batches) {
                    last_print = now;
                    rec.loss = loss_sum / static_cast<double>(seen);
                    rec.accuracy =
                        Loss::has_accuracy ? accuracy_sum / static_cast<double>(seen) : not_measured;
                    detail::print_progress(*cfg.progress_to, epoch, cfg.epoch_count, b + 1, batches,
                                           std::chrono::duration<double>(now - start).count(), rec, false);
                }
            }
        }
        rec.seconds = std::chrono::duration<double>(clock::now() - start).count();
        rec.images_per_second = static_cast<double>(n) / rec.seconds;
        rec.loss = loss_sum / static_cast<double>(n);
        rec.accuracy = Loss::has_accuracy ? accuracy_sum / static_cast<double>(n) : not_measured;
        rec.learning_rate = live.lr;
        if (cfg.validation_data) {
            const auto v =
                evaluate_with(exec, net, *cfg.validation_data, loss, std::max<std::size_t>(batch, 256));
            rec.val_loss = v.loss + detail::apply_weight_penalties(net, std::span<T>(), cfg.global_penalty);
            rec.val_accuracy = v.accuracy;
        }
        if (cfg.schedule_observe) cfg.schedule_observe(rec);
        h.epochs.push_back(rec);
        if (cfg.progress_to)
            detail::print_progress(*cfg.progress_to, epoch, cfg.epoch_count, batches, batches, rec.seconds,
                                   rec, true);
        if (cfg.epoch_callback && !cfg.epoch_callback(rec)) {
            h.stop_reason = "stopped by on_epoch_end after epoch " + std::to_string(epoch);
            break;
        }
    }
    return h;
}

}  // namespace detail

}  // namespace strata
