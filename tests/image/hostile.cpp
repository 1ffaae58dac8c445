// Image folders on real data and hostile files: Fashion-MNIST's test set
// exported to PNG loads back pixel for pixel as the IDX loader gives it;
// truncated, corrupt, oversized and disguised files, symlink loops and
// non-regular files give a data_error naming the file, or are skipped and
// counted with bad_file::skip.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <support/idx_files.hpp>
#include <support/reference_files.hpp>

#include "strata/data/fashion_mnist.hpp"
#include "strata/data/image_folder.hpp"
#include "strata/image/encode.hpp"

namespace {

namespace fs = std::filesystem;
namespace st = strata;
using st::testing::bytes;
using st::testing::temp_dir;
using st::testing::write_raw;

st::image::image8 gradient(std::size_t w, std::size_t h, std::size_t c) {
    st::image::image8 img{w, h, c, std::vector<std::uint8_t>(w * h * c)};
    for (std::size_t i = 0; i < img.pixels.size(); ++i)
        img.pixels[i] = static_cast<std::uint8_t>(i * 7 % 251);
    return img;
}

bytes read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

st::data::image_folder_options small() {
    st::data::image_folder_options o;
    o.height = 8, o.width = 8, o.color = st::image::color_mode::rgb;
    return o;
}

// A folder with one good PNG per class, to which a test adds one bad file.
struct folder {
    temp_dir dir;
    folder() {
        for (const char* c : {"a", "b"}) {
            fs::create_directories(dir.path / c);
            st::image::write_png(dir.path / c / "good.png", gradient(8, 8, 3));
        }
    }
    fs::path bad(const std::string& name, const bytes& content) const {
        const auto p = dir.path / "a" / name;
        write_raw(p, content);
        return p;
    }
    // Loading fails naming the file; skipping keeps the good images.
    void check_rejected(const fs::path& file, const std::string& why) const {
        CAPTURE(file);
        CAPTURE(why);
        try {
            st::data::load_image_folder(dir.path, small());
            FAIL("no data_error");
        } catch (const st::data_error& e) {
            const std::string msg = e.what();
            CHECK(msg.find(file.filename().string()) != std::string::npos);
            CHECK(msg.find(why) != std::string::npos);
        }
        auto o = small();
        o.on_bad_file = st::data::bad_file::skip;
        const auto loaded = st::data::load_image_folder(dir.path, o);
        CHECK(loaded.data.size() == 2);
        REQUIRE(loaded.problems.size() == 1);
        CHECK(loaded.problems[0].find(why) != std::string::npos);
    }
};

}  // namespace

TEST_CASE("Fashion-MNIST's test set exported to PNG loads back identical to the IDX loader") {
    const auto idx = st::data::fashion_mnist();
    temp_dir dir;
    const std::vector<std::string> names{"0-tshirt", "1-trouser", "2-pullover", "3-dress", "4-coat",
                                         "5-sandal", "6-shirt",   "7-sneaker",  "8-bag",   "9-boot"};
    CHECK(st::data::write_image_folder(idx.test, dir.path, names) == 10000);
    st::data::image_folder_options o;
    o.height = 28, o.width = 28, o.color = st::image::color_mode::grayscale;
    const auto loaded = st::data::load_image_folder(dir.path, o);
    REQUIRE(loaded.data.size() == 10000);
    CHECK(loaded.class_names == names);
    // The folder groups by class; each file's name is its IDX index.
    std::size_t mismatched = 0;
    for (std::size_t i = 0; i < loaded.data.size(); ++i) {
        const std::size_t original = std::stoul(loaded.files[i].stem().string());
        mismatched += loaded.data.y(i, 0) != idx.test.y(original, 0);
        mismatched += !std::equal(loaded.data.x.data() + i * 784, loaded.data.x.data() + (i + 1) * 784,
                                  idx.test.x.data() + original * 784);
    }
    CHECK(mismatched == 0);
}

