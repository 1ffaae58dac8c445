// Trains a Fashion-MNIST network with Adam and reports test accuracy:
//   --variant reference  conv32-pool-conv64-pool-dense128-dropout-dense10
//   --variant bn         the same with batch_norm after each convolution
//   --variant bn_aug     bn, trained on batches augmented on the fly with a
//                        random shift of up to 10% and horizontal flips
//   --variant vgg        a deeper plain network: conv32-conv32-pool and
//                        conv64-conv64-pool, each conv followed by batch_norm,
//                        dropout 0.1 after each block, dense 256, dropout 0.3
//   --variant vgg_aug    vgg with bn_aug's augmentation
// Progress goes to the terminal; --json prints one JSON object as the last
// line of stdout; --report FILE writes an HTML report of the run with
// diagnose's findings.
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <strata/strata.hpp>

#include "../common/example_cli.hpp"

namespace st = strata;

using reference_net = st::models::fashion_mnist_cnn;

using bn_net = st::models::fashion_mnist_cnn_bn;

using vgg_net =
    st::sequential<st::input<28, 28, 1>, st::conv2d<32, 3, st::relu, st::same>, st::batch_norm,
                   st::conv2d<32, 3, st::relu, st::same>, st::batch_norm, st::max_pool<2>, st::dropout<0.1>,
                   st::conv2d<64, 3, st::relu, st::same>, st::batch_norm,
                   st::conv2d<64, 3, st::relu, st::same>, st::batch_norm, st::max_pool<2>, st::dropout<0.1>,
                   st::flatten, st::dense<256, st::relu>, st::dropout<0.3>, st::dense<10>>;

