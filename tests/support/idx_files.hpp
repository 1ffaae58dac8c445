// Helpers for tests that write IDX files, raw or gzipped, into a temporary
// directory and check the errors the readers give for them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>
#include <zlib.h>

#include <strata/core/error.hpp>

namespace strata::testing {

namespace fs = std::filesystem;
using bytes = std::vector<std::uint8_t>;

// A fresh directory under the system's temporary path, removed with its contents.
struct temp_dir {
    fs::path path;
    temp_dir() {
        std::random_device rd;
        path =
            fs::temp_directory_path() / ("strata_test_" + std::to_string(rd()) + "_" + std::to_string(rd()));
        fs::create_directories(path);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    fs::path operator/(const std::string& name) const { return path / name; }
};

// An IDX file's bytes: magic with the type byte, big-endian dimensions, data.
inline bytes idx_bytes(std::uint8_t type, const std::vector<std::uint32_t>& dims, const bytes& data) {
    bytes out{0, 0, type, static_cast<std::uint8_t>(dims.size())};
    for (auto d : dims)
        for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(d >> shift));
    out.insert(out.end(), data.begin(), data.end());
    return out;
}
inline bytes idx_bytes(const std::vector<std::uint32_t>& dims, const bytes& data) {
    return idx_bytes(0x08, dims, data);
}

inline void write_raw(const fs::path& p, const bytes& b) {
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    REQUIRE(f.good());
}

inline void write_gz(const fs::path& p, const bytes& b, const char* mode = "wb") {
    gzFile f = gzopen(p.c_str(), mode);
    REQUIRE(f != nullptr);
    if (!b.empty())
        REQUIRE(gzwrite(f, b.data(), static_cast<unsigned>(b.size())) == static_cast<int>(b.size()));
    REQUIRE(gzclose(f) == Z_OK);
}

inline bytes read_file(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    REQUIRE(f.good());
    return bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Independent of the readers under test: plain zlib, whole file.
inline bytes gunzip_file(const fs::path& p) {
    gzFile f = gzopen(p.c_str(), "rb");
    REQUIRE(f != nullptr);
    bytes out;
    std::vector<unsigned char> buf(1 << 20);
    int n;
    while ((n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()))) > 0)
        out.insert(out.end(), buf.data(), buf.data() + n);
    REQUIRE(n == 0);
    gzclose(f);
    return out;
}

// The message of the exception f throws; a failed check if it throws none.
template <class E = data_error, class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    FAIL_CHECK("expected exception was not thrown");
    return {};
}

inline bool has(const std::string& msg, std::string_view part) { return msg.find(part) != std::string::npos; }

}  // namespace strata::testing

#define CHECK_HAS(msg, part) CHECK_MESSAGE(::strata::testing::has(msg, part), "message was: ", msg)
