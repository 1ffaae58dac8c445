#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>
#include <strata/strata.hpp>
#include <support/idx_files.hpp>
#include <xtensor/xnpy.hpp>

namespace st = strata;
using strata::testing::temp_dir;

namespace {
using net_t = st::sequential<st::input<6, 6, 2>, st::conv2d<3, 3, st::relu>, st::max_pool<2>, st::flatten,
                             st::dense<4, st::identity, st::no_bias>, st::dense<2>>;

std::vector<float> params_of(const net_t& net) { return {net.parameters().begin(), net.parameters().end()}; }

template <class F>
std::string data_error_of(F&& f) {
    try {
        f();
    } catch (const st::data_error& e) {
        return e.what();
    }
    FAIL("expected a data_error");
    return {};
}
}  // namespace

TEST_CASE("weights round-trip through .npy files in both layouts") {
    for (auto layout : {st::weight_layout::strata, st::weight_layout::pytorch}) {
        temp_dir dir;
        const net_t a{st::seed{1}};
        st::save_weights(a, dir.path, layout);
        CHECK(std::filesystem::exists(dir / "0_conv2d.weight.npy"));
        CHECK(std::filesystem::exists(dir / "0_conv2d.bias.npy"));
        CHECK(std::filesystem::exists(dir / "3_dense.weight.npy"));
        CHECK(!std::filesystem::exists(dir / "3_dense.bias.npy"));  // no_bias
        CHECK(std::filesystem::exists(dir / "4_dense.bias.npy"));
        net_t b{st::seed{2}};
        CHECK(params_of(a) != params_of(b));
        st::load_weights(b, dir.path, layout);
        CHECK(params_of(a) == params_of(b));
    }
}

TEST_CASE("PyTorch layout puts conv weights as (out, in, kh, kw) and dense as (out, in)") {
    temp_dir dir;
    const net_t net{st::seed{3}};
    st::save_weights(net, dir.path, st::weight_layout::pytorch);
    // load_tensor checks the file's shape against the one given.
    std::vector<float> conv(54), dense(8);
    st::detail::load_tensor(dir / "0_conv2d.weight.npy", "conv", {3, 2, 3, 3}, conv.data());
    const float* w = net.layer<0>().weights();  // strata: [ky][kx][c][f]
    for (std::size_t f = 0; f < 3; ++f)
        for (std::size_t c = 0; c < 2; ++c)
            for (std::size_t ky = 0; ky < 3; ++ky)
                for (std::size_t kx = 0; kx < 3; ++kx)
                    CHECK(conv[((f * 2 + c) * 3 + ky) * 3 + kx] == w[((ky * 3 + kx) * 2 + c) * 3 + f]);
    st::detail::load_tensor(dir / "4_dense.weight.npy", "dense", {2, 4}, dense.data());
    const float* d = net.layer<4>().weights();  // strata: [in][out]
    for (std::size_t o = 0; o < 2; ++o)
        for (std::size_t i = 0; i < 4; ++i) CHECK(dense[o * 4 + i] == d[i * 2 + o]);
    temp_dir other;
    st::save_weights(net, other.path);
    CHECK_NOTHROW(st::detail::load_tensor(other / "0_conv2d.weight.npy", "conv", {3, 3, 2, 3}, conv.data()));
}

TEST_CASE(
    "bad weight files are rejected with the tensor and the problem named, leaving the network unchanged") {
    temp_dir dir;
    const net_t saved{st::seed{4}};
    st::save_weights(saved, dir.path);
    net_t net{st::seed{5}};
    const auto before = params_of(net);
    const auto weight_file = dir / "3_dense.weight.npy";
    auto load = [&] { st::load_weights(net, dir.path); };

    SUBCASE("missing file") {
        std::filesystem::remove(weight_file);
        const auto msg = data_error_of(load);
        CHECK(msg.find("3_dense.weight") != std::string::npos);
        CHECK(msg.find("file not found") != std::string::npos);
    }
    SUBCASE("wrong dtype") {
        xt::dump_npy(weight_file.string(), xt::xtensor<std::int32_t, 2>::from_shape({12, 4}));
        const auto msg = data_error_of(load);
        CHECK(msg.find("dtype '<i4'") != std::string::npos);
        CHECK(msg.find("3_dense.weight") != std::string::npos);
    }
    SUBCASE("wrong shape for the layer") {
        xt::dump_npy(weight_file.string(), xt::xtensor<float, 2>::from_shape({4, 12}));
        CHECK(data_error_of(load).find("shape (4, 12), expected (12, 4)") != std::string::npos);
    }
    SUBCASE("truncated") {
        const auto size = std::filesystem::file_size(weight_file);
        std::filesystem::resize_file(weight_file, size - 12);
        const auto msg = data_error_of(load);
        CHECK(msg.find("truncated") != std::string::npos);
        CHECK(msg.find(weight_file.string()) != std::string::npos);
    }
    SUBCASE("not an npy file") {
        std::ofstream(weight_file) << "definitely not numpy";
        CHECK(data_error_of(load).find("not an .npy file") != std::string::npos);
    }
    SUBCASE("column-major") {
        xt::dump_npy(weight_file.string(),
                     xt::xtensor<float, 2, xt::layout_type::column_major>::from_shape({12, 4}));
        CHECK(data_error_of(load).find("Fortran") != std::string::npos);
    }
    CHECK(params_of(net) == before);
}

