// Tests for the Fashion-MNIST loader, the directory lookup, and the dataset helpers, on the real
// installed files and on small or corrupted files written here.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <zlib.h>

#include <support/idx_files.hpp>

#include "strata/data/dataset.hpp"
#include "strata/data/fashion_mnist.hpp"

namespace {

using namespace strata::testing;
using strata::data_error;
using strata::usage_error;
using strata::data::class_counts;
using strata::data::dataset;
using strata::data::fashion_mnist;
using strata::data::fashion_mnist_set;
using strata::data::load_idx_images_labels;
using strata::data::take;

const fs::path real_dir = "/usr/share/datasets/fashion-mnist";

// Sets or clears STRATA_DATA for one scope and restores the caller's value afterwards.
struct strata_data_env {
    std::optional<std::string> saved;
    explicit strata_data_env(const std::optional<fs::path>& value) {
        if (const char* old = std::getenv("STRATA_DATA")) {
            saved = old;
        }
        if (value) {
            setenv("STRATA_DATA", value->c_str(), 1);
        } else {
            unsetenv("STRATA_DATA");
        }
    }
    strata_data_env(const strata_data_env&) = delete;
    strata_data_env& operator=(const strata_data_env&) = delete;
    ~strata_data_env() {
        if (saved) {
            setenv("STRATA_DATA", saved->c_str(), 1);
        } else {
            unsetenv("STRATA_DATA");
        }
    }
};

// Loaded once through the no-argument call, so the default location is what is tested.
const fashion_mnist_set& real_set() {
    static const fashion_mnist_set set = [] {
        strata_data_env env(std::nullopt);
        return fashion_mnist();
    }();
    return set;
}

// A small MNIST-format pair: pixel j of image i is (i * 7 + j) % 256, label i is i % num_classes.
struct small_pair {
    bytes images, labels;
    small_pair(std::uint32_t n, std::uint32_t rows, std::uint32_t cols, std::uint32_t num_classes) {
        bytes px(std::size_t{n} * rows * cols), lb(n);
        for (std::size_t i = 0; i < n; ++i) {
            for (std::size_t j = 0; j < std::size_t{rows} * cols; ++j) {
                px[i * rows * cols + j] = static_cast<std::uint8_t>((i * 7 + j) % 256);
            }
            lb[i] = static_cast<std::uint8_t>(i % num_classes);
        }
        images = idx_bytes({n, rows, cols}, px);
        labels = idx_bytes({n}, lb);
    }
};

// Writes a tiny Fashion-MNIST look-alike into dir, mixing raw and .gz names.
void write_small_fashion_mnist(const fs::path& dir, std::uint32_t n_train, std::uint32_t n_test) {
    fs::create_directories(dir);
    const small_pair train(n_train, 28, 28, 10), test(n_test, 28, 28, 10);
    write_gz(dir / "train-images-idx3-ubyte.gz", train.images);
    write_raw(dir / "train-labels-idx1-ubyte", train.labels);
    write_raw(dir / "t10k-images-idx3-ubyte", test.images);
    write_gz(dir / "t10k-labels-idx1-ubyte.gz", test.labels);
}

}  // namespace

TEST_CASE("fashion_mnist: real data has the documented shapes, ranges and class balance") {
    const auto& fm = real_set();
    REQUIRE(fm.train.size() == 60000);
    REQUIRE(fm.test.size() == 10000);
    for (const auto* d : {&fm.train, &fm.test}) {
        CHECK(d->x.shape()[1] == 28);
        CHECK(d->x.shape()[2] == 28);
        CHECK(d->x.shape()[3] == 1);
        CHECK(d->sample_size() == 784);
        CHECK(d->target_width() == 1);
        CHECK(d->y.shape()[0] == d->size());
        const auto [lo, hi] = std::minmax_element(d->x.data(), d->x.data() + d->x.size());
        CHECK(*lo == 0.0f);
        CHECK(*hi == 1.0f);
        const auto [llo, lhi] = std::minmax_element(d->y.data(), d->y.data() + d->y.size());
        CHECK(*llo == 0.0f);
        CHECK(*lhi == 9.0f);
    }
    CHECK(class_counts(fm.train, 10) == std::vector<std::size_t>(10, 6000));
    CHECK(class_counts(fm.test, 10) == std::vector<std::size_t>(10, 1000));
    CHECK(fm.class_names[9] == "Ankle boot");
    CHECK(fm.class_names[0] == "T-shirt/top");
}

