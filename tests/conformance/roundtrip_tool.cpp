// The strata side of the Fashion-MNIST round trip with PyTorch (roundtrip.py
// is the other side):
//   roundtrip_tool export DIR  trains the reference network briefly, writes its
//                              weights in PyTorch layout and its test-set
//                              logits to DIR/from_strata/
//   roundtrip_tool import DIR  loads DIR/from_torch/ (weights PyTorch trained,
//                              PyTorch layout), predicts the test set and
//                              compares with PyTorch's logits there
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include <strata/strata.hpp>
#include <xtensor/xnpy.hpp>

namespace st = strata;
namespace fs = std::filesystem;

using reference_net = st::sequential<st::input<28, 28, 1>, st::conv2d<32, 3, st::relu>, st::max_pool<2>,
                                     st::conv2d<64, 3, st::relu>, st::max_pool<2>, st::flatten,
                                     st::dense<128, st::relu>, st::dropout<0.5>, st::dense<10>>;

namespace {

std::size_t argmax_row(const xt::xtensor<float, 2>& m, std::size_t row) {
    std::size_t best = 0;
    for (std::size_t k = 1; k < m.shape()[1]; ++k)
        if (m(row, k) > m(row, best)) best = k;
    return best;
}

int compare(const xt::xtensor<float, 2>& ours, const xt::xtensor<float, 2>& theirs) {
    if (ours.shape() != theirs.shape()) {
        std::cerr << "roundtrip: logits have different shapes\n";
        return 1;
    }
    std::size_t same = 0;
    double max_diff = 0;
    for (std::size_t i = 0; i < ours.shape()[0]; ++i) {
        same += argmax_row(ours, i) == argmax_row(theirs, i);
        for (std::size_t k = 0; k < ours.shape()[1]; ++k)
            max_diff = std::max(max_diff, double(std::abs(ours(i, k) - theirs(i, k))));
    }
    const double agreement = double(same) / double(ours.shape()[0]);
    std::printf(
        "PyTorch -> strata: identical argmax on %zu of %zu test images (%.4f%%), max |logit difference| "
        "%.3g\n",
        same, ours.shape()[0], 100 * agreement, max_diff);
    return agreement >= 0.999 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3 || (std::string(argv[1]) != "export" && std::string(argv[1]) != "import")) {
        std::cerr << "usage: roundtrip_tool export|import DIR\n";
        return 2;
    }
    try {
        const fs::path dir = argv[2];
        const auto data = st::data::fashion_mnist();
        reference_net net{st::seed{7}};
        if (std::string(argv[1]) == "export") {
            st::fit(net, st::data::take(data.train, 3000),
                    st::loss::sparse_categorical_crossentropy{.from_logits = true}, st::optim::adam{},
                    st::epochs{1}, st::batch_size{64}, st::seed{7});
            st::save_weights(net, dir / "from_strata", st::weight_layout::pytorch);
            xt::dump_npy((dir / "from_strata" / "logits.npy").string(), st::predict(net, data.test.x));
            std::printf("exported a strata-trained model and its test logits to %s\n",
                        (dir / "from_strata").c_str());
            return 0;
        }
        st::load_weights(net, dir / "from_torch", st::weight_layout::pytorch);
        const xt::xtensor<float, 2> theirs =
            xt::load_npy<float>((dir / "from_torch" / "logits.npy").string());
        return compare(st::predict(net, data.test.x), theirs);
    } catch (const std::exception& e) {
        std::cerr << "roundtrip_tool: " << e.what() << "\n";
        return 1;
    }
}
