// Callbacks: policy types that fit calls at fixed points of training, as
// Keras does. A callback has any of the hooks
//   on_train_begin(state), on_epoch_begin(state), on_batch_end(state),
//   on_epoch_end(state), on_train_end(state)
// taking a training_state<Net>& (or its non-template base, training_view&).
// The state is read-only except for what a callback legitimately changes:
// asking training to stop, the base learning rate, and (for early_stopping's
// restore_best_weights) the weights. Any number of callbacks compose; fit
// calls them in the order given.
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "../core/error.hpp"
#include "../core/metric.hpp"
#include "history.hpp"

namespace strata {

template <class Net, class Loss, class Optimizer>
class trainer;

// What every callback sees: where training is and what it has measured.
class training_view {
public:
    std::size_t epoch() const noexcept { return epoch_; }  // 1-based; 0 before the first epoch begins
    std::size_t epochs() const noexcept { return epochs_; }
    std::size_t batch() const noexcept { return batch_; }  // batches finished in this epoch
    std::size_t batches() const noexcept { return batches_; }
    std::size_t step() const noexcept { return step_; }  // optimizer steps so far, across epochs
    // During an epoch: running means over its batches so far; at on_epoch_end: the epoch's record.
    const epoch_record& logs() const noexcept { return logs_; }
    const strata::history& history() const noexcept { return *history_; }
    bool has_validation() const noexcept { return has_validation_; }
    bool measures_accuracy() const noexcept { return measures_accuracy_; }
    double epoch_seconds() const noexcept {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
    }

    // The rate the optimizer uses, or the one a schedule starts from.
    double learning_rate() const noexcept { return base_learning_rate_; }
    void set_learning_rate(double lr) { base_learning_rate_ = lr; }

    // Training stops after the current batch; the first reason given is kept.
    void stop(std::string reason) {
        if (stop_reason_.empty()) stop_reason_ = std::move(reason);
    }
    bool stop_requested() const noexcept { return !stop_reason_.empty(); }
    void note_best_epoch(std::size_t epoch) noexcept { history_->best_epoch = epoch; }

    // Data-parallel training: this process's rank and the number of
    // processes. Only the main process (rank 0) prints and writes files.
    std::size_t process_rank() const noexcept { return process_rank_; }
    std::size_t process_count() const noexcept { return process_count_; }
    bool is_main_process() const noexcept { return process_rank_ == 0; }

private:
    template <class, class, class>
    friend class trainer;

    std::size_t epoch_ = 0, epochs_ = 0, batch_ = 0, batches_ = 0, step_ = 0;
    epoch_record logs_;
    strata::history* history_ = nullptr;
    bool has_validation_ = false, measures_accuracy_ = false;
    std::chrono::steady_clock::time_point epoch_start_{};
    double base_learning_rate_ = 0;
    std::string stop_reason_;
    std::size_t process_rank_ = 0, process_count_ = 1;
};

// What a checkpoint needs besides the network: the optimizer's buffers and
// counters, the step count and base rate, how many epochs are done, and where
// the sampler's sequence of epochs stands.
template <class T>
struct training_snapshot {
    std::vector<std::pair<std::string, std::span<const T>>> optimizer_buffers;
    std::vector<std::pair<std::string, std::uint64_t>> optimizer_counters;
    std::uint64_t steps = 0, seed = 0;
    double base_learning_rate = 0;
    std::size_t epochs_done = 0;
    bool sampler_saved = false;  // false for a sampler without position()
    std::vector<std::size_t> sampler_order;
    std::array<std::uint64_t, 4> sampler_position{};
};

// The view plus the network, for callbacks that read or restore weights.
template <class Net>
class training_state : public training_view {
public:
    using scalar_type = typename Net::scalar_type;

    // For checkpoints: everything training needs to continue exactly from here.
    training_snapshot<scalar_type> snapshot() const {
        return snapshot_ ? snapshot_() : training_snapshot<scalar_type>{};
    }

    explicit training_state(Net& net) : net_(&net) {}
    const Net& network() const noexcept { return *net_; }
    std::span<const scalar_type> parameters() const noexcept { return net_->parameters(); }
    std::span<const scalar_type> running_state() const noexcept { return net_->state(); }
    // The last step's gradient as the optimizer took it (penalties and
    // clipping included), laid out like parameters(); empty before the first step.
    std::span<const scalar_type> gradients() const noexcept { return gradients_; }
    // Replaces every weight and running statistic, e.g. with a copy taken at an earlier epoch.
    void set_weights(std::span<const scalar_type> parameters, std::span<const scalar_type> state) {
        if (parameters.size() != net_->parameters().size() || state.size() != net_->state().size())
            throw usage_error("set_weights: expected " + std::to_string(net_->parameters().size()) +
                              " parameters and " + std::to_string(net_->state().size()) +
                              " state values, got " + std::to_string(parameters.size()) + " and " +
                              std::to_string(state.size()));
        std::copy(parameters.begin(), parameters.end(), net_->parameters().begin());
        std::copy(state.begin(), state.end(), net_->state().begin());
    }

private:
    template <class, class, class>
    friend class trainer;