TEST_CASE("bad image files give a data_error naming the file, or are skipped and counted") {
    const auto png = st::image::encode_png(gradient(8, 8, 3));
    {
        folder f;
        const bytes cut(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(png.size() / 2));
        f.check_rejected(f.bad("truncated.png", cut), "not a valid PNG");
    }
    {
        folder f;
        bytes corrupt = png;
        corrupt[40] ^= 0x5a;  // inside IDAT: the CRC no longer matches
        f.check_rejected(f.bad("crc.png", corrupt), "not a valid PNG");
    }
    {
        folder f;
        f.check_rejected(f.bad("text.jpg", bytes{'h', 'e', 'l', 'l', 'o', '\n'}), "not an image");
    }
    {
        folder f;
        f.check_rejected(f.bad("empty.png", {}), "empty");
    }
    {
        // A PNG header claiming 100000 x 100000 pixels: refused before allocating.
        folder f;
        bytes huge = png;
        for (int k = 0; k < 2; ++k) {
            const std::uint32_t v = 100000;
            for (int b = 0; b < 4; ++b)
                huge.at(16 + 4 * k + b) = static_cast<std::uint8_t>(v >> (24 - 8 * b));
        }
        f.check_rejected(f.bad("bomb.png", huge), "max_pixels");
    }
    {
        folder f;
        bytes bmp{'B', 'M'};
        bmp.resize(54, 0);
        bmp[10] = 54, bmp[14] = 40, bmp[18] = 0xff, bmp[19] = 0xff, bmp[20] = 0xff,
        bmp[21] = 0x7f;  // width 2^31-1
        bmp[22] = 2, bmp[26] = 1, bmp[28] = 24;
        f.check_rejected(f.bad("wide.bmp", bmp), "max_pixels");
    }
    {
        folder f;
        bytes bmp{'B', 'M'};
        bmp.resize(54, 0);
        bmp[10] = 54, bmp[14] = 40, bmp[18] = 4, bmp[22] = 4, bmp[26] = 1, bmp[28] = 24;
        f.check_rejected(f.bad("short.bmp", bmp), "truncated BMP");
    }
    {
        folder f;
        const std::string ppm = "P6\n4 4\n255\nabc";
        f.check_rejected(f.bad("short.ppm", bytes(ppm.begin(), ppm.end())), "truncated PNM");
    }
    {
        folder f;
        const auto p = f.dir.path / "a" / "folder.png";
        fs::create_directories(p);  // a directory with an image name is walked, not read
        CHECK(st::data::load_image_folder(f.dir.path, small()).data.size() == 2);
    }
    {
        folder f;
        const auto p = f.dir.path / "a" / "fifo.png";
        REQUIRE(::mkfifo(p.c_str(), 0600) == 0);  // reading it would block forever
        f.check_rejected(p, "not a regular file");
    }
    {
        folder f;
        const auto p = f.dir.path / "a" / "dangling.png";
        fs::create_symlink(f.dir.path / "missing.png", p);
        f.check_rejected(p, "file not found");
    }
}

TEST_CASE("JPEG files cut short are refused, not padded with grey") {
    const bytes jpeg =
        read_all(st::testing::reference_dir("STRATA_IMAGE_FOLDER_DIR") / "varied" / "dog" / "d.jpeg");
    REQUIRE(jpeg.size() > 200);
    temp_dir dir;
    const auto whole = dir.path / "whole.jpg";
    write_raw(whole, jpeg);
    CHECK_NOTHROW(st::image::read(whole));
    const auto cut = dir.path / "cut.jpg";
    write_raw(cut, bytes(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() * 2 / 3)));
    CHECK_THROWS_WITH_AS(st::image::read(cut), doctest::Contains("cut.jpg"), st::data_error);
}

TEST_CASE("binary and plain PPM/PGM files, any maxval") {
    temp_dir dir;
    const st::image::image8 img = gradient(4, 3, 3);
    const std::string header = "P6\n# a comment\n4 3\n255\n";
    bytes ppm(header.begin(), header.end());
    ppm.insert(ppm.end(), img.pixels.begin(), img.pixels.end());
    write_raw(dir.path / "p6.ppm", ppm);
    CHECK(st::image::read(dir.path / "p6.ppm").pixels == img.pixels);
    const std::string plain = "P2 2 2 15\n0 15\n7 8\n";
    write_raw(dir.path / "p2.pgm", bytes(plain.begin(), plain.end()));
    CHECK(st::image::read(dir.path / "p2.pgm").pixels == std::vector<std::uint8_t>{0, 255, 119, 136});
    const std::string over = "P2 1 1 15\n16\n";
    write_raw(dir.path / "over.pgm", bytes(over.begin(), over.end()));
    CHECK_THROWS_WITH_AS(st::image::read(dir.path / "over.pgm"), doctest::Contains("exceeds maxval"),
                         st::data_error);
}

