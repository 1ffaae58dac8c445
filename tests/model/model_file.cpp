// save/load of .npz model files: round trips (plain, batch-norm and nested
// networks, float and double), architecture mismatches, and truncated,
// corrupt and foreign files. model_file_numpy.py reads the saved files with
// numpy and writes a deflated copy that the last case loads.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>
#include <strata/model/model_file.hpp>
#include <strata/strata.hpp>

namespace st = strata;
namespace fs = std::filesystem;

namespace {

template <class T>
using bn_net =
    st::basic_sequential<T, st::input<12, 12, 1>, st::conv2d<4, 3, st::relu>, st::batch_norm, st::max_pool<2>,
                         st::flatten, st::dense<8, st::relu>, st::dropout<0.5>, st::dense<3>>;
using resnet8 = st::models::resnet<8, st::input<12, 12, 1>, 3>;
using other_net =
    st::sequential<st::input<12, 12, 1>, st::conv2d<4, 3, st::relu>, st::batch_norm, st::max_pool<2>,
                   st::flatten, st::dense<9, st::relu>, st::dropout<0.5>, st::dense<3>>;

struct temp_dir {
    fs::path path;
    explicit temp_dir(const std::string& name) : path(fs::temp_directory_path() / ("strata_model_" + name)) {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~temp_dir() { fs::remove_all(path); }
};

template <class A, class B>
bool same_bits(const A& a, const B& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(a[0])) == 0;
}

// Moves the running statistics away from their initial values.
template <class Net>
void train_a_little(Net& net) {
    using T = typename Net::scalar_type;
    st::data::dataset<T> d;
    d.x = xt::xtensor<T, 4>::from_shape({16, 12, 12, 1});
    d.y = xt::xtensor<T, 2>::from_shape({16, 1});
    st::rng r(9);
    for (auto& v : d.x) v = static_cast<T>(r.uniform());
    for (std::size_t i = 0; i < 16; ++i) d.y(i, 0) = static_cast<T>(i % 3);
    st::fit(net, d, st::loss::sparse_categorical_crossentropy{.from_logits = true}, st::optim::adam{},
            st::batch_size{8});
}

std::string read_bytes(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}
void write_bytes(const fs::path& file, const std::string& bytes) {
    std::ofstream(file, std::ios::binary) << bytes;
}

}  // namespace

TEST_CASE_TEMPLATE("a model file holds every weight and running statistic, bit for bit", T, float, double) {
    const temp_dir dir("roundtrip");
    bn_net<T> net{st::seed{1}};
    train_a_little(net);
    st::save(net, dir.path / "model.npz");
    bn_net<T> copy{st::seed{2}};
    st::load(copy, dir.path / "model.npz");
    CHECK(same_bits(copy.parameters(), net.parameters()));
    CHECK(same_bits(copy.state(), net.state()));
    // Saving is deterministic: the same network gives the same bytes.
    st::save(copy, dir.path / "again.npz");
    CHECK(read_bytes(dir.path / "model.npz") == read_bytes(dir.path / "again.npz"));
    CHECK(!fs::exists(dir.path / ("model.npz.tmp-" + std::to_string(::getpid()))));
}

TEST_CASE("nested composites round-trip, and the archive lists them by path") {
    const temp_dir dir("resnet");
    resnet8 net{st::seed{3}};
    train_a_little(net);
    st::save(net, dir.path / "resnet.npz");
    resnet8 copy{st::seed{4}};
    st::load(copy, dir.path / "resnet.npz");
    CHECK(same_bits(copy.parameters(), net.parameters()));
    CHECK(same_bits(copy.state(), net.state()));
    const st::detail::zip_reader zip(dir.path / "resnet.npz");
    CHECK(zip.contains("architecture.json"));
    const auto names = zip.names();
    const auto shortcut = std::find_if(names.begin(), names.end(), [](const std::string& n) {
        return n.find("_residual.") != std::string::npos && n.ends_with("_shortcut.0_conv2d.weight.npy");
    });
    CHECK(shortcut != names.end());
    const auto architecture = nlohmann::json::parse(zip.read("architecture.json"));
    CHECK(architecture["format"] == "strata-model");
    CHECK(architecture["layers"][0]["kind"] == "conv2d");
}

TEST_CASE("loading into another architecture names the first layer that differs") {
    const temp_dir dir("mismatch");
    bn_net<float> net{st::seed{1}};
    st::save(net, dir.path / "model.npz");
    other_net other;
    const std::vector<float> before(other.parameters().begin(), other.parameters().end());
    CHECK_THROWS_WITH_AS(
        st::load(other, dir.path / "model.npz"),
        doctest::Contains("holds a different network: layer 4 (4_dense): the file's dense outputs "
                          "(8), this network's (9)"),
        st::data_error);
    CHECK(same_bits(other.parameters(), before));  // nothing changed
    resnet8 resnet;
    CHECK_THROWS_WITH_AS(st::load(resnet, dir.path / "model.npz"),
                         doctest::Contains("layer 0 (0_conv2d): the file's conv2d outputs (10, 10, 4), this "
                                           "network's (12, 12, 16)"),
                         st::data_error);
    st::sequential<st::input<6, 6, 1>, st::flatten, st::dense<3>> small;
    CHECK_THROWS_WITH_AS(st::load(small, dir.path / "model.npz"),
                         doctest::Contains("the file's network takes input (12, 12, 1), this one (6, 6, 1)"),
                         st::data_error);
}

