// A minimal PNG encoder (8-bit grey or RGB, no interlacing) on zlib alone,
// and base64 for data URIs, so the report embeds images without the optional
// strata::image target (libspng).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <zlib.h>

#include "../core/error.hpp"

namespace strata::report {

namespace detail {

inline void put_u32_big_endian(std::vector<std::uint8_t>& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// length, type, data, then the CRC of type and data (PNG spec, 5.3).
inline void put_png_chunk(std::vector<std::uint8_t>& out, std::string_view type,
                          std::span<const std::uint8_t> data) {
    put_u32_big_endian(out, static_cast<std::uint32_t>(data.size()));
    const std::size_t type_at = out.size();
    out.insert(out.end(), type.begin(), type.end());
    out.insert(out.end(), data.begin(), data.end());
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, out.data() + type_at, static_cast<uInt>(out.size() - type_at));
    put_u32_big_endian(out, static_cast<std::uint32_t>(crc));
}

inline std::vector<std::uint8_t> encode_png(std::span<const std::uint8_t> pixels, std::size_t width,
                                            std::size_t height, std::size_t channels, const char* caller) {
    constexpr std::size_t png_max_side = 0x7fffffff;  // PNG stores sides as 31-bit integers
    if (width == 0 || height == 0 || width > png_max_side || height > png_max_side)
        throw usage_error(std::string(caller) + ": the image is " + std::to_string(width) + " x " +
                          std::to_string(height) + "; each side must be in [1, 2^31 - 1]");
    const std::size_t row = width * channels;
    if (row / channels != width || (row + 1) * height / height != row + 1 ||
        (row + 1) * height > std::numeric_limits<uInt>::max())
        throw usage_error(std::string(caller) + ": a " + std::to_string(width) + " x " +
                          std::to_string(height) + " image is too large to encode in memory");
    if (pixels.size() != row * height)
        throw usage_error(std::string(caller) + ": " + std::to_string(pixels.size()) + " bytes for a " +
                          std::to_string(width) + " x " + std::to_string(height) + " image of " +
                          std::to_string(channels) + " channel(s), which needs " +
                          std::to_string(row * height));

    // Filter type 0 (none) on every row: small report images gain little from the others.
    std::vector<std::uint8_t> filtered;
    filtered.reserve((row + 1) * height);
    for (std::size_t y = 0; y < height; ++y) {
        filtered.push_back(0);
        filtered.insert(filtered.end(), pixels.begin() + static_cast<std::ptrdiff_t>(y * row),
                        pixels.begin() + static_cast<std::ptrdiff_t>((y + 1) * row));
    }
    uLongf packed_size = compressBound(static_cast<uLong>(filtered.size()));
    std::vector<std::uint8_t> packed(packed_size);
    if (compress2(packed.data(), &packed_size, filtered.data(), static_cast<uLong>(filtered.size()),
                  Z_BEST_COMPRESSION) != Z_OK)
        throw data_error(std::string(caller) + ": zlib failed to compress the image");
    packed.resize(packed_size);

    std::vector<std::uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    std::vector<std::uint8_t> header;
    put_u32_big_endian(header, static_cast<std::uint32_t>(width));
    put_u32_big_endian(header, static_cast<std::uint32_t>(height));
    const std::uint8_t colour_type = channels == 1 ? 0 : 2;  // grey or truecolour
    header.insert(header.end(), {8, colour_type, 0, 0, 0});  // depth, colour, deflate, filter, no interlace
    put_png_chunk(out, "IHDR", header);
    put_png_chunk(out, "IDAT", packed);
    put_png_chunk(out, "IEND", {});
    return out;
}

}  // namespace detail

// An 8-bit grey image, row by row (width * height bytes), as a PNG file's bytes.
inline std::vector<std::uint8_t> encode_png_grey(std::span<const std::uint8_t> pixels, std::size_t width,
                                                 std::size_t height) {
    return detail::encode_png(pixels, width, height, 1, "encode_png_grey");
}

// An 8-bit RGB image, row by row with interleaved channels (width * height * 3 bytes).
inline std::vector<std::uint8_t> encode_png_rgb(std::span<const std::uint8_t> pixels, std::size_t width,
                                                std::size_t height) {
    return detail::encode_png(pixels, width, height, 3, "encode_png_rgb");
}

// RFC 4648 base64 with padding, as data URIs take it.
inline std::string base64(std::span<const std::uint8_t> bytes) {
    static constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v =
            (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
        for (int shift = 18; shift >= 0; shift -= 6) out += alphabet[(v >> shift) & 63];
    }
    if (const std::size_t rest = bytes.size() - i; rest > 0) {
        std::uint32_t v = std::uint32_t{bytes[i]} << 16;
        if (rest == 2) v |= std::uint32_t{bytes[i + 1]} << 8;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

// "data:image/png;base64,...": a PNG an <img> shows without a file of its own.
inline std::string png_data_uri(std::span<const std::uint8_t> png) {
    return "data:image/png;base64," + base64(png);
}

}  // namespace strata::report
