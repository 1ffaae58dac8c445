// augment::pipeline{e1, e2, ...}: augmentations applied in the order written,
// to a batch of NHWC samples. Neighbouring geometric transforms multiply into
// one map per sample and the sample is resampled once, with the settings of
// the pipeline's augment::sampling element (at most one, anywhere; bilinear
// with nearest fill without one). Element k of the pipeline draws for sample i
// from augment::sample_stream(seed, i, k), so a sample's result depends on the
// seed and its index, never on how the batch is split across threads; vary
// the seed per epoch (e.g. mix_keys(seed, epoch)) for fresh draws.
// apply_to_masks gives segmentation masks the same geometry: the same maps,
// resampled at the same points, by nearest so labels stay labels.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "transform.hpp"

namespace strata::augment {

namespace detail {

enum class element_kind { settings, sample, geometric };

template <class A>
constexpr element_kind kind_of() noexcept {
    if constexpr (std::is_same_v<A, sampling>)
        return element_kind::settings;
    else if constexpr (geometric_transform<A>)
        return element_kind::geometric;
    else
        return element_kind::sample;
}

// A sample on its way through the pipeline: dst holds it once `placed`. A
// mask run (Masks) settles at the same points, with the mask settings.
template <class T, bool Masks = false>
struct sample_run {
    const T* src;
    T* dst;
    T* scratch;
    image_shape shape;
    const sampling& how;
    affine pending{};
    bool has_pending = false, placed = false;

    // Resamples once for the run of geometric transforms that just ended.
    void settle() {
        const std::size_t size = shape.size();
        if (has_pending && !pending.is_identity()) {
            const T* from = src;
            if (placed || src == dst) {
                std::copy_n(dst, size, scratch);
                from = scratch;
            }
            warp(from, dst, shape, pending, how);
        } else if (!placed && src != dst) {
            std::copy_n(src, size, dst);
        }
        placed = true;
        has_pending = false;
        pending = {};
    }
};

}  // namespace detail

template <class... A>
class pipeline {
    static constexpr std::array<detail::element_kind, sizeof...(A)> kinds{detail::kind_of<A>()...};
    static constexpr bool any_of_kind(detail::element_kind k) {
        return std::find(kinds.begin(), kinds.end(), k) != kinds.end();
    }
    // A geometric run after a sample transform resamples from dst, so it needs scratch.
    static constexpr bool late_geometric() {
        bool seen_sample = false;
        for (auto k : kinds) {
            if (k == detail::element_kind::geometric && seen_sample) return true;
            seen_sample = seen_sample || k == detail::element_kind::sample;
        }
        return false;
    }
    static constexpr bool has_geometric = any_of_kind(detail::element_kind::geometric);

    static_assert(std::count(kinds.begin(), kinds.end(), detail::element_kind::settings) <= 1,
                  "augment::pipeline: more than one augment::sampling element; give the settings once");
    template <class E>
    static constexpr bool valid_element() {
        constexpr bool ok = std::is_same_v<E, sampling> || geometric_transform<E> || augmentation<E, float> ||
                            augmentation<E, double>;
        static_assert(
            ok,
            "augment::pipeline: an element is not an augmentation (see strata::augmentation in "
            "strata/augment/transform.hpp): it needs `void apply(T* sample, augment::image_shape, "
            "strata::rng&) const` or `augment::affine map(strata::rng&, augment::image_shape) const`");
        return true;
    }
    static_assert((valid_element<A>() && ...));

public:
    explicit pipeline(A... elements) : elements_(std::move(elements)...) {}

    static constexpr std::size_t size() noexcept { return sizeof...(A); }
    template <std::size_t I>
    auto& get() noexcept {
        return std::get<I>(elements_);
    }
    template <std::size_t I>
    const auto& get() const noexcept {
        return std::get<I>(elements_);
    }
    // The resampling settings: the sampling element's, or the defaults.
    sampling settings() const noexcept {
        sampling s{};
        std::apply([&s](const auto&... e) { (take_settings(s, e), ...); }, elements_);
        return s;
    }

