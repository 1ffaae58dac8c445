// expect: strata::layer: the type has no `void backward
#include <strata/strata.hpp>
namespace st = strata;
// A user layer that forgot backward: one message naming it, nothing after it.
template <class T, class In>
struct double_it_layer : st::parameter_free_layer {
    using in_shape = In;
    using out_shape = In;
    static constexpr std::string_view name = "double_it";
    void forward(const T* in, T* out, std::size_t n, const st::pass_context<T>&) const {
        for (std::size_t i = 0; i < n * In::size; ++i) out[i] = 2 * in[i];
    }
};
struct double_it {
    template <class T, class In>
    using bind = double_it_layer<T, In>;
};
int main() {
    st::sequential<st::input<4>, double_it, st::dense<2>> net;
    st::data::dataset<float> d;
    st::fit(net, d, st::loss::mean_squared_error{}, st::optim::sgd{});
    st::save_weights(net, "unused");
}
