// The diagnose example's pieces shared by main.cpp and the translation units
// of its networks (reference.cpp, overfit.cpp, underfit.cpp, dead_relu.cpp,
// wrong_architecture.cpp), which compile in parallel.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <strata/strata.hpp>

#include "../common/example_cli.hpp"

namespace diagnose_example {

namespace st = strata;

struct options : example::training_flags {
    std::string scenario = "healthy", report;
    bool quick = false, full = false, full_evidence = false, no_report = false;
    double lr = 0;               // 0: the scenario's own rate
    std::string schedule;        // constant or cosine; empty: the scenario's own
    double noise = 0.4;          // label_noise: the share of training labels replaced
    std::size_t validation = 0;  // 0: the scenario's own number of validation images
    bool epochs_given = false, batch_given = false;
};

// How a scenario trains: how much data, how long, at what rate. --quick
// picks the short column; --epochs, --limit, --lr and --validation override.
struct plan {
    std::size_t train_images = 0, validation_images = 0, epochs = 0, batch = 64;
    double lr = 1e-3;
    double final_lr_fraction = 1;  // the rate falls along a cosine to this share of lr; 1: constant
};

// One scenario's training run: its data and what diagnose is given besides the history.
struct job {
    std::string scenario;
    plan p;
    const st::data::dataset<float>& train;
    const st::data::dataset<float>& validation;  // the first test images (or test canvases)
    std::vector<std::string> class_names;
    std::optional<st::audit_report> audit{};  // audit(train, &validation), when computed
    bool class_evidence = false;    // give diagnose the validation confusion matrix and training class counts
    bool mislabelled = false;       // also rank training samples by loss (likely_mislabelled)
    std::vector<char> corrupted{};  // label_noise: which training labels were replaced
};

struct outcome {
    st::history history;
    st::evaluation validation;
    std::vector<st::finding> findings;
    st::report::content report;
    std::size_t parameters = 0;
    std::string numbers;  // the key numbers behind the findings, one line
};

struct context {
    const options& opt;
    std::ostream& human;
};

// Each trains its own network (one per translation unit) and diagnoses it.
outcome train_reference(const context& c, const job& j);           // reference.cpp
outcome train_without_dropout(const context& c, const job& j);     // overfit.cpp
outcome train_tiny(const context& c, const job& j);                // underfit.cpp
outcome train_dead_relu(const context& c, const job& j);           // dead_relu.cpp
outcome train_dense_segmentation(const context& c, const job& j);  // wrong_architecture.cpp

}  // namespace diagnose_example
