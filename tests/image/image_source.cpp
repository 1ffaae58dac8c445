// The streamed image_folder_source gives the same samples as the in-memory
// loader, decoded ahead or not, and fit trains to the same weights on
// either for the same seed.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <vector>

#include <support/idx_files.hpp>

#include "strata/data/fashion_mnist.hpp"
#include "strata/data/image_folder.hpp"
#include "strata/data/image_source.hpp"
#include "strata/strata.hpp"

namespace {

namespace st = strata;
using st::testing::temp_dir;

st::data::image_folder_options gray28() {
    st::data::image_folder_options o;
    o.height = 28, o.width = 28, o.color = st::image::color_mode::grayscale;
    return o;
}

struct exported {
    temp_dir dir;
    exported() {
        const auto fm = st::data::fashion_mnist();
        st::data::write_image_folder(st::data::take(fm.train, 600), dir.path);
    }
};

}  // namespace

TEST_CASE("a streamed image folder gathers what the in-memory loader holds") {
    exported folder;
    const auto memory = st::data::load_image_folder(folder.dir.path, gray28());
    st::data::image_folder_source stream(folder.dir.path, gray28());
    REQUIRE(stream.size() == memory.data.size());
    CHECK(stream.sample_size() == 784);
    CHECK(stream.files() == memory.files);
    std::vector<std::size_t> indices(600);
    std::iota(indices.begin(), indices.end(), std::size_t{0});
    st::rng shuffle(3);
    for (std::size_t i = indices.size(); i > 1; --i) std::swap(indices[i - 1], indices[shuffle.below(i)]);
    const std::size_t batch = 64;
    std::vector<float> xs(batch * 784), ys(batch), xm(batch * 784), ym(batch);
    for (std::size_t first = 0; first < indices.size(); first += batch) {
        const std::size_t count = std::min(batch, indices.size() - first);
        const std::span<const std::size_t> part(indices.data() + first, count);
        stream.gather(part, xs.data(), ys.data());
        memory.data.gather(part, xm.data(), ym.data());
        CHECK(std::equal(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(count * 784), xm.begin()));
        CHECK(std::equal(ys.begin(), ys.begin() + static_cast<std::ptrdiff_t>(count), ym.begin()));
        // Announce the next batch (or a wrong one every third time: gather must still be right).
        if (first + batch < indices.size()) {
            const std::size_t next = std::min(batch, indices.size() - first - batch);
            if ((first / batch) % 3 == 2)
                stream.prefetch(std::span<const std::size_t>(indices.data(), next));
            else
                stream.prefetch(std::span<const std::size_t>(indices.data() + first + batch, next));
        }
    }
    const std::size_t bad[] = {600};
    CHECK_THROWS_AS(stream.gather(bad, xs.data(), ys.data()), st::usage_error);
}

TEST_CASE("a streamed folder skips symlink loops with bad_file::skip and stops on a corrupt file") {
    exported folder;
    std::filesystem::create_directory_symlink(folder.dir.path / "3", folder.dir.path / "3" / "loop");
    auto o = gray28();
    o.follow_links = true;
    CHECK_THROWS_WITH_AS(st::data::image_folder_source(folder.dir.path, o), doctest::Contains("symlink loop"),
                         st::data_error);
    o.on_bad_file = st::data::bad_file::skip;
    const st::data::image_folder_source stream(folder.dir.path, o);
    CHECK(stream.size() == 600);
    REQUIRE(stream.problems().size() == 1);
    // A file that goes bad after listing stops the batch that reads it.
    const auto victim = stream.files()[5];
    std::ofstream(victim, std::ios::trunc) << "no longer a PNG";
    std::vector<float> x(784), y(1);
    const std::size_t ok[] = {4}, broken[] = {5};
    CHECK_NOTHROW(stream.gather(ok, x.data(), y.data()));
    const std::string name = victim.filename().string();
    CHECK_THROWS_WITH_AS(stream.gather(broken, x.data(), y.data()), doctest::Contains(name.c_str()),
                         st::data_error);
}

TEST_CASE("fit on a streamed folder trains to the same weights as on the loaded folder") {
    exported folder;
    using net_t = st::sequential<st::input<28, 28, 1>, st::conv2d<8, 3, st::relu>, st::max_pool<2>,
                                 st::flatten, st::dense<10>>;
    const auto memory = st::data::load_image_folder(folder.dir.path, gray28());
    const st::data::image_folder_source stream(folder.dir.path, gray28());
    net_t a, b;
    a.initialize(st::seed{1});
    b.initialize(st::seed{1});
    const auto loss = st::loss::sparse_categorical_crossentropy{.from_logits = true};
    const auto ha = st::fit(a, memory.data, loss, st::optim::adam{}, st::epochs{2}, st::batch_size{32},
                            st::seed{9}, st::threads{2});
    const auto hb = st::fit(b, stream, loss, st::optim::adam{}, st::epochs{2}, st::batch_size{32},
                            st::seed{9}, st::threads{2});
    REQUIRE(ha.epochs.size() == 2);
    CHECK(ha.epochs.back().loss == hb.epochs.back().loss);
    CHECK(std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin()));
    CHECK(ha.epochs.back().accuracy > 0.5);
    // Class-balanced sampling reads the streamed source's targets too.
    net_t c;
    c.initialize(st::seed{1});
    const auto hc = st::fit(c, stream, loss, st::optim::adam{}, st::epochs{1}, st::batch_size{32},
                            st::class_balanced_sampling{10}, st::threads{2});
    CHECK(std::isfinite(hc.epochs.back().loss));
    CHECK_THROWS_WITH_AS(st::fit(c, stream, loss, st::optim::adam{}, st::class_balanced_sampling{5}),
                         doctest::Contains("expected a class below 5"), st::usage_error);
}
