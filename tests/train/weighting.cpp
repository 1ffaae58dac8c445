// Class and sample weights against PyTorch (reduction='none', reduced the
// Keras way) and sklearn's balanced class weights; references written by
// weighting_reference.py at test time.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <strata/strata.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>

namespace st = strata;
namespace fs = std::filesystem;

namespace {

xt::xarray<double> reference(const std::string& key) {
    const char* root = std::getenv("STRATA_WEIGHTING_DIR");
    REQUIRE_MESSAGE(root != nullptr,
                    "STRATA_WEIGHTING_DIR is not set: ctest runs weighting_reference.py first");
    const fs::path file = fs::path(root) / (key + ".npy");
    REQUIRE_MESSAGE(fs::exists(file), "missing reference " << file);
    return xt::load_npy<double>(file.string());
}

template <class T>
using identity_net = st::basic_sequential<T, st::input<5>, st::dense<5>>;

template <class T>
struct problem {
    st::data::dataset<T> data;
    std::vector<double> class_weight, sample_weight;
    std::size_t n = 0;

    problem() {
        const auto x = reference("x"), labels = reference("labels");
        n = labels.size();
        data.x = xt::xtensor<T, 4>::from_shape({n, 1, 1, 5});
        data.y = xt::xtensor<T, 2>::from_shape({n, 1});
        for (std::size_t i = 0; i < x.size(); ++i) data.x.data()[i] = static_cast<T>(x.data()[i]);
        for (std::size_t i = 0; i < n; ++i) data.y.data()[i] = static_cast<T>(labels.data()[i]);
        const auto c = reference("class_weight"), s = reference("sample_weight");
        class_weight.assign(c.begin(), c.end());
        sample_weight.assign(s.begin(), s.end());
    }
    identity_net<T> net() const {
        identity_net<T> net;
        auto w = net.template layer<0>().weights();
        std::fill(net.parameters().begin(), net.parameters().end(), T(0));
        for (std::size_t i = 0; i < 5; ++i) w[i * 5 + i] = T(1);
        return net;
    }
};

template <class T>
double tolerance() {
    return sizeof(T) == sizeof(float) ? 1e-5 : 1e-12;
}

template <class T>
void check_gradients(const identity_net<T>& net, std::span<const T> gradients) {
    const auto kernel = reference("kernel_grad"), bias = reference("bias_grad");
    const T* base = net.parameters().data();
    st::for_each_tensor(net, [&](const st::layer_path&, const auto& t) {
        const auto& ref = t.kernel ? kernel : bias;
        REQUIRE(ref.size() == t.count);
        for (std::size_t i = 0; i < t.count; ++i)
            CHECK(static_cast<double>(gradients[static_cast<std::size_t>(t.data - base) + i]) ==
                  doctest::Approx(ref.data()[i]).epsilon(tolerance<T>()).scale(1.0));
    });
}

const st::loss::sparse_categorical_crossentropy logits_loss{.from_logits = true};

}  // namespace

TEST_CASE_TEMPLATE("a weighted step's gradient is Keras' sum(w_i loss_i) / N, as PyTorch computes it", T,
                   float, double) {
    const problem<T> p;
    auto net = p.net();
    st::trainer t(net, logits_loss, st::optim::sgd{.lr = 1e-30});  // the gradient is what matters
    std::vector<T> w(p.n);
    for (std::size_t i = 0; i < p.n; ++i)
        w[i] =
            static_cast<T>(p.sample_weight[i] * p.class_weight[static_cast<std::size_t>(p.data.y.data()[i])]);
    const auto r = t.step(p.data.x.data(), p.data.y.data(), p.n, 1, w.data());
    REQUIRE(r.ok());
    CHECK(r.loss_sum / double(p.n) == doctest::Approx(reference("keras_loss")(0)).epsilon(tolerance<T>()));
    check_gradients(net, t.exec().gradients());
}

TEST_CASE_TEMPLATE("fit with class_weights and sample_weights takes the weighted step", T, float, double) {
    const problem<T> p;
    auto net = p.net();
    const std::vector<T> before(net.parameters().begin(), net.parameters().end());
    const auto h = st::fit(net, p.data, logits_loss, st::optim::sgd{.lr = 0.5}, st::batch_size{p.n},
                           st::class_weights{p.class_weight}, st::sample_weights{p.sample_weight});
    REQUIRE(h.epochs.size() == 1);
    CHECK(h.epochs[0].loss == doctest::Approx(reference("keras_loss")(0)).epsilon(tolerance<T>()));
    // One SGD step: the change is -lr times PyTorch's gradient.
    std::vector<T> step(before.size());
    for (std::size_t i = 0; i < step.size(); ++i) step[i] = (before[i] - net.parameters()[i]) / T(0.5);
    check_gradients(net, std::span<const T>(step));
}

