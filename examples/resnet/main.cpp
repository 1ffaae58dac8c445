// Trains a ResNet (strata::models::resnet: He et al.'s CIFAR networks, three
// stages of 16/32/64 filters) on Fashion-MNIST with the recipe those networks
// are trained with: random crops of the image padded by 4 pixels and
// horizontal flips, SGD with Nesterov momentum 0.9 and weight decay 5e-4,
// the rate decaying from 0.1 to 0 along a cosine, batch 128. The accuracy
// reported is the last epoch's on the test set (never the best epoch picked on
// test data). benchmarks/resnet_pytorch.py runs the same recipe in PyTorch.
// Progress goes to the terminal; --json prints one JSON object as the last
// line of stdout.
#include <iostream>

#include "../common/example_cli.hpp"
#include "train.hpp"

namespace {

using resnet_example::options;

options parse(int argc, char** argv) {
    options o;
    CLI::App app{"Trains a ResNet on Fashion-MNIST with the CIFAR recipe and reports its test accuracy.",
                 "resnet"};
    app.add_option("--depth", o.depth, "8, 14 or 20 layers: 1, 2 or 3 blocks per stage")
        ->check(CLI::IsMember({8, 14, 20}))
        ->capture_default_str();
    app.add_option("--lr", o.lr, "starting rate of the cosine decay")
        ->check(example::real_above(0, true))
        ->capture_default_str();
    app.add_option("--weight-decay", o.weight_decay, "SGD's weight decay")
        ->check(example::real_above(0, false))
        ->capture_default_str();
    app.add_flag("!--no-augment", o.augment, "train without random crops and flips");
    app.add_option("--save", o.save_dir,
                   "write the trained weights in PyTorch's layout (one .npy per tensor, named by path: "
                   "3_chain.0_residual.0_conv2d.weight.npy) and the logits of the first 1000 test images "
                   "(test_logits.npy)");
    example::add_training_flags(app, o);
    example::parse_or_exit(app, argc, argv);
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    const options opt = parse(argc, argv);
    // With --json, stdout carries only the JSON line; people still see progress on stderr.
    std::ostream& human = opt.json ? std::cerr : std::cout;
    try {
        switch (opt.depth) {
            case 8:
                return resnet_example::train<8>(opt, human);
            case 14:
                return resnet_example::train<14>(opt, human);
            default:
                return resnet_example::train<20>(opt, human);
        }
    } catch (const std::exception& e) {
        std::cerr << "resnet: " << e.what() << "\n";
        return 1;
    }
}
