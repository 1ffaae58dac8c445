// The package test (Conan and the install ctest). Trains a tiny network for a few steps through an installed
// strata and checks that the loss fell.
#include <cstdio>

#include <strata/strata.hpp>

namespace st = strata;

int main() {
    using net_t = st::sequential<st::input<4, 4, 1>, st::conv2d<4, 3, st::relu>, st::flatten, st::dense<2>>;
    st::data::dataset<float> d;
    d.x = xt::xtensor<float, 4>::from_shape({64, 4, 4, 1});
    d.y = xt::xtensor<float, 2>::from_shape({64, 1});
    for (std::size_t i = 0; i < 64; ++i) {  // class 1: bright images
        d.y(i, 0) = static_cast<float>(i % 2);
        for (std::size_t p = 0; p < 16; ++p)
            d.x.data()[i * 16 + p] = (i % 2 ? 0.8f : 0.2f) + 0.01f * float(p % 3);
    }
    net_t net{st::seed{1}};
    const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
    const auto h = st::fit(net, d, loss, st::optim::adam{.lr = 0.01}, st::epochs{20}, st::batch_size{16});
    std::printf("test_package: loss %.4f -> %.4f, accuracy %.2f\n", h.epochs.front().loss,
                h.epochs.back().loss, h.epochs.back().accuracy);
    return h.epochs.back().loss < h.epochs.front().loss && h.epochs.back().accuracy == 1.0 ? 0 : 1;
}
