// Segmentation data written as image/mask PNG folder pairs loads back
// identical; masks are resized by nearest neighbour; a missing or colour
// mask gives a data_error naming the file, or is skipped with bad_file::skip.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include <support/idx_files.hpp>

#include "strata/data/fashion_mnist.hpp"
#include "strata/data/image_segmentation.hpp"
#include "strata/data/segmentation.hpp"

namespace {
namespace st = strata;
namespace fs = std::filesystem;
}  // namespace

TEST_CASE("segmentation folders round-trip through PNG and check their masks") {
    const auto fm = st::data::fashion_mnist();
    st::data::segmentation_options so;
    so.count = 40, so.seed = 3;
    const auto made = st::data::make_segmentation(st::data::take(fm.train, 500), 10, so);
    st::testing::temp_dir dir;
    st::data::write_segmentation_folder(made.data, dir.path);
    st::data::image_folder_options o;
    o.height = 64, o.width = 64, o.color = st::image::color_mode::grayscale;
    const auto back = st::data::load_segmentation_folder(dir.path, o);
    REQUIRE(back.data.size() == 40);
    CHECK(std::equal(back.data.y.begin(), back.data.y.end(), made.data.y.begin()));
    // Pixels were rounded to 8 bits on the way out.
    float worst = 0;
    for (std::size_t i = 0; i < made.data.x.size(); ++i)
        worst = std::max(worst, std::abs(back.data.x.data()[i] - made.data.x.data()[i]));
    CHECK(worst <= 0.5f / 255.0f + 1e-6f);

    // Half size: masks by nearest neighbour keep whole class indices.
    o.height = 32, o.width = 32;
    const auto half = st::data::load_segmentation_folder(dir.path, o);
    for (std::size_t n = 0; n < 40; ++n)
        for (std::size_t y = 0; y < 32; ++y)
            for (std::size_t x = 0; x < 32; ++x)
                CHECK(half.data.y(n, y * 32 + x) == made.data.y(n, (2 * y + 1) * 64 + 2 * x + 1));

    o.height = 64, o.width = 64;
    fs::remove(dir.path / "masks" / "00000003.png");
    CHECK_THROWS_WITH_AS(st::data::load_segmentation_folder(dir.path, o), doctest::Contains("00000003.png"),
                         st::data_error);
    st::image::write_png(dir.path / "masks" / "00000003.png",
                         st::image::image8{64, 64, 3, std::vector<std::uint8_t>(64 * 64 * 3, 1)});
    CHECK_THROWS_WITH_AS(st::data::load_segmentation_folder(dir.path, o), doctest::Contains("3 channels"),
                         st::data_error);
    o.on_bad_file = st::data::bad_file::skip;
    const auto skipped = st::data::load_segmentation_folder(dir.path, o);
    CHECK(skipped.data.size() == 39);
    CHECK(skipped.problems.size() == 1);
    CHECK_THROWS_WITH_AS(st::data::load_segmentation_folder(dir.path / "images", o),
                         doctest::Contains("images/ and masks/"), st::data_error);
}
