// The U-Net of the segmentation example, in a translation unit of its own.
#include "train.hpp"

namespace segmentation_example {

// conv-relu-batch_norm twice: one U-Net level's convolutions.
template <std::size_t Filters>
using double_conv = st::chain<st::conv2d<Filters, 3, st::relu, st::same>, st::batch_norm,
                              st::conv2d<Filters, 3, st::relu, st::same>, st::batch_norm>;

// Each skip_concat keeps its input beside the coarser level's upsampled
// output, so the decoder sees both the outlines (fine) and the garment (coarse).
using unet_t = st::sequential<
    st::input<side, side, 1>, double_conv<8>,
    st::skip_concat<st::max_pool<2>, double_conv<16>,
                    st::skip_concat<st::max_pool<2>, double_conv<32>,
                                    st::skip_concat<st::max_pool<2>, double_conv<64>, st::upsample<2>>,
                                    double_conv<32>, st::upsample<2>>,
                    double_conv<16>, st::upsample<2>>,
    double_conv<8>, st::conv2d<classes, 1>>;

outcome train_unet(const context& c) {
    if (!c.opt.augment) return train_and_test<unet_t>(c, "unet", c.opt.epochs);
    namespace aug = st::augment;
    return train_and_test<unet_t>(c, "unet", c.opt.epochs,
                                  aug::pipeline{aug::horizontal_flip{}, aug::random_shift::pixels(6, 6),
                                                aug::sampling{.interpolation = aug::interpolation::nearest,
                                                              .fill = aug::fill_mode::constant}});
}

}  // namespace segmentation_example
