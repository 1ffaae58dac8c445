// The pipeline: order, one resampling per run of geometric transforms,
// reproducible per-sample draws, scratch rules, user-written transforms and
// segmentation masks that follow the images (apply_to_masks).
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

// Masks: apply_to_masks moves segmentation targets with the images.
namespace {
// A geometric transform that always makes the same map.
struct fixed_map {
    sa::affine m;
    sa::affine map(st::rng&, sa::image_shape) const { return m; }
};
// A sample transform that changes nothing, to stand in for a photometric
// element at the same position (so every other element keeps its stream).
struct keep {
    template <class T>
    void apply(T*, sa::image_shape, st::rng&) const {}
};

// n masks of 2 x 2 blocks of labels 0..k-1, each sample its own arrangement.
template <class T>
std::vector<T> block_labels(std::size_t n, sa::image_shape s, std::size_t k) {
    std::vector<T> x(n * s.size());
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t r = 0; r < s.height; ++r)
            for (std::size_t c = 0; c < s.width; ++c)
                for (std::size_t ch = 0; ch < s.channels; ++ch)
                    x[((i * s.height + r) * s.width + c) * s.channels + ch] =
                        static_cast<T>((r / 2 * 5 + c / 2 + 3 * i + 7 * ch) % k);
    return x;
}

bool all_in(const std::vector<float>& x, const std::vector<float>& allowed) {
    return std::all_of(x.begin(), x.end(), [&](float v) {
        return std::find(allowed.begin(), allowed.end(), v) != allowed.end();
    });
}

const sa::random_rotation mask_rotation{30};
const sa::random_shift mask_shift{0.2};
const sa::random_zoom mask_zoom{0.2, 0.3};
const sa::horizontal_flip mask_flip{};
}  // namespace

TEST_CASE("masks follow the images' geometry pixel by pixel, always by nearest") {
    const sa::image_shape s{9, 10, 1};
    constexpr std::size_t n = 8, k = 6;
    const auto labels = block_labels<float>(n, s, k);
    std::vector<float> image(labels.size()), mask(labels.size());

    // Nearest for both and nothing photometric: the image of labels is the mask.
    for (const auto fill : {sa::fill_mode::nearest, sa::fill_mode::reflect, sa::fill_mode::wrap}) {
        const sa::pipeline p{sa::sampling{.interpolation = sa::interpolation::nearest, .fill = fill},
                             mask_rotation, mask_shift, mask_zoom, mask_flip};
        p.apply(labels.data(), image.data(), n, s, 11, 3);
        p.apply_to_masks(labels.data(), mask.data(), n, s, 11, 3);
        CHECK(mask == image);
        CHECK(mask != labels);
    }

    // Bilinear images with photometric elements: the mask is still the
    // nearest-resampled image of labels, with fill_label outside.
    const sa::pipeline bilinear{sa::sampling{.fill = sa::fill_mode::constant, .fill_value = -1},
                                mask_rotation,
                                mask_shift,
                                mask_zoom,
                                mask_flip,
                                sa::random_brightness{0.3},
                                sa::random_contrast{0.5, 1.5}};
    const sa::pipeline nearest{
        sa::sampling{
            .interpolation = sa::interpolation::nearest, .fill = sa::fill_mode::constant, .fill_value = 255},
        mask_rotation, mask_shift, mask_zoom, mask_flip};
    bilinear.apply(labels.data(), image.data(), n, s, 12, 0);
    bilinear.apply_to_masks(labels.data(), mask.data(), n, s, 12, 0, 255);
    std::vector<float> expected(labels.size());
    nearest.apply(labels.data(), expected.data(), n, s, 12, 0);
    CHECK(mask == expected);
    CHECK(all_in(mask, {0, 1, 2, 3, 4, 5, 255}));
    CHECK(std::count(mask.begin(), mask.end(), 255.f) > 0);
    // The images themselves blend labels, so the check above is not a copy of them.
    CHECK(!all_in(image, {-1, 0, 1, 2, 3, 4, 5}));
}

