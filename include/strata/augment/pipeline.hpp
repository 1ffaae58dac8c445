// augment::pipeline{e1, e2, ...}: augmentations applied in the order written,
// to a batch of NHWC samples. Neighbouring geometric transforms multiply into
// one map per sample and the sample is resampled once, with the settings of
// the pipeline's augment::sampling element (at most one, anywhere; bilinear
// with nearest fill without one). Element k of the pipeline draws for sample i
// from augment::sample_stream(seed, i, k), so a sample's result depends on the
// seed and its index, never on how the batch is split across threads; vary
// the seed per epoch (e.g. mix_keys(seed, epoch)) for fresh draws.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
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

// A sample on its way through the pipeline: dst holds it once `placed`.
template <class T>
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
        augment::detail::require_shape(s, "augment::pipeline::apply");
        const std::size_t size = s.size();
        if (in != out && std::less<const T*>{}(in, out + n * size) &&
            std::less<const T*>{}(out, in + n * size))
            throw usage_error("augment::pipeline::apply: in and out overlap without being equal");
        if (needs_scratch(in == out) && scratch.size() < size) {
            throw usage_error("augment::pipeline::apply: scratch holds " + std::to_string(scratch.size()) +
                              " values; this pipeline needs scratch_size(shape) = " + std::to_string(size));
        }
        const sampling how = settings();
        for (std::size_t j = 0; j < n; ++j) {
            detail::sample_run<T> run{in + j * size, out + j * size, scratch.data(), s, how};
            run_elements(run, seed, first_sample + j, std::index_sequence_for<A...>{});
            run.settle();
        }
    }

    // As above with scratch of its own: one buffer per thread, grown to the
    // largest sample seen, so only the first calls allocate.
    template <class T>
    void apply(const T* in, T* out, std::size_t n, image_shape s, std::uint64_t seed,
               std::size_t first_sample) const {
        if (!needs_scratch(in == out)) return apply(in, out, n, s, seed, first_sample, std::span<T>{});
        thread_local std::vector<T> buffer;
        if (buffer.size() < s.size()) buffer.resize(s.size());
        apply(in, out, n, s, seed, first_sample, std::span<T>(buffer));
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

    template <class T, std::size_t... K>
    void run_elements(detail::sample_run<T>& run, [[maybe_unused]] std::uint64_t seed,
                      [[maybe_unused]] std::size_t sample, std::index_sequence<K...>) const {
        (run_element<K>(run, seed, sample), ...);
    }
    template <std::size_t K, class T>
    void run_element([[maybe_unused]] detail::sample_run<T>& run, [[maybe_unused]] std::uint64_t seed,
                     [[maybe_unused]] std::size_t sample) const {
        using E = std::tuple_element_t<K, std::tuple<A...>>;
        const E& e = std::get<K>(elements_);
        if constexpr (detail::kind_of<E>() == detail::element_kind::geometric) {
            rng r = sample_stream(seed, sample, K);
            run.pending = run.pending * static_cast<affine>(e.map(r, run.shape));
            run.has_pending = true;
        } else if constexpr (detail::kind_of<E>() == detail::element_kind::sample) {
            run.settle();
            rng r = sample_stream(seed, sample, K);
            e.apply(run.dst, run.shape, r);
        }
    }

    std::tuple<A...> elements_;
};

template <class... A>
pipeline(A...) -> pipeline<A...>;

}  // namespace strata::augment
