// Reader for IDX files (the MNIST format), raw or gzip-compressed, that turns every defect into a
// strata::data_error naming the file, the field and what was expected.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <zlib.h>

#include "strata/core/error.hpp"

namespace strata::data {

struct idx_array {
    std::vector<std::size_t> dims;   // as declared in the header, outermost first
    std::vector<std::uint8_t> data;  // row-major, product(dims) bytes

    std::size_t rank() const noexcept { return dims.size(); }
};

// Declared sizes above this are refused before any allocation; a corrupt header must not
// make us reserve gigabytes.
inline constexpr std::size_t idx_max_bytes = std::size_t{1} << 31;

namespace detail {

[[noreturn]] inline void idx_fail(const std::filesystem::path& file, std::string_view field,
                                  const std::string& detail) {
    throw data_error("IDX file \"" + file.string() + "\": " + std::string(field) + ": " + detail);
}

inline std::string hex32(std::uint32_t v) {
    char buf[11];
    std::snprintf(buf, sizeof buf, "0x%08X", static_cast<unsigned>(v));
    return buf;
}

inline std::string hex8(unsigned v) {
    char buf[5];
    std::snprintf(buf, sizeof buf, "0x%02X", v & 0xFFu);
    return buf;
}

inline std::string_view idx_type_name(unsigned type) {
    switch (type) {
        case 0x08:
            return "unsigned byte";
        case 0x09:
            return "signed byte";
        case 0x0B:
            return "16-bit integer";
        case 0x0C:
            return "32-bit integer";
        case 0x0D:
            return "32-bit float";
        case 0x0E:
            return "64-bit float";
        default:
            return {};
    }
}

// Reads a file, inflating it when it starts with the gzip magic, and turns
// short reads and zlib errors into data_errors with the file's name. zlib's
// gzread is not used: it silently skips anything after the first gzip stream,
// and a concatenated or corrupted download must be reported instead.
class gz_reader {
public:
    explicit gz_reader(const std::filesystem::path& file) : file_(file), buffer_(256 * 1024) {
        errno = 0;
        handle_ = std::fopen(file.c_str(), "rb");
        if (handle_ == nullptr) {
            idx_fail(file_, "open",
                     std::string("cannot open: ") + (errno != 0 ? std::strerror(errno) : "unknown error"));
        }
        refill();
        gzip_ = stream_.avail_in >= 2 && buffer_[0] == 0x1F && buffer_[1] == 0x8B;
        if (gzip_ && inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK) {  // 16: gzip wrapper only
            std::fclose(handle_);
            idx_fail(file_, "gzip", "cannot start zlib: out of memory");
        }
    }
    gz_reader(const gz_reader&) = delete;
    gz_reader& operator=(const gz_reader&) = delete;
    ~gz_reader() {
        if (gzip_) inflateEnd(&stream_);
        std::fclose(handle_);
    }

    // Reads up to n bytes; fewer only at the end of the data. Throws on read or gzip errors.
    std::size_t read(void* dst, std::size_t n) {
        auto* out = static_cast<unsigned char*>(dst);
        std::size_t got = 0;
        while (got < n && !at_end_) {
            if (stream_.avail_in == 0 && !refill()) {
                at_end_ = true;
                truncated_gzip_ = gzip_;
                break;
            }
            const auto want = static_cast<uInt>(std::min<std::size_t>(n - got, std::size_t{1} << 30));
            if (!gzip_) {
                const auto take = std::min<uInt>(want, stream_.avail_in);
                std::memcpy(out + got, stream_.next_in, take);
                stream_.next_in += take;
                stream_.avail_in -= take;
                got += take;
                continue;
            }
            stream_.next_out = out + got;
            stream_.avail_out = want;
            const int r = inflate(&stream_, Z_NO_FLUSH);
            got += want - stream_.avail_out;
            if (r == Z_STREAM_END) {
                at_end_ = true;
                reject_trailing_bytes();
            } else if (r != Z_OK && r != Z_BUF_ERROR) {
                idx_fail(file_, "gzip",
                         std::string("corrupt gzip stream: ") + (stream_.msg ? stream_.msg : zError(r)));
            }
        }
        return got;
    }

    // Reads and discards the rest of the data; how many bytes that was.
    std::size_t skip_rest() {
        unsigned char scratch[4096];
        std::size_t skipped = 0;
        while (const std::size_t got = read(scratch, sizeof scratch)) skipped += got;
        return skipped;
    }

    bool gzip_truncated() const noexcept { return truncated_gzip_; }

    // " (gzip stream ends early: ...)" after a short read of a cut .gz file, else "".
    std::string short_read_note() const {
        return truncated_gzip_ ? " (gzip stream ends early: unexpected end of file)" : std::string();
    }

private:
    // False at the end of the file.
    bool refill() {
        const std::size_t got = std::fread(buffer_.data(), 1, buffer_.size(), handle_);
        if (got == 0 && std::ferror(handle_)) {
            idx_fail(file_, "read", std::string("read failed: ") + std::strerror(errno));
        }
        stream_.next_in = buffer_.data();
        stream_.avail_in = static_cast<uInt>(got);
        return got > 0;
    }

    void reject_trailing_bytes() {
        if (stream_.avail_in == 0) refill();
        const bool another =
            stream_.avail_in >= 2 && stream_.next_in[0] == 0x1F && stream_.next_in[1] == 0x8B;
        std::size_t extra = stream_.avail_in;
        while (extra > 0 && refill()) extra += stream_.avail_in;
        if (extra > 0) {
            idx_fail(file_, "gzip",
                     "expected the file to end with its gzip stream, found " + std::to_string(extra) +
                         (extra == 1 ? " more byte" : " more bytes") + " after it (" +
                         (another ? "a second gzip stream; " : "") +
                         "a concatenated or corrupted download?)");
        }
    }

