// expect: callbacks: types with at least one of on_train_begin
#include <strata/strata.hpp>
namespace st = strata;
struct misspelled {
    void on_epoch_ends(st::training_view&) {}
};
int main() {
    st::sequential<st::input<2>, st::dense<1>> net;
    st::data::dataset<float> d;
    st::fit(net, d, st::loss::mean_squared_error{}, st::optim::sgd{}, misspelled{});
}
