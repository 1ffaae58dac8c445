// The diagnostics callback's probes in real fits: the gradient a step took
// (checked against the SGD update it made), dead ReLU units counted by hand,
// saturated sigmoids, vanishing gradients in a deep sigmoid network, and the
// findings diagnose draws from them.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <strata/diagnose/diagnose.hpp>
#include <strata/strata.hpp>

namespace st = strata;

namespace {

const st::data::fashion_mnist_set& fashion() {
    static const st::data::fashion_mnist_set data = st::data::fashion_mnist();
    return data;
}

std::string describe(const std::vector<st::finding>& findings) {
    std::string s;
    for (const auto& f : findings) s += st::to_string(f) + "\n";
    return s;
}

// The weights after step 1 and after step 2, and step 2's gradient (shared:
// fit copies its callbacks).
struct recorded_step {
    std::vector<float> before, after, gradient;
};
struct step_recorder {
    std::shared_ptr<recorded_step> seen = std::make_shared<recorded_step>();
    template <class State>
    void on_batch_end(State& s) {
        if (s.step() == 1) seen->before.assign(s.parameters().begin(), s.parameters().end());
        if (s.step() == 2) {
            seen->gradient.assign(s.gradients().begin(), s.gradients().end());
            seen->after.assign(s.parameters().begin(), s.parameters().end());
        }
    }
};

}  // namespace

TEST_CASE("training_state::gradients is the gradient the optimizer stepped along") {
    const auto train = st::data::take(fashion().train, 64);
    st::sequential<st::input<28, 28, 1>, st::conv2d<4, 3, st::relu>, st::max_pool<2>, st::flatten,
                   st::dense<10, st::softmax>>
        net{st::seed{3}};
    const step_recorder recorder;
    const double lr = 0.05;
    st::fit(net, train, st::loss::sparse_categorical_crossentropy{}, st::optim::sgd{.lr = lr}, st::epochs{1},
            st::batch_size{16}, st::threads{1}, recorder);
    const auto& seen = *recorder.seen;
    REQUIRE(seen.gradient.size() == net.parameters().size());
    // Plain SGD: w_after = w_before - lr * g, so g is the step divided by -lr.
    double largest = 0;
    for (std::size_t i = 0; i < seen.gradient.size(); ++i) {
        const double step = (static_cast<double>(seen.before[i]) - seen.after[i]) / lr;
        CHECK(step == doctest::Approx(seen.gradient[i]).epsilon(1e-3).scale(1e-4));
        largest = std::max(largest, std::abs(static_cast<double>(seen.gradient[i])));
    }
    CHECK(largest > 1e-3);  // a real gradient, not zeros
}

TEST_CASE("diagnostics: dead ReLU units counted by hand on a network with set weights") {
    // 2x2 inputs in [0, 1]; two ReLU units: unit 0 takes the first pixel minus
    // the second (active on some images), unit 1 minus the sum of the pixels (dead).
    using net_t =
        st::sequential<st::input<2, 2, 1>, st::flatten, st::dense<2, st::relu>, st::dense<2, st::softmax>>;
    net_t net{st::seed{1}};
    auto w = net.layer_parameters<1>();
    std::fill(w.begin(), w.end(), 0.0f);
    for (std::size_t i = 0; i < 4; ++i) w[i * 2 + 1] = -1;  // weights are (inputs, units)
    w[0 * 2 + 0] = 1;
    w[1 * 2 + 0] = -1;
    st::data::dataset<float> d;
    d.x = xt::xtensor<float, 4>({8, 2, 2, 1});
    d.y = xt::xtensor<float, 2>({8, 1});
    st::rng r(5);
    for (auto& v : d.x) v = static_cast<float>(0.05 + 0.9 * r.uniform());
    for (std::size_t i = 0; i < 8; ++i) d.y(i, 0) = static_cast<float>(i % 2);
    st::diagnostics probe{.probe_every = 1, .probe_inputs = st::diagnostics::first_samples(d)};
    // A rate this small leaves the weights as set.
    st::fit(net, d, st::loss::sparse_categorical_crossentropy{}, st::optim::sgd{.lr = 1e-12}, st::epochs{2},
            st::batch_size{4}, st::threads{1}, probe);
    const auto& records = *probe.records;
    REQUIRE(records.size() == 3);  // before training, and two epochs
    for (const auto& e : records) {
        CHECK(e.probe_samples == 8);
        REQUIRE(e.layers.size() == 1);  // the softmax layer is not probed
        CHECK(e.layers[0].name == "1_dense");
        CHECK(e.layers[0].activation == "relu");
        CHECK(e.layers[0].units == 2);
        CHECK(e.layers[0].dead == 1);
        CHECK(e.layers[0].dead_fraction() == doctest::Approx(0.5));
        for (const auto& t : e.tensors) CHECK(std::isfinite(t.gradient_norm));
    }
    const auto findings = st::diagnose(st::history{}, {.diagnostics = records});
    REQUIRE(!findings.empty());
    CHECK(findings.front().kind == st::finding_kind::dead_units);
    CHECK(findings.front().level == st::severity::info);  // half: a note
    CHECK_MESSAGE(findings.front().evidence.find("1_dense: 1 of 2 (50%) from the start") != std::string::npos,
                  describe(findings));
    CHECK_THROWS_AS(st::fit(net, d, st::loss::sparse_categorical_crossentropy{}, st::optim::sgd{.lr = 1e-12},
                            st::epochs{1}, st::batch_size{4}, st::threads{1},
                            st::diagnostics{.probe_inputs = std::vector<float>(6, 0.5f)}),
                    st::usage_error);
}

