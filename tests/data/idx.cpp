// Tests for the IDX reader: real Fashion-MNIST files and corrupted copies, raw and gzipped.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <zlib.h>

#include <support/idx_files.hpp>

#include "strata/data/idx.hpp"

namespace {

using namespace strata::testing;
using strata::data_error;
using strata::data::read_idx;

const fs::path real_dir = "/usr/share/datasets/fashion-mnist";

bytes pseudo_random(std::size_t n, std::uint32_t seed = 1) {
    std::mt19937 gen(seed);
    bytes out(n);
    for (auto& b : out) {
        b = static_cast<std::uint8_t>(gen());
    }
    return out;
}

// Writes b as name (raw) and name.gz (gzipped) and returns the error read_idx gives for each.
std::vector<std::pair<fs::path, std::string>> errors_raw_and_gz(const temp_dir& dir, const std::string& name,
                                                                const bytes& b) {
    const fs::path raw = dir / name;
    const fs::path gz = dir / (name + ".gz");
    write_raw(raw, b);
    write_gz(gz, b);
    return {{raw, error_of([&] { read_idx(raw); })}, {gz, error_of([&] { read_idx(gz); })}};
}

}  // namespace

TEST_CASE("read_idx: raw and gzipped files give the same dims and bytes for ranks 1 to 4") {
    temp_dir dir;
    const std::vector<std::vector<std::uint32_t>> shapes{{7}, {3, 5}, {4, 2, 3}, {2, 3, 1, 4}};
    for (const auto& shape : shapes) {
        std::size_t n = 1;
        for (auto d : shape) {
            n *= d;
        }
        const bytes data = pseudo_random(n, static_cast<std::uint32_t>(shape.size()));
        const bytes file = idx_bytes(0x08, shape, data);
        write_raw(dir / "a", file);
        write_gz(dir / "a.gz", file);
        for (const auto& p : {dir / "a", dir / "a.gz"}) {
            CAPTURE(p);
            const auto arr = read_idx(p);
            CHECK(arr.rank() == shape.size());
            CHECK(arr.dims == std::vector<std::size_t>(shape.begin(), shape.end()));
            CHECK(arr.data == data);
        }
    }
}

TEST_CASE("read_idx: real Fashion-MNIST test files match an independent zlib read") {
    const fs::path labels = real_dir / "t10k-labels-idx1-ubyte.gz";
    const fs::path images = real_dir / "t10k-images-idx3-ubyte.gz";
    const bytes raw_labels = gunzip_file(labels);
    const bytes raw_images = gunzip_file(images);

    const auto lab = read_idx(labels);
    CHECK(lab.dims == std::vector<std::size_t>{10000});
    REQUIRE(raw_labels.size() == 8 + 10000);
    CHECK(std::equal(lab.data.begin(), lab.data.end(), raw_labels.begin() + 8));
    // First labels as read off the file with `zcat | xxd`: Ankle boot, Pullover, Trouser, Trouser.
    CHECK(lab.data[0] == 9);
    CHECK(lab.data[1] == 2);
    CHECK(lab.data[2] == 1);
    CHECK(lab.data[3] == 1);

    const auto img = read_idx(images);
    CHECK(img.dims == std::vector<std::size_t>{10000, 28, 28});
    REQUIRE(raw_images.size() == 16 + 10000 * 28 * 28);
    CHECK(std::equal(img.data.begin(), img.data.end(), raw_images.begin() + 16));
}

