#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <vector>

#include <doctest/doctest.h>
#include <strata/optim/schedule.hpp>

namespace st = strata;
namespace sched = strata::schedule;

static_assert(st::learning_rate_schedule<sched::constant>);
static_assert(st::learning_rate_schedule<sched::step_decay>);
static_assert(st::learning_rate_schedule<sched::exponential_decay>);
static_assert(st::learning_rate_schedule<sched::cosine_decay>);
static_assert(st::observes_metric<sched::reduce_on_plateau>);
static_assert(!st::observes_metric<sched::cosine_decay>);
static_assert(st::detail::check_schedule<sched::reduce_on_plateau>());
static_assert(st::detail::check_schedule<sched::step_decay>());

namespace {

double at(const auto& s, std::size_t step, std::size_t epoch = 0, double base = 0.1) {
    return s.learning_rate(st::schedule_point{.step = step, .epoch = epoch, .base_lr = base});
}

// A user-written schedule needs only learning_rate.
struct halve_after_100 {
    double learning_rate(const st::schedule_point& p) const {
        return p.step < 100 ? p.base_lr : p.base_lr / 2;
    }
};
static_assert(st::detail::check_schedule<halve_after_100>());

}  // namespace

TEST_CASE("constant is the optimizer's lr at every step") {
    for (std::size_t step : {0u, 1u, 1000u, 123456u}) CHECK(at(sched::constant{}, step, step / 10) == 0.1);
}

TEST_CASE("step_decay changes the rate at multiples of every_epochs") {
    const sched::step_decay s{.factor = 0.5, .every_epochs = 3};
    CHECK(at(s, 0, 0) == doctest::Approx(0.1));
    CHECK(at(s, 500, 2) == doctest::Approx(0.1));  // steps do not matter, only epochs
    CHECK(at(s, 0, 3) == doctest::Approx(0.05));
    CHECK(at(s, 0, 5) == doctest::Approx(0.05));
    CHECK(at(s, 0, 6) == doctest::Approx(0.025));
    CHECK(at(s, 0, 10) == doctest::Approx(0.1 * 0.125));
    const sched::step_decay defaults{};
    CHECK(at(defaults, 0, 9) == doctest::Approx(0.1));
    CHECK(at(defaults, 0, 10) == doctest::Approx(0.05));
}

TEST_CASE("exponential_decay follows Keras' ExponentialDecay") {
    const sched::exponential_decay smooth{.decay_rate = 0.5, .decay_steps = 100};
    CHECK(at(smooth, 0) == doctest::Approx(0.1));
    CHECK(at(smooth, 50) == doctest::Approx(0.1 / std::sqrt(2.0)));
    CHECK(at(smooth, 100) == doctest::Approx(0.05));
    CHECK(at(smooth, 250) == doctest::Approx(0.1 * std::pow(0.5, 2.5)));
    const sched::exponential_decay stairs{.decay_rate = 0.5, .decay_steps = 100, .staircase = true};
    CHECK(at(stairs, 99) == doctest::Approx(0.1));
    CHECK(at(stairs, 100) == doctest::Approx(0.05));
    CHECK(at(stairs, 199) == doctest::Approx(0.05));
    CHECK(at(stairs, 250) == doctest::Approx(0.025));
    const sched::exponential_decay defaults{};
    CHECK(at(defaults, 1000) == doctest::Approx(0.1 * 0.96));
    CHECK(at(defaults, 500) == doctest::Approx(0.1 * std::sqrt(0.96)));
}

TEST_CASE("cosine_decay without warmup") {
    const sched::cosine_decay s{.decay_steps = 1000, .alpha = 0.1};
    CHECK(at(s, 0) == doctest::Approx(0.1));
    CHECK(at(s, 500) == doctest::Approx(0.1 * (1 + 0.1) / 2));  // half way: the mean of both ends
    // A quarter in: cos(pi / 4) = sqrt(2) / 2.
    CHECK(at(s, 250) == doctest::Approx(0.1 * (0.9 * 0.5 * (1 + std::sqrt(0.5)) + 0.1)));
    CHECK(at(s, 1000) == doctest::Approx(0.01));
    CHECK(at(s, 5000) == doctest::Approx(0.01));  // stays at alpha * base after the decay
    const sched::cosine_decay to_zero{.decay_steps = 10};
    CHECK(at(to_zero, 5) == doctest::Approx(0.05));
    CHECK(at(to_zero, 10) == doctest::Approx(0.0));
    for (std::size_t step = 0; step < 10; ++step) CHECK(at(to_zero, step + 1) < at(to_zero, step));
}

