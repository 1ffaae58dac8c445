// expect: fit: the optimizer does not satisfy strata::optimizer
#include <strata/strata.hpp>
namespace st = strata;
struct not_an_optimizer {
    double lr = 0.1;
};
int main() {
    st::sequential<st::input<4>, st::dense<2>> net;
    st::data::dataset<float> d;
    st::fit(net, d, st::loss::mean_squared_error{}, not_an_optimizer{});
}
