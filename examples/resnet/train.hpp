// The resnet example's training, one translation unit per depth
// (depth8.cpp, depth14.cpp, depth20.cpp) so each network compiles in parallel.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <string>

#include <strata/strata.hpp>
#include <xtensor/xview.hpp>

#include "../common/example_cli.hpp"

namespace resnet_example {

namespace st = strata;

struct options : example::training_flags {
    std::size_t depth = 20;
    double lr = 0.1, weight_decay = 5e-4;
    std::string save_dir;
    bool augment = true;

    options() {
        epochs = 30;
        batch = 128;
    }
};

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
                       st::progress{human}, example::early_stopping_from(opt), example::checkpoint_from(opt),
                       example::resume_from(opt), extra...);
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
    return example::exit_code(history);
}

extern template int train<8>(const options&, std::ostream&);
extern template int train<14>(const options&, std::ostream&);
extern template int train<20>(const options&, std::ostream&);

}  // namespace resnet_example