TEST_CASE_TEMPLATE("a flip and a shift on a 3 x 4 mask, by hand", T, float, std::uint8_t, int) {
    const sa::image_shape s{3, 4, 1};
    const std::vector<T> in{0, 1, 2,  3,  //
                            4, 5, 6,  7,  //
                            8, 9, 10, 11};
    std::vector<T> out(12);
    sa::pipeline{sa::horizontal_flip{1}}.apply_to_masks(in.data(), out.data(), 1, s, 0, 0);
    CHECK(out == std::vector<T>{3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8});

    // Content one right and one up: out(x, y) = in(x - 1, y + 1).
    const fixed_map shift{sa::affine::shift(1, -1)};
    const auto with = [&](sa::fill_mode fill) {
        return sa::pipeline{
            sa::sampling{.interpolation = sa::interpolation::nearest, .fill = fill, .fill_value = 7}, shift};
    };
    // Constant fill writes fill_label, not the images' fill_value.
    with(sa::fill_mode::constant).apply_to_masks(in.data(), out.data(), 1, s, 0, 0, 255);
    CHECK(out == std::vector<T>{255, 4, 5, 6,   //
                                255, 8, 9, 10,  //
                                255, 255, 255, 255});
    with(sa::fill_mode::nearest).apply_to_masks(in.data(), out.data(), 1, s, 0, 0, 255);
    CHECK(out == std::vector<T>{4, 4, 5, 6,   //
                                8, 8, 9, 10,  //
                                8, 8, 9, 10});
    with(sa::fill_mode::wrap).apply_to_masks(in.data(), out.data(), 1, s, 0, 0, 255);
    CHECK(out == std::vector<T>{7, 4, 5, 6,    //
                                11, 8, 9, 10,  //
                                3, 0, 1, 2});

    // A bilinear pipeline blends images over 0.6 pixel; the mask takes the nearest pixel.
    const sa::pipeline bilinear{sa::sampling{.fill = sa::fill_mode::constant},
                                fixed_map{sa::affine::shift(0.6, 0)}};
    bilinear.apply_to_masks(in.data(), out.data(), 1, s, 0, 0, 255);
    CHECK(out == std::vector<T>{255, 0, 1, 2,  //
                                255, 4, 5, 6,  //
                                255, 8, 9, 10});
    // In place, with the pipeline's own scratch.
    auto inplace = in;
    bilinear.apply_to_masks(inplace.data(), inplace.data(), 1, s, 0, 0, 255);
    CHECK(inplace == out);
}

TEST_CASE("an integer mask refuses a fill_label it cannot hold") {
    const std::vector<std::uint8_t> in(12, 1);
    std::vector<std::uint8_t> out(12);
    const sa::pipeline p{sa::horizontal_flip{1}};
    CHECK_THROWS_WITH_AS(p.apply_to_masks(in.data(), out.data(), 1, {3, 4, 1}, 0, 0, 256),
                         "augment::pipeline::apply_to_masks: fill_label 256 is not a value of the masks' "
                         "integer type (0 to 255)",
                         st::usage_error);
    CHECK_THROWS_AS(p.apply_to_masks(in.data(), out.data(), 1, {3, 4, 1}, 0, 0, 1.5), st::usage_error);
    CHECK_THROWS_AS(p.apply_to_masks(in.data(), out.data(), 1, {3, 4, 1}, 0, 0, -1), st::usage_error);
    std::vector<int> signed_in(12, 1), signed_out(12);
    p.apply_to_masks(signed_in.data(), signed_out.data(), 1, {3, 4, 1}, 0, 0, -1);
    CHECK(signed_out == signed_in);
}

TEST_CASE("photometric elements leave masks alone") {
    const sa::image_shape s{5, 6, 1};
    const auto labels = block_labels<float>(4, s, 4);
    const sa::pipeline p{sa::rescale{2}, sa::random_brightness{0.5},     sa::random_contrast{0.5, 1.5},
                         sa::cutout{3},  sa::samplewise_normalization{}, salt{0.5, 9},
                         invert{}};
    std::vector<float> out(labels.size());
    p.apply_to_masks(labels.data(), out.data(), 4, s, 1, 0, 255, std::span<float>{});
    CHECK(out == labels);
    auto inplace = labels;
    p.apply_to_masks(inplace.data(), inplace.data(), 4, s, 1, 0);
    CHECK(inplace == labels);
    CHECK(p.scratch_size(s) == 0);
}

TEST_CASE("random_crop moves masks with the images, padding with fill_label") {
    const sa::image_shape s{6, 7, 1};
    constexpr std::size_t n = 6;
    const auto labels = block_labels<float>(n, s, 5);
    const sa::pipeline image_path{sa::random_brightness{0.2}, sa::random_crop{2, 99}};
    const sa::pipeline label_path{keep{}, sa::random_crop{2, 99}};
    std::vector<float> mask(labels.size()), expected(labels.size());
    image_path.apply_to_masks(labels.data(), mask.data(), n, s, 4, 0, 99);
    label_path.apply(labels.data(), expected.data(), n, s, 4, 0);
    CHECK(mask == expected);
    CHECK(mask != labels);
    // Another fill_label goes exactly where the images get their padding.
    image_path.apply_to_masks(labels.data(), mask.data(), n, s, 4, 0, 255);
    for (std::size_t i = 0; i < mask.size(); ++i) CHECK(mask[i] == (expected[i] == 99 ? 255 : expected[i]));
}