    Net* net_;
    std::span<const scalar_type> gradients_;
    std::function<training_snapshot<scalar_type>()> snapshot_;
};

template <class C, class State>
concept callback_for = requires(C& c, State& s) {
    c.on_train_begin(s);
}
|| requires(C& c, State& s) { c.on_epoch_begin(s); }
|| requires(C& c, State& s) { c.on_batch_end(s); }
|| requires(C& c, State& s) { c.on_epoch_end(s); }
|| requires(C& c, State& s) { c.on_train_end(s); };

namespace detail {

// A monitored quantity must be measured, or its watcher (a callback, a
// schedule) would watch NaN forever.
inline void check_monitor(metric m, bool has_validation, bool measures_accuracy, const std::string& who) {
    const bool validation = m == metric::val_loss || m == metric::val_accuracy;
    const bool accuracy = m == metric::accuracy || m == metric::val_accuracy;
    if (validation && !has_validation)
        throw usage_error(who + " monitors " + std::string(metric_name(m)) +
                          ", which needs validation{data} in fit");
    if (accuracy && !measures_accuracy)
        throw usage_error(who + " monitors " + std::string(metric_name(m)) +
                          ", which this loss does not measure");
}
template <class State>
void check_monitor(metric m, const State& s, const std::string& who) {
    check_monitor(m, s.has_validation(), s.measures_accuracy(), who);
}

// Shortest text that reads back to the same double.
inline std::string shortest(double v) {
    char text[32];
    const auto end = std::to_chars(text, text + sizeof text, v).ptr;
    return std::string(text, end);
}

// Six significant digits, for people.
inline std::string general(double v) {
    std::ostringstream s;
    s << std::setprecision(6) << v;
    return s.str();
}

inline std::string format_metrics(const epoch_record& r) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(4) << "loss: " << r.loss;
    if (!std::isnan(r.accuracy)) s << " - accuracy: " << r.accuracy;
    if (!std::isnan(r.val_loss)) s << " - val_loss: " << r.val_loss;
    if (!std::isnan(r.val_accuracy)) s << " - val_accuracy: " << r.val_accuracy;
    for (const auto& [name, value] : r.metrics) s << " - " << name << ": " << value;
    return s.str();
}

}  // namespace detail

enum class monitor_mode {
    automatic,  // Keras' "auto": losses improve downwards, accuracies upwards
    min,
    max,
};

namespace detail {
// Whether smaller values of the monitored quantity are better.
constexpr bool minimizes(monitor_mode mode, metric monitor) noexcept {
    return mode == monitor_mode::min || (mode == monitor_mode::automatic && lower_is_better(monitor));
}
}  // namespace detail

// Keras' EarlyStopping, with its parameter names and semantics: training
// stops once the monitored value has not improved by more than min_delta for
// patience epochs (never after the first epoch); epochs up to
// start_from_epoch are ignored; with a baseline, the patience count only
// restarts on values better than both the best and the baseline. With
// restore_best_weights, the weights and running statistics of the best epoch
// are put back when training ends, whether it stopped early or not (Keras 3's
// behaviour; tf.keras 2 restored only after an early stop).
struct early_stopping {
    metric monitor = metric::val_loss;
    double min_delta = 0;
    std::size_t patience = 0;
    monitor_mode mode = monitor_mode::automatic;
    std::optional<double> baseline{};
    bool restore_best_weights = false;
    std::size_t start_from_epoch = 0;

    template <class State>
    void on_train_begin(State& s) {
        detail::check_monitor(monitor, s, "early_stopping");
        if (!std::isfinite(min_delta)) throw usage_error("early_stopping: min_delta must be finite");
        if (baseline && !std::isfinite(*baseline))
            throw usage_error("early_stopping: baseline must be finite");
        tracked.wait = 0;
        tracked.best_epoch = 0;
        tracked.best = (minimizes() ? 1 : -1) * std::numeric_limits<double>::infinity();
        tracked.weights.clear();
        tracked.state.clear();
    }

