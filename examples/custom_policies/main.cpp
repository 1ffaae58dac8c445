// Training policies written outside the library and plugged into fit:
//   signum     an optimizer: SGD on the sign of a momentum average (Bernstein
//              et al., 2018), with its own state;
//   soft_clamp a regularizer: a quadratic penalty on the part of each weight
//              beyond +-limit, attached to a dense kernel and to every kernel.
// Nothing here is special to strata's built-ins: the types only satisfy the
// strata::optimizer and strata::regularizer concepts.
// Usage: custom_policies [--epochs N] [--limit N] [--data DIR] [--json]
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <strata/strata.hpp>

#include "../common/example_cli.hpp"

namespace st = strata;

// m = beta m + (1 - beta) g;  p -= lr sign(m)
struct signum {
    double lr = 1e-4;
    double beta = 0.9;

    template <class T>
    struct state_type {
        std::vector<T> momentum;
    };
    template <class T>
    state_type<T> make_state(std::size_t n) const {
        if (!(lr > 0)) throw std::invalid_argument("signum: lr must be positive");
        return {std::vector<T>(n)};
    }
    template <class T>
    void step(std::span<T> params, std::span<const T> grads, state_type<T>& s) const {
        const T b = static_cast<T>(beta), rate = static_cast<T>(lr);
        for (std::size_t i = 0; i < params.size(); ++i) {
            T& m = s.momentum[i];
            m = b * m + (T(1) - b) * grads[i];
            params[i] -= rate * static_cast<T>((m > 0) - (m < 0));
        }
    }
};
static_assert(st::optimizer<signum, float>);

// strength * sum over weights of max(|w| - limit, 0)^2: free inside the band,
// a spring outside it.
struct soft_clamp {
    double limit = 0.2;
    double strength = 1.0;

    void check() const {
        if (!(limit > 0) || !(strength >= 0))
            throw std::invalid_argument("soft_clamp: limit must be > 0 and strength >= 0");
    }
    template <class T>
    double penalty(std::span<const T> w) const {
        double sum = 0;
        for (T v : w) {
            const double over = std::max(std::abs(double(v)) - limit, 0.0);
            sum += over * over;
        }
        return strength * sum;
    }
    template <class T>
    void add_gradient(std::span<const T> w, std::span<T> g) const {
        for (std::size_t i = 0; i < w.size(); ++i) {
            const double over = std::max(std::abs(double(w[i])) - limit, 0.0);
            g[i] += static_cast<T>(2 * strength * over * (w[i] > 0 ? 1 : -1));
        }
    }
};
static_assert(st::regularizer<soft_clamp, float>);

using net_t = st::sequential<st::input<28, 28, 1>, st::conv2d<16, 3, st::relu>, st::max_pool<2>, st::flatten,
                             st::dense<64, st::relu, st::kernel_regularizer<soft_clamp>>, st::dense<10>>;

int main(int argc, char** argv) {
    std::size_t epochs = 2, limit = 10000;
    std::string data_dir;
    bool json = false;
    CLI::App app{"Trains with an optimizer and a regularizer written outside the library.",
                 "custom_policies"};
    app.add_option("--epochs", epochs, "training epochs")
        ->check(example::positive_whole)
        ->capture_default_str();
    app.add_option("--limit", limit, "train on the first N training images")
        ->check(example::positive_whole)
        ->capture_default_str();
    app.add_option("--data", data_dir, "directory with the Fashion-MNIST IDX files");
    app.add_flag("--json", json, "print one JSON object with the results as the last line of stdout");
    example::parse_or_exit(app, argc, argv);
    std::ostream& human = json ? std::cerr : std::cout;
    try {
        auto data = st::data::fashion_mnist(data_dir);
        data.train = st::data::take(data.train, std::min(limit, data.train.size()));
        net_t net{st::seed{7}};
        net.layer<3>().kernel_penalty = soft_clamp{.limit = 0.05, .strength = 1.0};
        const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
        const auto history = st::fit(net, data.train, loss, signum{.lr = 2e-4}, st::epochs{epochs},
                                     st::batch_size{64}, st::validation{data.test}, st::progress{human},
                                     st::weight_penalty{soft_clamp{.limit = 0.3, .strength = 0.1}});
        double largest = 0;
        for (std::size_t i = 0; i < net_t::layer_type<3>::weight_count; ++i)
            largest = std::max(largest, double(std::abs(net.layer<3>().weights()[i])));
        const auto& last = history.epochs.back();
        human << std::fixed << std::setprecision(4) << "test accuracy " << last.val_accuracy
              << "; largest |weight| of the clamped dense kernel " << largest << "\n";
        if (json) {
            std::ostringstream j;
            j << std::setprecision(6) << "{\"test_accuracy\": " << last.val_accuracy
              << ", \"test_loss\": " << last.val_loss << ", \"train_loss\": " << last.loss
              << ", \"epochs\": " << history.epochs.size() << ", \"largest_dense_weight\": " << largest
              << ", \"stopped_early\": " << (history.stopped_early() ? "true" : "false") << "}";
            std::cout << j.str() << std::endl;
        }
        return example::exit_code(history);
    } catch (const std::exception& e) {
        std::cerr << "custom_policies: " << e.what() << "\n";
        return 1;
    }
}
