// NumPy .npy files: a reader that accepts exactly the headers numpy.load
// accepts (a Python dict literal with the keys descr, fortran_order and
// shape, and nothing but white space after it) and checks everything else
// (dtype, memory order, shape, size, finite values) against what the caller
// expects, naming the tensor and the file in every error; and an atomic writer.
#pragma once

#include <unistd.h>
#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/error.hpp"

namespace strata {

// Whether loading accepts NaN or infinite values. A model file holding them is
// almost always the result of a diverged run, so the default refuses it.
enum class non_finite_values { reject, allow };

namespace detail {

struct npy_header {
    std::string descr;
    bool fortran_order = false;
    std::vector<std::size_t> shape;
    std::size_t data_offset = 0;
};

// numpy.load's own cap (numpy >= 1.24): a longer header is refused unread.
inline constexpr std::size_t npy_max_header = 10000;

inline std::string shape_text(const std::vector<std::size_t>& dims) {
    std::string s = "(";
    for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + (dims.size() == 1 ? ",)" : ")");
}

// The header dict, parsed as Python's literal_eval would, for the value types
// numpy's rules allow: str for descr, bool for fortran_order, a tuple of ints
// for shape. Any other text, including junk in the padding, is an error.
class npy_dict_parser {
public:
    npy_dict_parser(std::string_view text, bool python2_longs, std::string where)
        : text_(text), python2_longs_(python2_longs), where_(std::move(where)) {}

    npy_header parse() {
        // literal_eval strips leading spaces and tabs only.
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
        expect('{', "the header must be a dict literal starting with '{'");
        std::optional<std::string> descr;
        std::optional<bool> fortran;
        std::optional<std::vector<std::size_t>> shape;
        skip_space();
        while (peek() != '}') {
            const std::string key = string_literal("a quoted key");
            skip_space();
            expect(':', "expected ':' after the key '" + key + "'");
            skip_space();
            if (key == "descr") {
                if (peek() == '[')
                    fail("'descr' is a structured dtype; expected float32 ('<f4') or float64 ('<f8')");
                descr = string_literal("a quoted dtype string for 'descr'");
            } else if (key == "fortran_order") {
                fortran = boolean();
            } else if (key == "shape") {
                shape = tuple_of_ints();
            } else {
                fail("unexpected key '" + key +
                     "'; numpy headers hold exactly 'descr', 'fortran_order' and 'shape'");
            }
            skip_space();
            if (peek() == ',') {
                ++pos_;
                skip_space();
            } else if (peek() != '}') {
                fail("expected ',' or '}' after the value of '" + key + "'");
            }
        }
        ++pos_;
        skip_space();
        if (pos_ != text_.size())
            fail("unexpected text after the dict (only white space may pad the header)");
        if (!descr) fail("the header has no 'descr' key");
        if (!fortran) fail("the header has no 'fortran_order' key");
        if (!shape) fail("the header has no 'shape' key");
        return {*descr, *fortran, *shape, 0};
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw data_error(where_ + "malformed .npy header at byte " + std::to_string(pos_) + ": " + what);
    }
    char peek() const {
        if (pos_ >= text_.size()) fail("the header ends inside the dict");
        return text_[pos_];
    }
    void expect(char c, const std::string& what) {
        if (peek() != c) fail(what);
        ++pos_;
    }
    // White space, line breaks and comments, as Python's tokenizer skips them inside brackets.
    void skip_space() {
        while (pos_ < text_.size()) {
            const char c = text_[pos_];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
                ++pos_;
            } else if (c == '#') {
                while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
            } else {
                break;
            }
        }
    }
    std::string string_literal(const std::string& what) {
        const char quote = peek();
        if (quote != '\'' && quote != '"') fail("expected " + what);
        const std::size_t start = ++pos_;
        while (peek() != quote) {
            if (text_[pos_] == '\\' || text_[pos_] == '\n')
                fail("escapes and line breaks are not allowed in " + what);
            ++pos_;
        }
        return std::string(text_.substr(start, pos_++ - start));
    }
    bool word(std::string_view w) {
        if (text_.substr(pos_, w.size()) != w) return false;
        const std::size_t after = pos_ + w.size();
        if (after < text_.size() &&
            (std::isalnum(static_cast<unsigned char>(text_[after])) || text_[after] == '_'))
            return false;
        pos_ = after;
        return true;
    }
    bool boolean() {
        if (word("True")) return true;
        if (word("False")) return false;
        fail("'fortran_order' must be True or False");
    }
    std::vector<std::size_t> tuple_of_ints() {
        expect('(', "'shape' must be a tuple of integers, such as (3, 4) or (5,)");
        std::vector<std::size_t> dims;
        skip_space();
        bool comma = false;  // (5) is an int, not a tuple
        while (peek() != ')') {
            dims.push_back(integer());
            skip_space();
            comma = false;
            if (peek() == ',') {
                ++pos_;
                comma = true;
                skip_space();
            } else if (peek() != ')') {
                fail("expected ',' or ')' in 'shape'");
            }
        }
        if (dims.size() == 1 && !comma) fail("'shape' (n) is an integer, not a tuple: numpy writes (n,)");
        ++pos_;
        return dims;
    }
    std::size_t integer() {
        const std::size_t start = pos_;
        std::size_t value = 0;
        while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
            const auto digit = static_cast<std::size_t>(text_[pos_] - '0');
            if (value > (SIZE_MAX - digit) / 10) fail("a dimension in 'shape' is too large");
            value = value * 10 + digit;
            ++pos_;
        }
        if (pos_ == start) fail("'shape' must hold non-negative integers");
        if (text_[start] == '0' && pos_ - start > 1) fail("a dimension in 'shape' has a leading zero");
        // Files written by Python 2 may spell ints as longs (3L); numpy reads those in versions 1 and 2.
        if (python2_longs_ && pos_ < text_.size() && text_[pos_] == 'L') ++pos_;
        return value;
    }

