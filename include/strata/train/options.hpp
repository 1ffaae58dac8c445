// The options fit, evaluate and predict take, as small tagged types so a call
// reads like Keras: fit(net, data, loss, opt, epochs{10}, batch_size{64},
// validation{test}, progress{std::cout}).
#pragma once

#include <cstddef>
#include <cstdio>
#include <functional>
#include <iostream>
#include <ostream>

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

}  // namespace strata