TEST_CASE("read_idx: missing file, directory, empty and short files") {
    temp_dir dir;
    SUBCASE("missing file") {
        const fs::path p = dir / "nope-idx1-ubyte.gz";
        const auto msg = error_of([&] { read_idx(p); });
        CHECK_HAS(msg, p.string());
        CHECK_HAS(msg, "file not found");
    }
    SUBCASE("directory") {
        const auto msg = error_of([&] { read_idx(dir.path); });
        CHECK_HAS(msg, dir.path.string());
        CHECK_HAS(msg, "expected a regular file");
    }
    SUBCASE("empty file, raw and gzipped") {
        for (const auto& failure : errors_raw_and_gz(dir, "empty", {})) {
            const fs::path& p = failure.first;
            const std::string& msg = failure.second;
            CHECK_HAS(msg, p.string());
            CHECK_HAS(msg, "header");
            CHECK_HAS(msg, "expected 4 bytes of magic number, found 0");
        }
    }
    SUBCASE("header cut inside the magic number and inside the dimensions") {
        for (const auto& failure : errors_raw_and_gz(dir, "short", {0, 0, 8})) {
            const fs::path& p = failure.first;
            const std::string& msg = failure.second;
            CHECK_HAS(msg, p.string());
            CHECK_HAS(msg, "expected 4 bytes of magic number, found 3");
        }
        for (const auto& failure : errors_raw_and_gz(dir, "short_dims", {0, 0, 8, 3, 0, 0, 0, 2, 0, 0})) {
            const fs::path& p = failure.first;
            const std::string& msg = failure.second;
            CHECK_HAS(msg, p.string());
            CHECK_HAS(msg, "expected 12 bytes of dimension sizes for rank 3, found 6");
        }
    }
}

TEST_CASE("read_idx: wrong magic number") {
    temp_dir dir;
    SUBCASE("zip file signature") {
        bytes b{'P', 'K', 3, 4, 0, 0, 0, 1, 42};
        for (const auto& failure : errors_raw_and_gz(dir, "zip", b)) {
            const fs::path& p = failure.first;
            const std::string& msg = failure.second;
            CHECK_HAS(msg, p.string());
            CHECK_HAS(msg, "magic number");
            CHECK_HAS(msg, "expected 0x0000xxxx");
            CHECK_HAS(msg, "found 0x504B0304");
        }
    }
    SUBCASE("only the second byte non-zero") {
        for (const auto& failure : errors_raw_and_gz(dir, "second", {0, 1, 8, 1, 0, 0, 0, 1, 5})) {
            const fs::path& p = failure.first;
            const std::string& msg = failure.second;
            CHECK_HAS(msg, p.string());
            CHECK_HAS(msg, "found 0x00010801");
        }
    }
}

TEST_CASE("read_idx: unsupported data type") {
    temp_dir dir;
    SUBCASE("known IDX type, float") {
        const bytes b = idx_bytes(0x0D, {1}, {0, 0, 0, 0});
        for (const auto& failure : errors_raw_and_gz(dir, "float", b)) {
            const fs::path& p = failure.first;
            const std::string& msg = failure.second;
            CHECK_HAS(msg, p.string());
            CHECK_HAS(msg, "data type");
            CHECK_HAS(msg, "expected 0x08 (unsigned byte), found 0x0D");
            CHECK_HAS(msg, "32-bit float, unsupported");
        }
    }
    SUBCASE("not an IDX type") {
        const bytes b = idx_bytes(0x42, {1}, {0});
        for (const auto& failure : errors_raw_and_gz(dir, "weird", b)) {
            const fs::path& p = failure.first;
            const std::string& msg = failure.second;
            CHECK_HAS(msg, p.string());
            CHECK_HAS(msg, "found 0x42 (not an IDX type)");
        }
    }
}

TEST_CASE("read_idx: rank out of range and zero dimensions") {
    temp_dir dir;
    SUBCASE("rank 0") {
        for (const auto& failure : errors_raw_and_gz(dir, "rank0", {0, 0, 8, 0, 1, 2, 3})) {
            const fs::path& p = failure.first;
            const std::string& msg = failure.second;
            CHECK_HAS(msg, p.string());
            CHECK_HAS(msg, "rank: expected 1 to 4 dimensions, found 0");
        }
    }
    SUBCASE("rank 5") {
        const bytes b = idx_bytes(0x08, {1, 1, 1, 1, 1}, {7});
        for (const auto& failure : errors_raw_and_gz(dir, "rank5", b)) {
            const fs::path& p = failure.first;
            const std::string& msg = failure.second;
            CHECK_HAS(msg, p.string());
            CHECK_HAS(msg, "rank: expected 1 to 4 dimensions, found 5");
        }
    }
    SUBCASE("a dimension of 0") {
        const bytes b = idx_bytes(0x08, {3, 0, 4}, {});
        for (const auto& failure : errors_raw_and_gz(dir, "dim0", b)) {
            const fs::path& p = failure.first;
            const std::string& msg = failure.second;
            CHECK_HAS(msg, p.string());
            CHECK_HAS(msg, "dimension 1: expected at least 1, found 0");
        }
    }
}

