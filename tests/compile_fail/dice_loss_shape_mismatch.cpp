// expect: the per-pixel loss's mask shape does not match the network's output
#include <strata/strata.hpp>
namespace st = strata;
int main() {
    // 32x32x2 outputs against a 32x32 mask of 3 classes.
    st::sequential<st::input<32, 32, 1>, st::conv2d<8, 3, st::relu, st::same>, st::conv2d<2, 1>> net;
    st::data::dataset<float> d;
    st::fit(net, d, st::loss::dice<32, 32, 3>{.from_logits = true}, st::optim::adam{});
}