TEST_CASE("truncated, corrupt and foreign files give data_error naming the file and member") {
    const temp_dir dir("corrupt");
    bn_net<float> net{st::seed{1}};
    const auto good = dir.path / "model.npz";
    st::save(net, good);
    const std::string bytes = read_bytes(good);
    const auto bad = dir.path / "bad.npz";
    bn_net<float> target;

    for (const std::size_t keep : {std::size_t{0}, std::size_t{10}, bytes.size() / 2, bytes.size() - 1}) {
        write_bytes(bad, bytes.substr(0, keep));
        CAPTURE(keep);
        CHECK_THROWS_WITH_AS(st::load(target, bad), doctest::Contains(bad.string().c_str()), st::data_error);
    }
    // A flipped byte inside a tensor's data: its CRC no longer matches.
    const std::size_t at = bytes.find("0_conv2d.weight.npy") + 200;
    std::string flipped = bytes;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x40);
    write_bytes(bad, flipped);
    CHECK_THROWS_WITH_AS(st::load(target, bad), doctest::Contains("CRC mismatch"), st::data_error);
    // A weights folder's .npy is not an archive.
    st::save_weights(net, dir.path / "folder");
    CHECK_THROWS_WITH_AS(st::load(target, dir.path / "folder" / "0_conv2d.weight.npy"),
                         doctest::Contains("not a zip archive"), st::data_error);
    // An archive without the architecture, and one whose architecture is not JSON.
    st::detail::zip_writer foreign;
    foreign.add("x.npy", "abc");
    write_bytes(bad, foreign.finish());
    CHECK_THROWS_WITH_AS(st::load(target, bad), doctest::Contains("not a strata model file"), st::data_error);
    st::detail::zip_writer broken;
    broken.add("architecture.json", "{\"format\": \"strata-model\", \"layers\": [");
    write_bytes(bad, broken.finish());
    CHECK_THROWS_WITH_AS(st::load(target, bad), doctest::Contains("member 'architecture.json' is malformed"),
                         st::data_error);
    // A missing tensor.
    const st::detail::zip_reader whole(good);
    st::detail::zip_writer partial;
    for (const auto& name : whole.names())
        if (name != "4_dense.bias.npy") partial.add(name, whole.read(name));
    write_bytes(bad, partial.finish());
    CHECK_THROWS_WITH_AS(st::load(target, bad), doctest::Contains("member '4_dense.bias.npy' is missing"),
                         st::data_error);
    CHECK_THROWS_WITH_AS(st::load(target, dir.path / "absent.npz"), doctest::Contains("file not found"),
                         st::data_error);
}

TEST_CASE("model files for numpy: written for model_file_numpy.py, then its deflated copy loads") {
    const char* out = std::getenv("STRATA_MODEL_FILE_DIR");
    if (out == nullptr) return;  // run by ctest's model_file fixtures only
    const fs::path dir(out);
    fs::create_directories(dir);
    bn_net<float> net{st::seed{5}};
    train_a_little(net);
    if (!fs::exists(dir / "compressed.npz")) {
        st::save(net, dir / "model.npz");
        return;
    }
    bn_net<float> copy;
    st::load(copy, dir / "compressed.npz");  // numpy.savez_compressed: deflated members
    CHECK(same_bits(copy.parameters(), net.parameters()));
    CHECK(same_bits(copy.state(), net.state()));
}

TEST_CASE("resuming checks that the checkpoint fits the run") {
    const temp_dir dir("resume_checks");
    st::data::dataset<float> d;
    d.x = xt::xtensor<float, 4>::from_shape({16, 12, 12, 1});
    d.y = xt::xtensor<float, 2>::from_shape({16, 1});
    st::rng r(9);
    for (auto& v : d.x) v = static_cast<float>(r.uniform());
    for (std::size_t i = 0; i < 16; ++i) d.y(i, 0) = static_cast<float>(i % 3);
    const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
    const auto ckpt = dir.path / "run.npz";
    bn_net<float> net{st::seed{1}};
    st::fit(net, d, loss, st::optim::adam{}, st::epochs{2}, st::batch_size{8}, st::seed{3},
            st::checkpoint{.path = ckpt.string()});
    const st::detail::zip_reader zip(ckpt);
    CHECK(zip.contains("optimizer.m.npy"));
    CHECK(zip.contains("training.json"));

    bn_net<float> again{st::seed{1}};
    const auto h = st::fit(again, d, loss, st::optim::adam{}, st::epochs{3}, st::batch_size{8}, st::seed{3},
                           st::resume_from{ckpt});
    CHECK(h.epochs.size() == 3);  // two restored, one run
    CHECK(h.epochs[0].epoch == 1);
    CHECK_THROWS_WITH_AS(st::fit(again, d, loss, st::optim::adam{}, st::epochs{3}, st::batch_size{8},
                                 st::seed{4}, st::resume_from{ckpt}),
                         doctest::Contains("trained with seed{3} but this fit has seed{4}"), st::usage_error);
    CHECK_THROWS_WITH_AS(st::fit(again, d, loss, st::optim::sgd{.momentum = 0.9}, st::epochs{3},
                                 st::batch_size{8}, st::seed{3}, st::resume_from{ckpt}),
                         doctest::Contains("member 'optimizer.velocity.npy' is missing"), st::data_error);
    st::save(again, dir.path / "model.npz");
    CHECK_THROWS_WITH_AS(st::fit(again, d, loss, st::optim::adam{}, st::epochs{3}, st::seed{3},
                                 st::resume_from{dir.path / "model.npz"}),
                         doctest::Contains("a model file, not a checkpoint"), st::data_error);
    other_net other;
    CHECK_THROWS_WITH_AS(
        st::fit(other, d, loss, st::optim::adam{}, st::epochs{3}, st::seed{3}, st::resume_from{ckpt}),
        doctest::Contains("holds a different network"), st::data_error);
    // A checkpoint is a model file too.
    bn_net<float> weights_only;
    st::load(weights_only, ckpt);
    CHECK(same_bits(weights_only.parameters(), net.parameters()));
}
