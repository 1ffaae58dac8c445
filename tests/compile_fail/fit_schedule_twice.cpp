// expect: fit: two learning-rate schedules
#include <strata/strata.hpp>
namespace st = strata;
int main() {
    st::sequential<st::input<2>, st::dense<1>> net;
    st::data::dataset<float> d;
    st::fit(net, d, st::loss::mean_squared_error{}, st::optim::sgd{}, st::schedule::cosine_decay{},
            st::schedule::cosine_decay{});
}