namespace {

struct options : example::training_flags {
    std::string variant = "reference", schedule;  // schedule: empty = the variant's
    std::string report;                           // HTML report file; empty: none
    bool class_report = false;
};

options parse(int argc, char** argv) {
    options o;
    CLI::App app{"Trains a CNN on Fashion-MNIST with Adam (lr 1e-3) and reports its test accuracy.",
                 "fashion_mnist"};
    app.add_option(
           "--variant", o.variant,
           "reference: conv32-pool-conv64-pool-dense128-dropout-dense10; bn: batch_norm after each "
           "convolution; bn_aug: bn trained with random shifts (10%) and horizontal flips; vgg: two "
           "blocks of two convolutions with batch_norm and dropout, dense 256; vgg_aug: vgg augmented")
        ->check(CLI::IsMember({"reference", "bn", "bn_aug", "vgg", "vgg_aug"}))
        ->capture_default_str();
    app.add_option("--lr-schedule", o.schedule,
                   "constant (reference's default) or cosine (the other variants'): the rate decays to 0 "
                   "over the run along a cosine")
        ->check(CLI::IsMember({"constant", "cosine"}));
    app.add_flag(
        "--class-report", o.class_report,
        "print per-class precision, recall and F1 (sklearn's classification_report) and the confusion "
        "matrix of the test set");
    app.add_option("--report", o.report,
                   "after training, write an HTML report to this file: network, learning curves, the test "
                   "set's confusion matrix, its most confidently wrong images, feature maps of the first "
                   "test image, and diagnose's findings");
    example::add_training_flags(app, o);
    example::parse_or_exit(app, argc, argv);
    return o;
}

// The HTML report of a trained network: diagnose reads the history with the
// test set's confusion matrix and the training class counts.
template <class Net>
void write_report(const options& opt, const Net& net, const st::data::fashion_mnist_set& data,
                  const st::history& history, const st::evaluation& test,
                  const std::vector<std::string>& names) {
    st::report::content r;
    r.title = "Fashion-MNIST, " + opt.variant + " network";
    std::ostringstream summary;
    summary << st::summary(net);
    r.network_summary = summary.str();
    r.training = history;
    r.confusion = test.confusion;
    r.class_names = names;
    const auto picture = [&](std::size_t i, std::string caption) {
        return st::report::to_image(std::span<const float>(data.test.x.data() + i * 784, 784), 28, 28, 1,
                                    std::move(caption), st::report::value_range{0, 1});
    };
    const auto logits = st::predict(net, data.test.x, st::threads{opt.threads});
    const st::metrics::predictions<float> p{std::span<const float>(logits.data(), logits.size()),
                                            std::span<const float>(data.test.y.data(), data.test.y.size()),
                                            data.test.size(), 10, 1};
    st::report::image_group wrong{"Most confidently wrong test images", {}};
    for (const auto& w : st::report::confidently_wrong(p, 16, /*from_logits=*/true)) {
        std::ostringstream caption;
        caption << "#" << w.index << ": " << names[w.truth] << ", predicted " << names[w.predicted] << " ("
                << std::fixed << std::setprecision(1) << 100 * w.confidence << "%)";
        wrong.images.push_back(picture(w.index, caption.str()));
    }
    r.images.push_back(std::move(wrong));
    st::report::image_group maps{
        "Feature maps of test image 0",
        {picture(0, "test image 0: " + names[static_cast<std::size_t>(data.test.y(0, 0))])}};
    for (auto& m : st::report::feature_maps(net, std::span<const float>(data.test.x.data(), 784)))
        maps.images.push_back(std::move(m));
    r.images.push_back(std::move(maps));
    std::vector<st::report::finding_text> findings;
    for (const auto& f : st::diagnose(history, {.validation_confusion = test.confusion,
                                               .train_class_counts = st::data::class_counts(data.train, 10)}))
        findings.push_back(st::report::text_of(f));
    r.findings = std::move(findings);
    st::report::html(opt.report, r);
}

template <class Net>
int train(const options& opt, std::ostream& human) {
    {
        auto data = st::data::fashion_mnist(opt.data_dir);
        if (opt.limit && opt.limit < data.train.size()) data.train = st::data::take(data.train, opt.limit);

        Net net{st::seed{opt.seed}};
        human << st::summary(net) << "training on " << data.train.size() << " images, testing on "
              << data.test.size() << "\n";

        const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
        auto run_fit = [&](const auto&... extra) {
            return st::fit(net, data.train, loss, st::optim::adam{.lr = 1e-3}, st::epochs{opt.epochs},
                           st::batch_size{opt.batch}, st::seed{opt.seed}, st::threads{opt.threads},
                           st::validation{data.test}, st::progress{human}, example::early_stopping_from(opt),
                           example::checkpoint_from(opt), example::resume_from(opt), extra...);
        };
        const std::size_t steps = opt.epochs * ((data.train.size() + opt.batch - 1) / opt.batch);
        // A constant rate is a cosine decay to alpha = 1, so both share one fit.
        const st::schedule::cosine_decay rate{.decay_steps = steps,
                                              .alpha = opt.schedule == "cosine" ? 0.0 : 1.0};
        const auto history = [&] {
            if constexpr (!std::is_same_v<Net, reference_net>) {
                if (opt.variant.ends_with("_aug"))
                    return run_fit(rate, st::augment::pipeline{st::augment::random_shift{0.1},
                                                               st::augment::horizontal_flip{}});
            }
            return run_fit(rate);
        }();
        const auto test = st::evaluate(net, data.test, loss, st::threads{opt.threads});
        const double seconds = history.train_seconds();
        const double images = static_cast<double>(data.train.size() * history.epochs.size());
        human << std::fixed << std::setprecision(4) << "test accuracy " << test.accuracy << ", test loss "
              << test.loss << "; trained " << history.epochs.size() << " epochs in " << std::setprecision(1)
              << seconds << " s (" << std::setprecision(0) << images / seconds << " images/s)\n";
        if (history.stopped_early()) human << history.stop_reason << "\n";
        const std::vector<std::string> names(st::data::fashion_mnist_set::class_names.begin(),
                                             st::data::fashion_mnist_set::class_names.end());
        if (opt.class_report)
            human << "\n"
                  << st::metrics::classification_report(test.confusion, names, 4)
                  << "\nconfusion matrix (test set)\n"
                  << st::metrics::to_string(test.confusion, names);
        if (!opt.report.empty()) {
            write_report(opt, net, data, history, test, names);
            human << "report: " << opt.report << "\n";
        }

        if (opt.json) {
            const example::training_report r{
                .test_accuracy = test.accuracy,
                .test_loss = test.loss,
                .train_images = data.train.size(),
                .batch = opt.batch,
                .seed = opt.seed,
                .variant = opt.variant,
                .lr_schedule = opt.schedule,
                .extra = example::json_class_metrics(test.confusion, names) +
                         (opt.report.empty() ? std::string()
                                             : ", \"report\": " + example::json_string(opt.report))};
            std::cout << example::json_line(r, history) << std::endl;
        }
        return example::exit_code(history);
    }
}

}  // namespace

int main(int argc, char** argv) {
    options opt = parse(argc, argv);
    if (opt.schedule.empty()) opt.schedule = opt.variant == "reference" ? "constant" : "cosine";
    // With --json, stdout carries only the JSON line; people still see progress on stderr.
    std::ostream& human = opt.json ? std::cerr : std::cout;
    try {
        if (opt.variant == "reference") return train<reference_net>(opt, human);
        if (opt.variant.starts_with("vgg")) return train<vgg_net>(opt, human);
        return train<bn_net>(opt, human);
    } catch (const std::exception& e) {
        std::cerr << "fashion_mnist: " << e.what() << "\n";
        return 1;
    }
}