TEST_CASE("cosine_decay warms up linearly, then decays over decay_steps") {
    const sched::cosine_decay s{.decay_steps = 100, .alpha = 0, .warmup_steps = 10, .warmup_start = 0.2};
    CHECK(at(s, 0) == doctest::Approx(0.02));
    CHECK(at(s, 5) == doctest::Approx(0.1 * (0.2 + 0.8 * 0.5)));
    CHECK(at(s, 9) == doctest::Approx(0.1 * (0.2 + 0.8 * 0.9)));
    CHECK(at(s, 10) == doctest::Approx(0.1));   // warmup ends at the base rate
    CHECK(at(s, 60) == doctest::Approx(0.05));  // half of the decay, measured after warmup
    CHECK(at(s, 110) == doctest::Approx(0.0));
    const sched::cosine_decay from_zero{.decay_steps = 100, .warmup_steps = 4};
    CHECK(at(from_zero, 0) == 0.0);
    CHECK(at(from_zero, 1) == doctest::Approx(0.025));
}

TEST_CASE("reduce_on_plateau waits patience epochs without improvement") {
    sched::reduce_on_plateau s{.monitor = st::metric::val_loss, .factor = 0.5, .patience = 2, .min_delta = 0};
    auto lr = [&] { return at(s, 0, 0, 1.0); };
    CHECK(lr() == 1.0);
    s.observe(1.0);  // first value is the best so far
    s.observe(0.9);  // improves
    s.observe(0.95);
    CHECK(lr() == 1.0);  // wait 1 of 2
    s.observe(0.9);      // equal is not better
    CHECK(lr() == 0.5);  // wait 2 of 2: reduced, wait restarts
    s.observe(0.91);
    CHECK(lr() == 0.5);
    s.observe(0.8);  // improvement resets the wait
    s.observe(0.85);
    CHECK(lr() == 0.5);
    s.observe(0.85);
    CHECK(lr() == 0.25);
    CHECK(s.state.best == 0.8);
}

TEST_CASE("reduce_on_plateau's cooldown, min_lr and min_delta") {
    SUBCASE("cooldown: epochs right after a reduction do not count") {
        sched::reduce_on_plateau s{.factor = 0.5, .patience = 1, .min_delta = 0, .cooldown = 3};
        s.observe(1.0);
        s.observe(1.0);  // patience 1: reduced, cooldown 3
        CHECK(at(s, 0, 0, 1.0) == 0.5);
        s.observe(1.0);  // cooldown 3 -> 2
        s.observe(1.0);  // 2 -> 1
        CHECK(at(s, 0, 0, 1.0) == 0.5);
        CHECK(s.state.wait == 0);
        s.observe(1.0);  // 1 -> 0: as in Keras, the epoch that ends the cooldown counts
        CHECK(at(s, 0, 0, 1.0) == 0.25);
    }
    SUBCASE("min_lr is a floor, and a rate already below it is left alone") {
        sched::reduce_on_plateau s{.factor = 0.1, .patience = 0, .min_lr = 0.003};
        s.observe(1.0);
        CHECK(at(s, 0, 0, 0.1) == doctest::Approx(0.1));  // the first value is an improvement
        s.observe(1.0);  // patience 0: every epoch without improvement reduces
        CHECK(at(s, 0, 0, 0.1) == doctest::Approx(0.01));
        s.observe(1.0);
        CHECK(at(s, 0, 0, 0.1) == doctest::Approx(0.003));
        s.observe(1.0);
        CHECK(at(s, 0, 0, 0.1) == doctest::Approx(0.003));
        CHECK(at(s, 0, 0, 0.001) == doctest::Approx(0.001));  // Keras never raises the rate to min_lr
    }
    SUBCASE("an improvement smaller than min_delta does not count") {
        sched::reduce_on_plateau s{.factor = 0.5, .patience = 2, .min_delta = 0.01};
        s.observe(1.0);
        s.observe(0.995);  // better, but by less than min_delta
        s.observe(0.991);
        CHECK(at(s, 0, 0, 1.0) == 0.5);
        CHECK(s.state.best == 1.0);
        s.observe(0.98);  // better by more than min_delta
        CHECK(s.state.best == 0.98);
        CHECK(s.state.wait == 0);
    }
    SUBCASE("accuracy improves upwards") {
        sched::reduce_on_plateau s{.monitor = st::metric::val_accuracy, .factor = 0.5, .patience = 1};
        s.observe(0.6);
        s.observe(0.7);
        CHECK(at(s, 0, 0, 1.0) == 1.0);
        s.observe(0.65);  // lower accuracy is worse
        CHECK(at(s, 0, 0, 1.0) == 0.5);
        s.observe(0.8);
        CHECK(s.state.best == 0.8);
        CHECK(at(s, 0, 0, 1.0) == 0.5);
    }
    SUBCASE("NaN never improves") {
        constexpr double nan = std::numeric_limits<double>::quiet_NaN();
        sched::reduce_on_plateau s{.factor = 0.5, .patience = 2};
        s.observe(nan);
        CHECK(std::isnan(s.state.best));
        s.observe(nan);
        CHECK(at(s, 0, 0, 1.0) == 0.5);
        s.observe(2.0);  // the first real value is an improvement
        CHECK(s.state.best == 2.0);
        s.observe(nan);
        CHECK(s.state.wait == 1);
    }
    SUBCASE("a copy starts from the state it was copied with") {
        sched::reduce_on_plateau s{.factor = 0.5, .patience = 0};
        const sched::reduce_on_plateau fresh = s;
        s.observe(1.0);
        s.observe(1.0);
        CHECK(at(s, 0, 0, 1.0) == 0.5);
        CHECK(at(fresh, 0, 0, 1.0) == 1.0);
    }
}

