// expect: a layer with parameters or state must show them through
#include <strata/strata.hpp>
namespace st = strata;
// A user layer with a parameter but no visit_tensors: save_weights cannot see it.
template <class T, class In>
struct scale_layer : st::parameter_free_layer {
    using in_shape = In;
    using out_shape = In;
    static constexpr std::string_view name = "scale";
    static constexpr std::size_t param_count = 1;
    void bind_parameters(T* p) { scale_ = p; }
    void forward(const T* in, T* out, std::size_t n, const st::pass_context<T>&) const {
        for (std::size_t i = 0; i < n * In::size; ++i) out[i] = *scale_ * in[i];
    }
    void backward(const T*, const T*, T*, T*, T*, std::size_t, const st::pass_context<T>&) const {}
    T* scale_ = nullptr;
};
struct scale {
    template <class T, class In>
    using bind = scale_layer<T, In>;
};
int main() {
    st::sequential<st::input<4>, scale, st::dense<2>> net;
    st::save_weights(net, "unused");
}
