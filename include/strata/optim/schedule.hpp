// Learning-rate schedules as policy types: training asks the schedule for the
// rate of every optimizer step instead of using the optimizer's fixed lr.
// A schedule is any copyable type with
//   double learning_rate(const strata::schedule_point& p) const;
//     the rate for the step p describes (p.base_lr is the optimizer's lr);
// and optionally
//   void check() const;
//     throws std::invalid_argument naming the schedule and field when a
//     setting makes no sense; called once before training;
//   strata::metric monitor;  void observe(double monitored_value);
//     both or neither: observe is called once after each epoch with that
//     epoch's value of monitor.
// Training works on a copy of the schedule it is given, so state changed by
// observe() lives in that copy. The formulas are Keras' (ExponentialDecay,
// CosineDecay, ReduceLROnPlateau).
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

#include "../core/metric.hpp"

namespace strata {

struct schedule_point {
    std::size_t step = 0;   // optimizer steps done before this one, counted across epochs
    std::size_t epoch = 0;  // 0-based
    double base_lr = 0;     // the optimizer's configured lr
};

template <class S>
concept learning_rate_schedule = requires(const S& s, const schedule_point& p) {
    { s.learning_rate(p) } -> std::convertible_to<double>;
};

template <class S>
concept observes_metric = learning_rate_schedule<S> && requires(S& s, const S& cs, double value) {
    s.observe(value);
    { cs.monitor } -> std::convertible_to<metric>;
};

namespace detail {

template <class S>
concept schedule_has_observe = requires(S& s, double value) {
    s.observe(value);
};
template <class S>
concept schedule_has_monitor = requires(const S& s) {
    s.monitor;
};

// Fails with a message naming the first missing member. Returns true even
// then, so static_assert(detail::check_schedule<S>()) adds no second, bare error.
template <class S>
constexpr bool check_schedule() {
    if constexpr (!learning_rate_schedule<S>) {
        static_assert(learning_rate_schedule<S>,
                      "the learning-rate schedule has no "
                      "`double learning_rate(const strata::schedule_point&) const`");
    } else if constexpr (schedule_has_observe<S> && !schedule_has_monitor<S>) {
        static_assert(schedule_has_monitor<S>,
                      "the learning-rate schedule has observe(double) but no `strata::metric monitor` "
                      "member saying which value to observe");
    } else if constexpr (schedule_has_monitor<S> && !observes_metric<S>) {
        static_assert(observes_metric<S>,
                      "the learning-rate schedule has a monitor member but no "
                      "`void observe(double monitored_value)`, or its monitor is not a strata::metric");
    }
    return true;
}

inline void schedule_requires(bool ok, const char* schedule, const char* what) {
    if (!ok) throw std::invalid_argument(std::string(schedule) + ": " + what);
}

}  // namespace detail

}  // namespace strata

namespace strata::schedule {

// The optimizer's lr at every step.
struct constant {
    double learning_rate(const schedule_point& p) const noexcept { return p.base_lr; }
    void check() const noexcept {}
};

// base_lr * factor^floor(epoch / every_epochs): PyTorch's StepLR counted in epochs.
struct step_decay {
    double factor = 0.5;
    std::size_t every_epochs = 10;

    double learning_rate(const schedule_point& p) const noexcept {
        // check() rejects 0; the max only keeps an unchecked copy from dividing by zero.
        const std::size_t every = std::max<std::size_t>(every_epochs, 1);
        return p.base_lr * std::pow(factor, static_cast<double>(p.epoch / every));
    }
    void check() const {
        detail::schedule_requires(factor > 0 && std::isfinite(factor), "step_decay",
                                  "factor must be positive and finite");
        detail::schedule_requires(every_epochs >= 1, "step_decay", "every_epochs must be at least 1");
    }
};

// base_lr * decay_rate^(step / decay_steps), the exponent an integer when staircase.
struct exponential_decay {
    double decay_rate = 0.96;
    std::size_t decay_steps = 1000;
    bool staircase = false;

