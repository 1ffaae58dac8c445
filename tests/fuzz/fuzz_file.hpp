// The readers under test take a path, so each input goes through one file of
// the fuzzer process's own, rewritten per input.
#pragma once

#include <unistd.h>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace strata::fuzzing {

struct scratch_file {
    std::filesystem::path path;
    explicit scratch_file(const std::string& kind)
        : path(std::filesystem::temp_directory_path() /
               ("strata_fuzz_" + kind + "_" + std::to_string(::getpid()))) {}
    ~scratch_file() { std::remove(path.c_str()); }
    void write(const std::uint8_t* data, std::size_t size) const {
        std::FILE* f = std::fopen(path.c_str(), "wb");
        if (f == nullptr || (size != 0 && std::fwrite(data, 1, size, f) != size)) __builtin_trap();
        std::fclose(f);
    }
};

}  // namespace strata::fuzzing