TEST_CASE_TEMPLATE("evaluate weighs the loss but not the accuracy; PyTorch's weighted mean divides by sum(w)",
                   T, float, double) {
    const problem<T> p;
    const auto net = p.net();
    const auto plain = st::evaluate(net, p.data, logits_loss, st::batch_size{7});
    const auto both = st::evaluate(net, p.data, logits_loss, st::batch_size{7},
                                   st::class_weights{p.class_weight}, st::sample_weights{p.sample_weight});
    CHECK(both.loss == doctest::Approx(reference("keras_loss")(0)).epsilon(tolerance<T>()));
    CHECK(both.accuracy == plain.accuracy);
    const auto by_class = st::evaluate(net, p.data, logits_loss, st::class_weights{p.class_weight});
    const double keras = reference("keras_class_only_loss")(0);
    CHECK(by_class.loss == doctest::Approx(keras).epsilon(tolerance<T>()));
    // PyTorch's CrossEntropyLoss(weight=w) = sum(w_i loss_i) / sum(w_i) = Keras' loss * N / sum(w_i).
    double weight_sum = 0;
    for (std::size_t i = 0; i < p.n; ++i)
        weight_sum += p.class_weight[static_cast<std::size_t>(p.data.y.data()[i])];
    CHECK(by_class.loss * double(p.n) / weight_sum ==
          doctest::Approx(reference("torch_weighted_mean_loss")(0)).epsilon(tolerance<T>()));
}

TEST_CASE("class_weights::balanced equals sklearn's compute_class_weight('balanced')") {
    const problem<double> p;
    const auto balanced = st::class_weights::balanced(p.data, 5).weights;
    const auto sklearn = reference("sklearn_balanced");
    REQUIRE(balanced.size() == sklearn.size());
    for (std::size_t c = 0; c < balanced.size(); ++c) CHECK(std::abs(balanced[c] - sklearn(c)) <= 1e-12);

    auto missing = st::data::take(p.data, 40);
    for (std::size_t i = 0; i < 40; ++i)
        if (missing.y.data()[i] == 4) missing.y.data()[i] = 3;
    CHECK_THROWS_WITH_AS(st::class_weights::balanced(missing, 5), doctest::Contains("class 4 has no samples"),
                         st::usage_error);
    CHECK_THROWS_WITH_AS(st::class_weights::balanced(p.data, 3),
                         doctest::Contains("expected a class in [0, 3)"), st::usage_error);
}

TEST_CASE("weights that do not fit the data are named before training") {
    const problem<float> p;
    auto net = p.net();
    CHECK_THROWS_WITH_AS(st::fit(net, p.data, logits_loss, st::optim::sgd{}, st::class_weights{{1, 2, 3}}),
                         "fit: class_weights has 3 weights, but the targets have 5 classes", st::usage_error);
    CHECK_THROWS_WITH_AS(st::fit(net, p.data, logits_loss, st::optim::sgd{}, st::sample_weights{{1, 2}}),
                         "fit: sample_weights has 2 weights for 40 samples", st::usage_error);
    CHECK_THROWS_WITH_AS(
        st::fit(net, p.data, logits_loss, st::optim::sgd{}, st::class_weights{{1, 1, -1, 1, 1}}),
        doctest::Contains("class_weights weight 2 is -1"), st::usage_error);
    CHECK_THROWS_WITH_AS(
        st::evaluate(net, p.data, logits_loss, st::sample_weights{std::vector<double>(40, std::nan(""))}),
        doctest::Contains("evaluate: sample_weights weight 0 is nan"), st::usage_error);
}

TEST_CASE("class weights move a classifier toward the weighted class on real data") {
    // Fashion-MNIST's first 2000 images; class 6 (shirt) weighted 10x is predicted far more often.
    const auto all = st::data::fashion_mnist();
    const auto train = st::data::take(all.train, 2000);
    using net_t = st::sequential<st::input<28, 28, 1>, st::flatten, st::dense<10>>;
    auto predicted_shirts = [&](const std::vector<double>& weights) {
        net_t net{st::seed{3}};
        st::fit(net, train, logits_loss, st::optim::adam{}, st::epochs{2}, st::class_weights{weights});
        const auto logits = st::predict(net, st::data::take(all.test, 1000).x);
        std::size_t shirts = 0;
        for (std::size_t i = 0; i < 1000; ++i) {
            std::size_t best = 0;
            for (std::size_t c = 1; c < 10; ++c)
                if (logits(i, c) > logits(i, best)) best = c;
            shirts += best == 6;
        }
        return shirts;
    };
    std::vector<double> even(10, 1.0), shirt_heavy(10, 1.0);
    shirt_heavy[6] = 10;
    const auto plain = predicted_shirts(even), weighted = predicted_shirts(shirt_heavy);
    INFO("images predicted as shirts: " << plain << " unweighted, " << weighted
                                        << " with class 6 weighted 10x");
    CHECK(weighted > 2 * plain);
}
