// The pipeline: order, one resampling per run of geometric transforms,
// reproducible per-sample draws, scratch rules and user-written transforms.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <doctest/doctest.h>
#include <strata/augment/augment.hpp>

namespace st = strata;
namespace sa = strata::augment;

namespace {
template <class T>
std::vector<T> random_images(std::size_t n, sa::image_shape s, std::uint64_t seed) {
    std::vector<T> x(n * s.size());
    st::rng r(seed);
    for (auto& v : x) v = static_cast<T>(r.uniform(0, 1));
    return x;
}

// A user's sample transform: 1 - x, as for inverting a grayscale image.
struct invert {
    template <class T>
    void apply(T* x, sa::image_shape s, st::rng&) const {
        for (std::size_t i = 0; i < s.size(); ++i) x[i] = 1 - x[i];
    }
};

// A user's random sample transform: sets each value to `value` with probability p.
struct salt {
    double p = 0.1, value = 1;
    template <class T>
    void apply(T* x, sa::image_shape s, st::rng& r) const {
        for (std::size_t i = 0; i < s.size(); ++i)
            if (r.uniform() < p) x[i] = static_cast<T>(value);
    }
};

// A user's geometric transform: a quarter turn, counter-clockwise.
struct quarter_turn {
    sa::affine map(st::rng&, sa::image_shape) const { return sa::affine::rotation(90); }
};

struct neither {};
struct both {
    void apply(float*, sa::image_shape, st::rng&) const {}
    sa::affine map(st::rng&, sa::image_shape) const { return {}; }
};

static_assert(st::augmentation<sa::random_rotation> && st::augmentation<sa::horizontal_flip, double>);
static_assert(st::augmentation<sa::rescale> && st::augmentation<sa::random_contrast, double>);
static_assert(st::augmentation<sa::random_crop> && st::augmentation<sa::cutout, double>);
static_assert(st::augmentation<sa::feature_normalization> && st::augmentation<sa::samplewise_normalization>);
static_assert(st::augmentation<invert> && st::augmentation<salt, double> && st::augmentation<quarter_turn>);
static_assert(!st::augmentation<neither> && !st::augmentation<both> && !st::augmentation<sa::sampling>);

const auto mixed = sa::pipeline{
    sa::random_rotation{20},    sa::random_shift{0.1},         sa::random_zoom{0.1}, sa::horizontal_flip{},
    sa::random_brightness{0.2}, sa::random_contrast{0.8, 1.2}, sa::cutout{2},        sa::random_crop{1}};
}  // namespace

TEST_CASE_TEMPLATE("the same seed gives the same batch, and another seed another", T, float, double) {
    const sa::image_shape s{7, 6, 3};
    const auto in = random_images<T>(9, s, 1);
    std::vector<T> a(in.size()), b(in.size()), c(in.size());
    mixed.apply(in.data(), a.data(), 9, s, 42, 0);
    mixed.apply(in.data(), b.data(), 9, s, 42, 0);
    mixed.apply(in.data(), c.data(), 9, s, 43, 0);
    CHECK(a == b);
    CHECK(a != c);
    CHECK(a != in);
}

TEST_CASE_TEMPLATE("a sample's result does not depend on how the batch is split", T, float, double) {
    const sa::image_shape s{7, 6, 3};
    constexpr std::size_t n = 11;
    const auto in = random_images<T>(n, s, 2);
    std::vector<T> whole(in.size()), halves(in.size()), single(in.size());
    mixed.apply(in.data(), whole.data(), n, s, 7, 100);
    // [0, 4) and [4, 11) as two threads would take them.
    mixed.apply(in.data(), halves.data(), 4, s, 7, 100);
    mixed.apply(in.data() + 4 * s.size(), halves.data() + 4 * s.size(), n - 4, s, 7, 104);
    CHECK(halves == whole);
    for (std::size_t i = 0; i < n; ++i)
        mixed.apply(in.data() + i * s.size(), single.data() + i * s.size(), 1, s, 7, 100 + i);
    CHECK(single == whole);
    // In place gives the same as out of place.
    auto inplace = in;
    mixed.apply(inplace.data(), inplace.data(), n, s, 7, 100);
    CHECK(inplace == whole);
}