    std::filesystem::path file_;
    std::FILE* handle_ = nullptr;
    std::vector<unsigned char> buffer_;
    z_stream stream_{};
    bool gzip_ = false;
    bool at_end_ = false;
    bool truncated_gzip_ = false;
};

}  // namespace detail

// Reads a whole IDX file of unsigned bytes. Trailing bytes after the declared data are rejected:
// they mean the header's dimensions do not describe the file, so its contents cannot be trusted.
inline idx_array read_idx(const std::filesystem::path& file) {
    using detail::idx_fail;

    std::error_code ec;
    const auto status = std::filesystem::status(file, ec);
    if (!std::filesystem::exists(status)) {
        idx_fail(
            file, "open",
            "file not found" + (ec && ec != std::errc::no_such_file_or_directory ? " (" + ec.message() + ")"
                                                                                 : std::string()));
    }
    if (!std::filesystem::is_regular_file(status)) {
        idx_fail(file, "open", "expected a regular file, found a directory or special file");
    }

    detail::gz_reader in(file);

    unsigned char magic[4];
    if (const std::size_t got = in.read(magic, 4); got < 4) {
        idx_fail(file, "header",
                 "expected 4 bytes of magic number, found " + std::to_string(got) + in.short_read_note());
    }
    const std::uint32_t magic_value = (std::uint32_t{magic[0]} << 24) | (std::uint32_t{magic[1]} << 16) |
                                      (std::uint32_t{magic[2]} << 8) | std::uint32_t{magic[3]};
    if (magic[0] != 0 || magic[1] != 0) {
        idx_fail(file, "magic number",
                 "expected 0x0000xxxx (two zero bytes, type, rank), found " + detail::hex32(magic_value) +
                     "; not an IDX file");
    }
    const unsigned type = magic[2];
    if (type != 0x08) {
        const auto name = detail::idx_type_name(type);
        idx_fail(file, "data type",
                 "expected 0x08 (unsigned byte), found " + detail::hex8(type) +
                     (name.empty() ? std::string(" (not an IDX type)")
                                   : " (" + std::string(name) + ", unsupported)"));
    }
    const unsigned rank = magic[3];
    if (rank == 0 || rank > 4) {
        idx_fail(file, "rank", "expected 1 to 4 dimensions, found " + std::to_string(rank));
    }

    unsigned char dim_bytes[16];
    if (const std::size_t got = in.read(dim_bytes, 4 * rank); got < 4 * rank) {
        idx_fail(file, "header",
                 "expected " + std::to_string(4 * rank) + " bytes of dimension sizes for rank " +
                     std::to_string(rank) + ", found " + std::to_string(got) + in.short_read_note());
    }

    idx_array out;
    out.dims.resize(rank);
    std::size_t total = 1;
    for (unsigned i = 0; i < rank; ++i) {
        const unsigned char* b = dim_bytes + 4 * i;
        const std::size_t d = (std::size_t{b[0]} << 24) | (std::size_t{b[1]} << 16) |
                              (std::size_t{b[2]} << 8) | std::size_t{b[3]};
        if (d == 0) {
            idx_fail(file, "dimension " + std::to_string(i),
                     "expected at least 1, found 0 (dimension " + std::to_string(i) + " of " +
                         std::to_string(rank) + ")");
        }
        out.dims[i] = d;
        // Dividing first keeps the check itself free of overflow.
        if (total > idx_max_bytes / d) {
            std::string shape;
            for (unsigned j = 0; j < rank; ++j) {
                const unsigned char* c = dim_bytes + 4 * j;
                const std::uint32_t dj = (std::uint32_t{c[0]} << 24) | (std::uint32_t{c[1]} << 16) |
                                         (std::uint32_t{c[2]} << 8) | std::uint32_t{c[3]};
                shape += (j ? " x " : "") + std::to_string(dj);
            }
            idx_fail(file, "size",
                     "declared shape " + shape + " needs more than the limit of " +
                         std::to_string(idx_max_bytes) + " bytes; header is corrupt or file too large");
        }
        total *= d;
    }

    // Grow as data arrives rather than trusting the header with one big allocation.
    out.data.reserve(std::min<std::size_t>(total, std::size_t{64} << 20));
    while (out.data.size() < total) {
        const std::size_t old = out.data.size();
        const std::size_t want = std::min<std::size_t>(total - old, std::size_t{16} << 20);
        out.data.resize(old + want);
        const std::size_t got = in.read(out.data.data() + old, want);
        out.data.resize(old + got);
        if (got < want) {
            idx_fail(file, "data",
                     "expected " + std::to_string(total) + " bytes of data, found " +
                         std::to_string(out.data.size()) + "; file is truncated" + in.short_read_note());
        }
    }

    // Reading to the end also makes zlib verify the gzip CRC and length trailer
    // (a corrupt stream is reported as such, not as extra data) and shows
    // anything that follows the gzip stream.
    if (const std::size_t extra = in.skip_rest(); extra != 0) {
        idx_fail(file, "data",
                 "expected exactly " + std::to_string(total) +
                     " bytes of data after the header, found trailing bytes (" + std::to_string(extra) +
                     " more)");
    }
    if (in.gzip_truncated()) {
        idx_fail(file, "gzip",
                 "corrupt gzip stream: all data read but the gzip trailer is missing" + in.short_read_note());
    }
    return out;
}

}  // namespace strata::data