    template <class State>
    void on_epoch_end(State& s) {
        const double current = s.logs().value(monitor);
        if (s.epoch() <= start_from_epoch) return;  // Keras' 0-based epoch < start_from_epoch
        if (restore_best_weights && tracked.weights.empty()) {
            save(s);  // so something is restored even if no epoch ever improves
            tracked.best_epoch = s.epoch();
        }
        ++tracked.wait;
        if (improves(current, tracked.best)) {
            tracked.best = current;
            tracked.best_epoch = s.epoch();
            s.note_best_epoch(tracked.best_epoch);
            if (restore_best_weights) save(s);
            if (!baseline || improves(current, *baseline)) tracked.wait = 0;
            return;
        }
        if (tracked.wait >= patience && s.epoch() > 1) {
            std::string reason = "early stopping after epoch " + std::to_string(s.epoch()) + ": " +
                                 std::string(metric_name(monitor)) + " did not improve";
            if (min_delta != 0) reason += " by more than " + detail::shortest(std::abs(min_delta));
            reason += " for " + std::to_string(tracked.wait) + " epoch" + (tracked.wait == 1 ? "" : "s");
            if (tracked.best_epoch > 0 && std::isfinite(tracked.best))
                reason += " (best " + detail::general(tracked.best) + " at epoch " +
                          std::to_string(tracked.best_epoch) + ")";
            s.stop(std::move(reason));
        }
    }

    template <class State>
    void on_train_end(State& s) {
        if (!restore_best_weights || tracked.weights.empty()) return;
        using T = typename State::scalar_type;
        const auto restore = [](const std::vector<std::byte>& bytes) {
            return std::span<const T>(reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T));
        };
        s.set_weights(restore(tracked.weights), restore(tracked.state));
    }

    std::size_t best_epoch() const noexcept { return tracked.best_epoch; }

    // Kept during training (public only so the options above can be designated).
    struct memory {
        std::size_t wait = 0, best_epoch = 0;
        double best = 0;
        std::vector<std::byte> weights, state;
    } tracked{};

private:
    bool minimizes() const noexcept { return detail::minimizes(mode, monitor); }
    bool improves(double value, double reference) const noexcept {
        const double delta = std::abs(min_delta);
        return minimizes() ? value + delta < reference : value - delta > reference;
    }
    // Raw bytes, so restoring is bit-exact for any scalar type.
    template <class State>
    void save(const State& s) {
        const auto copy = [](auto span, std::vector<std::byte>& to) {
            to.resize(span.size_bytes());
            if (!to.empty()) std::memcpy(to.data(), span.data(), span.size_bytes());
        };
        copy(s.parameters(), tracked.weights);
        copy(s.running_state(), tracked.state);
    }
};

// Keras' CSVLogger: one row per epoch with the epoch (0-based, as Keras
// writes it) and every measured quantity in alphabetical order. Rows are
// flushed as each epoch ends, so the file can be watched during training.
// With append, rows go after an existing file's and the header is written
// only if the file was empty.
struct csv_logger {
    std::string path;
    bool append = false;
    char separator = ',';

    void on_train_begin(const training_view& s) {
        if (!s.is_main_process()) return;
        namespace fs = std::filesystem;
        std::error_code ec;
        needs_header_ = !(append && fs::exists(path, ec) && fs::file_size(path, ec) > 0 && !ec);
        file_ = std::make_shared<std::ofstream>(path, append ? std::ios::app : std::ios::trunc);
        if (!*file_) throw data_error("csv_logger: cannot open " + path + " for writing");
        columns_ = {"learning_rate", "loss"};
        columns_known_ = false;
        if (s.measures_accuracy()) columns_.push_back("accuracy");
        if (s.has_validation()) {
            columns_.push_back("val_loss");
            if (s.measures_accuracy()) columns_.push_back("val_accuracy");
        }
    }

    void on_epoch_end(const training_view& s) {
        if (!file_) return;  // not the main process
        const epoch_record& r = s.logs();
        if (!columns_known_) {  // metric names are known once an epoch has measured them
            for (const auto& m : r.metrics) columns_.push_back(m.first);
            std::sort(columns_.begin(), columns_.end());  // Keras sorts its columns
            columns_known_ = true;
        }
        if (needs_header_) {
            *file_ << "epoch";
            for (const auto& c : columns_) *file_ << separator << c;
            *file_ << '\n';
            needs_header_ = false;
        }
        *file_ << (r.epoch - 1);
        for (const auto& c : columns_)
            *file_ << separator << detail::shortest(c == "learning_rate" ? r.learning_rate : r.value(c));
        *file_ << '\n';
        file_->flush();
        if (!*file_) throw data_error("csv_logger: writing " + path + " failed");
    }