TEST_CASE("read_idx: absurd declared sizes fail without allocating them") {
    temp_dir dir;
    SUBCASE("product overflows 64 bits") {
        const bytes b = idx_bytes(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {1, 2, 3});
        for (const auto& failure : errors_raw_and_gz(dir, "overflow", b)) {
            const fs::path& p = failure.first;
            const std::string& msg = failure.second;
            CHECK_HAS(msg, p.string());
            CHECK_HAS(msg, "size: declared shape 4294967295 x 4294967295 x 4294967295 x 4294967295");
            CHECK_HAS(msg, "limit of 2147483648 bytes");
        }
    }
    SUBCASE("4 GiB declared, just above the cap") {
        const bytes b = idx_bytes(0x08, {65536, 65536}, {1, 2, 3});
        for (const auto& failure : errors_raw_and_gz(dir, "big", b)) {
            const fs::path& p = failure.first;
            const std::string& msg = failure.second;
            CHECK_HAS(msg, p.string());
            CHECK_HAS(msg, "declared shape 65536 x 65536");
        }
    }
    SUBCASE("1 GiB declared under the cap but only 10 bytes present") {
        const bytes b = idx_bytes(0x08, {1u << 30}, pseudo_random(10));
        for (const auto& failure : errors_raw_and_gz(dir, "liar", b)) {
            const fs::path& p = failure.first;
            const std::string& msg = failure.second;
            CHECK_HAS(msg, p.string());
            CHECK_HAS(msg, "expected 1073741824 bytes of data, found 10");
        }
    }
}

TEST_CASE("read_idx: truncated data") {
    temp_dir dir;
    const bytes full = idx_bytes(0x08, {100, 10, 10}, pseudo_random(10000));

    SUBCASE("raw file cut, and a complete gzip stream of the cut file") {
        const bytes cut(full.begin(), full.begin() + 16 + 4321);
        for (const auto& failure : errors_raw_and_gz(dir, "cut", cut)) {
            const fs::path& p = failure.first;
            const std::string& msg = failure.second;
            CHECK_HAS(msg, p.string());
            CHECK_HAS(msg, "data: expected 10000 bytes of data, found 4321");
            CHECK_HAS(msg, "truncated");
        }
    }
    SUBCASE("gzip file itself cut in half") {
        const fs::path gz = dir / "whole.gz";
        write_gz(gz, full);
        bytes z = read_file(gz);
        z.resize(z.size() / 2);
        write_raw(gz, z);
        const auto msg = error_of([&] { read_idx(gz); });
        CHECK_HAS(msg, gz.string());
        CHECK_HAS(msg, "expected 10000 bytes of data, found ");
        CHECK_HAS(msg, "gzip stream ends early");
    }
    SUBCASE("real labels .gz cut in half") {
        const fs::path gz = dir / "t10k-labels-idx1-ubyte.gz";
        bytes z = read_file(real_dir / "t10k-labels-idx1-ubyte.gz");
        z.resize(z.size() / 2);
        write_raw(gz, z);
        const auto msg = error_of([&] { read_idx(gz); });
        CHECK_HAS(msg, gz.string());
        CHECK_HAS(msg, "expected 10000 bytes of data, found ");
        CHECK_HAS(msg, "gzip stream ends early");
    }
    SUBCASE("gzip trailer missing after complete data") {
        const fs::path gz = dir / "notrailer.gz";
        write_gz(gz, full);
        bytes z = read_file(gz);
        z.resize(z.size() - 8);  // CRC32 and length
        write_raw(gz, z);
        const auto msg = error_of([&] { read_idx(gz); });
        CHECK_HAS(msg, gz.string());
        CHECK_HAS(msg, "corrupt gzip stream");
        CHECK_HAS(msg, "trailer");
    }
}