TEST_CASE("neighbouring geometric transforms resample once with the product of their maps") {
    const sa::image_shape s{8, 9, 2};
    const auto in = random_images<double>(3, s, 3);
    const sa::sampling how{.interpolation = sa::interpolation::bilinear, .fill = sa::fill_mode::reflect};
    const sa::random_rotation rotation{25};
    const sa::random_shear shear{10};
    const sa::random_zoom zoom{0.2, 0.1};
    const sa::pipeline p{rotation, how, shear, zoom};
    std::vector<double> out(in.size()), expected(in.size());
    p.apply(in.data(), out.data(), 3, s, 5, 10);
    for (std::size_t i = 0; i < 3; ++i) {
        // Element k draws from stream (seed, sample, k); the sampling element is k = 1.
        st::rng r0 = sa::sample_stream(5, 10 + i, 0), r2 = sa::sample_stream(5, 10 + i, 2),
                r3 = sa::sample_stream(5, 10 + i, 3);
        const auto z = zoom.draw(r3);
        const auto m = sa::affine::rotation(rotation.draw(r0)) * sa::affine::shear(shear.draw(r2)) *
                       sa::affine::zoom(z.x, z.y);
        sa::warp(in.data() + i * s.size(), expected.data() + i * s.size(), s, m, how);
    }
    // Approx: the compiler may fuse the maps' multiply-adds differently here and inside the pipeline.
    double worst = 0;
    for (std::size_t k = 0; k < out.size(); ++k) worst = std::max(worst, std::abs(out[k] - expected[k]));
    CHECK(worst < 1e-12);
    CHECK(p.settings().fill == sa::fill_mode::reflect);
}

TEST_CASE("the pipeline's sampling element sets interpolation and fill") {
    const std::vector<double> in{1, 2, 3,  //
                                 4, 5, 6};
    std::vector<double> out(6);
    // A whole-pixel shift of 1 or -1 in x, 0 in y: pick a seed that gives +1.
    const auto shift = sa::random_shift::pixels(1, 0);
    std::uint64_t seed = 0;
    for (;; ++seed) {
        st::rng r = sa::sample_stream(seed, 0, 1);
        if (shift.draw(r, {2, 3, 1}).dx == 1) break;
    }
    sa::pipeline{
        sa::sampling{
            .interpolation = sa::interpolation::nearest, .fill = sa::fill_mode::constant, .fill_value = -5},
        shift}
        .apply(in.data(), out.data(), 1, {2, 3, 1}, seed, 0);
    CHECK(out == std::vector<double>{-5, 1, 2, -5, 4, 5});
}

TEST_CASE("elements run in the order written") {
    const sa::image_shape s{3, 4, 1};
    const auto in = random_images<double>(2, s, 4);
    std::vector<double> scaled_first(in.size()), brightened_first(in.size());
    const sa::random_brightness brightness{0.5};
    sa::pipeline{sa::rescale{2}, brightness}.apply(in.data(), scaled_first.data(), 2, s, 9, 0);
    sa::pipeline{brightness, sa::rescale{2}}.apply(in.data(), brightened_first.data(), 2, s, 9, 0);
    for (std::size_t i = 0; i < 2; ++i) {
        st::rng second = sa::sample_stream(9, i, 1), first = sa::sample_stream(9, i, 0);
        const double d1 = brightness.draw(second), d0 = brightness.draw(first);
        for (std::size_t k = 0; k < s.size(); ++k) {
            const double x = in[i * s.size() + k];
            CHECK(scaled_first[i * s.size() + k] == doctest::Approx(2 * x + d1));
            CHECK(brightened_first[i * s.size() + k] == doctest::Approx((x + d0) * 2));
        }
    }
}