    void on_train_end(const training_view&) { file_.reset(); }

    // Kept during training (public only so the options above can be designated).
    std::shared_ptr<std::ofstream> file_{};  // shared: fit copies its callbacks
    std::vector<std::string> columns_{};
    bool needs_header_ = true, columns_known_ = false;
};

// Keras' LambdaCallback: plain functions for any of the hooks. For access to
// the network, write a callback type with a hook taking training_state<Net>&.
struct lambda_callback {
    std::function<void(training_view&)> on_train_begin_fn{}, on_epoch_begin_fn{}, on_batch_end_fn{},
        on_epoch_end_fn{}, on_train_end_fn{};

    void on_train_begin(training_view& s) { call(on_train_begin_fn, s); }
    void on_epoch_begin(training_view& s) { call(on_epoch_begin_fn, s); }
    void on_batch_end(training_view& s) { call(on_batch_end_fn, s); }
    void on_epoch_end(training_view& s) { call(on_epoch_end_fn, s); }
    void on_train_end(training_view& s) { call(on_train_end_fn, s); }

private:
    static void call(const std::function<void(training_view&)>& f, training_view& s) {
        if (f) f(s);
    }
};

// Keras' LearningRateScheduler: at the start of each epoch, the rate becomes
// schedule(epoch (0-based), current rate). A schedule from strata::schedule
// given as well then starts from this rate.
struct learning_rate_scheduler {
    std::function<double(std::size_t epoch, double lr)> schedule;

    void on_epoch_begin(training_view& s) const {
        const double lr = schedule(s.epoch() - 1, s.learning_rate());
        if (!(std::isfinite(lr) && lr >= 0))
            throw usage_error("learning_rate_scheduler: the schedule gave " + detail::shortest(lr) +
                              " for epoch " + std::to_string(s.epoch() - 1) +
                              "; rates must be finite and >= 0");
        s.set_learning_rate(lr);
    }
};

// Keras-style progress lines on a stream. On a terminal the current epoch's
// line is redrawn as batches finish; elsewhere one line per epoch is printed.
// Why training stopped early, if it did, is printed at the end.
struct progress {
    std::ostream* out = &std::cout;
    bool interactive = false;

    progress() : progress(std::cout) {}
    explicit progress(std::ostream& os) : out(&os), interactive(is_terminal(os)) {}
    progress(std::ostream& os, bool redraw) : out(&os), interactive(redraw) {}

    static bool is_terminal(const std::ostream& os) {
        if (&os == &std::cout) return ::isatty(STDOUT_FILENO);
        if (&os == &std::cerr || &os == &std::clog) return ::isatty(STDERR_FILENO);
        return false;
    }

    void on_epoch_begin(const training_view&) {
        last_print_ = std::chrono::steady_clock::now();
        mid_line_ = false;
    }
    void on_batch_end(const training_view& s) {
        if (!interactive || s.batch() >= s.batches() || !s.is_main_process()) return;
        const auto now = std::chrono::steady_clock::now();
        if (now - last_print_ < std::chrono::milliseconds(250)) return;
        last_print_ = now;
        print(s, s.batch(), s.epoch_seconds(), false);
    }
    void on_epoch_end(const training_view& s) {
        if (s.is_main_process()) print(s, s.batches(), s.logs().seconds, true);
    }
    void on_train_end(const training_view& s) {
        if (!s.history().stopped_early() || !s.is_main_process()) return;
        if (mid_line_) *out << '\n';
        *out << s.history().stop_reason << '\n';
        out->flush();
    }

private:
    void print(const training_view& s, std::size_t done, double seconds, bool final_line) {
        constexpr int bar = 30;
        const std::size_t batches = std::max<std::size_t>(s.batches(), 1);
        const int filled = static_cast<int>(bar * done / batches);
        std::ostringstream line;
        line << "Epoch " << s.epoch() << "/" << s.epochs() << " "
             << std::setw(static_cast<int>(std::to_string(batches).size())) << done << "/" << batches << " ["
             << std::string(static_cast<std::size_t>(filled), '=')
             << std::string(static_cast<std::size_t>(bar - filled), '.') << "] " << std::fixed
             << std::setprecision(1) << seconds << "s - " << detail::format_metrics(s.logs());
        if (final_line) line << " - " << std::setprecision(0) << s.logs().images_per_second << " img/s";
        if (interactive) *out << "\r\033[K";
        *out << line.str();
        mid_line_ = interactive && !final_line;
        if (!mid_line_) *out << '\n';
        out->flush();
    }

    std::chrono::steady_clock::time_point last_print_{};
    bool mid_line_ = false;
};

}  // namespace strata