TEST_CASE("diagnostics: a layer killed by a negative initialisation is the top finding of a real fit") {
    const auto train = st::data::take(fashion().train, 1024);
    const auto test = st::data::take(fashion().test, 512);
    // Pixels are >= 0 and the conv outputs are ReLUs, so -0.1 everywhere makes
    // every input of the dense layer's units negative: the whole layer is dead.
    st::sequential<st::input<28, 28, 1>, st::conv2d<8, 3, st::relu>, st::max_pool<2>, st::flatten,
                   st::dense<32, st::relu, st::init::constant<-0.1>>, st::dense<10, st::softmax>>
        dead{st::seed{2}};
    st::diagnostics probe{.probe_inputs = st::diagnostics::first_samples(train)};
    const auto h =
        st::fit(dead, train, st::loss::sparse_categorical_crossentropy{}, st::optim::adam{.lr = 1e-3},
                st::epochs{3}, st::batch_size{32}, st::threads{2}, st::validation{test}, probe);
    const auto findings = st::diagnose(h, {.classes = 10, .diagnostics = *probe.records});
    REQUIRE(!findings.empty());
    CHECK_MESSAGE(findings.front().kind == st::finding_kind::dead_units, describe(findings));
    CHECK(findings.front().level == st::severity::error);
    CHECK(findings.front().summary.find("3_dense") != std::string::npos);
    // Its symptom, a model stuck at chance, is not reported as a separate cause.
    for (const auto& f : findings) CHECK(f.kind != st::finding_kind::underfitting);

    // The same network with its default (He) initialisation: no dead layer.
    st::sequential<st::input<28, 28, 1>, st::conv2d<8, 3, st::relu>, st::max_pool<2>, st::flatten,
                   st::dense<32, st::relu>, st::dense<10, st::softmax>>
        alive{st::seed{2}};
    st::diagnostics alive_probe{.probe_inputs = st::diagnostics::first_samples(train)};
    st::fit(alive, train, st::loss::sparse_categorical_crossentropy{}, st::optim::adam{.lr = 1e-3},
            st::epochs{3}, st::batch_size{32}, st::threads{2}, alive_probe);
    for (const auto& l : alive_probe.records->back().layers)
        CHECK_MESSAGE(l.dead_fraction() < st::diagnosis::dead_fraction_info, l.name << " " << l.dead);
}

