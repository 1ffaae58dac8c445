// expect: the type has no `double evaluate
#include <strata/strata.hpp>
namespace st = strata;
struct half_a_loss {
    static constexpr std::string_view name = "half";
    static constexpr bool has_accuracy = false;
    std::size_t target_width(std::size_t outputs) const { return outputs; }
    void check_targets(const float*, std::size_t, std::size_t) const {}
};
int main() {
    st::sequential<st::input<4>, st::dense<2>> net;
    st::data::dataset<float> d;
    st::fit(net, d, half_a_loss{}, st::optim::sgd{});
}
