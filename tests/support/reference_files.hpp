// Reading the reference files a Python script writes at test time (see
// strata_reference_test in tests/CMakeLists.txt).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <strata/data/npy.hpp>

namespace strata::testing {

// The folder named by the environment variable ctest sets.
inline std::filesystem::path reference_dir(const char* variable) {
    const char* dir = std::getenv(variable);
    const std::string unset = std::string(variable) + " is not set: run through ctest";
    REQUIRE_MESSAGE(dir != nullptr, unset);
    return dir;
}

// A float .npy file of the given shape.
inline std::vector<float> read_reference(const std::filesystem::path& file,
                                         const std::vector<std::size_t>& shape) {
    std::size_t count = 1;
    for (const auto d : shape) count *= d;
    std::vector<float> values(count);
    detail::load_tensor(file, file.string(), shape, values.data());
    return values;
}

// A float .npy file of whatever shape it holds, which goes to `shape`.
inline std::vector<float> read_reference_and_shape(const std::filesystem::path& file,
                                                   std::vector<std::size_t>& shape) {
    std::ifstream in(file, std::ios::binary);
    shape = detail::read_npy_header(in, file.string()).shape;
    return read_reference(file, shape);
}

}  // namespace strata::testing
