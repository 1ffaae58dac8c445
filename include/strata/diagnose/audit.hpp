// audit: what is wrong with the data itself, before or after training. It
// finds test images copied into the training data (exact and near copies),
// repeated training images, blank or constant images, and NaN, infinite or
// out-of-range pixels, each listed by index; likely_mislabelled lists the
// samples a trained model finds least believable. findings_of turns both
// into findings, which diagnose merges with those of the training history.
//
// Exact copies are found by a hash of the pixel bytes (then compared byte by
// byte). Near copies are compared in grey on a 16 x 16 grid of area means:
// two images are near duplicates when, after matching brightness and
// contrast by least squares, their RMS difference is at most
// near_duplicate_residual of the pixel range and their grids correlate at
// near_duplicate_correlation or more. Candidates come from locality-sensitive
// hashing (random-hyperplane signatures of the grid, see hash_family), so
// Fashion-MNIST's 60,000 x 10,000 images plus the 60,000 among themselves
// take about 3 s on one core instead of the hours of comparing every pair;
// on 2,000 x 60,000 of them it finds every pair an exhaustive comparison
// finds. A bound on an 8 x 8 grid that can only under-estimate the difference
// rejects most candidates before the fine comparison.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../data/dataset.hpp"
#include "../train/fit.hpp"
#include "finding.hpp"
#include "thresholds.hpp"

namespace strata {

struct audit_options {
    // The range pixels should lie in; outside it (beyond float rounding) is reported.
    double min_value = 0, max_value = 1;
    // Blank or constant images: pixel standard deviation below this fraction of the range.
    double blank_std = diagnosis::blank_std_fraction;
    // Near duplicates: RMS difference after matching brightness and contrast, as a fraction of the range.
    double near_duplicate_residual = diagnosis::near_duplicate_residual;
    bool near_duplicates = true;  // false: exact copies only (faster)
    bool within_train = true;     // also look for repeats inside the training data
    std::size_t listed = 20;      // examples kept per problem (the counts are complete)
};

// Two images that are copies: `first` is a training index; `second` a test
// index (between the sets) or a later training index (within training).
struct duplicate_pair {
    std::size_t first = 0, second = 0;
    double residual = 0;  // RMS difference after matching brightness and contrast, fraction of the range
};

struct duplicate_list {
    std::size_t count = 0;  // pairs found
    std::vector<duplicate_pair> examples;
};

struct image_list {
    std::size_t count = 0;
    std::vector<std::size_t> examples;  // the first indices, ascending
};

// One data set's images on their own.
struct image_audit {
    std::size_t images = 0;
    image_list blank;         // standard deviation below blank_std of the range (finite images)
    image_list non_finite;    // a NaN or infinite pixel
    image_list out_of_range;  // a finite pixel outside [min_value, max_value]
    double min_pixel = std::numeric_limits<double>::infinity();  // over finite pixels
    double max_pixel = -std::numeric_limits<double>::infinity();
};

struct audit_report {
    image_audit train, test;
    bool has_test = false;
    // Training images that equal (exact) or nearly equal (near) a test image.
    duplicate_list exact_train_test, near_train_test;
    std::size_t test_images_in_train = 0;  // test images with at least one copy in training
    // Pairs of training images, the first index below the second.
    duplicate_list exact_within_train, near_within_train;
    std::size_t train_images_repeated = 0;  // training images that copy an earlier one
    audit_options options;

