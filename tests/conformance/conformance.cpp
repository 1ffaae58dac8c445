// PyTorch conformance of networks of plain layers (run_case.hpp states the rules).
#include "run_case.hpp"

TEST_CASE_TEMPLATE("conv valid + relu, max_pool, flatten, dense; sparse CE from logits", T, float, double) {
    using net_t = st::basic_sequential<T, st::input<8, 8, 3>, st::conv2d<4, 3, st::relu>, st::max_pool<2>,
                                       st::flatten, st::dense<5>>;
    run_case<net_t>("conv_valid_relu", st::loss::sparse_categorical_crossentropy{.from_logits = true});
}

TEST_CASE_TEMPLATE("conv same stride 2 + tanh, avg_pool, dense + sigmoid; binary CE from probabilities", T,
                   float, double) {
    using net_t =
        st::basic_sequential<T, st::input<9, 9, 2>, st::conv2d<5, 3, st::tanh, st::same, st::stride<2>>,
                             st::avg_pool<2>, st::flatten, st::dense<3, st::sigmoid>>;
    run_case<net_t>("conv_same_stride2", st::loss::binary_crossentropy{});
}

TEST_CASE_TEMPLATE(
    "conv same without bias + leaky_relu, global_avg_pool, dense + softmax; sparse CE from probabilities", T,
    float, double) {
    using net_t =
        st::basic_sequential<T, st::input<7, 7, 3>, st::conv2d<6, 3, st::leaky_relu, st::same, st::no_bias>,
                             st::global_avg_pool, st::dense<4, st::softmax>>;
    run_case<net_t>("conv_same_nobias", st::loss::sparse_categorical_crossentropy{});
}

TEST_CASE_TEMPLATE("conv same + relu, global_max_pool, dense; sparse CE from logits", T, float, double) {
    using net_t = st::basic_sequential<T, st::input<6, 7, 3>, st::conv2d<5, 3, st::relu, st::same>,
                                       st::global_max_pool, st::dense<4>>;
    run_case<net_t>("conv_global_max_pool", st::loss::sparse_categorical_crossentropy{.from_logits = true});
}

TEST_CASE_TEMPLATE("zero_padding, nearest and bilinear upsample between convs; sparse CE from logits", T,
                   float, double) {
    using net_t =
        st::basic_sequential<T, st::input<4, 5, 2>, st::conv2d<3, 3, st::tanh, st::same>, st::zero_padding<1>,
                             st::upsample<2>, st::conv2d<4, 3, st::relu, st::stride<2>>,
                             st::upsample<2, st::bilinear>, st::global_avg_pool, st::dense<3>>;
    run_case<net_t>("upsample_zero_padding", st::loss::sparse_categorical_crossentropy{.from_logits = true});
}

TEST_CASE_TEMPLATE("conv stride 2 even kernel + elu, dense without bias; categorical CE from logits", T,
                   float, double) {
    using net_t =
        st::basic_sequential<T, st::input<10, 10, 2>, st::conv2d<4, 4, st::elu, st::valid, st::stride<2>>,
                             st::flatten, st::dense<6, st::identity, st::no_bias>>;
    run_case<net_t>("conv_stride2_even_kernel", st::loss::categorical_crossentropy{.from_logits = true});
}

TEST_CASE_TEMPLATE(
    "stand-alone activation layers (sigmoid, softmax over channels, tanh, elu); mean squared error", T, float,
    double) {
    using net_t =
        st::basic_sequential<T, st::input<6, 6, 2>, st::conv2d<3, 3, st::identity, st::same>, st::sigmoid,
                             st::max_pool<3>, st::softmax, st::flatten, st::dense<3>, st::tanh, st::elu>;
    run_case<net_t>("standalone_activations", st::loss::mean_squared_error{});
}

TEST_CASE_TEMPLATE("multi-layer perceptron with leaky_relu; binary CE from logits", T, float, double) {
    using net_t = st::basic_sequential<T, st::input<12>, st::dense<8, st::sigmoid>, st::leaky_relu,
                                       st::dense<8, st::relu>, st::dense<2>>;
    run_case<net_t>("mlp", st::loss::binary_crossentropy{.from_logits = true});
}

TEST_CASE_TEMPLATE(
    "conv same even kernel, overlapping max_pool, dense + softmax; categorical CE from probabilities", T,
    float, double) {
    using net_t = st::basic_sequential<T, st::input<5, 5, 2>, st::conv2d<4, 2, st::relu, st::same>,
                                       st::max_pool<2, 1>, st::flatten, st::dense<3, st::softmax>>;
    run_case<net_t>("conv_same_even_kernel_probs", st::loss::categorical_crossentropy{});
}

TEST_CASE_TEMPLATE("batch_norm after a convolution and after a dense layer, in training mode", T, float,
                   double) {
    using net_t = st::basic_sequential<T, st::input<6, 6, 3>, st::conv2d<5, 3, st::relu, st::no_bias>,
                                       st::batch_norm, st::max_pool<2>, st::flatten, st::dense<6, st::tanh>,
                                       st::batch_norm, st::dense<3>>;
    run_case<net_t>("batch_norm", st::loss::sparse_categorical_crossentropy{.from_logits = true});
}

TEST_CASE_TEMPLATE("depthwise_conv2d with a multiplier, conv2d_transpose with same and valid padding", T,
                   float, double) {
    using net_t =
        st::basic_sequential<T, st::input<4, 4, 3>, st::depthwise_conv2d<3, 2, st::relu, st::same>,
                             st::conv2d_transpose<4, 3, st::tanh, st::same, st::stride<2>>,
                             st::conv2d_transpose<2, 2, st::stride<2>, st::no_bias>,
                             st::conv2d<3, 3, st::relu, st::stride<2>>, st::global_avg_pool, st::dense<3>>;
    run_case<net_t>("transpose_depthwise", st::loss::sparse_categorical_crossentropy{.from_logits = true});
}