TEST_CASE("diagnostics: saturated sigmoids and vanishing gradients in a deep sigmoid network") {
    const auto train = st::data::take(fashion().train, 1024);
    // Eight sigmoid layers: each passes back at most a quarter of the gradient.
    using deep_sigmoid =
        st::sequential<st::input<28, 28, 1>, st::flatten, st::dense<32, st::sigmoid>,
                       st::dense<32, st::sigmoid>, st::dense<32, st::sigmoid>, st::dense<32, st::sigmoid>,
                       st::dense<32, st::sigmoid>, st::dense<32, st::sigmoid>, st::dense<32, st::sigmoid>,
                       st::dense<32, st::sigmoid>, st::dense<10, st::softmax>>;
    deep_sigmoid net{st::seed{4}};
    st::diagnostics probe{.probe_every = 4, .probe_inputs = st::diagnostics::first_samples(train)};
    const auto h = st::fit(net, train, st::loss::sparse_categorical_crossentropy{}, st::optim::sgd{.lr = 0.1},
                           st::epochs{2}, st::batch_size{32}, st::threads{2}, probe);
    const auto& last = probe.records->back();
    const double first_kernel = last.tensors.front().relative_gradient();
    const double last_kernel = last.tensors[last.tensors.size() - 2].relative_gradient();
    MESSAGE("relative gradient, first kernel " << first_kernel << ", last kernel " << last_kernel);
    const auto findings = st::diagnose(h, {.classes = 10, .diagnostics = *probe.records});
    CHECK_MESSAGE(
        std::any_of(findings.begin(), findings.end(),
                    [](const st::finding& f) { return f.kind == st::finding_kind::vanishing_gradients; }),
        describe(findings));

    // Inputs a hundred times too large saturate the first sigmoid layer.
    auto loud = train;
    loud.x *= 100.0f;
    st::sequential<st::input<28, 28, 1>, st::flatten, st::dense<32, st::sigmoid>, st::dense<10, st::softmax>>
        shallow{st::seed{4}};
    st::diagnostics loud_probe{.probe_inputs = st::diagnostics::first_samples(loud)};
    const auto loud_h =
        st::fit(shallow, loud, st::loss::sparse_categorical_crossentropy{}, st::optim::adam{.lr = 1e-3},
                st::epochs{1}, st::batch_size{32}, st::threads{2}, loud_probe);
    REQUIRE(loud_probe.records->back().layers.size() == 1);
    CHECK(loud_probe.records->back().layers[0].saturated > st::diagnosis::saturated_fraction_warning);
    const auto loud_findings = st::diagnose(loud_h, {.classes = 10, .diagnostics = *loud_probe.records});
    CHECK_MESSAGE(std::any_of(loud_findings.begin(), loud_findings.end(),
                              [](const st::finding& f) {
                                  return f.kind == st::finding_kind::saturated_units &&
                                         f.level == st::severity::warning;
                              }),
                  describe(loud_findings));
}

TEST_CASE("diagnose: exploding and vanishing gradients from the records, and quiet on balanced ones") {
    // Two kernels and a bias per epoch, with given relative gradients.
    const auto records = [](std::vector<std::pair<double, double>> first_last) {
        std::vector<st::epoch_diagnostics> r;
        for (std::size_t e = 0; e < first_last.size(); ++e) {
            st::epoch_diagnostics d{.epoch = e + 1};
            d.tensors.push_back(
                {.name = "0_conv2d.weight", .kernel = true, .norm = 1, .gradient_norm = first_last[e].first});
            d.tensors.push_back({.name = "0_conv2d.bias", .norm = 1, .gradient_norm = first_last[e].first});
            d.tensors.push_back({.name = "3_dense.weight",
                                 .kernel = true,
                                 .norm = 2,
                                 .gradient_norm = 2 * first_last[e].second});
            r.push_back(d);
        }
        return r;
    };
    const auto kinds = [](const std::vector<st::finding>& f) {
        std::vector<st::finding_kind> k;
        for (const auto& x : f) k.push_back(x.kind);
        return k;
    };
    using k = st::finding_kind;
    // Within two orders of magnitude, steady: nothing.
    CHECK(st::diagnose(st::history{}, {.diagnostics = records({{0.01, 0.1}, {0.01, 0.05}, {0.005, 0.05}})})
              .empty());
    const auto vanishing = st::diagnose(st::history{}, {.diagnostics = records({{1e-6, 0.1}, {2e-6, 0.1}})});
    REQUIRE(vanishing.size() == 1);
    CHECK(vanishing[0].kind == k::vanishing_gradients);
    CHECK(vanishing[0].evidence.find("0_conv2d.weight") != std::string::npos);
    CHECK(kinds(st::diagnose(st::history{}, {.diagnostics = records({{500, 0.1}, {400, 0.1}})})) ==
          std::vector{k::exploding_gradients});
    // Growing 300-fold over the run, with the layers in proportion.
    const auto growing =
        st::diagnose(st::history{}, {.diagnostics = records({{0.01, 0.01}, {0.3, 0.3}, {3, 3}})});
    REQUIRE(growing.size() == 1);
    CHECK(growing[0].kind == k::exploding_gradients);
    CHECK_MESSAGE(growing[0].evidence.find("grew 300-fold") != std::string::npos, describe(growing));
}

