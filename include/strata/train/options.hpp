// The options fit, evaluate and predict take, as small tagged types so a call
// reads like Keras: fit(net, data, loss, opt, epochs{10}, batch_size{64},
// validation{test}, progress{std::cout}).
#pragma once

#include <cstddef>
#include <cstdio>
#include <functional>
#include <iostream>
#include <ostream>

#include <unistd.h>

#include "../core/random.hpp"
#include "../core/thread_pool.hpp"
#include "../data/dataset.hpp"
#include "history.hpp"

namespace strata {

struct epochs {
    std::size_t value = 1;
};
struct batch_size {
    std::size_t value = 32;
};

template <class T>
struct validation {
    const data::dataset<T>& data;
};
template <class T>
validation(const data::dataset<T>&) -> validation<T>;

// Called after each epoch with its record; return false to stop training.
struct on_epoch_end {
    std::function<bool(const epoch_record&)> callback;
};

// Keras-style progress lines on a stream. On a terminal the current epoch's
// line is redrawn as batches finish; elsewhere one line per epoch is printed.
struct progress {
    std::ostream* out = &std::cout;
    bool interactive = false;

    progress() : progress(std::cout) {}
    explicit progress(std::ostream& os) : out(&os), interactive(is_terminal(os)) {}
    progress(std::ostream& os, bool redraw) : out(&os), interactive(redraw) {}

    static bool is_terminal(const std::ostream& os) {
        if (&os == &std::cout) return ::isatty(STDOUT_FILENO);
        if (&os == &std::cerr || &os == &std::clog) return ::isatty(STDERR_FILENO);
        return false;
    }
};

}  // namespace strata