    bool clean() const noexcept {
        return exact_train_test.count + near_train_test.count + exact_within_train.count +
                   near_within_train.count + train.blank.count + train.non_finite.count +
                   train.out_of_range.count + test.blank.count + test.non_finite.count +
                   test.out_of_range.count ==
               0;
    }
};

namespace detail::audit {

inline void note(image_list& list, std::size_t index, std::size_t listed) {
    if (list.count++ < listed) list.examples.push_back(index);
}
inline void note(duplicate_list& list, const duplicate_pair& pair, std::size_t listed,
                 std::size_t pairs = 1) {
    if (list.examples.size() < listed) list.examples.push_back(pair);
    list.count += pairs;
}

// Per image: finite, blank, in range; the pixel range seen.
template <class T>
std::vector<char> scan(const data::dataset<T>& d, const audit_options& o, image_audit& out) {
    const std::size_t n = d.size(), size = d.sample_size();
    const double range = o.max_value - o.min_value;
    const double slack = 1e-6 * std::max(std::abs(o.min_value), std::abs(o.max_value));  // float rounding
    std::vector<char> usable(n, 0);  // finite and not blank: worth comparing
    out.images = n;
    for (std::size_t i = 0; i < n; ++i) {
        const T* p = d.x.data() + i * size;
        bool finite = true, outside = false;
        double sum = 0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
        for (std::size_t k = 0; k < size; ++k) {
            const double v = static_cast<double>(p[k]);
            if (!std::isfinite(v)) {
                finite = false;
                continue;
            }
            sum += v;
            lo = std::min(lo, v);
            hi = std::max(hi, v);
            outside |= v < o.min_value - slack || v > o.max_value + slack;
        }
        if (!finite) {
            note(out.non_finite, i, o.listed);
            continue;
        }
        out.min_pixel = std::min(out.min_pixel, lo);
        out.max_pixel = std::max(out.max_pixel, hi);
        if (outside) note(out.out_of_range, i, o.listed);
        const double mean = sum / static_cast<double>(size);
        double squares = 0;
        for (std::size_t k = 0; k < size; ++k) {
            const double v = static_cast<double>(p[k]) - mean;
            squares += v * v;
        }
        const double sd = std::sqrt(squares / static_cast<double>(size));
        if (sd < o.blank_std * range)
            note(out.blank, i, o.listed);
        else
            usable[i] = 1;
    }
    return usable;
}

// FNV-style mixing of 8-byte words; equal hashes are confirmed byte by byte.
inline std::uint64_t hash_bytes(const void* data, std::size_t bytes) {
    const auto* b = static_cast<const unsigned char*>(data);
    std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ bytes;
    std::size_t k = 0;
    for (; k + 8 <= bytes; k += 8) {
        std::uint64_t w;
        std::memcpy(&w, b + k, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; k < bytes; ++k) h = (h ^ b[k]) * 0x100000001b3ULL;
    return splitmix64(h);
}

template <class T>
bool same_bytes(const data::dataset<T>& a, std::size_t i, const data::dataset<T>& b, std::size_t j) {
    const std::size_t size = a.sample_size();
    return std::memcmp(a.x.data() + i * size, b.x.data() + j * size, size * sizeof(T)) == 0;
}

// Grey area means on a grid, centred and scaled to unit RMS (z), with the
// RMS (sd) kept: the residual of b fitted on a by least squares is
// sd_b sqrt(1 - r^2), r the mean product of their z.
struct grids {
    std::size_t fine = 0, coarse = 0;  // cells per image
    std::vector<float> fine_z, coarse_z, fine_sd, coarse_sd;
    std::vector<char> usable;
};

template <class T>
grids describe(const data::dataset<T>& d, const std::vector<char>& usable) {
    const std::size_t n = d.size(), h = d.x.shape()[1], w = d.x.shape()[2], c = d.x.shape()[3];
    // Even sides, so the coarse grid is exact 2 x 2 blocks of the fine one.
    const std::size_t gh = std::min(diagnosis::near_duplicate_grid, h) & ~std::size_t{1};
    const std::size_t gw = std::min(diagnosis::near_duplicate_grid, w) & ~std::size_t{1};
    grids g;
    g.fine = gh * gw;
    g.coarse = g.fine / 4;
    g.usable = usable;
    if (gh < 2 || gw < 2) {  // too small to compare as pictures
        std::fill(g.usable.begin(), g.usable.end(), 0);
        return g;
    }
    g.fine_z.assign(n * g.fine, 0);
    g.coarse_z.assign(n * g.coarse, 0);
    g.fine_sd.assign(n, 0);
    g.coarse_sd.assign(n, 0);
    std::vector<double> cells(g.fine), counts(g.fine), coarse(g.coarse);
    for (std::size_t y = 0; y < h; ++y)
        for (std::size_t x = 0; x < w; ++x) counts[(y * gh / h) * gw + x * gw / w] += static_cast<double>(c);
    const auto standardise = [](std::span<double> v, float* z, float& sd) {
        double mean = 0, squares = 0;
        for (double x : v) mean += x;
        mean /= static_cast<double>(v.size());
        for (double x : v) squares += (x - mean) * (x - mean);
        const double rms = std::sqrt(squares / static_cast<double>(v.size()));
        sd = static_cast<float>(rms);
        for (std::size_t k = 0; k < v.size(); ++k)
            z[k] = rms > 0 ? static_cast<float>((v[k] - mean) / rms) : 0.f;
        return rms > 0;
    };
    for (std::size_t i = 0; i < n; ++i) {
        if (!usable[i]) continue;
        std::fill(cells.begin(), cells.end(), 0.0);
        const T* p = d.x.data() + i * h * w * c;
        for (std::size_t y = 0; y < h; ++y) {
            double* row = cells.data() + (y * gh / h) * gw;
            for (std::size_t x = 0; x < w; ++x)
                for (std::size_t ch = 0; ch < c; ++ch)
                    row[x * gw / w] += static_cast<double>(p[(y * w + x) * c + ch]);
        }
        for (std::size_t k = 0; k < g.fine; ++k) cells[k] /= counts[k];
        for (std::size_t y = 0; y < gh / 2; ++y)
            for (std::size_t x = 0; x < gw / 2; ++x) {
                const double* top = cells.data() + 2 * y * gw + 2 * x;
                coarse[y * (gw / 2) + x] = (top[0] + top[1] + top[gw] + top[gw + 1]) / 4;
            }
        const bool fine_varies = standardise(cells, g.fine_z.data() + i * g.fine, g.fine_sd[i]);
        const bool coarse_varies = standardise(coarse, g.coarse_z.data() + i * g.coarse, g.coarse_sd[i]);
        if (!fine_varies || !coarse_varies) g.usable[i] = 0;  // constant at this scale: nothing to match
    }
    return g;
}

// Two described images compared: the correlation of their grids and the RMS
// difference after matching brightness and contrast both ways (the larger
// of the two least-squares fits' residuals).
struct comparison {
    double correlation, residual;
};
inline comparison compare(const float* za, float sda, const float* zb, float sdb, std::size_t cells) {
    double dot = 0;
    for (std::size_t k = 0; k < cells; ++k) dot += static_cast<double>(za[k]) * static_cast<double>(zb[k]);
    const double r = std::clamp(dot / static_cast<double>(cells), -1.0, 1.0);
    return {r, static_cast<double>(std::max(sda, sdb)) * std::sqrt(std::max(0.0, 1 - r * r))};
}

// Locality-sensitive hashing of the fine grid: sign bits of random
// projections (random-hyperplane hashing: a bit differs between two images
// with probability angle / pi, cos(angle) their correlation), grouped into
// keys of `bits` bits, one per table. Two images share a key in some table
// with probability 1 - (1 - (1 - angle / pi)^bits)^tables. The projections
// are rows of a Hadamard matrix times random signs: orthogonal, and a fast
// transform instead of a matrix product.
struct hash_family {
    std::size_t bits, tables;
    std::uint64_t seed;
};

// A pair within the residual limit correlates at least at
// sqrt(1 - (limit / sd)^2), sd the larger grid RMS of the two. Where either
// image has contrast (sd above limit / sqrt(1 - 0.99^2)) that is 0.99 or
// more: 32-bit keys in 20 tables find such pairs 99.5% of the time (99.98%
// at 0.995) while pairs of correlation 0.9 meet in 11% and 0.8 in 1%. Two
// faint images need only near_duplicate_correlation (0.95): among faint
// images only, 20-bit keys in 30 tables find those 98% of the time.
inline constexpr double strict_correlation = 0.99;
inline constexpr hash_family strict_hashes{32, 20, 0x5e11ab1e}, faint_hashes{20, 30, 0xfa1e7};

inline void hadamard(float* v, std::size_t n) {
    for (std::size_t len = 1; len < n; len <<= 1)
        for (std::size_t i = 0; i < n; i += 2 * len)
            for (std::size_t j = i; j < i + len; ++j) {
                const float a = v[j], b = v[j + len];
                v[j] = a + b;
                v[j + len] = a - b;
            }
}

// keys[i * tables + t] for the images `member` marks.
inline std::vector<std::uint32_t> signatures(const grids& g, const std::vector<char>& member,
                                             const hash_family& h) {
    std::size_t width = 1;
    while (width < std::max(g.fine, h.bits)) width <<= 1;
    const std::size_t per_transform = width / h.bits;
    const std::size_t transforms = (h.tables + per_transform - 1) / per_transform;
    std::vector<float> signs(transforms * width);
    rng r(mix_keys(h.seed, g.fine));
    for (float& s : signs) s = r.below(2) ? 1.0f : -1.0f;
    std::vector<std::uint32_t> keys(member.size() * h.tables, 0);
    std::vector<float> v(width);
    for (std::size_t i = 0; i < member.size(); ++i) {
        if (!member[i]) continue;
        const float* z = g.fine_z.data() + i * g.fine;
        std::size_t table = 0;
        for (std::size_t t = 0; t < transforms; ++t) {
            std::fill(v.begin(), v.end(), 0.0f);
            for (std::size_t k = 0; k < g.fine; ++k) v[k] = z[k] * signs[t * width + k];
            hadamard(v.data(), width);
            for (std::size_t b0 = 0; b0 + h.bits <= width && table < h.tables; b0 += h.bits) {
                std::uint32_t key = 0;
                for (std::size_t b = b0; b < b0 + h.bits; ++b) key = (key << 1) | (v[b] >= 0 ? 1u : 0u);
                keys[i * h.tables + table++] = key;
            }
        }
    }
    return keys;
}

// Per table, the references' (key, index), sorted by key.
struct hash_index {
    hash_family family;
    std::vector<char> member;  // which references and probes take part
    std::vector<std::uint32_t> probe_keys;
    std::vector<std::vector<std::pair<std::uint32_t, std::uint32_t>>> tables;
};

inline hash_index index(const grids& probes, const grids& refs, const hash_family& h,
                        const std::vector<char>& probe_member, const std::vector<char>& ref_member) {
    hash_index x{
        h, probe_member, {}, std::vector<std::vector<std::pair<std::uint32_t, std::uint32_t>>>(h.tables)};
    const std::vector<std::uint32_t> ref_keys = signatures(refs, ref_member, h);
    x.probe_keys =
        &probes == &refs && probe_member == ref_member ? ref_keys : signatures(probes, probe_member, h);
    for (std::size_t t = 0; t < h.tables; ++t) {
        for (std::size_t j = 0; j < ref_member.size(); ++j)
            if (ref_member[j])
                x.tables[t].emplace_back(ref_keys[j * h.tables + t], static_cast<std::uint32_t>(j));
        std::sort(x.tables[t].begin(), x.tables[t].end());
    }
    return x;
}

// For each usable probe, in index order, found(probe, reference, residual)
// for every usable reference within `limit` and near_duplicate_correlation
// (fine grid), in reference order. `accept(probe, reference)` filters
// candidates before any arithmetic.
template <class Accept, class Found>
void near_pairs(const grids& probes, const grids& refs, double limit, Accept accept, Found found) {
    const std::size_t np = probes.usable.size(), nr = refs.usable.size();
    // Faint: low enough contrast that a near copy may correlate below strict_correlation.
    const double faint_sd = limit / std::sqrt(1 - strict_correlation * strict_correlation);
    const auto faint = [&](const grids& g) {
        std::vector<char> f(g.usable.size(), 0);
        for (std::size_t i = 0; i < f.size(); ++i) f[i] = g.usable[i] && g.fine_sd[i] <= faint_sd;
        return f;
    };
    const std::vector<hash_index> indexes{index(probes, refs, strict_hashes, probes.usable, refs.usable),
                                          index(probes, refs, faint_hashes, faint(probes), faint(refs))};
    std::vector<std::uint32_t> seen(nr, 0);  // probe + 1 that last looked at a reference
    std::vector<std::uint32_t> candidates;
    for (std::size_t i = 0; i < np; ++i) {
        if (!probes.usable[i]) continue;
        candidates.clear();
        for (const hash_index& x : indexes) {
            if (!x.member[i]) continue;
            for (std::size_t t = 0; t < x.family.tables; ++t) {
                const std::uint32_t key = x.probe_keys[i * x.family.tables + t];
                auto it = std::lower_bound(x.tables[t].begin(), x.tables[t].end(),
                                           std::make_pair(key, std::uint32_t{0}));
                for (; it != x.tables[t].end() && it->first == key; ++it) {
                    const std::uint32_t j = it->second;
                    if (seen[j] == i + 1) continue;
                    seen[j] = static_cast<std::uint32_t>(i + 1);
                    if (!accept(i, j)) continue;
                    // The coarse residual never exceeds the fine one, so it can reject.
                    if (compare(probes.coarse_z.data() + i * probes.coarse, probes.coarse_sd[i],
                                refs.coarse_z.data() + std::size_t{j} * refs.coarse, refs.coarse_sd[j],
                                refs.coarse)
                            .residual > limit)
                        continue;
                    candidates.push_back(j);
                }
            }
        }
        std::sort(candidates.begin(), candidates.end());
        for (const std::uint32_t j : candidates) {
            const comparison c =
                compare(probes.fine_z.data() + i * probes.fine, probes.fine_sd[i],
                        refs.fine_z.data() + std::size_t{j} * refs.fine, refs.fine_sd[j], refs.fine);
            if (c.residual <= limit && c.correlation >= diagnosis::near_duplicate_correlation)
                found(i, std::size_t{j}, c.residual);
        }
    }
}

}  // namespace detail::audit

// Audits a training set and, optionally, a test set of the same image shape.
// Duplicates are looked for among images that are finite and not blank
// (those are reported on their own).
template <class T>
audit_report audit(const data::dataset<T>& train,
                   const std::type_identity_t<data::dataset<T>>* test = nullptr,
                   const audit_options& options = {}) {
    namespace da = detail::audit;
    if (!(options.max_value > options.min_value))
        throw usage_error("audit: max_value must be above min_value, got [" +
                          diagnosis::detail::number(options.min_value) + ", " +
                          diagnosis::detail::number(options.max_value) + "]");
    if (test && (test->x.shape()[1] != train.x.shape()[1] || test->x.shape()[2] != train.x.shape()[2] ||
                 test->x.shape()[3] != train.x.shape()[3]))
        throw usage_error("audit: the test images are " + std::to_string(test->x.shape()[1]) + "x" +
                          std::to_string(test->x.shape()[2]) + "x" + std::to_string(test->x.shape()[3]) +
                          " but the training images " + std::to_string(train.x.shape()[1]) + "x" +
                          std::to_string(train.x.shape()[2]) + "x" + std::to_string(train.x.shape()[3]) +
                          "; copies can only be looked for between images of one shape");
    audit_report report;
    report.options = options;
    report.has_test = test != nullptr;
    const std::size_t listed = options.listed, size_bytes = train.sample_size() * sizeof(T);
    const std::vector<char> train_usable = da::scan(train, options, report.train);
    std::vector<char> test_usable;
    if (test) test_usable = da::scan(*test, options, report.test);

    // Exact copies within training, in index order: each image against the
    // first image of every distinct content sharing its hash.
    std::unordered_map<std::uint64_t, std::vector<std::vector<std::size_t>>>
        by_hash;  // contents, each its copies
    std::vector<char> repeated(train.size(), 0);
    for (std::size_t j = 0; j < train.size(); ++j) {
        if (!train_usable[j]) continue;
        auto& contents = by_hash[da::hash_bytes(train.x.data() + j * train.sample_size(), size_bytes)];
        bool matched = false;
        for (auto& copies : contents)
            if (da::same_bytes(train, copies.front(), train, j)) {
                if (options.within_train) {
                    // j pairs with every earlier copy; the example names the first
                    da::note(report.exact_within_train, {copies.front(), j, 0.0}, listed, copies.size());
                    repeated[j] = 1;
                }
                copies.push_back(j);
                matched = true;
                break;
            }
        if (!matched) contents.push_back({j});
    }

    // Exact copies of test images in training.
    std::vector<char> test_copied(test ? test->size() : 0, 0);
    if (test)
        for (std::size_t i = 0; i < test->size(); ++i) {
            if (!test_usable[i]) continue;
            const auto it =
                by_hash.find(da::hash_bytes(test->x.data() + i * test->sample_size(), size_bytes));
            if (it == by_hash.end()) continue;
            for (const auto& copies : it->second)
                if (da::same_bytes(train, copies.front(), *test, i)) {
                    for (const std::size_t j : copies) da::note(report.exact_train_test, {j, i, 0.0}, listed);
                    test_copied[i] = 1;
                }
        }

    if (options.near_duplicates) {
        const double limit = options.near_duplicate_residual * (options.max_value - options.min_value);
        // Exact repeats add nothing the first copy does not find.
        std::vector<char> train_first = train_usable;
        for (std::size_t j = 0; j < train.size(); ++j)
            if (repeated[j]) train_first[j] = 0;
        const da::grids train_grids = da::describe(train, train_first);
        if (test) {
            const da::grids test_grids = da::describe(*test, test_usable);
            da::near_pairs(
                test_grids, train_grids, limit, [](std::size_t, std::size_t) { return true; },
                [&](std::size_t i, std::size_t j, double res) {
                    if (da::same_bytes(train, j, *test, i)) return;  // already an exact pair
                    da::note(report.near_train_test, {j, i, res / (options.max_value - options.min_value)},
                             listed);
                    test_copied[i] = 1;
                });
        }
        if (options.within_train)
            da::near_pairs(
                train_grids, train_grids, limit, [](std::size_t i, std::size_t j) { return j > i; },
                [&](std::size_t i, std::size_t j, double res) {
                    if (da::same_bytes(train, i, train, j)) return;
                    da::note(report.near_within_train, {i, j, res / (options.max_value - options.min_value)},
                             listed);
                    repeated[j] = 1;
                });
    }
    report.test_images_in_train =
        static_cast<std::size_t>(std::count(test_copied.begin(), test_copied.end(), 1));
    report.train_images_repeated = static_cast<std::size_t>(std::count(repeated.begin(), repeated.end(), 1));
    return report;
}

// Samples a trained model finds least believable: the caller's per-sample
// losses (per_sample_losses below), highest first.
struct mislabel_candidates {
    std::vector<std::size_t> indices;  // the highest losses above the threshold, at most k, highest first
    std::vector<double> losses;        // their losses
    std::size_t above_threshold = 0;   // every sample above it (indices lists the first k)
    std::size_t examined = 0;          // samples with a loss (NaN losses are skipped)
    double threshold = 0, median = 0, mad = 0;
};

// The samples whose loss exceeds median + mislabel_mad_factor x MAD (scaled
// to a standard deviation) and, with the number of classes known,
// log(classes), where the label gets less probability than a uniform guess
// would give it. Up to k of them, highest loss first.
inline mislabel_candidates likely_mislabelled(std::span<const double> losses, std::size_t k,
                                              std::size_t classes = 0) {
    mislabel_candidates out;
    std::vector<double> finite;
    for (const double v : losses)
        if (std::isfinite(v)) finite.push_back(v);
    const auto median_of = [](std::vector<double> v) {
        if (v.empty()) return 0.0;
        const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
        std::nth_element(v.begin(), mid, v.end());
        if (v.size() % 2) return *mid;
        return (*mid + *std::max_element(v.begin(), mid)) / 2;
    };
    out.median = median_of(finite);
    for (double& v : finite) v = std::abs(v - out.median);
    out.mad = median_of(finite);
    out.threshold = out.median + diagnosis::mislabel_mad_factor * diagnosis::mad_to_sigma * out.mad;
    if (classes >= 2) out.threshold = std::max(out.threshold, std::log(static_cast<double>(classes)));
    std::vector<std::pair<double, std::size_t>> above;
    for (std::size_t i = 0; i < losses.size(); ++i) {
        if (std::isnan(losses[i])) continue;
        ++out.examined;
        if (losses[i] > out.threshold) above.emplace_back(losses[i], i);
    }
    out.above_threshold = above.size();
    std::sort(above.begin(), above.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    for (std::size_t r = 0; r < std::min(k, above.size()); ++r) {
        out.indices.push_back(above[r].second);
        out.losses.push_back(above[r].first);
    }
    return out;
}

// Each sample's loss from a pass of network outputs (predict's (N, outputs) tensor).
template <class T, class Loss>
std::vector<double> per_sample_losses(const xt::xtensor<T, 2>& outputs, const data::dataset<T>& d,
                                      const Loss& loss) {
    const std::size_t n = outputs.shape()[0], width = outputs.shape()[1];
    if (n != d.size())
        throw usage_error("per_sample_losses: " + std::to_string(n) + " rows of outputs for " +
                          std::to_string(d.size()) + " samples");
    const std::size_t target_width = loss.target_width(width);
    if (d.target_width() != target_width)
        throw usage_error("per_sample_losses: " + std::string(Loss::name) + " takes targets of width " +
                          std::to_string(target_width) + " for " + std::to_string(width) +
                          " outputs; the data has width " + std::to_string(d.target_width()));
    loss.check_targets(d.y.data(), n, width);
    std::vector<double> out(n);
    for (std::size_t i = 0; i < n; ++i)
        out[i] = loss.evaluate(outputs.data() + i * width, d.y.data() + i * target_width, 1, width,
                               static_cast<T*>(nullptr), T(1));
    return out;
}

// The same for a network: one predict pass (batch_size{n} and threads{n} pass through).
template <class T, class Input, class... Layers, class Loss, class... Options>
std::vector<double> per_sample_losses(const basic_sequential<T, Input, Layers...>& net,
                                      const data::dataset<T>& d, const Loss& loss,
                                      const Options&... options) {
    return per_sample_losses(predict(net, d.x, options...), d, loss);
}

namespace detail::audit {

inline std::string indices_text(const image_list& list) {
    std::vector<std::string> shown;
    for (const std::size_t i : list.examples) shown.push_back(std::to_string(i));
    return diagnosis::detail::listing(shown, list.count);
}

inline std::string pairs_text(const duplicate_list& list, const char* first, const char* second) {
    std::vector<std::string> shown;
    for (const auto& p : list.examples)
        shown.push_back(std::string(first) + " " + std::to_string(p.first) + " = " + second + " " +
                        std::to_string(p.second) +
                        (p.residual > 0 ? " (" + diagnosis::detail::percent(p.residual, 2) + ")" : ""));
    return diagnosis::detail::listing(shown, list.count);
}

// "3 exact copies: train 5 = test 17, ..." or "no exact copies".
inline std::string count_text(const duplicate_list& list, const std::string& what, const char* first,
                              const char* second) {
    if (list.count == 0) return "no " + what;
    return std::to_string(list.count) + " " + what + ": " + pairs_text(list, first, second);
}

}  // namespace detail::audit

// The audit's problems as findings (none for a clean report).
inline std::vector<finding> findings_of(const audit_report& r) {
    namespace dd = diagnosis::detail;
    namespace da = detail::audit;
    std::vector<finding> out;
    const double range = r.options.max_value - r.options.min_value;
    const std::string range_text =
        "[" + dd::number(r.options.min_value) + ", " + dd::number(r.options.max_value) + "]";

    // Train/test copies.
    if (r.has_test && r.test_images_in_train > 0) {
        const double fraction =
            static_cast<double>(r.test_images_in_train) / static_cast<double>(r.test.images);
        finding f{.kind = finding_kind::data_leak};
        f.level = fraction >= diagnosis::leak_fraction_error ? severity::error
                  : r.exact_train_test.count > 0             ? severity::warning
                                                             : severity::info;
        f.score = fraction / diagnosis::leak_fraction_error;
        f.summary = std::to_string(r.test_images_in_train) + " test images (" + dd::percent(fraction) +
                    " of the test set) have a copy in the training data";
        f.evidence =
            da::count_text(r.exact_train_test, "exact copies", "train", "test") + "; " +
            da::count_text(r.near_train_test,
                           "near copies (RMS difference after matching brightness and contrast at most " +
                               dd::percent(r.options.near_duplicate_residual) + " of the range)",
                           "train", "test") +
            "; an error from " + dd::percent(diagnosis::leak_fraction_error) + " of the test set";
        f.advice =
            "remove the copies from the training data (or from the test set) before trusting test accuracy: "
            "the model has seen these answers. Split by source (one product, patient or scene on one side "
            "only); st::data::train_test_split on de-duplicated data";
        for (const auto& p : r.exact_train_test.examples) f.indices.push_back(p.first);
        for (const auto& p : r.near_train_test.examples) f.indices.push_back(p.first);
        if (f.level == severity::info)
            f.summary += ", all near copies and fewer than " + dd::percent(diagnosis::leak_fraction_error) +
                         ": likely the same object photographed twice";
        out.push_back(std::move(f));
    }
    // Repeats within training.
    if (r.train_images_repeated > 0) {
        const double fraction =
            static_cast<double>(r.train_images_repeated) / static_cast<double>(r.train.images);
        finding f{.kind = finding_kind::duplicates};
        f.level = fraction >= diagnosis::duplicate_fraction_warning ? severity::warning : severity::info;
        f.score = fraction / diagnosis::duplicate_fraction_warning;
        f.summary = std::to_string(r.train_images_repeated) + " training images (" + dd::percent(fraction) +
                    ") repeat an earlier training image";
        f.evidence = da::count_text(r.exact_within_train, "exact pairs", "train", "train") + "; " +
                     da::count_text(r.near_within_train, "near pairs", "train", "train") +
                     "; a warning from " + dd::percent(diagnosis::duplicate_fraction_warning);
        f.advice =
            "drop the repeats, or split validation data so that all copies of an image fall on one side "
            "(otherwise validation scores are inflated)";
        for (const auto& p : r.exact_within_train.examples) f.indices.push_back(p.second);
        for (const auto& p : r.near_within_train.examples) f.indices.push_back(p.second);
        out.push_back(std::move(f));
    }
    // Per-set image problems.
    const auto per_set = [&](const image_audit& a, const char* set) {
        if (a.non_finite.count > 0) {
            // any non-finite pixel is an error: training cannot use the image
            finding f{.kind = finding_kind::non_finite, .level = severity::error};
            f.score = 1 + static_cast<double>(a.non_finite.count) / static_cast<double>(a.images);
            f.summary =
                std::to_string(a.non_finite.count) + " " + set + " images hold NaN or infinite pixels";
            f.evidence = std::string(set) + " images " + da::indices_text(a.non_finite);
            f.advice =
                "fix or drop them: fit and predict refuse non-finite samples, and one NaN in a batch "
                "turns every weight it reaches into NaN";
            f.indices = a.non_finite.examples;
            out.push_back(std::move(f));
        }
        if (a.out_of_range.count > 0) {
            const double fraction = static_cast<double>(a.out_of_range.count) / static_cast<double>(a.images);
            finding f{.kind = finding_kind::bad_pixels};
            f.level =
                fraction >= diagnosis::out_of_range_fraction_error ? severity::error : severity::warning;
            f.score = fraction / diagnosis::out_of_range_fraction_error;
            f.summary = std::to_string(a.out_of_range.count) + " " + set + " images have pixels outside " +
                        range_text;
            f.evidence = std::string(set) + " images " + da::indices_text(a.out_of_range) +
                         "; pixels seen span [" + dd::number(a.min_pixel) + ", " + dd::number(a.max_pixel) +
                         "]";
            f.advice = fraction >= diagnosis::out_of_range_fraction_error
                           ? "the data is on another scale than expected: divide 0..255 pixels by 255 "
                             "(augment::rescale{1.0 / 255}), or pass the range you use in audit_options"
                           : "clip or fix those images; a few extreme pixels dominate a convolution's output";
            f.indices = a.out_of_range.examples;
            out.push_back(std::move(f));
        }
        if (a.blank.count > 0) {
            // any blank image is a warning: real images are never flat, so a loading step failed
            finding f{.kind = finding_kind::blank_images, .level = severity::warning};
            f.score = 1 + static_cast<double>(a.blank.count) / static_cast<double>(a.images);
            f.summary = std::to_string(a.blank.count) + " " + set + " images are blank or constant";
            f.evidence = std::string(set) + " images " + da::indices_text(a.blank) +
                         "; pixel standard deviation below " + dd::percent(r.options.blank_std) +
                         " of the range (" + dd::number(r.options.blank_std * range) + ")";
            f.advice =
                "drop them or find the loading step that produced them (an unreadable file, a failed "
                "crop); a blank image with a label teaches the model that label's prior";
            f.indices = a.blank.examples;
            out.push_back(std::move(f));
        }
    };
    per_set(r.train, "training");
    if (r.has_test) per_set(r.test, "test");
    sort_findings(out);
    return out;
}

// Likely mislabelled samples as a finding (none when no sample is above the threshold).
inline std::vector<finding> findings_of(const mislabel_candidates& m) {
    namespace dd = diagnosis::detail;
    if (m.above_threshold == 0 || m.examined == 0) return {};
    const double fraction = static_cast<double>(m.above_threshold) / static_cast<double>(m.examined);
    finding f{.kind = finding_kind::likely_mislabelled};
    f.level = fraction >= diagnosis::mislabel_fraction_warning ? severity::warning : severity::info;
    f.score = fraction / diagnosis::mislabel_fraction_warning;
    f.summary = std::to_string(m.above_threshold) + " samples (" + dd::percent(fraction) +
                ") have a loss the trained model finds implausible: likely mislabelled";
    std::vector<std::string> shown;
    for (std::size_t r = 0; r < m.indices.size() && r < 20; ++r)
        shown.push_back(std::to_string(m.indices[r]) + " (" + dd::number(m.losses[r]) + ")");
    f.evidence = "loss above " + dd::number(m.threshold) + " (median " + dd::number(m.median) + " + " +
                 dd::number(diagnosis::mislabel_mad_factor) + " x " + dd::number(diagnosis::mad_to_sigma) +
                 " x MAD " + dd::number(m.mad) +
                 ", at least log(classes)); highest: " + dd::listing(shown, m.above_threshold) +
                 "; a warning from " + dd::percent(diagnosis::mislabel_fraction_warning) +
                 " of the samples. A model that underfits also leaves many samples here";
    f.advice =
        "look at these samples first: relabel or drop the wrong ones. Compute the losses with a model "
        "from before it memorised the training set (early_stopping with restore_best_weights), since "
        "memorised labels no longer stand out";
    f.indices = m.indices;
    return {std::move(f)};
}

}  // namespace strata
