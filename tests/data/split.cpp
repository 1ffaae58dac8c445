// Splits and resampling against scikit-learn and imbalanced-learn
// (references written by split_reference.py at test time): StratifiedKFold's
// and KFold's folds index for index, StratifiedShuffleSplit's class counts,
// RandomOverSampler's and RandomUnderSampler's counts and layout; then the
// data-set forms and the errors.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <strata/data/split.hpp>

namespace st = strata;
namespace sd = strata::data;
namespace fs = std::filesystem;

namespace {

// reference.txt: "key value value ..." per line.
class references {
public:
    references() {
        const char* root = std::getenv("STRATA_SPLIT_DIR");
        REQUIRE_MESSAGE(root != nullptr, "STRATA_SPLIT_DIR is not set: ctest runs split_reference.py first");
        std::ifstream in(fs::path(root) / "reference.txt");
        REQUIRE_MESSAGE(in, "missing " << fs::path(root) / "reference.txt");
        std::string line;
        while (std::getline(in, line)) {
            std::istringstream words(line);
            std::string key, word;
            words >> key;
            auto& values = entries_[key];
            while (words >> word) values.push_back(word);
        }
    }
    bool has(const std::string& key) const { return entries_.contains(key); }
    std::vector<double> numbers(const std::string& key) const {
        const auto it = entries_.find(key);
        REQUIRE_MESSAGE(it != entries_.end(), "no reference " << key);
        std::vector<double> out;
        for (const auto& w : it->second) out.push_back(w == "nan" ? std::nan("") : std::stod(w));
        return out;
    }
    std::vector<std::size_t> indices(const std::string& key) const {
        std::vector<std::size_t> out;
        for (const double v : numbers(key)) out.push_back(static_cast<std::size_t>(v));
        return out;
    }

private:
    std::map<std::string, std::vector<std::string>> entries_;
};

const references& ref() {
    static const references r;
    return r;
}

const char* const cases[] = {"imbalanced", "unsorted", "singleton", "sorted_binary", "ties", "large"};

std::vector<std::size_t> counts_of(const std::vector<std::size_t>& labels, const std::vector<std::size_t>& at,
                                   std::size_t classes) {
    std::vector<std::size_t> c(classes, 0);
    for (const std::size_t i : at) ++c[labels[i]];
    return c;
}

// train and test are disjoint and together every index below n once.
void check_partition(const sd::index_split& s, std::size_t n) {
    std::vector<int> seen(n, 0);
    for (const std::size_t i : s.train) ++seen[i];
    for (const std::size_t i : s.test) ++seen[i];
    CHECK(std::all_of(seen.begin(), seen.end(), [](int v) { return v == 1; }));
}

std::vector<std::size_t> complement(const std::vector<std::size_t>& test, std::size_t n) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < n; ++i)
        if (std::find(test.begin(), test.end(), i) == test.end()) out.push_back(i);
    return out;
}

// x holds the sample's index in every value, y its class: rows are traceable.
sd::dataset<float> traceable(const std::vector<std::size_t>& labels) {
    sd::dataset<float> d;
    d.x = xt::xtensor<float, 4>::from_shape({labels.size(), 2, 2, 1});
    d.y = xt::xtensor<float, 2>::from_shape({labels.size(), 1});
    for (std::size_t i = 0; i < labels.size(); ++i) {
        for (std::size_t k = 0; k < 4; ++k) d.x.data()[i * 4 + k] = float(i);
        d.y.data()[i] = float(labels[i]);
    }
    return d;
}

}  // namespace

TEST_CASE("stratified_kfold without shuffle holds exactly sklearn's samples in every fold") {
    for (const std::string name : cases) {
        const auto labels = ref().indices(name + ".labels");
        for (const std::size_t k : {2, 3, 5}) {
            const std::string key = name + ".skf" + std::to_string(k);
            CAPTURE(key);
            if (!ref().has(key + ".test0")) {
                // sklearn only warns; strata refuses a class smaller than the fold count.
                CHECK_THROWS_WITH_AS(sd::stratified_kfold(labels, k), doctest::Contains("fewer than the"),
                                     st::usage_error);
                continue;
            }
            const auto folds = sd::stratified_kfold(labels, k);
            REQUIRE(folds.size() == k);
            for (std::size_t f = 0; f < k; ++f) {
                CAPTURE(f);
                const auto expected = ref().indices(key + ".test" + std::to_string(f));
                CHECK(folds[f].test == expected);
                CHECK(folds[f].train == complement(expected, labels.size()));
            }
        }
    }
}

