// Training segmentation networks: a U-Net step allocates nothing once its
// buffers exist, augmentation moves the masks with the images, and the
// per-pixel metrics that fit tallies batch by batch agree with evaluate's.
#include <doctest/doctest.h>
#include <strata/strata.hpp>

#include "../support/count_allocations.hpp"

namespace st = strata;

namespace {

template <std::size_t Filters>
using double_conv = st::chain<st::conv2d<Filters, 3, st::relu, st::same>, st::batch_norm,
                              st::conv2d<Filters, 3, st::relu, st::same>, st::batch_norm>;
using unet_t =
    st::sequential<st::input<32, 32, 1>, double_conv<8>,
                   st::skip_concat<st::max_pool<2>, double_conv<16>,
                                   st::skip_concat<st::max_pool<2>, double_conv<32>, st::upsample<2>>,
                                   double_conv<16>, st::upsample<2>>,
                   double_conv<8>, st::conv2d<11, 1>>;

// Canvases of random values with labels in [0, 11).
struct canvases {
    std::vector<float> x, y;
    canvases(std::size_t n, std::size_t pixels, std::uint64_t seed) : x(n * pixels), y(n * pixels) {
        st::rng r(seed);
        for (auto& v : x) v = static_cast<float>(r.uniform());
        for (auto& v : y) v = static_cast<float>(r.below(11));
    }
};

}  // namespace

TEST_CASE("a U-Net training step, masks augmented, allocates nothing after the first batch") {
    unet_t net{st::seed{1}};
    st::detail::fit_config<float> settings;
    settings.thread_count = st::threads{2};
    settings.apply(st::augment::pipeline{st::augment::horizontal_flip{},
                                         st::augment::random_shift::pixels(3, 3),
                                         st::augment::sampling{.fill = st::augment::fill_mode::constant}});
    const st::loss::pixel_crossentropy<32, 32, 11> loss{.from_logits = true};
    st::trainer trainer(net, loss, st::optim::adam{}, settings);
    const canvases data(16, 32 * 32, 5);
    CHECK(trainer.step(data.x.data(), data.y.data(), 16, 1).ok());  // sizes every buffer
    const std::size_t before = strata_test::allocations.load();
    for (std::uint64_t key = 2; key < 5; ++key)
        CHECK(trainer.step(data.x.data(), data.y.data(), 16, key).ok());
    CHECK(trainer.step(data.x.data(), data.y.data(), 9, 7).ok());  // a smaller last batch reuses the buffers
    if (strata_test::counting_allocations) CHECK(strata_test::allocations.load() == before);
}

TEST_CASE("fit's augmentation moves the masks with the images") {
    // No batch_norm or dropout: training and inference outputs agree, so the
    // step's loss can be recomputed by hand on flipped images and masks.
    using fcn_t = st::sequential<st::input<6, 5, 1>, st::conv2d<4, 3, st::relu, st::same>, st::conv2d<3, 1>>;
    fcn_t net{st::seed{2}};
    const st::loss::pixel_crossentropy<6, 5, 3> loss{.from_logits = true};
    st::detail::fit_config<float> settings;
    settings.thread_count = st::threads{1};
    settings.apply(st::augment::pipeline{st::augment::horizontal_flip{1.0}});  // always
    st::trainer trainer(net, loss, st::optim::sgd{.lr = 1e-6f}, settings);
    canvases data(4, 30, 9);
    for (auto& v : data.y) v = static_cast<float>(static_cast<int>(v) % 3);
    auto flipped = [](const std::vector<float>& v) {
        std::vector<float> out(v.size());
        for (std::size_t s = 0; s < v.size() / 30; ++s)
            for (std::size_t r = 0; r < 6; ++r)
                for (std::size_t c = 0; c < 5; ++c) out[s * 30 + r * 5 + c] = v[s * 30 + r * 5 + (4 - c)];
        return out;
    };
    st::executor<fcn_t> exec(st::threads{1});
    const auto fx = flipped(data.x), fy = flipped(data.y);
    const double aligned = exec.evaluate_batch(net, fx.data(), fy.data(), 4, loss).loss_sum;
    const double misaligned = exec.evaluate_batch(net, fx.data(), data.y.data(), 4, loss).loss_sum;
    const auto r = trainer.step(data.x.data(), data.y.data(), 4, 11);
    REQUIRE(r.ok());
    CHECK(r.loss_sum == doctest::Approx(aligned).epsilon(1e-6));
    CHECK(std::abs(r.loss_sum - misaligned) > 1e-3);
}

TEST_CASE("augmenting masks needs an output at the input's resolution") {
    using dense_t = st::sequential<st::input<6, 5, 1>, st::flatten, st::dense<6 * 5 * 3>>;
    dense_t net{st::seed{2}};
    const st::loss::pixel_crossentropy<6, 5, 3> loss{.from_logits = true};
    const st::data::dataset<float> d{xt::xtensor<float, 4>(xt::zeros<float>({4, 6, 5, 1})),
                                     xt::xtensor<float, 2>(xt::zeros<float>({4, 30}))};
    CHECK_THROWS_WITH_AS(
        st::fit(net, d, loss, st::optim::sgd{}, st::augment::pipeline{st::augment::horizontal_flip{}}),
        doctest::Contains("augmenting segmentation masks needs image input and output"), st::usage_error);
}

TEST_CASE("fit's per-pixel metrics, tallied batch by batch, agree with evaluate's") {
    const auto fm = st::data::fashion_mnist();
    st::data::segmentation_options o;
    o.count = 200, o.height = 32, o.width = 32, o.max_objects = 2, o.min_scale = 0.5, o.max_scale = 1.0,
    o.seed = 4;
    const auto train = st::data::make_segmentation(st::data::take(fm.train, 2000), 10, o);
    o.count = 70, o.seed = 5;
    const auto test = st::data::make_segmentation(st::data::take(fm.test, 500), 10, o);
    using fcn_t =
        st::sequential<st::input<32, 32, 1>, st::conv2d<8, 3, st::relu, st::same>, st::conv2d<11, 1>>;
    fcn_t net{st::seed{1}};
    const st::loss::pixel_crossentropy<32, 32, 11> loss{.from_logits = true};
    const auto h = st::fit(net, train.data, loss, st::optim::adam{.lr = 3e-3}, st::epochs{1},
                           st::batch_size{16}, st::validation{test.data}, st::metrics::mean_iou{},
                           st::metrics::pixel_accuracy{}, st::metrics::foreground_iou{});
    // 70 validation canvases in batches of 256 (one) and 200 training ones in 13 batches.
    const auto e = st::evaluate(net, test.data, loss, st::batch_size{32}, st::metrics::mean_iou{},
                                st::metrics::foreground_iou{});
    CHECK(h.epochs.back().value("val_mean_iou") == doctest::Approx(e.metrics[0].second).epsilon(1e-12));
    CHECK(h.epochs.back().value("val_foreground_iou") == doctest::Approx(e.metrics[1].second).epsilon(1e-12));
    CHECK(e.metrics[0].second == st::metrics::mean_iou_of(e.confusion));
    CHECK(e.confusion.total() == 70 * 32 * 32);
    // The training value covers every training pixel once.
    CHECK(h.epochs.back().value("pixel_accuracy") > 0.5);
}