TEST_CASE("read_idx: trailing bytes after the declared data are rejected") {
    temp_dir dir;
    bytes b = idx_bytes(0x08, {2, 3}, pseudo_random(6));
    b.push_back(0);
    for (const auto& failure : errors_raw_and_gz(dir, "trailing", b)) {
        const fs::path& p = failure.first;
        const std::string& msg = failure.second;
        CHECK_HAS(msg, p.string());
        CHECK_HAS(msg, "expected exactly 6 bytes of data after the header, found trailing bytes");
    }
}

TEST_CASE("read_idx: anything after a complete gzip stream is rejected") {
    temp_dir dir;
    const bytes idx = idx_bytes(0x08, {2, 3}, pseudo_random(6));
    const fs::path single = dir / "single.gz";
    write_gz(single, idx);
    const bytes z = read_file(single);
    SUBCASE("junk after the gzip trailer") {
        bytes junk = z;
        junk.insert(junk.end(), {'j', 'u', 'n', 'k', '\n'});
        const fs::path gz = dir / "junk.gz";
        write_raw(gz, junk);
        const auto msg = error_of([&] { read_idx(gz); });
        CHECK_HAS(msg, gz.string());
        CHECK_HAS(msg, "gzip: expected the file to end with its gzip stream, found 5 more bytes after it");
    }
    SUBCASE("the same download concatenated twice") {
        bytes twice = z;
        twice.insert(twice.end(), z.begin(), z.end());
        const fs::path gz = dir / "twice.gz";
        write_raw(gz, twice);
        const auto msg = error_of([&] { read_idx(gz); });
        CHECK_HAS(msg, gz.string());
        CHECK_HAS(msg, "found " + std::to_string(z.size()) + " more bytes after it (a second gzip stream");
    }
    SUBCASE("one zero byte of padding") {
        bytes padded = z;
        padded.push_back(0);
        const fs::path gz = dir / "padded.gz";
        write_raw(gz, padded);
        const auto msg = error_of([&] { read_idx(gz); });
        CHECK_HAS(msg, "found 1 more byte after it");
    }
    CHECK(read_idx(single).data == bytes(idx.begin() + 12, idx.end()));
}

TEST_CASE("read_idx: corrupt gzip streams") {
    temp_dir dir;
    SUBCASE("bytes flipped in the middle of the real labels .gz") {
        const fs::path gz = dir / "t10k-labels-idx1-ubyte.gz";
        bytes z = read_file(real_dir / "t10k-labels-idx1-ubyte.gz");
        for (std::size_t i = z.size() / 2; i < z.size() / 2 + 16; ++i) {
            z[i] ^= 0xFF;
        }
        write_raw(gz, z);
        const auto msg = error_of([&] { read_idx(gz); });
        CHECK_HAS(msg, gz.string());
        CHECK_HAS(msg, "gzip: corrupt gzip stream: ");
    }
    SUBCASE("one flipped byte in a stored block is caught by the CRC") {
        const fs::path gz = dir / "stored.gz";
        write_gz(gz, idx_bytes(0x08, {1000}, pseudo_random(1000)),
                 "wb0");  // level 0: no Huffman codes to break
        bytes z = read_file(gz);
        z[z.size() / 2] ^= 0x01;
        write_raw(gz, z);
        const auto msg = error_of([&] { read_idx(gz); });
        CHECK_HAS(msg, gz.string());
        CHECK_HAS(msg, "corrupt gzip stream: incorrect data check");
    }
    SUBCASE("broken gzip header (compression method byte)") {
        const fs::path gz = dir / "method.gz";
        write_gz(gz, idx_bytes(0x08, {4}, {1, 2, 3, 4}));
        bytes z = read_file(gz);
        z[2] = 7;  // only 8 (deflate) is defined
        write_raw(gz, z);
        const auto msg = error_of([&] { read_idx(gz); });
        CHECK_HAS(msg, gz.string());
        CHECK_HAS(msg, "corrupt gzip stream: unknown compression method");
    }
}
