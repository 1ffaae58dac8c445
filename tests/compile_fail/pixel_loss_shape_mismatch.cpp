// expect: the per-pixel loss's mask shape does not match the network's output
#include <strata/strata.hpp>
namespace st = strata;
int main() {
    // 32x32x11 outputs against a 64x64 mask of 11 classes.
    st::sequential<st::input<32, 32, 1>, st::conv2d<8, 3, st::relu, st::same>, st::conv2d<11, 1>> net;
    st::data::dataset<float> d;
    st::fit(net, d, st::loss::pixel_crossentropy<64, 64, 11>{.from_logits = true}, st::optim::adam{});
}