TEST_CASE("stratified_kfold with shuffle: each fold has sklearn's count of each class") {
    for (const std::string name : cases) {
        const auto labels = ref().indices(name + ".labels");
        const auto classes = ref().indices(name + ".classes").at(0);
        for (const std::size_t k : {2, 3, 5}) {
            const std::string key = name + ".skf" + std::to_string(k) + ".counts";
            if (!ref().has(key)) continue;
            CAPTURE(key);
            const auto expected = ref().indices(key);
            for (const std::uint64_t seed : {0u, 1u, 2u, 3u}) {
                const auto folds = sd::stratified_kfold(labels, k, true, seed);
                std::vector<std::size_t> got;
                for (const auto& f : folds) {
                    check_partition(f, labels.size());
                    CHECK(std::is_sorted(f.test.begin(), f.test.end()));
                    const auto c = counts_of(labels, f.test, classes);
                    got.insert(got.end(), c.begin(), c.end());
                }
                CHECK(got == expected);
            }
            // Shuffled folds differ from the ordered ones and depend on the seed.
            CHECK(sd::stratified_kfold(labels, k, true, 1)[0].test !=
                  sd::stratified_kfold(labels, k)[0].test);
            CHECK(sd::stratified_kfold(labels, k, true, 1)[0].test ==
                  sd::stratified_kfold(labels, k, true, 1)[0].test);
        }
    }
}

TEST_CASE("kfold has sklearn's folds; shuffled, the same sizes") {
    for (const std::string name : cases) {
        const std::size_t n = ref().indices(name + ".labels").size();
        for (const std::size_t k : {3, 5}) {
            const std::string key = name + ".kfold" + std::to_string(k);
            CAPTURE(key);
            const auto folds = sd::kfold(n, k), shuffled = sd::kfold(n, k, true, 7);
            for (std::size_t f = 0; f < k; ++f) {
                const auto expected = ref().indices(key + ".test" + std::to_string(f));
                CHECK(folds[f].test == expected);
                CHECK(folds[f].train == complement(expected, n));
                CHECK(shuffled[f].test.size() == expected.size());
                CHECK(std::is_sorted(shuffled[f].test.begin(), shuffled[f].test.end()));
                check_partition(shuffled[f], n);
            }
        }
    }
}

TEST_CASE("train_test_split: sklearn's sizes, and stratified, sklearn's class counts") {
    for (const std::string name : cases) {
        const auto labels = ref().indices(name + ".labels");
        const auto classes = ref().indices(name + ".classes").at(0);
        for (std::size_t i = 0; ref().has(name + ".tts" + std::to_string(i) + ".fraction"); ++i) {
            const std::string key = name + ".tts" + std::to_string(i);
            CAPTURE(key);
            const double fraction = ref().numbers(key + ".fraction").at(0);
            const auto sizes = ref().indices(key + ".sizes");
            const auto plain = sd::train_test_split(labels, fraction, 5);
            CHECK(plain.train.size() == sizes[0]);
            CHECK(plain.test.size() == sizes[1]);
            check_partition(plain, labels.size());
            if (!ref().has(key + ".outcomes")) {
                CHECK_THROWS_AS(sd::train_test_split(labels, fraction, 5, true), st::usage_error);
                continue;
            }
            // sklearn breaks ties between equal remainders at random: strata's
            // counts must be one of the outcomes sklearn produced (the only one
            // when there is no tie).
            const auto flat = ref().indices(key + ".outcomes");
            const std::size_t row = 2 * classes;
            std::set<std::vector<std::size_t>> outcomes;
            for (std::size_t at = 0; at < flat.size(); at += row)
                outcomes.emplace(flat.begin() + long(at), flat.begin() + long(at + row));
            CHECK(outcomes.size() == ref().indices(key + ".outcome_count").at(0));
            std::set<std::vector<std::size_t>> seen;
            for (std::uint64_t seed = 0; seed < 40; ++seed) {
                const auto s = sd::train_test_split(labels, fraction, seed, true);
                check_partition(s, labels.size());
                auto counts = counts_of(labels, s.train, classes);
                const auto test = counts_of(labels, s.test, classes);
                counts.insert(counts.end(), test.begin(), test.end());
                CHECK_MESSAGE(outcomes.contains(counts), "seed " << seed);
                seen.insert(counts);
            }
            if (outcomes.size() > 1) CHECK(seen.size() > 1);  // ties are broken at random here too
        }
    }
}

