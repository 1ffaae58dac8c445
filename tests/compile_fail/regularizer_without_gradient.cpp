// expect: the type has no `void add_gradient
#include <strata/strata.hpp>
namespace st = strata;
struct penalty_only {
    template <class T>
    double penalty(std::span<const T>) const {
        return 0;
    }
};
int main() {
    st::sequential<st::input<4>, st::dense<2>> net;
    st::data::dataset<float> d;
    st::fit(net, d, st::loss::mean_squared_error{}, st::optim::sgd{}, st::weight_penalty{penalty_only{}});
}
