// expect: strata::optimizer: the type has no member template `state_type<T>`
#include <strata/optim/optimizer.hpp>
struct not_an_optimizer {
    double lr = 0.1;
};
static_assert(strata::detail::check_optimizer<not_an_optimizer, float>());
int main() {}