TEST_CASE("random_oversample and random_undersample: imbalanced-learn's counts and layout") {
    for (const std::string name : cases) {
        CAPTURE(name);
        const auto labels = ref().indices(name + ".labels");
        const auto classes = ref().indices(name + ".classes").at(0);
        const std::size_t n = labels.size();

        const auto over = sd::random_oversample(labels, classes, 3);
        const auto imblearn_over = ref().indices(name + ".over.sample_indices");
        CHECK(counts_of(labels, over, classes) == ref().indices(name + ".over.counts"));
        REQUIRE(over.size() == imblearn_over.size());
        for (std::size_t i = 0; i < n; ++i) CHECK(over[i] == i);  // the originals first, in order
        for (std::size_t i = n; i < over.size(); ++i)             // then draws, class by class
            CHECK(labels[over[i]] == labels[imblearn_over[i]]);

        const auto under = sd::random_undersample(labels, classes, 3);
        const auto under_counts = ref().indices(name + ".under.counts");
        CHECK(counts_of(labels, under, classes) == under_counts);
        std::vector<std::size_t> grouped;  // imbalanced-learn's order: class by class
        for (std::size_t c = 0; c < classes; ++c) grouped.insert(grouped.end(), under_counts[c], c);
        std::vector<std::size_t> under_labels;
        for (const std::size_t i : under) under_labels.push_back(labels[i]);
        CHECK(under_labels == grouped);
        CHECK(std::set<std::size_t>(under.begin(), under.end()).size() == under.size());  // no repeats
        const auto minority = ref().indices(name + ".under.minority");
        std::vector<std::size_t> got_minority;
        for (const std::size_t i : under)
            if (labels[i] == labels[minority[0]]) got_minority.push_back(i);
        CHECK(got_minority == minority);  // the minority's samples, untouched and in order
    }
}

TEST_CASE("the data-set forms carry each sample's image with its target") {
    const auto labels = ref().indices("imbalanced.labels");
    const auto d = traceable(labels);
    auto row_of = [](const sd::dataset<float>& s, std::size_t k) {
        return std::size_t(s.x.data()[k * 4 + 3]);
    };
    auto check_rows = [&](const sd::dataset<float>& s, const std::vector<std::size_t>& expected) {
        REQUIRE(s.size() == expected.size());
        REQUIRE(s.y.shape()[0] == expected.size());
        for (std::size_t k = 0; k < s.size(); ++k) {
            CHECK(row_of(s, k) == expected[k]);
            CHECK(s.y.data()[k] == float(labels[expected[k]]));
        }
    };
    const auto s = sd::train_test_split(d, 0.25, 9, true);
    const auto is = sd::train_test_split(labels, 0.25, 9, true);
    check_rows(s.train, is.train);
    check_rows(s.test, is.test);
    const auto plain = sd::train_test_split(d, 0.25, 9);
    check_rows(plain.test, sd::train_test_split(labels, 0.25, 9).test);
    check_rows(sd::random_oversample(d, 4, 1), sd::random_oversample(labels, 4, 1));
    check_rows(sd::random_undersample(d, 4, 1), sd::random_undersample(labels, 4, 1));
    CHECK(sd::stratified_kfold(d, 3, true, 2)[1].test == sd::stratified_kfold(labels, 3, true, 2)[1].test);
    CHECK(sd::class_labels(d) == labels);
    CHECK(sd::class_counts(sd::random_oversample(d, 4, 1), 4) == std::vector<std::size_t>{30, 30, 30, 30});
    CHECK(sd::class_counts(sd::random_undersample(d, 4, 1), 4) == std::vector<std::size_t>{5, 5, 5, 5});

    // One-hot targets stratify by their largest entry.
    sd::dataset<float> one_hot = d;
    one_hot.y = xt::xtensor<float, 2>::from_shape({labels.size(), 4});
    std::fill(one_hot.y.begin(), one_hot.y.end(), 0.0f);
    for (std::size_t i = 0; i < labels.size(); ++i) one_hot.y(i, labels[i]) = 1.0f;
    CHECK(sd::class_labels(one_hot) == labels);
    CHECK(sd::stratified_kfold(one_hot, 5)[2].test == sd::stratified_kfold(labels, 5)[2].test);
    // The same seed gives the same split; another seed another one.
    CHECK(sd::train_test_split(labels, 0.3, 4, true).test == sd::train_test_split(labels, 0.3, 4, true).test);
    CHECK(sd::train_test_split(labels, 0.3, 4, true).test != sd::train_test_split(labels, 0.3, 5, true).test);
}