TEST_CASE("metric names and directions") {
    static_assert(st::lower_is_better(st::metric::loss) && st::lower_is_better(st::metric::val_loss));
    static_assert(!st::lower_is_better(st::metric::accuracy) &&
                  !st::lower_is_better(st::metric::val_accuracy));
    CHECK(st::metric_name(st::metric::loss) == "loss");
    CHECK(st::metric_name(st::metric::accuracy) == "accuracy");
    CHECK(st::metric_name(st::metric::val_loss) == "val_loss");
    CHECK(st::metric_name(st::metric::val_accuracy) == "val_accuracy");
}

TEST_CASE("schedules reject nonsense settings, naming schedule and field") {
    auto message = [](const auto& s) -> std::string {
        try {
            s.check();
        } catch (const std::invalid_argument& e) {
            return e.what();
        }
        return "";
    };
    CHECK_NOTHROW(sched::constant{}.check());
    CHECK_NOTHROW(sched::step_decay{}.check());
    CHECK_NOTHROW(sched::exponential_decay{}.check());
    CHECK_NOTHROW(sched::cosine_decay{.decay_steps = 10}.check());
    CHECK_NOTHROW(sched::reduce_on_plateau{}.check());

    CHECK(message(sched::step_decay{.factor = 0}).starts_with("step_decay: factor"));
    CHECK(message(sched::step_decay{.factor = -1}).starts_with("step_decay: factor"));
    CHECK(message(sched::step_decay{.every_epochs = 0}).starts_with("step_decay: every_epochs"));
    CHECK(message(sched::exponential_decay{.decay_rate = 0}).starts_with("exponential_decay: decay_rate"));
    CHECK(message(sched::exponential_decay{.decay_rate = std::numeric_limits<double>::infinity()})
              .starts_with("exponential_decay: decay_rate"));
    CHECK(message(sched::exponential_decay{.decay_steps = 0}).starts_with("exponential_decay: decay_steps"));
    CHECK(message(sched::cosine_decay{}).starts_with("cosine_decay: decay_steps"));
    CHECK(message(sched::cosine_decay{.decay_steps = 10, .alpha = 1.5}).starts_with("cosine_decay: alpha"));
    CHECK(message(sched::cosine_decay{.decay_steps = 10, .alpha = -0.1}).starts_with("cosine_decay: alpha"));
    CHECK(message(sched::cosine_decay{.decay_steps = 10, .warmup_start = 2})
              .starts_with("cosine_decay: warmup_start"));
    CHECK(message(sched::reduce_on_plateau{.factor = 1}).starts_with("reduce_on_plateau: factor"));
    CHECK(message(sched::reduce_on_plateau{.factor = 0}).starts_with("reduce_on_plateau: factor"));
    CHECK(message(sched::reduce_on_plateau{.min_delta = -1}).starts_with("reduce_on_plateau: min_delta"));
    CHECK(message(sched::reduce_on_plateau{.min_lr = -1e-3}).starts_with("reduce_on_plateau: min_lr"));
    CHECK(message(sched::reduce_on_plateau{.min_lr = std::numeric_limits<double>::quiet_NaN()})
              .starts_with("reduce_on_plateau: min_lr"));
}