namespace {
// An .npy file of float32 values with the given header text, length-prefixed as version major.0.
void write_npy(const std::filesystem::path& file, const std::string& header, const std::vector<float>& values,
               int major = 1, int minor = 0) {
    std::ofstream out(file, std::ios::binary);
    out.write("\x93NUMPY", 6);
    out.put(static_cast<char>(major));
    out.put(static_cast<char>(minor));
    const std::size_t len = header.size();
    for (int b = 0; b < (major == 1 ? 2 : 4); ++b) out.put(static_cast<char>((len >> (8 * b)) & 0xff));
    out.write(header.data(), static_cast<std::streamsize>(len));
    out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * 4));
}
std::string padded(std::string dict, std::size_t preamble = 10) {
    dict.append((64 - (preamble + dict.size() + 1) % 64) % 64, ' ');
    return dict + '\n';
}
}  // namespace

// Each header below was tried with numpy.load (numpy 1.24.2): the accepted ones
// load there, the refused ones raise ValueError there too.
TEST_CASE(".npy headers follow numpy's rules") {
    temp_dir dir;
    const auto file = dir / "t.npy";
    const std::vector<float> values{1, 2, 3, 4, 5, 6};
    auto load = [&] {
        std::vector<float> out(6);
        st::detail::load_tensor(file, "t", {2, 3}, out.data());
        return out;
    };
    for (const std::string accepted : {
             "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
             "{\"shape\": (2, 3), \"fortran_order\": False, \"descr\": \"<f4\"}",
             "{'descr':'<f4','fortran_order':False,'shape':(2,3,)}",
             "  {'descr': '<f4',\n 'fortran_order': False,\n 'shape': (2, 3)}  \t\r\n",
             "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }",  // Python 2's longs
             "{'descr': '<f4', # a comment\n 'fortran_order': False, 'shape': (2, 3), }",
         }) {
        CAPTURE(accepted);
        write_npy(file, padded(accepted), values);
        CHECK(load() == values);
    }
    write_npy(file, padded("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 12), values, 2);
    CHECK(load() == values);

    struct refused {
        std::string header, message;
    };
    for (const refused& r : std::vector<refused>{
             {padded("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }") + "junk\n",
              "after the dict"},
             {padded("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }x"), "after the dict"},
             {padded("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }"), "True or False"},
             {padded("{'descr': '<f4', 'fortran_order': Fals, 'shape': (2, 3), }"), "True or False"},
             {padded("{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2, 3), }"), "True or False"},
             {padded("{'descr': '<f4', 'fortran_order': 'False', 'shape': (2, 3), }"), "True or False"},
             {padded("{'descr': '<f4', 'shape': (2, 3), }"), "no 'fortran_order' key"},
             {padded("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}"),
              "unexpected key 'extra'"},
             {padded("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }"), "must be a tuple"},
             {padded("{'descr': '<f4', 'fortran_order': False, 'shape': (6), }"),
              "is an integer, not a tuple"},
             {padded("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }"),
              "non-negative integers"},
             {padded("{'descr': '<f4', 'fortran_order': False, 'shape': (02, 3), }"), "leading zero"},
             {padded("{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3), }"), "expected ',' or '}'"},
             {padded("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), "), "ends inside the dict"},
             {padded("['descr', '<f4']"), "dict literal"},
         }) {
        CAPTURE(r.header);  // clang before 16 cannot capture structured bindings
        write_npy(file, r.header, values);
        const auto msg = data_error_of(load);
        CHECK(msg.find("tensor t (") != std::string::npos);
        CHECK(msg.find(r.message) != std::string::npos);
    }
    write_npy(file, padded("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"), values, 1, 1);
    CHECK(data_error_of(load).find("unsupported .npy version 1.1") != std::string::npos);
    write_npy(file, padded("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3), }", 12), values, 3);
    CHECK(data_error_of(load).find("expected ',' or ')' in 'shape'") !=
          std::string::npos);  // longs: versions 1, 2 only
}

TEST_CASE("non-finite weights are refused unless the caller allows them") {
    temp_dir dir;
    net_t saved{st::seed{4}};
    saved.layer<4>().bias()[1] = std::nanf("");
    st::save_weights(saved, dir.path);
    net_t net{st::seed{5}};
    const auto before = params_of(net);
    const auto msg = data_error_of([&] { st::load_weights(net, dir.path); });
    CHECK(msg.find("tensor 4_dense.bias") != std::string::npos);
    CHECK(msg.find("value 1 is nan") != std::string::npos);
    CHECK(msg.find("non_finite_values::allow") != std::string::npos);
    CHECK(params_of(net) == before);
    st::load_weights(net, dir.path, st::weight_layout::strata, st::non_finite_values::allow);
    CHECK(std::isnan(net.layer<4>().bias()[1]));
}

TEST_CASE("a float64 value too large for float is refused, not loaded as infinity") {
    // Found by fuzzing (tests/fuzz/corpus/npy/regression-f8-overflows-float).
    temp_dir dir;
    const std::vector<double> values{1, 2, 3, 4, 5, 1e39};
    st::detail::save_tensor(dir / "t.npy", values.data(), {2, 3});
    std::vector<float> out(6);
    const auto msg = data_error_of([&] { st::detail::load_tensor(dir / "t.npy", "t", {2, 3}, out.data()); });
    CHECK(msg.find("tensor t (") != std::string::npos);
    CHECK(msg.find("value 5 is ") != std::string::npos);
    CHECK(msg.find("too large for float32") != std::string::npos);
    std::vector<double> wide(6);
    st::detail::load_tensor(dir / "t.npy", "t", {2, 3}, wide.data());
    CHECK(wide == values);
}

TEST_CASE("float64 files load into a float network") {
    temp_dir dir;
    using dnet = st::basic_sequential<double, st::input<6, 6, 2>, st::conv2d<3, 3, st::relu>, st::max_pool<2>,
                                      st::flatten, st::dense<4, st::identity, st::no_bias>, st::dense<2>>;
    const dnet source{st::seed{6}};
    st::save_weights(source, dir.path);
    net_t net;
    st::load_weights(net, dir.path);
    for (std::size_t i = 0; i < net.parameters().size(); ++i)
        CHECK(net.parameters()[i] == static_cast<float>(source.parameters()[i]));
}

TEST_CASE("batch_norm's parameters and moving statistics round-trip, under both vocabularies") {
    using bn_net =
        st::sequential<st::input<6, 6, 2>, st::conv2d<3, 3>, st::batch_norm, st::flatten, st::dense<2>>;
    for (auto layout : {st::weight_layout::strata, st::weight_layout::pytorch}) {
        temp_dir dir;
        bn_net a{st::seed{1}};
        // Non-default values everywhere, as after training.
        // Padding between layers' slices stays zero (it is never saved).
        auto bump = [](std::span<float> values) {
            for (std::size_t i = 0; i < values.size(); ++i) values[i] += 0.01f * float(i % 7);
        };
        bump(a.layer_parameters<0>());
        bump(a.layer_parameters<1>());
        bump(a.layer_parameters<3>());
        for (std::size_t i = 0; i < 6; ++i) a.state()[i] = 0.5f + 0.1f * float(i);
        st::save_weights(a, dir.path, layout);
        const bool torch = layout == st::weight_layout::pytorch;
        CHECK(std::filesystem::exists(dir / (torch ? "1_batch_norm.weight.npy" : "1_batch_norm.gamma.npy")));
        CHECK(std::filesystem::exists(
            dir / (torch ? "1_batch_norm.running_var.npy" : "1_batch_norm.moving_variance.npy")));
        bn_net b{st::seed{2}};
        st::load_weights(b, dir.path, layout);
        CHECK(std::vector<float>(b.parameters().begin(), b.parameters().end()) ==
              std::vector<float>(a.parameters().begin(), a.parameters().end()));
        CHECK(std::vector<float>(b.state().begin(), b.state().end()) ==
              std::vector<float>(a.state().begin(), a.state().end()));
        // A missing statistic names itself and leaves the network unchanged.
        std::filesystem::remove(dir /
                                (torch ? "1_batch_norm.running_mean.npy" : "1_batch_norm.moving_mean.npy"));
        bn_net c{st::seed{3}};
        const auto before = std::vector<float>(c.state().begin(), c.state().end());
        CHECK(data_error_of([&] {
                  st::load_weights(c, dir.path, layout);
              }).find(torch ? "1_batch_norm.running_mean" : "1_batch_norm.moving_mean") != std::string::npos);
        CHECK(std::vector<float>(c.state().begin(), c.state().end()) == before);
    }
}