TEST_CASE("bad arguments are usage errors that say what was expected") {
    const std::vector<std::size_t> labels{0, 1, 0, 1, 0, 1, 2, 2, 0, 1};
    using doctest::Contains;
    CHECK_THROWS_WITH_AS(sd::stratified_kfold(labels, 1), "stratified_kfold: folds is 1; expected at least 2",
                         st::usage_error);
    CHECK_THROWS_WITH_AS(sd::kfold(10, 0), "kfold: folds is 0; expected at least 2", st::usage_error);
    CHECK_THROWS_WITH_AS(sd::kfold(3, 5),
                         "kfold: 3 samples cannot fill 5 folds; expected at least one sample per fold",
                         st::usage_error);
    CHECK_THROWS_WITH_AS(
        sd::stratified_kfold(labels, 3),
        "stratified_kfold: class 2 has 2 samples, fewer than the 3 folds; every class needs at "
        "least one sample per fold (use fewer folds)",
        st::usage_error);
    for (const double bad : {0.0, 1.0, -0.2, 1.5, std::nan("")})
        CHECK_THROWS_WITH_AS(sd::train_test_split(labels, bad, 0), Contains("expected a fraction in (0, 1)"),
                             st::usage_error);
    CHECK_THROWS_WITH_AS(
        sd::train_test_split(labels, 0.95, 0),
        "train_test_split: with 10 samples and test_fraction 0.95 the training part would be empty",
        st::usage_error);
    CHECK_THROWS_WITH_AS(sd::train_test_split(std::vector<std::size_t>{}, 0.5, 0),
                         "train_test_split: there are no samples to split", st::usage_error);
    CHECK_THROWS_WITH_AS(
        sd::train_test_split(std::vector<std::size_t>{0, 0, 1, 1, 2}, 0.4, 0, true),
        "train_test_split: class 2 has only 1 sample; a stratified split needs at least 2 in every "
        "class",
        st::usage_error);
    CHECK_THROWS_WITH_AS(sd::train_test_split(labels, 0.2, 0, true),
                         "train_test_split: the test part would hold 2 samples, fewer than the 3 classes; a "
                         "stratified split needs one of each",
                         st::usage_error);
    CHECK_THROWS_WITH_AS(sd::random_oversample(labels, 2, 0),
                         "random_oversample: sample 6 has class 2, expected a class below 2",
                         st::usage_error);
    CHECK_THROWS_WITH_AS(sd::random_undersample(labels, 0, 0),
                         "random_undersample: classes is 0; expected at least 1", st::usage_error);
    CHECK_THROWS_WITH_AS(
        sd::random_undersample(std::vector<std::size_t>{3, 3, 3}, 5, 0),
        "random_undersample: the labels hold only class 3; resampling needs at least two classes",
        st::usage_error);
    CHECK_THROWS_WITH_AS(
        sd::random_oversample(std::vector<std::size_t>{}, 5, 0),
        "random_oversample: the labels hold no samples; resampling needs at least two classes",
        st::usage_error);

    auto d = traceable(labels);
    d.y.data()[4] = 1.5f;
    CHECK_THROWS_WITH_AS(
        sd::random_oversample(d, 3, 0),
        "random_oversample: sample 4 has the target 1.5; expected a whole class index >= 0 (or "
        "one-hot rows)",
        st::usage_error);
    d.y.data()[4] = -1.0f;
    CHECK_THROWS_WITH_AS(sd::class_labels(d), Contains("sample 4 has the target -1"), st::usage_error);
    d.y.data()[4] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH_AS(sd::train_test_split(d, 0.5, 0, true),
                         Contains("train_test_split: sample 4 has the target nan"), st::usage_error);
    CHECK_NOTHROW(sd::train_test_split(d, 0.5, 0));  // unstratified splits never read the targets
    const std::vector<std::size_t> out_of_range{0, 10};
    CHECK_THROWS_WITH_AS(sd::subset(d, out_of_range),
                         "subset: index 1 is 10, expected an index below the data set's 10 samples",
                         st::usage_error);
}
