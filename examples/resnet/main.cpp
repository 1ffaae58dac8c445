// Trains a ResNet (strata::models::resnet: He et al.'s CIFAR networks, three
// stages of 16/32/64 filters) on Fashion-MNIST with the recipe those networks
// are trained with: random crops of the image padded by 4 pixels and
// horizontal flips, SGD with Nesterov momentum 0.9 and weight decay 5e-4,
// the rate decaying from 0.1 to 0 along a cosine, batch 128. The accuracy
// reported is the last epoch's on the test set (never the best epoch picked on
// test data). benchmarks/resnet_pytorch.py runs the same recipe in PyTorch.
// Progress goes to the terminal; --json prints one JSON object as the last
// line of stdout.
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "../common/example_cli.hpp"
#include "train.hpp"

namespace {

using resnet_example::options;

[[noreturn]] void usage(const std::string& problem) {
    std::cerr << "resnet: " << problem << "\n"
              << "usage: resnet [--depth 8|14|20] [--epochs N] [--batch N] [--lr X] [--weight-decay X]\n"
              << "              [--no-augment] [--limit N] [--threads N] [--seed N] [--data DIR]\n"
              << "              [--save DIR] [--json]\n"
              << "  --depth D        8, 14 or 20 layers: 1, 2 or 3 blocks per stage (default 20)\n"
              << "  --epochs N       training epochs (default 30)\n"
              << "  --batch N        mini-batch size (default 128)\n"
              << "  --lr X           starting rate of the cosine decay (default 0.1)\n"
              << "  --weight-decay X SGD's weight decay (default 5e-4)\n"
              << "  --no-augment     train without random crops and flips\n"
              << "  --limit N        train on the first N training images only (default: all 60000)\n"
              << "  --threads N      worker threads (default: one per core)\n"
              << "  --seed N         seed for weights, shuffling and augmentation (default 42)\n"
              << "  --data DIR       directory with the Fashion-MNIST IDX files (default: $STRATA_DATA,\n"
              << "                   then /usr/share/datasets/fashion-mnist)\n"
              << "  --save DIR       write the trained weights in PyTorch's layout (one .npy per tensor,\n"
              << "                   named by path: 3_chain.0_residual.0_conv2d.weight.npy) and the\n"
              << "                   logits of the first 1000 test images (test_logits.npy)\n"
              << "  --json           print one JSON object with the results as the last line\n";
    std::exit(2);
}

double parse_real(std::string_view flag, const char* text) {
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    if (end == text || *end != '\0' || !(v >= 0))
        usage(std::string(flag) + " expects a number >= 0, got '" + text + "'");
    return v;
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) usage(std::string(a) + " needs a value");
            return argv[++i];
        };
        auto number = [&](bool allow_zero) {
            std::uint64_t v = 0;
            std::string problem;
            if (!example::parse_number(a, value(), allow_zero, v, problem)) usage(problem);
            return v;
        };
        if (a == "--depth") {
            o.depth = number(false);
            if (o.depth != 8 && o.depth != 14 && o.depth != 20)
                usage("--depth expects 8, 14 or 20, got " + std::to_string(o.depth));
        } else if (a == "--epochs")
            o.epochs = number(false);
        else if (a == "--batch")
            o.batch = number(false);
        else if (a == "--limit")
            o.limit = number(false);
        else if (a == "--threads")
            o.threads = number(false);
        else if (a == "--seed")
            o.seed = number(true);
        else if (a == "--lr")
            o.lr = parse_real(a, value());
        else if (a == "--weight-decay")
            o.weight_decay = parse_real(a, value());
        else if (a == "--no-augment")
            o.augment = false;
        else if (a == "--data")
            o.data_dir = value();
        else if (a == "--save")
            o.save_dir = value();
        else if (a == "--json")
            o.json = true;
        else if (a == "--help" || a == "-h")
            usage("trains a ResNet on Fashion-MNIST");
        else
            usage("unknown option '" + std::string(a) + "'");
    }
    if (!(o.lr > 0)) usage("--lr must be positive");
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
