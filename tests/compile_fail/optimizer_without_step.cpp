// expect: strata::optimizer: the type has no `step.std::span<T> params, std::span<const T> grads
// Through fit, as a user meets it: one message naming the missing member.
#include <strata/strata.hpp>
namespace st = strata;
struct optimizer_without_step {
    double lr = 0.1;
    template <class T>
    struct state_type {};
    template <class T>
    state_type<T> make_state(std::size_t) const {
        return {};
    }
};
int main() {
    st::sequential<st::input<4>, st::dense<2>> net;
    st::data::dataset<float> d;
    st::fit(net, d, st::loss::mean_squared_error{}, optimizer_without_step{});
}