    std::string_view text_;
    bool python2_longs_;
    std::string where_;
    std::size_t pos_ = 0;
};

// Reads and checks an .npy header; the tensor's name goes into every message.
inline npy_header read_npy_header(std::istream& in, const std::string& where) {
    char magic[8];
    if (!in.read(magic, 8) || std::string_view(magic, 6) != "\x93NUMPY")
        throw data_error(where + "not an .npy file (expected the magic \\x93NUMPY)");
    const int major = static_cast<unsigned char>(magic[6]), minor = static_cast<unsigned char>(magic[7]);
    if (major < 1 || major > 3 || minor != 0)
        throw data_error(where + "unsupported .npy version " + std::to_string(major) + "." +
                         std::to_string(minor) + "; numpy writes 1.0, 2.0 and 3.0");
    unsigned char len_bytes[4] = {};
    const std::streamsize len_size = major == 1 ? 2 : 4;
    if (!in.read(reinterpret_cast<char*>(len_bytes), len_size)) throw data_error(where + "truncated header");
    std::size_t header_len = 0;
    for (std::streamsize i = len_size; i-- > 0;) header_len = header_len << 8 | len_bytes[i];
    if (header_len > npy_max_header)
        throw data_error(where + "header length " + std::to_string(header_len) +
                         " exceeds numpy's limit of " + std::to_string(npy_max_header) + " bytes");
    std::string header(header_len, '\0');
    if (!in.read(header.data(), static_cast<std::streamsize>(header_len)))
        throw data_error(where + "truncated header");
    npy_header h = npy_dict_parser(header, major <= 2, where).parse();
    h.data_offset = (major == 1 ? 10 : 12) + header_len;
    return h;
}

// Decodes one .npy image (the whole file's bytes) into dst (count values of
// T) after checking everything it says against what the caller expects;
// `where` names the tensor and its file or archive member in every message.
template <class T>
void decode_npy(std::string_view bytes, const std::string& where,
                const std::vector<std::size_t>& expected_shape, T* dst,
                non_finite_values non_finite = non_finite_values::reject) {
    std::istringstream in(
        std::string(bytes.substr(0, std::min<std::size_t>(bytes.size(), 12 + npy_max_header))));
    const npy_header h = read_npy_header(in, where);
    if (h.descr != "<f4" && h.descr != "<f8")
        throw data_error(where + "dtype '" + h.descr + "', expected float32 ('<f4') or float64 ('<f8')");
    if (h.fortran_order)
        throw data_error(where + "stored in Fortran (column-major) order; save it with np.ascontiguousarray");
    if (h.shape != expected_shape)
        throw data_error(where + "shape " + shape_text(h.shape) + ", expected " + shape_text(expected_shape));
    std::size_t count = 1;
    for (auto d : expected_shape) count *= d;
    const std::size_t item = h.descr == "<f4" ? 4 : 8;
    const std::size_t size = bytes.size();
    if (size != h.data_offset + count * item)
        throw data_error(where + "holds " +
                         std::to_string(size - std::min<std::size_t>(size, h.data_offset)) +
                         " bytes of data, expected " + std::to_string(count * item) +
                         (size < h.data_offset + count * item ? " (truncated)" : ""));
    // The header is checked, so the data is count little-endian values at data_offset.
    const char* data = bytes.data() + h.data_offset;
    auto convert = [&]<class Stored>(Stored) {
        for (std::size_t i = 0; i < count; ++i) {
            Stored v;
            std::memcpy(&v, data + i * sizeof(Stored), sizeof(Stored));
            // Checked after the conversion: a finite double can overflow a float.
            const T converted = static_cast<T>(v);
            if (non_finite == non_finite_values::reject && !std::isfinite(converted))
                throw data_error(
                    where + "value " + std::to_string(i) + " is " + std::to_string(v) +
                    (std::isfinite(v)
                         ? ", too large for " + std::string(sizeof(T) == 4 ? "float32" : "the network's type")
                         : std::string()) +
                    "; the file holds non-finite weights (from a diverged run?). Pass "
                    "non_finite_values::allow to load them anyway");
            dst[i] = converted;
        }
    };
    if (item == 4)
        convert(float{});
    else
        convert(double{});
}