    // Scratch values that apply(..., scratch) may need: one sample when the
    // pipeline resamples, else none.
    static constexpr std::size_t scratch_size(image_shape s) noexcept { return has_geometric ? s.size() : 0; }

    // Augments n samples (shape s, back to back) from in to out; sample j is
    // sample first_sample + j of the batch for the random draws. in == out
    // works in place; otherwise the two must not overlap. scratch, of
    // scratch_size(s) values, is needed when resampling in place or after a
    // sample transform; this call throws usage_error if it is needed and short.
    template <class T>
    void apply(const T* in, T* out, std::size_t n, image_shape s, std::uint64_t seed,
               std::size_t first_sample, std::span<T> scratch) const {
        static_assert(std::is_floating_point_v<T>, "augment::pipeline works on float or double images");
        static_assert((check_element<A, T>() && ...));
        check_call(in, out, n, s, scratch, "augment::pipeline::apply", "shape");
        run_samples<false>(in, out, n, s, seed, first_sample, scratch, settings());
    }

    // As above with scratch of its own: one buffer per thread, grown to the
    // largest sample seen, so only the first calls allocate.
    template <class T>
    void apply(const T* in, T* out, std::size_t n, image_shape s, std::uint64_t seed,
               std::size_t first_sample) const {
        if (!needs_scratch(in == out)) return apply(in, out, n, s, seed, first_sample, std::span<T>{});
        apply(in, out, n, s, seed, first_sample, own_scratch<T>(s));
    }

    // The same geometric maps, applied to masks (segmentation targets) of the
    // samples that apply(in, out, n, image_shape, seed, first_sample) augments:
    // nearest resampling so class indices stay class indices, at the same
    // points as the images (twice if a sample transform splits the geometric
    // transforms in two). Sample transforms leave masks alone, except those
    // that move pixels (random_crop; see augment::mask_transform), which move
    // the mask the same way. Outside the image the pipeline's fill mode
    // applies, except that constant fill (and random_crop's padding) writes
    // fill_label. mask_shape must have the images' height and width (it is not
    // checked against them) and any channels: 1 for class-index maps, C for
    // binary or soft masks. T may be integral (fill_label must fit it). In,
    // out and scratch (scratch_size(mask_shape)) follow apply's rules.
    template <class T>
    void apply_to_masks(const T* in, T* out, std::size_t n, image_shape mask_shape, std::uint64_t seed,
                        std::size_t first_sample, double fill_label, std::span<T> scratch) const {
        static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>,
                      "augment::pipeline::apply_to_masks works on masks of numbers (float, double or an "
                      "integer type)");
        constexpr const char* who = "augment::pipeline::apply_to_masks";
        check_call(in, out, n, mask_shape, scratch, who, "mask_shape");
        check_fill_label<T>(fill_label, who);
        sampling how = settings();
        how.interpolation = interpolation::nearest;
        how.fill_value = fill_label;
        run_samples<true>(in, out, n, mask_shape, seed, first_sample, scratch, how);
    }

    // As above with scratch of its own, as apply has.
    template <class T>
    void apply_to_masks(const T* in, T* out, std::size_t n, image_shape mask_shape, std::uint64_t seed,
                        std::size_t first_sample, double fill_label = 0) const {
        if (!needs_scratch(in == out))
            return apply_to_masks(in, out, n, mask_shape, seed, first_sample, fill_label, std::span<T>{});
        apply_to_masks(in, out, n, mask_shape, seed, first_sample, fill_label, own_scratch<T>(mask_shape));
    }

private:
    template <class E, class T>
    static constexpr bool check_element() {
        if constexpr (!std::is_same_v<E, sampling>) strata::detail::check_augmentation<E, T>();
        return true;
    }
    static constexpr bool needs_scratch(bool in_place) noexcept {
        return late_geometric() || (in_place && has_geometric);
    }
    template <class E>
    static void take_settings(sampling& s, const E& e) noexcept {
        if constexpr (std::is_same_v<E, sampling>) s = e;
    }
    // One buffer per thread and value type, grown to the largest sample seen.
    template <class T>
    static std::span<T> own_scratch(image_shape s) {
        thread_local std::vector<T> buffer;
        if (buffer.size() < s.size()) buffer.resize(s.size());
        return std::span<T>(buffer);
    }