    double learning_rate(const schedule_point& p) const noexcept {
        const std::size_t steps = std::max<std::size_t>(decay_steps, 1);  // as in step_decay
        const double exponent = staircase ? static_cast<double>(p.step / steps)
                                          : static_cast<double>(p.step) / static_cast<double>(steps);
        return p.base_lr * std::pow(decay_rate, exponent);
    }
    void check() const {
        detail::schedule_requires(decay_rate > 0 && std::isfinite(decay_rate), "exponential_decay",
                                  "decay_rate must be positive and finite");
        detail::schedule_requires(decay_steps >= 1, "exponential_decay", "decay_steps must be at least 1");
    }
};

// Optional linear warmup from warmup_start * base_lr to base_lr over
// warmup_steps, then a half cosine from base_lr down to alpha * base_lr over
// decay_steps, then alpha * base_lr.
struct cosine_decay {
    std::size_t decay_steps = 0;  // no sensible default: the length of the run, in steps
    double alpha = 0;
    std::size_t warmup_steps = 0;
    double warmup_start = 0;

    double learning_rate(const schedule_point& p) const noexcept {
        if (p.step < warmup_steps) {
            const double done = static_cast<double>(p.step) / static_cast<double>(warmup_steps);
            return p.base_lr * (warmup_start + (1 - warmup_start) * done);
        }
        const std::size_t t = std::min(p.step - warmup_steps, decay_steps);
        const double done = decay_steps ? static_cast<double>(t) / static_cast<double>(decay_steps) : 1.0;
        const double cosine = 0.5 * (1 + std::cos(std::numbers::pi * done));
        return p.base_lr * ((1 - alpha) * cosine + alpha);
    }
    void check() const {
        detail::schedule_requires(decay_steps >= 1, "cosine_decay",
                                  "decay_steps must be at least 1 (the number of steps to decay over)");
        detail::schedule_requires(alpha >= 0 && alpha <= 1, "cosine_decay", "alpha must be in [0, 1]");
        detail::schedule_requires(warmup_start >= 0 && warmup_start <= 1, "cosine_decay",
                                  "warmup_start must be in [0, 1]");
    }
};

// Multiplies the rate by factor when monitor has not improved by min_delta
// for patience epochs, then ignores cooldown - 1 epochs (Keras counts the
// epoch in which the cooldown runs out).
struct reduce_on_plateau {
    metric monitor = metric::val_loss;
    double factor = 0.1;
    std::size_t patience = 10;
    double min_delta = 1e-4;
    std::size_t cooldown = 0;
    double min_lr = 0;

    // Public only so that designated initializers keep working; observe() owns it.
    struct state_type {
        double multiplier = 1;
        double best = std::numeric_limits<double>::quiet_NaN();  // NaN until a value improved
        std::size_t wait = 0;
        std::size_t cooldown_left = 0;
    } state{};

    // Keras never lowers a rate already at or below min_lr, nor raises it there.
    double learning_rate(const schedule_point& p) const noexcept {
        return std::min(p.base_lr, std::max(p.base_lr * state.multiplier, min_lr));
    }

    bool improves_on_best(double value) const noexcept {
        constexpr double inf = std::numeric_limits<double>::infinity();
        const bool lower = lower_is_better(monitor);
        const double best = std::isnan(state.best) ? (lower ? inf : -inf) : state.best;
        return lower ? value < best - min_delta : value > best + min_delta;
    }

    // Reducing below min_lr only moves the multiplier: learning_rate clamps,
    // which gives Keras' rates without knowing base_lr here.
    void observe(double value) noexcept {
        if (state.cooldown_left > 0) {
            --state.cooldown_left;
            state.wait = 0;
        }
        if (improves_on_best(value)) {
            state.best = value;
            state.wait = 0;
        } else if (state.cooldown_left == 0 && ++state.wait >= patience) {
            state.multiplier *= factor;
            state.cooldown_left = cooldown;
            state.wait = 0;
        }
    }

    void check() const {
        detail::schedule_requires(factor > 0 && factor < 1, "reduce_on_plateau", "factor must be in (0, 1)");
        detail::schedule_requires(min_delta >= 0 && std::isfinite(min_delta), "reduce_on_plateau",
                                  "min_delta must be non-negative and finite");
        detail::schedule_requires(min_lr >= 0 && std::isfinite(min_lr), "reduce_on_plateau",
                                  "min_lr must be non-negative and finite");
    }
};

}  // namespace strata::schedule