TEST_CASE("symlink loops are caught with follow_links, and links are not followed without it") {
    folder f;
    fs::create_directories(f.dir.path / "b" / "inner");
    st::image::write_png(f.dir.path / "b" / "inner" / "deep.png", gradient(8, 8, 3));
    fs::create_directory_symlink(f.dir.path / "b", f.dir.path / "b" / "inner" / "loop");
    // Without follow_links the link is not descended: three images.
    CHECK(st::data::load_image_folder(f.dir.path, small()).data.size() == 3);
    auto o = small();
    o.follow_links = true;
    CHECK_THROWS_WITH_AS(st::data::load_image_folder(f.dir.path, o), doctest::Contains("symlink loop"),
                         st::data_error);
    o.on_bad_file = st::data::bad_file::skip;
    const auto loaded = st::data::load_image_folder(f.dir.path, o);
    CHECK(loaded.data.size() == 3);
    REQUIRE(loaded.problems.size() == 1);
    CHECK(loaded.problems[0].find("loop") != std::string::npos);
}

TEST_CASE("a link to another folder is followed with follow_links") {
    folder f;
    temp_dir outside;
    st::image::write_png(outside.path / "x.png", gradient(8, 8, 3));
    fs::create_directory_symlink(outside.path, f.dir.path / "a" / "linked");
    CHECK(st::data::load_image_folder(f.dir.path, small()).data.size() == 2);
    auto o = small();
    o.follow_links = true;
    CHECK(st::data::load_image_folder(f.dir.path, o).data.size() == 3);
}

TEST_CASE("class lists, splits and options are checked") {
    folder f;
    auto o = small();
    o.classes = {"b", "missing"};
    CHECK_THROWS_WITH_AS(st::data::load_image_folder(f.dir.path, o), doctest::Contains("'missing' not found"),
                         st::data_error);
    o.classes = {"b"};
    const auto only_b = st::data::load_image_folder(f.dir.path, o);
    CHECK(only_b.data.size() == 1);
    CHECK(only_b.data.y(0, 0) == 0.0f);
    o = small();
    o.height = 0;
    CHECK_THROWS_AS(st::data::load_image_folder(f.dir.path, o), st::usage_error);
    o = small();
    o.subset = st::data::split_subset::training;
    CHECK_THROWS_WITH_AS(st::data::load_image_folder(f.dir.path, o), doctest::Contains("validation_split"),
                         st::usage_error);
    CHECK_THROWS_WITH_AS(st::data::load_image_folder(f.dir.path / "nowhere", small()),
                         doctest::Contains("not a folder"), st::data_error);
}

TEST_CASE("the seeded split partitions the files and depends on the seed") {
    temp_dir dir;
    for (int c = 0; c < 3; ++c) {
        fs::create_directories(dir.path / std::to_string(c));
        for (int i = 0; i < 10; ++i)
            st::image::write_png(dir.path / std::to_string(c) / (std::to_string(i) + ".png"),
                                 gradient(4, 4, 1));
    }
    auto o = small();
    o.validation_split = 0.2;
    o.split = st::data::split_rule::seeded;
    o.seed = 5;
    o.subset = st::data::split_subset::training;
    const auto train = st::data::list_image_folder(dir.path, o);
    o.subset = st::data::split_subset::validation;
    const auto valid = st::data::list_image_folder(dir.path, o);
    CHECK(train.files.size() == 24);
    CHECK(valid.files.size() == 6);
    std::vector<fs::path> all = train.files;
    all.insert(all.end(), valid.files.begin(), valid.files.end());
    std::sort(all.begin(), all.end());
    CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
    o.seed = 6;
    CHECK(st::data::list_image_folder(dir.path, o).files != valid.files);
}

TEST_CASE("16-bit PNGs keep their high byte") {
    temp_dir dir;
    const std::size_t w = 5, h = 3;
    // spng takes 16-bit samples in host (little-endian) order.
    std::vector<std::uint8_t> samples(w * h * 2);
    for (std::size_t i = 0; i < w * h; ++i)
        samples[2 * i] = 0xff, samples[2 * i + 1] = static_cast<std::uint8_t>(i * 17);
    spng_ctx* ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    spng_ihdr ihdr{};
    ihdr.width = w, ihdr.height = h, ihdr.bit_depth = 16, ihdr.color_type = SPNG_COLOR_TYPE_GRAYSCALE;
    spng_set_ihdr(ctx, &ihdr);
    REQUIRE(spng_encode_image(ctx, samples.data(), samples.size(), SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE) == 0);
    std::size_t size = 0;
    int error = 0;
    auto* png = static_cast<std::uint8_t*>(spng_get_png_buffer(ctx, &size, &error));
    spng_ctx_free(ctx);
    REQUIRE(png != nullptr);
    const bytes file(png, png + size);
    std::free(png);
    write_raw(dir.path / "g16.png", file);
    const auto back = st::image::read(dir.path / "g16.png");
    CHECK(back.channels == 1);
    for (std::size_t i = 0; i < w * h; ++i) CHECK(back.pixels[i] == static_cast<std::uint8_t>(i * 17));
}