    template <class T>
    static void check_call(const T* in, const T* out, std::size_t n, image_shape s, std::span<T> scratch,
                           const char* who, const char* shape_name) {
        augment::detail::require_shape(s, who);
        const std::size_t size = s.size();
        if (in != out && std::less<const T*>{}(in, out + n * size) &&
            std::less<const T*>{}(out, in + n * size))
            throw usage_error(std::string(who) + ": in and out overlap without being equal");
        if (needs_scratch(in == out) && scratch.size() < size) {
            throw usage_error(std::string(who) + ": scratch holds " + std::to_string(scratch.size()) +
                              " values; this pipeline needs scratch_size(" + shape_name +
                              ") = " + std::to_string(size));
        }
    }
    // An integer mask cannot hold 0.5 or 256 (uint8): refuse rather than wrap.
    template <class T>
    static void check_fill_label(double fill_label, const char* who) {
        if constexpr (std::is_integral_v<T>) {
            using limits = std::numeric_limits<T>;
            // lowest and max + 1 are powers of two (or 0), exact in double.
            const auto lo = static_cast<double>(limits::lowest()),
                       end = static_cast<double>(limits::max() / 2 + 1) * 2;
            if (!(fill_label >= lo && fill_label < end) || fill_label != std::floor(fill_label)) {
                std::ostringstream os;
                os << who << ": fill_label " << fill_label << " is not a value of the masks' integer type ("
                   << +limits::lowest() << " to " << +limits::max() << ")";
                throw usage_error(os.str());
            }
        }
    }

    template <bool Masks, class T>
    void run_samples(const T* in, T* out, std::size_t n, image_shape s, std::uint64_t seed,
                     std::size_t first_sample, std::span<T> scratch, const sampling& how) const {
        const std::size_t size = s.size();
        for (std::size_t j = 0; j < n; ++j) {
            detail::sample_run<T, Masks> run{in + j * size, out + j * size, scratch.data(), s, how};
            run_elements(run, seed, first_sample + j, std::index_sequence_for<A...>{});
            run.settle();
        }
    }
    template <class T, bool Masks, std::size_t... K>
    void run_elements(detail::sample_run<T, Masks>& run, [[maybe_unused]] std::uint64_t seed,
                      [[maybe_unused]] std::size_t sample, std::index_sequence<K...>) const {
        (run_element<K>(run, seed, sample), ...);
    }
    template <std::size_t K, class T, bool Masks>
    void run_element([[maybe_unused]] detail::sample_run<T, Masks>& run, [[maybe_unused]] std::uint64_t seed,
                     [[maybe_unused]] std::size_t sample) const {
        using E = std::tuple_element_t<K, std::tuple<A...>>;
        const E& e = std::get<K>(elements_);
        if constexpr (detail::kind_of<E>() == detail::element_kind::geometric) {
            rng r = sample_stream(seed, sample, K);
            run.pending = run.pending * static_cast<affine>(e.map(r, run.shape));
            run.has_pending = true;
        } else if constexpr (detail::kind_of<E>() == detail::element_kind::sample) {
            // A mask settles here too, so it is resampled where the image is.
            run.settle();
            if constexpr (!Masks) {
                rng r = sample_stream(seed, sample, K);
                e.apply(run.dst, run.shape, r);
            } else if constexpr (mask_transform<E, T>) {
                rng r = sample_stream(seed, sample, K);
                e.apply_to_mask(run.dst, run.shape, r, run.how.fill_value);
            }
        }
    }

    std::tuple<A...> elements_;
};

template <class... A>
pipeline(A...) -> pipeline<A...>;

}  // namespace strata::augment
