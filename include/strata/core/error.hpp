// Exception types strata throws, so callers can tell bad input from bugs.
#pragma once

#include <stdexcept>
#include <string>

namespace strata {

// Bad or missing input data: a file that is absent, truncated or malformed.
// The message names the file, the field and what was expected.
class data_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A call whose arguments do not fit the network or each other
// (wrong sample size, empty data set, batch size 0, ...).
class usage_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

}  // namespace strata
