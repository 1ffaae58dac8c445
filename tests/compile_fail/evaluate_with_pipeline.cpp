// expect: evaluate: options are batch_size.n., threads.n., class_weights
// Test data is never augmented: evaluate refuses a pipeline rather than ignore it.
#include <strata/strata.hpp>
namespace st = strata;
int main() {
    st::sequential<st::input<4, 4, 1>, st::flatten, st::dense<2>> net;
    st::data::dataset<float> d;
    st::evaluate(net, d, st::loss::mean_squared_error{},
                 st::augment::pipeline{st::augment::horizontal_flip{}});
}