TEST_CASE("a photometric element between two geometric runs: masks are resampled twice, as images") {
    const sa::image_shape s{9, 9, 1};
    const auto labels = block_labels<float>(1, s, 6);
    const sa::sampling nearest{.interpolation = sa::interpolation::nearest};
    const fixed_map turn{sa::affine::rotation(45)};
    const sa::pipeline p{sa::sampling{}, turn, sa::random_brightness{0.3}, turn};
    std::vector<float> mask(labels.size()), once(labels.size()), expected(labels.size());
    p.apply_to_masks(labels.data(), mask.data(), 1, s, 0, 0);
    // Two nearest resamplings of 45 degrees each, not one exact quarter turn.
    sa::warp(labels.data(), once.data(), s, sa::affine::rotation(45), nearest);
    sa::warp(once.data(), expected.data(), s, sa::affine::rotation(45), nearest);
    CHECK(mask == expected);
    sa::warp(labels.data(), once.data(), s, sa::affine::rotation(90), nearest);
    CHECK(mask != once);

    // Random maps: the label image through the same pipeline (photometric
    // element kept in place but doing nothing) gives the masks.
    constexpr std::size_t n = 6;
    const auto batch = block_labels<float>(n, s, 6);
    const sa::pipeline images{
        sa::sampling{.interpolation = sa::interpolation::nearest, .fill = sa::fill_mode::reflect},
        mask_rotation,
        mask_zoom,
        sa::random_contrast{0.5, 2},
        mask_shift,
        mask_flip};
    const sa::pipeline labels_path{
        sa::sampling{.interpolation = sa::interpolation::nearest, .fill = sa::fill_mode::reflect},
        mask_rotation,
        mask_zoom,
        keep{},
        mask_shift,
        mask_flip};
    std::vector<float> masks(batch.size()), label_images(batch.size());
    images.apply_to_masks(batch.data(), masks.data(), n, s, 8, 0);
    labels_path.apply(batch.data(), label_images.data(), n, s, 8, 0);
    CHECK(masks == label_images);

    // The second run reads the first's result, so scratch is needed, out of place too.
    std::vector<float> scratch(p.scratch_size(s)), short_scratch(80);
    p.apply_to_masks(labels.data(), once.data(), 1, s, 0, 0, 0, std::span<float>(scratch));
    CHECK(once == mask);
    CHECK_THROWS_WITH_AS(
        p.apply_to_masks(labels.data(), once.data(), 1, s, 0, 0, 0, std::span<float>(short_scratch)),
        "augment::pipeline::apply_to_masks: scratch holds 80 values; this pipeline needs "
        "scratch_size(mask_shape) = 81",
        st::usage_error);
}

TEST_CASE("every channel of a multi-channel mask moves the same way") {
    const sa::image_shape one{8, 7, 1}, two{8, 7, 2};
    constexpr std::size_t n = 5;
    const auto mask = block_labels<double>(n, two, 4);
    const sa::pipeline p{mask_rotation, mask_shift, sa::random_brightness{0.1},
                         mask_zoom,     mask_flip,  sa::sampling{.fill = sa::fill_mode::constant}};
    std::vector<double> out(mask.size());
    p.apply_to_masks(mask.data(), out.data(), n, two, 21, 5, 255);
    for (std::size_t ch = 0; ch < 2; ++ch) {
        std::vector<double> channel(n * one.size()), moved(channel.size());
        for (std::size_t i = 0; i < channel.size(); ++i) channel[i] = mask[2 * i + ch];
        p.apply_to_masks(channel.data(), moved.data(), n, one, 21, 5, 255);
        for (std::size_t i = 0; i < moved.size(); ++i) CHECK(out[2 * i + ch] == moved[i]);
    }
    CHECK(out != mask);
}

TEST_CASE("a mask's result does not depend on how the batch is split") {
    const sa::image_shape s{7, 6, 1};
    constexpr std::size_t n = 9;
    const auto labels = block_labels<float>(n, s, 5);
    std::vector<float> whole(labels.size()), halves(labels.size()), single(labels.size());
    mixed.apply_to_masks(labels.data(), whole.data(), n, s, 7, 100, 255);
    mixed.apply_to_masks(labels.data(), halves.data(), 4, s, 7, 100, 255);
    mixed.apply_to_masks(labels.data() + 4 * s.size(), halves.data() + 4 * s.size(), n - 4, s, 7, 104, 255);
    CHECK(halves == whole);
    for (std::size_t i = 0; i < n; ++i)
        mixed.apply_to_masks(labels.data() + i * s.size(), single.data() + i * s.size(), 1, s, 7, 100 + i,
                             255);
    CHECK(single == whole);
    auto inplace = labels;
    mixed.apply_to_masks(inplace.data(), inplace.data(), n, s, 7, 100, 255);
    CHECK(inplace == whole);
    CHECK(whole != labels);
    // Another seed, other draws.
    std::vector<float> other(labels.size());
    mixed.apply_to_masks(labels.data(), other.data(), n, s, 8, 100, 255);
    CHECK(other != whole);
    // A bad call says why, as apply does.
    CHECK_THROWS_WITH_AS(mixed.apply_to_masks(whole.data(), whole.data() + 1, 1, s, 7, 0),
                         "augment::pipeline::apply_to_masks: in and out overlap without being equal",
                         st::usage_error);
    CHECK_THROWS_WITH_AS(mixed.apply_to_masks(labels.data(), whole.data(), 1, {7, 6, 0}, 7, 0),
                         "augment::pipeline::apply_to_masks: image shape (7, 6, 0) has a zero dimension; "
                         "expected height, width and channels >= 1",
                         st::usage_error);
}
