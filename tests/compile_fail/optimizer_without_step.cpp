// expect: strata::optimizer: the type has no `step.std::span<T> params, std::span<const T> grads
#include <cstddef>

#include <strata/optim/optimizer.hpp>
struct optimizer_without_step {
    double lr = 0.1;
    template <class T>
    struct state_type {};
    template <class T>
    state_type<T> make_state(std::size_t) const {
        return {};
    }
};
static_assert(strata::detail::check_optimizer<optimizer_without_step, float>());
int main() {}
