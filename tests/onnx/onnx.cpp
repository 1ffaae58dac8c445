// save_onnx / load_onnx / describe: round trips, differences named, hostile
// files, and (with STRATA_ONNX_DIR from torch_export.py) a PyTorch export
// predicting as PyTorch on Fashion-MNIST.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <strata/onnx/export.hpp>
#include <strata/onnx/import.hpp>
#include <strata/strata.hpp>

#include <xtensor/xnpy.hpp>
#include "chain_zoo.hpp"

namespace st = strata;
namespace fs = std::filesystem;

namespace {

using reference_net = st::models::fashion_mnist_cnn;
using bn_net = st::models::fashion_mnist_cnn_bn;
using narrow_net = st::sequential<st::input<28, 28, 1>, st::conv2d<16, 3, st::relu>, st::max_pool<2>,
                                  st::conv2d<64, 3, st::relu>, st::max_pool<2>, st::flatten,
                                  st::dense<128, st::relu>, st::dense<10>>;
using resnet_net = st::models::resnet<8, st::input<28, 28, 1>, 10>;

fs::path scratch(const std::string& name) {
    const auto dir = fs::temp_directory_path() / "strata_test_onnx";
    fs::create_directories(dir);
    return dir / name;
}

// Every tensor (not the padding between composites' slices, which no file holds).
template <class Net>
void randomize(Net& net, std::uint64_t seed) {
    st::rng r(seed);
    st::for_each_tensor(net, [&](const st::layer_path&, const auto& t) {
        const bool variance = t.name == std::string_view("moving_variance");
        for (std::size_t k = 0; k < t.count; ++k)
            t.data[k] = float(variance ? r.uniform(0.5, 1.5) : r.uniform(-0.5, 0.5));
    });
}

template <class Net>
bool same_tensors(const Net& a, const Net& b) {
    std::vector<float> x, y;
    st::for_each_tensor(
        a, [&](const st::layer_path&, const auto& t) { x.insert(x.end(), t.data, t.data + t.count); });
    st::for_each_tensor(
        b, [&](const st::layer_path&, const auto& t) { y.insert(y.end(), t.data, t.data + t.count); });
    return x == y;
}

std::string bytes_of(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}
void write_bytes(const fs::path& file, const std::string& bytes) {
    std::ofstream(file, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

}  // namespace

TEST_CASE_TEMPLATE("save_onnx then load_onnx restores every weight and statistic", Net, bn_net, resnet_net) {
    const auto file = scratch("roundtrip.onnx");
    Net a{st::seed{1}}, b{st::seed{2}};
    randomize(a, 3);
    st::save_onnx(a, file);
    CHECK_FALSE(same_tensors(a, b));
    st::load_onnx(file, b);
    CHECK(same_tensors(a, b));
}

TEST_CASE("describe prints the type of a chain save_onnx wrote") {
    const auto file = scratch("reference.onnx");
    st::save_onnx(bn_net{st::seed{1}}, file);
    CHECK(
        st::onnx::describe(st::onnx::read_model(file)).type ==
        "strata::sequential<strata::input<28, 28, 1>, strata::conv2d<32, 3, strata::relu>, "
        "strata::batch_norm, "
        "strata::max_pool<2>, strata::conv2d<64, 3, strata::relu>, strata::batch_norm, strata::max_pool<2>, "
        "strata::flatten, strata::dense<128, strata::relu>, strata::dense<10>>");
    const auto resnet = st::onnx::describe(st::to_onnx(resnet_net{st::seed{1}}));
    CHECK(resnet.type.empty());
    REQUIRE(resnet.unsupported.size() == 1);
    CHECK(resnet.unsupported[0].find("(Add)") != std::string::npos);
}

// Every layer describe maps, each with its options, as the type is written.
using chain_zoo = onnx_test::chain_zoo_net;

TEST_CASE("describe prints every layer it maps as the type is written") {
    CHECK(
        st::onnx::describe(st::to_onnx(chain_zoo{st::seed{1}})).type ==
        "strata::sequential<strata::input<17, 17, 3>, strata::zero_padding<1>, strata::conv2d<8, 3, "
        "strata::leaky_relu, strata::stride<2>, strata::same>, strata::depthwise_conv2d<3, 2, strata::elu, "
        "strata::same>, strata::conv2d<8, 1, strata::tanh, strata::no_bias>, strata::avg_pool<2, 1>, "
        "strata::conv2d_transpose<6, 3, strata::relu, strata::stride<2>, strata::same>, strata::upsample<2, "
        "strata::bilinear>, strata::max_pool<2>, strata::batch_norm, strata::conv2d<4, 3, "
        "strata::basic_elu<0.5>>, strata::upsample<2>, strata::conv2d_transpose<3, 2, strata::stride<2>>, "
        "strata::global_max_pool, strata::batch_norm, strata::dense<16, strata::basic_leaky_relu<0.2>>, "
        "strata::dense<5, strata::softmax, strata::no_bias>>");
    // and load_onnx reads it back into that type
    chain_zoo a{st::seed{1}}, b{st::seed{2}};
    randomize(a, 9);
    const auto file = scratch("chain_zoo.onnx");
    st::save_onnx(a, file);
    st::load_onnx(file, b);
    CHECK(same_tensors(a, b));
}

TEST_CASE("load_onnx names the first difference and leaves the network unchanged") {
    const auto file = scratch("reference.onnx");
    st::save_onnx(reference_net{st::seed{1}}, file);
    auto message = [&](auto& net) {
        try {
            st::load_onnx(file, net);
        } catch (const st::data_error& e) {
            return std::string(e.what());
        }
        return std::string("loaded");
    };
    bn_net bn{st::seed{2}};
    const bn_net bn_before = bn;
    const auto m = message(bn);
    CHECK(m.find(file.string()) != std::string::npos);
    CHECK(m.find("node 2 (expected BatchNormalization for 1_batch_norm): found MaxPool") !=
          std::string::npos);
    CHECK(same_tensors(bn, bn_before));
    narrow_net narrow{st::seed{2}};
    const auto n = message(narrow);
    CHECK(n.find("node 0 (expected Conv for 0_conv2d)") != std::string::npos);
    CHECK(n.find("is [32, 1, 3, 3], expected [16, 1, 3, 3]") != std::string::npos);
}

// What torch.onnx.export writes instead: a Flatten straight after NCHW
// features (channel-first order) and, here, B as (in, out) with transB = 0.
TEST_CASE("a channel-first Flatten and an untransposed Gemm load into strata's order") {
    reference_net a{st::seed{1}}, b{st::seed{2}};
    randomize(a, 5);
    auto m = st::to_onnx(a);
    const auto transpose =
        std::find_if(m.nodes.begin(), m.nodes.end(), [](const auto& n) { return n.op_type == "Transpose"; });
    REQUIRE(transpose != m.nodes.end());
    const std::string from = transpose->inputs[0], to = transpose->outputs[0];
    m.nodes.erase(transpose);
    for (auto& n : m.nodes)
        for (auto& in : n.inputs)
            if (in == to) in = from;
    constexpr std::size_t units = 128, c = 64, hw = 25;
    for (auto& t : m.initializers)
        if (t.name == "5_dense.weight") {
            REQUIRE(t.dims == std::vector<std::int64_t>{units, c * hw});
            std::vector<float> b_t(t.floats.size());  // (in, out), in channel-first
            for (std::size_t u = 0; u < units; ++u)
                for (std::size_t p = 0; p < hw; ++p)
                    for (std::size_t k = 0; k < c; ++k)
                        b_t[(k * hw + p) * units + u] = t.floats[u * c * hw + p * c + k];
            t.floats = b_t;
            t.dims = {c * hw, units};
        }
    for (auto& n : m.nodes)
        if (n.name.rfind("5_dense", 0) == 0 && n.op_type == "Gemm") n.attributes.clear();  // transB = 0
    const auto file = scratch("channel_first.onnx");
    st::onnx::write_model(file, m);
    CHECK(st::onnx::describe(st::onnx::read_model(file)).type == st::onnx::describe(st::to_onnx(a)).type);
    st::load_onnx(file, b);
    CHECK(same_tensors(a, b));
    // A plain Flatten before anything but a Gemm would change strata's order: refused.
    for (auto& n : m.nodes)
        if (n.op_type == "Gemm") n.op_type = "Tanh";
    st::onnx::write_model(file, m);
    CHECK_THROWS_AS(st::load_onnx(file, b), st::data_error);
    const auto d = st::onnx::describe(st::onnx::read_model(file));
    CHECK(d.type.empty());
    REQUIRE_FALSE(d.unsupported.empty());
}

TEST_CASE("truncated, corrupt and foreign files are data_error naming the file") {
    const auto good = scratch("good.onnx"), bad = scratch("bad.onnx");
    reference_net source{st::seed{1}};
    st::save_onnx(source, good);
    const std::string bytes = bytes_of(good);
    reference_net net{st::seed{2}};
    auto outcome = [&](const std::string& content) {
        write_bytes(bad, content);
        try {
            st::load_onnx(bad, net);
            return 0;
        } catch (const st::data_error& e) {
            CHECK(std::string(e.what()).find(bad.string()) != std::string::npos);
            return 1;
        }
    };
    // Every cut inside the graph loses a node or a tensor.
    std::size_t refused = 0, cuts = 0;
    for (std::size_t cut = 0; cut + 64 < bytes.size(); cut += 1 + cut / 16 + (cut > 4096 ? 2045 : 0)) {
        refused += outcome(bytes.substr(0, cut));
        ++cuts;
    }
    CHECK(refused == cuts);
    // Flipped bytes: loaded (a flipped weight) or refused, never a crash.
    std::size_t flips = 0;
    for (std::size_t at = 0; at < bytes.size(); at += 1 + at / 8) {
        std::string corrupt = bytes;
        corrupt[at] = char(corrupt[at] ^ 0x5a);
        outcome(corrupt);
        ++flips;
    }
    CHECK(flips > 20);
    MESSAGE(cuts << " truncated files refused; " << flips << " files with a flipped byte loaded or refused");
    CHECK(outcome("") == 1);
    CHECK(outcome("not an onnx model at all, just words") == 1);
    CHECK(outcome(std::string("\x3a\xff\xff\xff\xff\x0f", 6)) == 1);  // graph of 4 GB in 6 bytes
    CHECK_THROWS_AS(st::load_onnx(scratch("missing.onnx"), net), st::data_error);
}

TEST_CASE("a PyTorch export loads into the type strata-onnx printed and predicts as PyTorch") {
    const char* dir = std::getenv("STRATA_ONNX_DIR");
    if (dir == nullptr) {
        MESSAGE("STRATA_ONNX_DIR is not set: run through ctest (onnx_torch_import)");
        return;
    }
    reference_net net{st::seed{1}};
    st::load_onnx(fs::path(dir) / "torch_reference.onnx", net);
    const auto data = st::data::fashion_mnist();
    const auto ours = st::predict(net, st::data::take(data.test, 1000).x);
    const xt::xtensor<float, 2> theirs = xt::load_npy<float>((fs::path(dir) / "torch_logits.npy").string());
    const xt::xtensor<double, 2> exact =
        xt::load_npy<double>((fs::path(dir) / "torch_logits64.npy").string());
    REQUIRE(ours.shape() == theirs.shape());
    REQUIRE(ours.shape() == exact.shape());
    // Per image, max |difference| over its logits relative to its largest |logit|.
    auto normwise = [&](const auto& a, const auto& b) {
        double worst = 0;
        for (std::size_t i = 0; i < a.shape()[0]; ++i) {
            double diff = 0, scale = 0;
            for (std::size_t k = 0; k < a.shape()[1]; ++k) {
                diff = std::max(diff, std::abs(double(a(i, k)) - double(b(i, k))));
                scale = std::max(scale, std::abs(double(b(i, k))));
            }
            worst = std::max(worst, diff / scale);
        }
        return worst;
    };
    // Per logit, |difference| / max(|logit|, 1e-3 max|logit|): near-zero logits
    // of an untrained net make this one as large as float32 rounding allows.
    auto elementwise = [&](const auto& a, const auto& b) {
        double top = 0, worst = 0;
        for (std::size_t k = 0; k < b.size(); ++k) top = std::max(top, std::abs(double(b.data()[k])));
        for (std::size_t k = 0; k < a.size(); ++k)
            worst = std::max(worst, std::abs(double(a.data()[k]) - double(b.data()[k])) /
                                        std::max(std::abs(double(b.data()[k])), 1e-3 * top));
        return worst;
    };
    const double vs_torch = normwise(ours, theirs), ours_rounding = elementwise(ours, exact),
                 torch_rounding = elementwise(theirs, exact);
    MESSAGE("PyTorch -> ONNX -> strata on 1,000 test images: max per-image relative difference "
            << vs_torch << "; per logit against float64, strata " << ours_rounding << ", PyTorch float32 "
            << torch_rounding);
    CHECK(vs_torch <= 1e-5);
    CHECK(ours_rounding <= 2 * torch_rounding);  // strata's float32 is as close to exact as PyTorch's
}
