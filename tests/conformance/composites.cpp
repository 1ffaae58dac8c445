// PyTorch conformance of composites: residual blocks, concat, a U-Net.
#include "run_case.hpp"

TEST_CASE_TEMPLATE("residual blocks: identity shortcut, then a strided block with a projection shortcut", T,
                   float, double) {
    using net_t = st::basic_sequential<
        T, st::input<6, 6, 3>, st::conv2d<4, 3, st::relu, st::same>,
        st::residual<st::conv2d<4, 3, st::same, st::no_bias>, st::batch_norm, st::relu,
                     st::conv2d<4, 3, st::same>>,
        st::relu,
        st::residual<st::conv2d<6, 3, st::same, st::stride<2>, st::no_bias>, st::batch_norm, st::relu,
                     st::conv2d<6, 3, st::same, st::no_bias>, st::batch_norm,
                     st::shortcut<st::conv2d<6, 1, st::stride<2>, st::no_bias>, st::batch_norm>>,
        st::relu, st::global_avg_pool, st::dense<3>>;
    run_case<net_t>("residual_projection", st::loss::sparse_categorical_crossentropy{.from_logits = true});
}

TEST_CASE_TEMPLATE("concat of a 1x1 conv and a chain of conv, max_pool and zero_padding", T, float, double) {
    using net_t = st::basic_sequential<
        T, st::input<6, 6, 2>,
        st::concat<st::conv2d<3, 1, st::relu>,
                   st::chain<st::conv2d<2, 3, st::tanh, st::same>, st::max_pool<3, 1>, st::zero_padding<1>>>,
        st::conv2d<4, 3, st::relu, st::stride<2>>, st::flatten, st::dense<4>>;
    run_case<net_t>("concat_branches", st::loss::categorical_crossentropy{.from_logits = true}, 2e-4);
}

TEST_CASE_TEMPLATE("a two-level U-Net: nested skip_concat with pooling, batch_norm and both upsamplings", T,
                   float, double) {
    using net_t = st::basic_sequential<
        T, st::input<8, 8, 2>, st::conv2d<4, 3, st::relu, st::same>,
        st::skip_concat<st::max_pool<2>, st::conv2d<6, 3, st::tanh, st::same>,
                        st::skip_concat<st::max_pool<2>, st::conv2d<8, 3, st::same, st::no_bias>,
                                        st::batch_norm, st::tanh, st::upsample<2>>,
                        st::conv2d<6, 3, st::tanh, st::same>, st::upsample<2, st::bilinear>>,
        st::conv2d<3, 1>, st::flatten, st::dense<2>>;
    run_case<net_t>("unet_two_levels", st::loss::binary_crossentropy{.from_logits = true}, 2e-4);
}