TEST_CASE("architecture_of and diagnose: per-pixel scores from a dense layer, images without convolutions") {
    using k = st::finding_kind;
    const st::loss::pixel_crossentropy<8, 8, 3> pixels{.from_logits = true};
    st::sequential<st::input<8, 8, 1>, st::conv2d<4, 3, st::relu>, st::flatten, st::dense<16, st::relu>,
                   st::dense<8 * 8 * 3>>
        dense_output{st::seed{1}};
    const auto a = st::architecture_of(dense_output, pixels);
    CHECK(a.per_pixel_loss);
    CHECK(a.output_height == 8);
    CHECK(a.output_channels == 3);
    CHECK(a.output_layer == "3_dense");
    CHECK(a.output_from_dense);
    CHECK(a.output_layer_parameters == 16 * 192 + 192);
    CHECK(a.convolutions == 1);
    const auto findings = st::diagnose(st::history{}, {.architecture = a});
    REQUIRE(findings.size() == 1);
    CHECK(findings[0].kind == k::unsuited_architecture);
    CHECK(findings[0].level == st::severity::warning);
    CHECK_MESSAGE(findings[0].evidence.find("8 x 8 x 3 values per image, and they come from 3_dense") !=
                      std::string::npos,
                  describe(findings));

    // Fully convolutional, scores from a 1x1 convolution: nothing to say.
    st::sequential<st::input<8, 8, 1>, st::conv2d<4, 3, st::relu, st::same>, st::conv2d<3, 1>> convolutional{
        st::seed{1}};
    const auto c = st::architecture_of(convolutional, pixels);
    CHECK(c.output_layer == "1_conv2d");
    CHECK(!c.output_from_dense);
    CHECK(st::diagnose(st::history{}, {.architecture = c}).empty());

    // A classifier of images with dense layers only: a note.
    st::sequential<st::input<28, 28, 1>, st::flatten, st::dense<32, st::relu>, st::dense<10>> mlp{
        st::seed{1}};
    const auto m = st::architecture_of(mlp, st::loss::sparse_categorical_crossentropy{.from_logits = true});
    CHECK(!m.per_pixel_loss);
    CHECK(m.image_input);
    CHECK(m.convolutions == 0);
    const auto mlp_findings = st::diagnose(st::history{}, {.architecture = m});
    REQUIRE(mlp_findings.size() == 1);
    CHECK(mlp_findings[0].kind == k::unsuited_architecture);
    CHECK(mlp_findings[0].level == st::severity::info);
}

TEST_CASE(
    "diagnose: units a too-high rate killed belong to the rate's finding; dead from the start stay "
    "dead_units") {
    // Adam at 0.1 on the reference network: epoch 1's loss blows up, then sits at chance.
    st::history h;
    for (std::size_t e = 1; e <= 4; ++e) {
        st::epoch_record rec;
        rec.epoch = e;
        rec.loss = e == 1 ? 6.25 : 2.31;
        rec.learning_rate = 0.1;
        h.epochs.push_back(rec);
    }
    const auto records = [](std::size_t dead_at_start) {
        std::vector<st::epoch_diagnostics> r;
        for (std::size_t e = 0; e <= 4; ++e) {
            st::epoch_diagnostics d{.epoch = e, .probe_samples = 256};
            d.layers.push_back({.name = "5_dense",
                                .activation = "relu",
                                .units = 128,
                                .dead = e == 0 ? dead_at_start : std::size_t{128}});
            r.push_back(d);
        }
        return r;
    };
    const auto killed = st::diagnose(h, {.classes = 10, .diagnostics = records(3)});
    REQUIRE(!killed.empty());
    CHECK(killed.front().kind == st::finding_kind::learning_rate_too_high);
    CHECK(killed.front().level == st::severity::error);  // the network is dead
    CHECK_MESSAGE(
        killed.front().evidence.find("5_dense: 128 of 128 (100%) since epoch 1") != std::string::npos,
        describe(killed));
    for (const auto& f : killed) CHECK(f.kind != st::finding_kind::dead_units);

    const auto born_dead = st::diagnose(h, {.classes = 10, .diagnostics = records(128)});
    REQUIRE(!born_dead.empty());
    CHECK_MESSAGE(born_dead.front().kind == st::finding_kind::dead_units, describe(born_dead));
    CHECK(born_dead.front().advice.find("st::init::he_normal") != std::string::npos);
}