// The whole file, or data_error naming it.
inline std::string read_file_bytes(const std::filesystem::path& file, const std::string& where,
                                   std::uintmax_t max_size) {
    std::error_code ec;
    const auto status = std::filesystem::status(file, ec);
    if (ec || !std::filesystem::exists(status))
        throw data_error(where + "file not found" + (ec ? ": " + ec.message() : ""));
    // A FIFO or device could block or never end.
    if (!std::filesystem::is_regular_file(status)) throw data_error(where + "not a regular file");
    const auto size = std::filesystem::file_size(file, ec);
    if (ec) throw data_error(where + "cannot read the file size: " + ec.message());
    if (size > max_size)
        throw data_error(where + "the file has " + std::to_string(size) + " bytes, more than the " +
                         std::to_string(max_size) + " expected");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw data_error(where + "cannot open the file");
    std::string bytes(static_cast<std::size_t>(size), '\0');
    if (!in.read(bytes.data(), static_cast<std::streamsize>(size)))
        throw data_error(where + "cannot read the data");
    return bytes;
}

// Loads one tensor file into dst (count values of T) after checking everything
// the file says against what the caller expects.
template <class T>
void load_tensor(const std::filesystem::path& file, const std::string& tensor,
                 const std::vector<std::size_t>& expected_shape, T* dst,
                 non_finite_values non_finite = non_finite_values::reject) {
    const std::string where = "tensor " + tensor + " (" + file.string() + "): ";
    std::size_t count = 1;
    for (auto d : expected_shape) count *= d;
    // More than the header and 8 bytes a value cannot be a file of this tensor.
    const std::string bytes = read_file_bytes(file, where, 12 + npy_max_header + count * 8);
    decode_npy(bytes, where, expected_shape, dst, non_finite);
}

// .npy version 1.0: magic, a header dict padded with spaces to a multiple of
// 64 bytes, then the values, little-endian and row-major.
template <class T>
std::string encode_npy(const T* src, const std::vector<std::size_t>& shape) {
    static_assert(std::endian::native == std::endian::little,
                  "strata writes .npy files on little-endian hosts");
    std::size_t count = 1;
    for (auto d : shape) count *= d;
    std::string header = std::string("{'descr': '") + (sizeof(T) == 4 ? "<f4" : "<f8") +
                         "', 'fortran_order': False, 'shape': " + shape_text(shape) + ", }";
    const std::size_t preamble = 10;  // magic (6), version (2), header length (2)
    header.append((64 - (preamble + header.size() + 1) % 64) % 64, ' ');
    header += '\n';
    std::string out = std::string("\x93NUMPY\x01\x00", 8);
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>(header.size() >> 8);
    out += header;
    out.append(reinterpret_cast<const char*>(src), count * sizeof(T));
    return out;
}

// Writes bytes to file through a temporary name and a rename, so a crash
// never leaves a half-written file.
inline void write_file_atomically(const std::filesystem::path& file, std::string_view bytes) {
    const auto temporary = file.string() + ".tmp-" + std::to_string(::getpid());
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.close();
        if (!out) {
            std::error_code ignored;
            std::filesystem::remove(temporary, ignored);
            throw data_error("cannot write " + file.string() + ": writing " + temporary + " failed");
        }
    }
    std::error_code ec;
    std::filesystem::rename(temporary, file, ec);
    if (ec) {
        std::filesystem::remove(temporary, ec);
        throw data_error("cannot write " + file.string() + ": " + ec.message());
    }
}

template <class T>
void save_tensor(const std::filesystem::path& file, const T* src, const std::vector<std::size_t>& shape) {
    write_file_atomically(file, encode_npy(src, shape));
}

}  // namespace detail

namespace data {
// A row-major tensor (xt::xtensor, a dataset's x or y) as a .npy file that
// numpy.load reads; the write is atomic.
template <class Tensor>
void save_npy(const std::filesystem::path& file, const Tensor& t) {
    const std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
    strata::detail::save_tensor(file, t.data(), shape);
}
}  // namespace data
}  // namespace strata