TEST_CASE("fashion_mnist: real data equals an independent zlib read of the files") {
    const auto& fm = real_set();
    struct part {
        const dataset<float>* d;
        const char* images;
        const char* labels;
    };
    for (const part& p : {part{&fm.train, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"},
                          part{&fm.test, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}}) {
        CAPTURE(p.images);
        const bytes img = gunzip_file(real_dir / p.images);
        const bytes lab = gunzip_file(real_dir / p.labels);
        REQUIRE(img.size() == 16 + p.d->x.size());
        REQUIRE(lab.size() == 8 + p.d->y.size());
        const float* x = p.d->x.data();
        std::size_t pixel_mismatches = 0;
        for (std::size_t i = 0; i < p.d->x.size(); ++i) {
            pixel_mismatches += x[i] != static_cast<float>(img[16 + i]) / 255.0f;
        }
        CHECK(pixel_mismatches == 0);
        const float* y = p.d->y.data();
        std::size_t label_mismatches = 0;
        for (std::size_t i = 0; i < p.d->y.size(); ++i) {
            label_mismatches += y[i] != static_cast<float>(lab[8 + i]);
        }
        CHECK(label_mismatches == 0);
    }
}

TEST_CASE("fashion_mnist: known samples, read off the files with zcat/xxd and Python's gzip") {
    const auto& fm = real_set();
    // Train labels 0..11: 09 00 00 03 00 02 07 02 05 05 00 09.
    const std::vector<float> train_head{9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9};
    for (std::size_t i = 0; i < train_head.size(); ++i) {
        CHECK(fm.train.y(i, 0) == train_head[i]);
    }
    CHECK(fm.class_names[static_cast<std::size_t>(fm.train.y(0, 0))] == "Ankle boot");
    // Last five train labels 05 01 03 00 05; last five test labels 09 01 08 01 05.
    const std::vector<float> train_tail{5, 1, 3, 0, 5}, test_tail{9, 1, 8, 1, 5};
    for (std::size_t i = 0; i < 5; ++i) {
        CHECK(fm.train.y(59995 + i, 0) == train_tail[i]);
        CHECK(fm.test.y(9995 + i, 0) == test_tail[i]);
    }
    // Test labels 0..3: 09 02 01 01.
    CHECK(fm.test.y(0, 0) == 9.0f);
    CHECK(fm.test.y(1, 0) == 2.0f);
    CHECK(fm.test.y(3, 0) == 1.0f);

    // Train image 0: first non-zero pixel is (3,12)=1, (3,16)=73, row 14 holds 237 at col 12 and 255 at
    // col 25.
    CHECK(fm.train.x(0, 3, 11, 0) == 0.0f);
    CHECK(fm.train.x(0, 3, 12, 0) == 1.0f / 255.0f);
    CHECK(fm.train.x(0, 3, 16, 0) == 73.0f / 255.0f);
    CHECK(fm.train.x(0, 14, 12, 0) == 237.0f / 255.0f);
    CHECK(fm.train.x(0, 14, 25, 0) == 1.0f);
    CHECK(fm.train.x(0, 14, 27, 0) == 0.0f);
    // Byte sums: train image 0 = 76247, last train image = 16684, test image 0 = 33456.
    auto byte_sum = [](const dataset<float>& d, std::size_t i) {
        double s = 0;
        const float* p = d.x.data() + i * d.sample_size();
        for (std::size_t j = 0; j < d.sample_size(); ++j) {
            s += std::round(p[j] * 255.0f);
        }
        return s;
    };
    CHECK(byte_sum(fm.train, 0) == 76247.0);
    CHECK(byte_sum(fm.train, 59999) == 16684.0);
    CHECK(byte_sum(fm.test, 0) == 33456.0);
}

TEST_CASE("load_idx_images_labels: raw and gzipped small pairs load with exact values") {
    temp_dir dir;
    const small_pair pair(5, 3, 4, 3);
    write_raw(dir / "img", pair.images);
    write_gz(dir / "lab.gz", pair.labels);
    const auto d = load_idx_images_labels(dir / "img", dir / "lab.gz", 3);
    REQUIRE(d.x.shape() == std::array<std::size_t, 4>{5, 3, 4, 1});
    REQUIRE(d.y.shape() == std::array<std::size_t, 2>{5, 1});
    CHECK(d.x(2, 1, 3, 0) == static_cast<float>((2 * 7 + 1 * 4 + 3) % 256) / 255.0f);
    CHECK(d.x(4, 2, 0, 0) == static_cast<float>((4 * 7 + 2 * 4) % 256) / 255.0f);
    CHECK(d.y(4, 0) == 1.0f);
    CHECK(class_counts(d, 3) == std::vector<std::size_t>{2, 2, 1});
}

TEST_CASE("load_idx_images_labels: wrong ranks, count mismatch, label out of range") {
    temp_dir dir;
    const small_pair pair(6, 2, 2, 10);

    SUBCASE("images file of rank 1") {
        write_raw(dir / "labels-as-images", pair.labels);
        write_raw(dir / "labels", pair.labels);
        const auto msg =
            error_of([&] { load_idx_images_labels(dir / "labels-as-images", dir / "labels", 10); });
        CHECK_HAS(msg, (dir / "labels-as-images").string());
        CHECK_HAS(msg, "rank: expected 3 dimensions (count, rows, cols) for images, found 1");
    }
    SUBCASE("labels file of rank 2, gzipped") {
        write_gz(dir / "images.gz", pair.images);
        write_gz(dir / "labels2.gz", idx_bytes({6, 1}, {0, 1, 2, 3, 4, 5}));
        const auto msg = error_of([&] { load_idx_images_labels(dir / "images.gz", dir / "labels2.gz", 10); });
        CHECK_HAS(msg, (dir / "labels2.gz").string());
        CHECK_HAS(msg, "rank: expected 1 dimension (count) for labels, found 2");
    }
    SUBCASE("image count differs from label count") {
        write_raw(dir / "images", pair.images);
        write_gz(dir / "labels.gz", idx_bytes({4}, {0, 1, 2, 3}));
        const auto msg = error_of([&] { load_idx_images_labels(dir / "images", dir / "labels.gz", 10); });
        CHECK_HAS(msg, (dir / "images").string());
        CHECK_HAS(msg, (dir / "labels.gz").string());
        CHECK_HAS(msg, "image count 6");
        CHECK_HAS(msg, "does not match label count 4");
    }
    SUBCASE("label out of range, raw and gzipped") {
        write_raw(dir / "images", pair.images);
        const bytes bad = idx_bytes({6}, {0, 1, 9, 10, 200, 3});
        write_raw(dir / "bad-labels", bad);
        write_gz(dir / "bad-labels.gz", bad);
        for (const auto& labels : {dir / "bad-labels", dir / "bad-labels.gz"}) {
            const auto msg = error_of([&] { load_idx_images_labels(dir / "images", labels, 10); });
            CHECK_HAS(msg, labels.string());
            CHECK_HAS(msg, "label 3: expected a class index below 10, found 10");
            CHECK_HAS(msg, "first bad label is at index 3");
        }
        // The same file is fine when more classes are allowed.
        CHECK(load_idx_images_labels(dir / "images", dir / "bad-labels", 201).size() == 6);
    }
    SUBCASE("num_classes 0 is a usage error") {
        write_raw(dir / "images", pair.images);
        write_raw(dir / "labels", pair.labels);
        CHECK_THROWS_AS(load_idx_images_labels(dir / "images", dir / "labels", 0), usage_error);
    }
    SUBCASE("IDX errors pass through naming the bad file") {
        write_raw(dir / "labels", pair.labels);
        bytes cut = pair.images;
        cut.resize(cut.size() - 5);
        write_raw(dir / "cut-images", cut);
        const auto msg = error_of([&] { load_idx_images_labels(dir / "cut-images", dir / "labels", 10); });
        CHECK_HAS(msg, (dir / "cut-images").string());
        CHECK_HAS(msg, "expected 24 bytes of data, found 19");
    }
}

TEST_CASE("fashion_mnist: directory lookup") {
    temp_dir dir;

    SUBCASE("empty directory: every searched place and the fix are named") {
        const auto msg = error_of([&] { fashion_mnist(dir.path); });
        CHECK_HAS(msg, "Fashion-MNIST not found");
        CHECK_HAS(msg, "the given directory");
        CHECK_HAS(msg, dir.path.string() +
                           ": missing train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
                           "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]");
        CHECK_HAS(msg, (dir.path / "fashion-mnist").string() + ": no such directory");
        CHECK_HAS(msg, "install Debian's dataset-fashion-mnist, or pass --data DIR / set STRATA_DATA");
    }
    SUBCASE("partial directory lists only what is missing") {
        write_small_fashion_mnist(dir.path, 3, 2);
        fs::remove(dir / "t10k-images-idx3-ubyte");
        const auto msg = error_of([&] { fashion_mnist(dir.path); });
        CHECK_HAS(msg, dir.path.string() + ": missing t10k-images-idx3-ubyte[.gz]\n");
    }
    SUBCASE("files found by either name, directly or in fashion-mnist/") {
        for (const auto& where : {dir.path, dir.path / "fashion-mnist"}) {
            CAPTURE(where);
            write_small_fashion_mnist(where, 7, 4);
            const auto fm = fashion_mnist(dir.path);
            CHECK(fm.train.size() == 7);
            CHECK(fm.test.size() == 4);
            CHECK(fm.train.x(6, 0, 1, 0) == static_cast<float>(6 * 7 + 1) / 255.0f);
            CHECK(fm.test.y(3, 0) == 3.0f);
            fs::remove_all(where);
            fs::create_directories(dir.path);
        }
    }
    SUBCASE("a corrupt file in the chosen directory is reported, not skipped") {
        write_small_fashion_mnist(dir.path, 3, 2);
        write_raw(dir / "t10k-images-idx3-ubyte", {0x1F, 0x8B});
        const auto msg = error_of([&] { fashion_mnist(dir.path); });
        CHECK_HAS(msg, (dir / "t10k-images-idx3-ubyte").string());
    }
}

TEST_CASE("fashion_mnist: STRATA_DATA is used when no directory is given") {
    temp_dir dir;
    write_small_fashion_mnist(dir / "good", 5, 3);
    fs::create_directories(dir / "empty");

    SUBCASE("STRATA_DATA points at the files") {
        strata_data_env env(dir / "good");
        const auto fm = fashion_mnist();
        CHECK(fm.train.size() == 5);
        CHECK(fm.test.size() == 3);
    }
    SUBCASE("STRATA_DATA without the files is reported, not silently replaced") {
        strata_data_env env(dir / "empty");
        const auto msg = error_of([&] { fashion_mnist(); });
        CHECK_HAS(msg, "$STRATA_DATA");
        CHECK_HAS(msg, (dir / "empty").string() + ": missing train-images-idx3-ubyte[.gz]");
        CHECK_HAS(msg, (dir / "empty" / "fashion-mnist").string() + ": no such directory");
        CHECK_HAS(msg, "set STRATA_DATA");
    }
    SUBCASE("an explicit directory wins over STRATA_DATA") {
        strata_data_env env(dir / "empty");
        CHECK(fashion_mnist(dir / "good").train.size() == 5);
    }
}

TEST_CASE("take: copies a prefix and refuses more than the set holds") {
    temp_dir dir;
    const small_pair pair(6, 2, 3, 4);
    write_raw(dir / "i", pair.images);
    write_raw(dir / "l", pair.labels);
    const auto d = load_idx_images_labels(dir / "i", dir / "l", 4);

    const auto t = take(d, 4);
    REQUIRE(t.size() == 4);
    CHECK(t.x.shape() == std::array<std::size_t, 4>{4, 2, 3, 1});
    CHECK(t.y.shape() == std::array<std::size_t, 2>{4, 1});
    CHECK(std::equal(t.x.data(), t.x.data() + t.x.size(), d.x.data()));
    CHECK(std::equal(t.y.data(), t.y.data() + t.y.size(), d.y.data()));

    CHECK(take(d, 6).x == d.x);
    const auto none = take(d, 0);
    CHECK(none.size() == 0);
    CHECK(none.sample_size() == 6);

    const auto msg = error_of<usage_error>([&] { take(d, 7); });
    CHECK_HAS(msg, "asked for 7 samples");
    CHECK_HAS(msg, "holds only 6");

    const auto& fm = real_set();
    const auto head = take(fm.train, 100);
    CHECK(head.size() == 100);
    CHECK(head.y(0, 0) == 9.0f);
    CHECK(head.x(0, 14, 25, 0) == 1.0f);
}

TEST_CASE("class_counts: counts integer labels and rejects anything else") {
    dataset<float> d;
    d.x = xt::xtensor<float, 4>({5, 1, 1, 1}, 0.0f);
    d.y = xt::xtensor<float, 2>({5, 1});
    const float labels[] = {2, 0, 2, 1, 2};
    std::copy(std::begin(labels), std::end(labels), d.y.data());
    CHECK(class_counts(d, 3) == std::vector<std::size_t>{1, 1, 3});
    CHECK(class_counts(d, 5) == std::vector<std::size_t>{1, 1, 3, 0, 0});

    SUBCASE("label equal to num_classes") {
        const auto msg = error_of<usage_error>([&] { class_counts(d, 2); });
        CHECK_HAS(msg, "label 0 is 2");
        CHECK_HAS(msg, "[0, 2)");
    }
    SUBCASE("negative, fractional and NaN labels") {
        for (float bad : {-1.0f, 1.5f, std::numeric_limits<float>::quiet_NaN()}) {
            d.y(3, 0) = bad;
            const auto msg = error_of<usage_error>([&] { class_counts(d, 3); });
            CHECK_HAS(msg, "label 3 is ");
        }
    }
    SUBCASE("targets wider than 1") {
        dataset<float> wide;
        wide.x = xt::xtensor<float, 4>({2, 1, 1, 1}, 0.0f);
        wide.y = xt::xtensor<float, 2>({2, 3}, 0.0f);
        const auto msg = error_of<usage_error>([&] { class_counts(wide, 3); });
        CHECK_HAS(msg, "found width 3");
    }
    SUBCASE("integer label type") {
        dataset<int> di;
        di.x = xt::xtensor<int, 4>({3, 1, 1, 1}, 0);
        di.y = xt::xtensor<int, 2>({3, 1});
        di.y(0, 0) = 1;
        di.y(1, 0) = 1;
        di.y(2, 0) = 0;
        CHECK(class_counts(di, 2) == std::vector<std::size_t>{1, 2});
        di.y(2, 0) = -3;
        CHECK_THROWS_AS(class_counts(di, 2), usage_error);
    }
}
