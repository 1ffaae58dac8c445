// What the examples share: their command lines (CLI11), the callbacks the
// training flags ask for, and the JSON object they print as the last line of
// stdout with --json.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <strata/metrics/metrics.hpp>
#include <strata/model/model_file.hpp>
#include <strata/train/callbacks.hpp>
#include <strata/train/history.hpp>
#include <strata/train/model_checkpoint.hpp>

namespace example {

// Parses the command line; --help prints the options and exits 0, a bad
// flag prints the problem and exits 2.
inline void parse_or_exit(CLI::App& app, int argc, char** argv) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        std::exit(app.exit(e));
    } catch (const CLI::ParseError& e) {
        std::cerr << app.get_name() << ": " << e.what() << "\nRun with --help for the options.\n";
        std::exit(2);
    }
}

// CLI11's PositiveNumber names its range in 300 digits; this says it plainly.
inline const CLI::Validator positive_whole(
    [](std::string& text) -> std::string {
        const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
        if (digits && text.find_first_not_of('0') != std::string::npos) return {};
        return "expects a positive whole number, got '" + text + "'";
    },
    "N>0");

inline std::string number_text(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

// A finite number above (strictly or not) a lower bound.
inline CLI::Validator real_above(double bound, bool strict) {
    return CLI::Validator(
        [bound, strict](std::string& text) -> std::string {
            char* end = nullptr;
            const double v = std::strtod(text.c_str(), &end);
            const bool number = !text.empty() && *end == '\0' && std::isfinite(v);
            if (number && (strict ? v > bound : v >= bound)) return {};
            std::ostringstream expected;
            expected << "expects a number " << (strict ? "> " : ">= ") << bound << ", got '" << text << "'";
            return expected.str();
        },
        std::string(strict ? "X>" : "X>=") + number_text(bound));
}

// The flags every training example takes.
struct training_flags {
    std::size_t epochs = 10, batch = 64, limit = 0, threads = 0;
    std::uint64_t seed = 42;
    std::string data_dir;
    bool json = false;
    std::size_t early_stopping = 0;  // patience in epochs; 0: train every epoch
    std::string checkpoint, resume;  // checkpoint files; empty: none
};

inline void add_training_flags(CLI::App& app, training_flags& f) {
    app.add_option("--epochs", f.epochs, "training epochs")->check(positive_whole)->capture_default_str();
    app.add_option("--batch", f.batch, "mini-batch size")->check(positive_whole)->capture_default_str();
    app.add_option("--limit", f.limit, "train on the first N training images only (default: all)")
        ->check(positive_whole);
    app.add_option("--threads", f.threads, "worker threads (default: one per core)")->check(positive_whole);
    app.add_option("--seed", f.seed, "seed for weights, shuffling, dropout and augmentation")
        ->capture_default_str();
    app.add_option("--data", f.data_dir,
                   "directory with the Fashion-MNIST IDX files (default: $STRATA_DATA, then "
                   "/usr/share/datasets/fashion-mnist)");
    app.add_option("--early-stopping", f.early_stopping,
                   "stop once val_loss has not improved for N epochs and restore the best epoch's weights")
        ->check(positive_whole);
    app.add_option(
        "--checkpoint", f.checkpoint,
        "write a resumable checkpoint (weights, optimizer state, epoch, history: one .npz) to this file "
        "after every epoch");
    app.add_option("--resume", f.resume,
                   "continue the run saved in this checkpoint (same flags and seed) up to --epochs");
    app.add_flag("--json", f.json, "print one JSON object with the results as the last line of stdout");
}

// A callback that the command line may leave out: fit's option list stays
// one type either way.
template <class Callback>
struct optional_callback {
    std::optional<Callback> callback;

    template <class State>
    void on_train_begin(State& s) {
        if constexpr (requires { callback->on_train_begin(s); })
            if (callback) callback->on_train_begin(s);
    }
    template <class State>
    void on_epoch_end(State& s) {
        if constexpr (requires { callback->on_epoch_end(s); })
            if (callback) callback->on_epoch_end(s);
    }
    template <class State>
    void on_train_end(State& s) {
        if constexpr (requires { callback->on_train_end(s); })
            if (callback) callback->on_train_end(s);
    }
};

inline optional_callback<strata::early_stopping> early_stopping_from(const training_flags& f) {
    if (f.early_stopping == 0) return {};
    return {strata::early_stopping{.patience = f.early_stopping, .restore_best_weights = true}};
}
inline optional_callback<strata::checkpoint> checkpoint_from(const training_flags& f) {
    if (f.checkpoint.empty()) return {};
    return {strata::checkpoint{.path = f.checkpoint}};
}

// fit's resume_from, or nothing when --resume was not given.
struct optional_resume {
    std::optional<strata::resume_from> from;
    using resume_tag = void;

    template <class Trainer, class Sampler>
    strata::resume_point restore(Trainer& t, Sampler& s) const {
        return from ? from->restore(t, s) : strata::resume_point{};
    }
};
inline optional_resume resume_from(const training_flags& f) {
    if (f.resume.empty()) return {};
    return {strata::resume_from{f.resume}};
}

// 0 when training ran as asked (early stopping included), 130 after Ctrl-C
// (the shell's convention), 1 when a step failed.
inline int exit_code(const strata::history& h) {
    switch (h.cause) {
        case strata::stop_cause::bad_step:
            return 1;
        case strata::stop_cause::interrupted:
            return 130;
        default:
            return 0;
    }
}

// A JSON number, or null for NaN and infinities (not measured).
inline std::string json_number(double v) {
    if (!std::isfinite(v)) return "null";
    std::ostringstream s;
    s << std::setprecision(6) << v;
    return s.str();
}

// A JSON string literal.
inline std::string json_string(const std::string& text) {
    std::ostringstream s;
    s << '"';
    for (const char c : text) {
        if (c == '"' || c == '\\')
            s << '\\' << c;
        else if (static_cast<unsigned char>(c) < 0x20)
            s << "\\u" << std::hex << std::setw(4) << std::setfill('0') << int(c) << std::dec;
        else
            s << c;
    }
    s << '"';
    return s.str();
}

inline const char* cause_name(strata::stop_cause c) {
    switch (c) {
        case strata::stop_cause::callback:
            return "callback";
        case strata::stop_cause::bad_step:
            return "bad_step";
        case strata::stop_cause::interrupted:
            return "interrupted";
        default:
            return "completed";
    }
}

// ", \"per_class\": [...], \"macro_avg\": {...}, \"weighted_avg\": {...}, \"confusion_matrix\": [[...]]"
inline std::string json_class_metrics(const strata::metrics::confusion_matrix& m,
                                      const std::vector<std::string>& names) {
    std::ostringstream j;
    j << std::setprecision(6);
    auto scores = [&](double p, double r, double f) {
        j << "\"precision\": " << json_number(p) << ", \"recall\": " << json_number(r)
          << ", \"f1\": " << json_number(f);
    };
    j << ", \"per_class\": [";
    for (std::size_t c = 0; c < m.classes(); ++c) {
        j << (c ? ", " : "") << "{\"class\": " << json_string(names.at(c)) << ", ";
        scores(m.precision(c), m.recall(c), m.f1(c));
        j << ", \"support\": " << m.support(c) << "}";
    }
    const auto macro = m.macro(), weighted = m.weighted();
    j << "], \"macro_avg\": {";
    scores(macro.precision, macro.recall, macro.f1);
    j << "}, \"weighted_avg\": {";
    scores(weighted.precision, weighted.recall, weighted.f1);
    j << "}, \"confusion_matrix\": [";
    for (std::size_t t = 0; t < m.classes(); ++t) {
        j << (t ? ", [" : "[");
        for (std::size_t p = 0; p < m.classes(); ++p) j << (p ? ", " : "") << m(t, p);
        j << "]";
    }
    j << "]";
    return j.str();
}

// The keys every training example reports, then `extra` (", \"key\": value" pairs).
struct training_report {
    double test_accuracy = 0, test_loss = 0;
    std::size_t train_images = 0, batch = 0;
    std::uint64_t seed = 0;
    std::string variant, lr_schedule, extra;
};

inline std::string json_line(const training_report& r, const strata::history& h) {
    const double seconds = h.train_seconds();
    double images = 0;
    for (const auto& e : h.epochs) images += e.images_per_second * e.seconds;
    std::ostringstream j;
    j << std::setprecision(6) << "{\"test_accuracy\": " << json_number(r.test_accuracy)
      << ", \"test_loss\": " << json_number(r.test_loss) << ", \"epochs\": " << h.epochs.size()
      << ", \"train_seconds\": " << seconds
      << ", \"train_images_per_second\": " << json_number(images / seconds)
      << ", \"train_images\": " << r.train_images << ", \"batch\": " << r.batch << ", \"seed\": " << r.seed
      << ", \"variant\": \"" << r.variant << "\", \"lr_schedule\": \"" << r.lr_schedule << "\"" << r.extra
      << ", \"stopped_early\": " << (h.stopped_early() ? "true" : "false") << ", \"stopped_by\": \""
      << cause_name(h.cause) << "\", \"stop_reason\": " << json_string(h.stop_reason)
      << ", \"stopped_epoch\": " << h.stopped_epoch << ", \"best_epoch\": " << h.best_epoch
      << ", \"history\": [";
    for (std::size_t i = 0; i < h.epochs.size(); ++i) {
        const auto& e = h.epochs[i];
        j << (i ? ", " : "") << "{\"epoch\": " << e.epoch << ", \"loss\": " << json_number(e.loss)
          << ", \"accuracy\": " << json_number(e.accuracy) << ", \"val_loss\": " << json_number(e.val_loss)
          << ", \"val_accuracy\": " << json_number(e.val_accuracy) << ", \"seconds\": " << e.seconds << "}";
    }
    j << "]}";
    return j.str();
}

}  // namespace example