TEST_CASE("a geometric transform after a sample transform works on the transformed image") {
    const std::vector<float> in{1, 2, 3,  //
                                4, 5, 6};
    const sa::image_shape s{2, 3, 1};
    std::vector<float> out(6);
    const sa::pipeline p{sa::rescale{10}, sa::horizontal_flip{1}};
    p.apply(in.data(), out.data(), 1, s, 0, 0);
    CHECK(out == std::vector<float>{30, 20, 10, 60, 50, 40});
    // With scratch from the caller; too little is refused.
    std::vector<float> scratch(p.scratch_size(s));
    p.apply(in.data(), out.data(), 1, s, 0, 0, std::span<float>(scratch));
    CHECK(out == std::vector<float>{30, 20, 10, 60, 50, 40});
    std::vector<float> short_scratch(5);
    CHECK_THROWS_WITH_AS(p.apply(in.data(), out.data(), 1, s, 0, 0, std::span<float>(short_scratch)),
                         "augment::pipeline::apply: scratch holds 5 values; this pipeline needs "
                         "scratch_size(shape) = 6",
                         st::usage_error);
    // Out of place with geometry first needs none.
    const sa::pipeline flip_first{sa::horizontal_flip{1}, sa::rescale{10}};
    flip_first.apply(in.data(), out.data(), 1, s, 0, 0, std::span<float>{});
    CHECK(out == std::vector<float>{30, 20, 10, 60, 50, 40});
    CHECK_THROWS_AS(flip_first.apply(out.data(), out.data(), 1, s, 0, 0, std::span<float>{}),
                    st::usage_error);
    CHECK(sa::pipeline{sa::rescale{2}}.scratch_size(s) == 0);
}

TEST_CASE("user-written transforms join a pipeline") {
    const std::vector<double> in{0.1, 0.2, 0.3,  //
                                 0.4, 0.5, 0.6,  //
                                 0.7, 0.8, 0.9};
    const sa::image_shape s{3, 3, 1};
    std::vector<double> out(9);
    sa::pipeline{quarter_turn{}, invert{}}.apply(in.data(), out.data(), 1, s, 0, 0);
    // Counter-clockwise: out[r][c] = 1 - in[c][2 - r].
    const std::vector<double> expected{0.7, 0.4, 0.1,  //
                                       0.8, 0.5, 0.2,  //
                                       0.9, 0.6, 0.3};
    for (std::size_t i = 0; i < 9; ++i) CHECK(out[i] == doctest::Approx(expected[i]));

    // A random user transform draws from the sample's stream like the built-in ones.
    const auto images = random_images<float>(6, s, 5);
    std::vector<float> a(images.size()), b(images.size());
    const sa::pipeline noisy{salt{0.3, 2}};
    noisy.apply(images.data(), a.data(), 6, s, 1, 0);
    noisy.apply(images.data(), b.data(), 3, s, 1, 0);
    noisy.apply(images.data() + 27, b.data() + 27, 3, s, 1, 3);
    CHECK(a == b);
    CHECK(std::count(a.begin(), a.end(), 2.f) > 0);
}

TEST_CASE("an empty pipeline copies, and a bad call says why") {
    const std::vector<double> in{1, 2, 3, 4};
    std::vector<double> out(4);
    sa::pipeline{}.apply(in.data(), out.data(), 1, {2, 2, 1}, 0, 0);
    CHECK(out == in);
    CHECK_THROWS_WITH_AS(
        sa::pipeline{}.apply(in.data(), out.data(), 1, {2, 0, 1}, 0, 0),
        "augment::pipeline::apply: image shape (2, 0, 1) has a zero dimension; expected height, "
        "width and channels >= 1",
        st::usage_error);
    std::vector<double> both(6);
    CHECK_THROWS_WITH_AS(sa::pipeline{}.apply(both.data(), both.data() + 2, 1, {2, 2, 1}, 0, 0),
                         "augment::pipeline::apply: in and out overlap without being equal", st::usage_error);
}
