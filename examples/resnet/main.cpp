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
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <string>
#include <string_view>

#include <strata/strata.hpp>
#include <xtensor/xview.hpp>

#include "../common/example_cli.hpp"

namespace st = strata;

namespace {

struct options {
    std::size_t depth = 20, epochs = 30, batch = 128, limit = 0, threads = 0;
    std::uint64_t seed = 42;
    double lr = 0.1, weight_decay = 5e-4;
    std::string data_dir, save_dir;
    bool augment = true, json = false;
};

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

template <std::size_t Depth>
int train(const options& opt, std::ostream& human) {
    using net_t = st::models::resnet<Depth, st::input<28, 28, 1>, 10>;
    auto data = st::data::fashion_mnist(opt.data_dir);
    if (opt.limit && opt.limit < data.train.size()) data.train = st::data::take(data.train, opt.limit);

    net_t net{st::seed{opt.seed}};
    // PyTorch's default (Keras' is 0.99), which suits 469 steps an epoch.
    st::visit_layers(net, [](const st::layer_path&, auto& layer) {
        if constexpr (requires { layer.set_momentum(0.9); }) layer.set_momentum(0.9);
    });
    human << st::summary(net) << "ResNet-" << Depth << ": training on " << data.train.size()
          << " images, testing on " << data.test.size() << "\n";

    const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
    const st::optim::sgd sgd{
        .lr = opt.lr, .momentum = 0.9, .nesterov = true, .weight_decay = opt.weight_decay};
    const std::size_t steps = opt.epochs * ((data.train.size() + opt.batch - 1) / opt.batch);
    const st::schedule::cosine_decay rate{.decay_steps = steps, .alpha = 0.0};
    auto run_fit = [&](const auto&... extra) {
        return st::fit(net, data.train, loss, sgd, rate, st::epochs{opt.epochs}, st::batch_size{opt.batch},
                       st::seed{opt.seed}, st::threads{opt.threads}, st::validation{data.test},
                       st::progress{human}, extra...);
    };
    namespace aug = st::augment;
    // Whole-pixel shifts into zeros are crops of the image padded by 4 pixels.
    const auto history =
        opt.augment ? run_fit(aug::pipeline{aug::sampling{.interpolation = aug::interpolation::nearest,
                                                          .fill = aug::fill_mode::constant},
                                            aug::random_shift::pixels(4, 4), aug::horizontal_flip{}})
                    : run_fit();
    const auto test = st::evaluate(net, data.test, loss, st::threads{opt.threads});
    const double seconds = history.train_seconds();
    human << std::fixed << std::setprecision(4) << "test accuracy " << test.accuracy << ", test loss "
          << test.loss << "; trained " << history.epochs.size() << " epochs in " << std::setprecision(1)
          << seconds << " s (" << std::setprecision(0)
          << double(data.train.size() * history.epochs.size()) / seconds << " images/s)\n";
    if (history.stopped_early()) human << history.stop_reason << "\n";

    if (!opt.save_dir.empty()) {
        st::save_weights(net, opt.save_dir, st::weight_layout::pytorch);
        const std::size_t first = std::min<std::size_t>(1000, data.test.size());
        const auto logits =
            st::predict(net, xt::view(data.test.x, xt::range(0, first)), st::threads{opt.threads});
        st::detail::save_tensor(std::filesystem::path(opt.save_dir) / "test_logits.npy", logits.data(),
                                {first, std::size_t{10}});
        human << "saved the weights (PyTorch layout) and test logits to " << opt.save_dir << "\n";
    }
    if (opt.json) {
        example::training_report r{.test_accuracy = test.accuracy,
                                   .test_loss = test.loss,
                                   .train_images = data.train.size(),
                                   .batch = opt.batch,
                                   .seed = opt.seed,
                                   .variant = "resnet" + std::to_string(Depth),
                                   .lr_schedule = "cosine",
                                   .extra = {}};
        r.extra = ", \"depth\": " + std::to_string(Depth) +
                  ", \"augment\": " + (opt.augment ? "true" : "false") +
                  ", \"parameters\": " + std::to_string(net_t::param_count + net_t::state_count);
        std::cout << example::json_line(r, history) << std::endl;
    }
    return history.stopped_early() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    const options opt = parse(argc, argv);
    // With --json, stdout carries only the JSON line; people still see progress on stderr.
    std::ostream& human = opt.json ? std::cerr : std::cout;
    try {
        switch (opt.depth) {
            case 8:
                return train<8>(opt, human);
            case 14:
                return train<14>(opt, human);
            default:
                return train<20>(opt, human);
        }
    } catch (const std::exception& e) {
        std::cerr << "resnet: " << e.what() << "\n";
        return 1;
    }
}
