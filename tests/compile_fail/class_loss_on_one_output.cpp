// expect: needs one output per class \(at least 2\), but the network ends in a single output
#include <strata/strata.hpp>
namespace st = strata;
int main() {
    st::sequential<st::input<4>, st::dense<1>> net;
    st::data::dataset<float> d;
    st::fit(net, d, st::loss::sparse_categorical_crossentropy{.from_logits = true}, st::optim::adam{});
}
