#include <sstream>

#include <doctest/doctest.h>
#include <strata/strata.hpp>

namespace st = strata;

TEST_CASE("summary lists every layer's output shape and parameter count, with totals") {
    using net_t = st::sequential<st::input<28, 28, 1>, st::conv2d<32, 3, st::relu>, st::max_pool<2>,
                                 st::conv2d<64, 3, st::relu>, st::max_pool<2>, st::flatten,
                                 st::dense<128, st::relu>, st::dropout<0.5>, st::dense<10>>;
    net_t net;
    const auto s = st::summary(net);
    // The same numbers Keras prints for this network.
    CHECK(s.rows[0].output_shape == "(26, 26, 32)");
    CHECK(s.rows[0].params == 320);
    CHECK(s.rows[2].params == 18496);
    CHECK(s.rows[3].output_shape == "(5, 5, 64)");
    CHECK(s.rows[4].output_shape == "(1600)");
    CHECK(s.rows[5].params == 204928);
    CHECK(s.rows[7].params == 1290);
    CHECK(s.rows[6].layer == "dropout");
    static_assert(decltype(s)::total_params == 225034);

    std::ostringstream out;
    out << s;
    const std::string text = out.str();
    CHECK(text.find("conv2d_0") != std::string::npos);
    CHECK(text.find("(13, 13, 32)") != std::string::npos);
    CHECK(text.find("204,928") != std::string::npos);
    CHECK(text.find("Total params: 225,034") != std::string::npos);
}
