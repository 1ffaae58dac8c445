// Image decoders for the image-folder loaders: PNG through libspng, JPEG
// through libjpeg-turbo (Debian's libspng-dev, libturbojpeg0-dev), TIFF
// through libtiff when STRATA_IMAGE_TIFF is defined (libtiff-dev), and BMP,
// PPM and PGM by the small readers below (their formats are a header and raw
// rows; stb_image would read them too but carries open CVEs). The format
// comes from the bytes, not the file name, as with Pillow. Every size is
// checked against decode_limits before anything is allocated, and every
// failure is a data_error naming the file. Part of the optional strata::image
// target: the core never includes this header.
#pragma once

#include <spng.h>
#include <turbojpeg.h>
#ifdef STRATA_IMAGE_TIFF
#include <tiffio.h>
#endif

#include <algorithm>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../data/npy.hpp"
#include "pixels.hpp"

namespace strata::image {

struct decode_limits {
    // Pillow's MAX_IMAGE_PIXELS: beyond it an image is refused before its
    // pixels are allocated (a "decompression bomb" is a few KB on disk).
    std::size_t max_pixels = 89'478'485;
    std::size_t max_file_bytes = std::size_t{1} << 30;
};

namespace detail {

[[noreturn]] inline void fail(const std::string& name, const std::string& what) {
    throw data_error(name + ": " + what);
}

inline void check_size(const std::string& name, std::uint64_t width, std::uint64_t height,
                       const decode_limits& limits) {
    if (width == 0 || height == 0)
        fail(name, "the header gives an empty image (" + std::to_string(width) + "x" +
                       std::to_string(height) + ")");
    if (width > (std::uint64_t{1} << 31) || height > (std::uint64_t{1} << 31) ||
        width * height > limits.max_pixels)
        fail(name, "the header gives " + std::to_string(width) + "x" + std::to_string(height) +
                       " pixels, more than decode_limits::max_pixels (" + std::to_string(limits.max_pixels) +
                       ")");
}

inline image8 blank(std::size_t width, std::size_t height, std::size_t channels) {
    return {width, height, channels, std::vector<std::uint8_t>(width * height * channels)};
}

// Grey colour types decode as RGB(A) and keep one channel: the converters
// then see Pillow's L / LA modes.
inline image8 keep_grey(image8 rgb) {
    const std::size_t c = rgb.channels, out_c = c == 4 ? 2 : 1, n = rgb.width * rgb.height;
    image8 out = blank(rgb.width, rgb.height, out_c);
    for (std::size_t i = 0; i < n; ++i) {
        out.pixels[i * out_c] = rgb.pixels[i * c];
        if (out_c == 2) out.pixels[i * 2 + 1] = rgb.pixels[i * c + 3];
    }
    return out;
}

}  // namespace detail

inline bool is_png(std::span<const std::uint8_t> b) {
    return b.size() >= 8 && std::memcmp(b.data(), "\x89PNG\r\n\x1a\n", 8) == 0;
}
inline bool is_jpeg(std::span<const std::uint8_t> b) {
    return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;
}
inline bool is_bmp(std::span<const std::uint8_t> b) { return b.size() >= 2 && b[0] == 'B' && b[1] == 'M'; }
inline bool is_pnm(std::span<const std::uint8_t> b) {
    return b.size() >= 2 && b[0] == 'P' && (b[1] == '2' || b[1] == '3' || b[1] == '5' || b[1] == '6');
}
inline bool is_tiff(std::span<const std::uint8_t> b) {
    return b.size() >= 4 && ((b[0] == 'I' && b[1] == 'I' && b[2] == 42 && b[3] == 0) ||
                             (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && b[3] == 42));
}

// PNG: palette, grey, 16-bit and interlaced files included; transparency
// (tRNS) becomes alpha, as Pillow's RGBA conversion applies it. Gamma is
// ignored, as Pillow ignores it.
inline image8 decode_png(std::span<const std::uint8_t> bytes, const decode_limits& limits,
                         const std::string& name) {
    std::unique_ptr<spng_ctx, decltype(&spng_ctx_free)> ctx(spng_ctx_new(0), &spng_ctx_free);
    if (!ctx) detail::fail(name, "out of memory for the PNG decoder");
    auto check = [&](int rc, const char* step) {
        if (rc != 0)
            detail::fail(name, std::string("not a valid PNG (") + step + ": " + spng_strerror(rc) + ")");
    };
    // Ancillary chunks are metadata: cap what the decoder buffers for them.
    check(spng_set_chunk_limits(ctx.get(), std::size_t{1} << 24, std::size_t{1} << 26), "limits");
    check(spng_set_png_buffer(ctx.get(), bytes.data(), bytes.size()), "buffer");
    spng_ihdr ihdr{};
    check(spng_get_ihdr(ctx.get(), &ihdr), "header");
    detail::check_size(name, ihdr.width, ihdr.height, limits);
    spng_trns trns{};
    const bool has_trns = spng_get_trns(ctx.get(), &trns) == 0;
    const bool alpha = has_trns || ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA ||
                       ihdr.color_type == SPNG_COLOR_TYPE_TRUECOLOR_ALPHA;
    const int format = alpha ? SPNG_FMT_RGBA8 : SPNG_FMT_RGB8;
    std::size_t size = 0;
    check(spng_decoded_image_size(ctx.get(), format, &size), "size");
    image8 out = detail::blank(ihdr.width, ihdr.height, alpha ? 4 : 3);
    if (size != out.pixels.size()) detail::fail(name, "the PNG decoder reports an unexpected image size");
    check(spng_decode_image(ctx.get(), out.pixels.data(), size, format, alpha ? SPNG_DECODE_TRNS : 0),
          "pixels");
    const bool grey =
        ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE || ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA;
    return grey ? detail::keep_grey(std::move(out)) : out;
}

// JPEG: accurate integer DCT and fancy upsampling, what Pillow's libjpeg
// decode does; any libjpeg warning (a truncated file gives one) is an error.
inline image8 decode_jpeg(std::span<const std::uint8_t> bytes, const decode_limits& limits,
                          const std::string& name) {
    std::unique_ptr<void, decltype(&tjDestroy)> tj(tjInitDecompress(), &tjDestroy);
    if (!tj) detail::fail(name, "cannot create a JPEG decoder");
    auto message = [&] { return std::string(tjGetErrorStr2(tj.get())); };
    int width = 0, height = 0, subsampling = 0, colorspace = 0;
    if (tjDecompressHeader3(tj.get(), bytes.data(), static_cast<unsigned long>(bytes.size()), &width, &height,
                            &subsampling, &colorspace) != 0)
        detail::fail(name, "not a valid JPEG (header: " + message() + ")");
    detail::check_size(name, static_cast<std::uint64_t>(std::max(width, 0)),
                       static_cast<std::uint64_t>(std::max(height, 0)), limits);
    if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK)
        detail::fail(name, "CMYK JPEG images are not supported: convert the file to RGB");
    const bool grey = colorspace == TJCS_GRAY;
    image8 out =
        detail::blank(static_cast<std::size_t>(width), static_cast<std::size_t>(height), grey ? 1 : 3);
    if (tjDecompress2(tj.get(), bytes.data(), static_cast<unsigned long>(bytes.size()), out.pixels.data(),
                      width, 0, height, grey ? TJPF_GRAY : TJPF_RGB,
                      TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0)
        detail::fail(name, "corrupt or truncated JPEG (" + message() + ")");
    return out;
}

namespace detail {

struct byte_reader {
    std::span<const std::uint8_t> bytes;
    const std::string& name;
    std::uint32_t u16(std::size_t at) const {
        need(at, 2, "header");
        return bytes[at] | bytes[at + 1] << 8;
    }
    std::uint32_t u32(std::size_t at) const {
        need(at, 4, "header");
        return static_cast<std::uint32_t>(bytes[at]) | static_cast<std::uint32_t>(bytes[at + 1]) << 8 |
               static_cast<std::uint32_t>(bytes[at + 2]) << 16 |
               static_cast<std::uint32_t>(bytes[at + 3]) << 24;
    }
    void need(std::size_t at, std::size_t count, const char* what) const {
        if (at > bytes.size() || count > bytes.size() - at)
            fail(name, std::string("truncated BMP: the ") + what + " needs bytes " + std::to_string(at) +
                           " to " + std::to_string(at + count) + " but the file has " +
                           std::to_string(bytes.size()));
    }
};

struct channel_mask {
    std::uint32_t mask = 0, shift = 0, max = 0;
    explicit channel_mask(std::uint32_t m) : mask(m) {
        if (m == 0) return;
        while (!((m >> shift) & 1)) ++shift;
        max = m >> shift;
    }
    bool contiguous() const noexcept { return mask == 0 || (max & (max + 1)) == 0; }
    std::uint8_t operator()(std::uint32_t pixel) const noexcept {
        return static_cast<std::uint8_t>(std::uint64_t{(pixel & mask) >> shift} * 255 / max);
    }
};

}  // namespace detail

// BMP: the Windows (40-124 byte) and OS/2 core (12 byte) headers, 1/4/8-bit
// palettes, 16/24/32-bit BI_RGB and BI_BITFIELDS, bottom-up or top-down.
// RLE-compressed files are refused with a message.
inline image8 decode_bmp(std::span<const std::uint8_t> bytes, const decode_limits& limits,
                         const std::string& name) {
    const detail::byte_reader r{bytes, name};
    const std::uint32_t data_offset = r.u32(10), header = r.u32(14);
    std::int64_t width = 0, height = 0;
    std::uint32_t bpp = 0, compression = 0, colours_used = 0;
    std::size_t palette_at = 14 + header, palette_entry = 4;
    std::uint32_t masks[4] = {0, 0, 0, 0};
    if (header == 12) {
        width = r.u16(18), height = static_cast<std::int16_t>(r.u16(20)), bpp = r.u16(24);
        palette_entry = 3;
    } else if (header >= 40 && header <= 124) {
        width = static_cast<std::int32_t>(r.u32(18)), height = static_cast<std::int32_t>(r.u32(22));
        bpp = r.u16(28), compression = r.u32(30), colours_used = r.u32(46);
        if (compression == 3 || compression == 6) {
            const bool in_header = header >= 52;
            const std::size_t at = in_header ? 54 : 14 + header;
            const std::size_t count = compression == 6 || header >= 56 ? 4 : 3;
            for (std::size_t k = 0; k < count; ++k) masks[k] = r.u32(at + 4 * k);
            if (!in_header) palette_at += 4 * count;
        }
    } else {
        detail::fail(name, "BMP header of " + std::to_string(header) + " bytes: expected 12 or 40 to 124");
    }
    if (compression == 1 || compression == 2)
        detail::fail(name, "RLE-compressed BMP images are not supported: save it uncompressed");
    if (compression != 0 && compression != 3 && compression != 6)
        detail::fail(name, "BMP compression " + std::to_string(compression) +
                               " is not supported (expected 0, 3 or 6)");
    if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32)
        detail::fail(name,
                     "BMP with " + std::to_string(bpp) + " bits per pixel: expected 1, 4, 8, 16, 24 or 32");
    if (compression != 0 && bpp != 16 && bpp != 32)
        detail::fail(
            name, "BMP bit-field masks with " + std::to_string(bpp) + " bits per pixel: expected 16 or 32");
    if (width <= 0 || height == 0)
        detail::fail(name, "BMP size " + std::to_string(width) + "x" + std::to_string(height) +
                               ": expected a positive width and a non-zero height");
    const bool top_down = height < 0;
    const std::uint64_t h = static_cast<std::uint64_t>(top_down ? -height : height),
                        w = static_cast<std::uint64_t>(width);
    detail::check_size(name, w, h, limits);
    const std::uint64_t stride = (w * bpp + 31) / 32 * 4;
    r.need(data_offset, stride * h, "pixel rows");

    std::vector<std::uint8_t> palette;  // RGB triples
    bool grey_palette = true;
    if (bpp <= 8) {
        const std::size_t colours = colours_used ? colours_used : std::size_t{1} << bpp;
        if (colours > (std::size_t{1} << bpp))
            detail::fail(name, "BMP palette of " + std::to_string(colours) + " colours for " +
                                   std::to_string(bpp) + "-bit pixels");
        r.need(palette_at, colours * palette_entry, "palette");
        for (std::size_t c = 0; c < colours; ++c) {
            const std::uint8_t* e = bytes.data() + palette_at + c * palette_entry;
            palette.insert(palette.end(), {e[2], e[1], e[0]});
            grey_palette = grey_palette && e[0] == e[1] && e[1] == e[2];
        }
    }
    if (compression == 0 && bpp == 16) masks[0] = 0x7C00, masks[1] = 0x3E0, masks[2] = 0x1F;
    const detail::channel_mask red(masks[0]), green(masks[1]), blue(masks[2]), alpha(masks[3]);
    if (compression != 0 && (!masks[0] || !masks[1] || !masks[2] || !red.contiguous() ||
                             !green.contiguous() || !blue.contiguous() || !alpha.contiguous()))
        detail::fail(name, "BMP bit-field masks must be non-zero runs of bits for red, green and blue");
    const bool has_alpha = compression != 0 && masks[3] != 0;
    const std::size_t channels = bpp <= 8 ? (grey_palette ? 1 : 3) : has_alpha ? 4 : 3;
    image8 out = detail::blank(w, h, channels);
    for (std::uint64_t y = 0; y < h; ++y) {
        const std::uint8_t* row = bytes.data() + data_offset + (top_down ? y : h - 1 - y) * stride;
        std::uint8_t* dst = out.pixels.data() + y * w * channels;
        for (std::uint64_t x = 0; x < w; ++x, dst += channels) {
            if (bpp <= 8) {
                const std::size_t bit = x * bpp;
                const std::size_t index = (row[bit / 8] >> (8 - bpp - bit % 8)) & ((1u << bpp) - 1);
                if (index * 3 >= palette.size())
                    detail::fail(name, "BMP pixel (" + std::to_string(x) + ", " + std::to_string(y) +
                                           ") uses colour " + std::to_string(index) + " of a " +
                                           std::to_string(palette.size() / 3) + "-colour palette");
                std::copy_n(palette.data() + index * 3, channels, dst);
            } else if (bpp == 24) {
                dst[0] = row[x * 3 + 2], dst[1] = row[x * 3 + 1], dst[2] = row[x * 3];
            } else if (bpp == 32 && compression == 0) {
                dst[0] = row[x * 4 + 2], dst[1] = row[x * 4 + 1], dst[2] = row[x * 4];
            } else {
                const std::size_t b = bpp / 8;
                std::uint32_t pixel = 0;
                for (std::size_t k = 0; k < b; ++k)
                    pixel |= static_cast<std::uint32_t>(row[x * b + k]) << (8 * k);
                dst[0] = red(pixel), dst[1] = green(pixel), dst[2] = blue(pixel);
                if (has_alpha) dst[3] = alpha(pixel);
            }
        }
    }
    return out;
}

// PPM and PGM, binary (P6, P5) and plain text (P3, P2), any maxval up to
// 65535; samples are scaled to 0-255 with rounding.
inline image8 decode_pnm(std::span<const std::uint8_t> bytes, const decode_limits& limits,
                         const std::string& name) {
    if (!is_pnm(bytes)) detail::fail(name, "not a PPM/PGM file (expected P2, P3, P5 or P6)");
    const char kind = static_cast<char>(bytes[1]);
    const bool binary = kind == '5' || kind == '6';
    const std::size_t channels = kind == '3' || kind == '6' ? 3 : 1;
    std::size_t at = 2;
    auto space = [](std::uint8_t c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
    };
    auto number = [&](const char* field) -> std::uint64_t {
        while (at < bytes.size() && (space(bytes[at]) || bytes[at] == '#')) {
            if (bytes[at] == '#')
                while (at < bytes.size() && bytes[at] != '\n' && bytes[at] != '\r') ++at;
            else
                ++at;
        }
        if (at >= bytes.size() || bytes[at] < '0' || bytes[at] > '9')
            detail::fail(name, std::string("PNM ") + field + ": expected a decimal number at byte " +
                                   std::to_string(at));
        std::uint64_t v = 0;
        while (at < bytes.size() && bytes[at] >= '0' && bytes[at] <= '9') {
            v = v * 10 + (bytes[at++] - '0');
            if (v > (std::uint64_t{1} << 32))
                detail::fail(
                    name, std::string("PNM ") + field + ": number too large at byte " + std::to_string(at));
        }
        return v;
    };
    const std::uint64_t width = number("width"), height = number("height"), maxval = number("maxval");
    if (maxval == 0 || maxval > 65535)
        detail::fail(name, "PNM maxval " + std::to_string(maxval) + ": expected 1 to 65535");
    detail::check_size(name, width, height, limits);
    const std::uint64_t samples = width * height * channels;
    auto scaled = [&](std::uint64_t v) {
        if (v > maxval)
            detail::fail(name,
                         "PNM sample " + std::to_string(v) + " exceeds maxval " + std::to_string(maxval));
        return static_cast<std::uint8_t>(maxval == 255 ? v : (v * 255 + maxval / 2) / maxval);
    };
    image8 out = detail::blank(width, height, channels);
    if (binary) {
        if (at >= bytes.size() || !space(bytes[at]))
            detail::fail(name, "PNM: expected one whitespace byte after maxval");
        ++at;
        const std::uint64_t per = maxval > 255 ? 2 : 1;
        if (bytes.size() - at < samples * per)
            detail::fail(name, "truncated PNM: " + std::to_string(samples * per) +
                                   " bytes of pixels expected, " + std::to_string(bytes.size() - at) +
                                   " present");
        for (std::uint64_t i = 0; i < samples; ++i)
            out.pixels[i] =
                scaled(per == 2 ? (bytes[at + 2 * i] << 8 | bytes[at + 2 * i + 1]) : bytes[at + i]);
    } else {
        for (std::uint64_t i = 0; i < samples; ++i) out.pixels[i] = scaled(number("sample"));
    }
    return out;
}

#ifdef STRATA_IMAGE_TIFF
namespace detail {

struct tiff_memory {
    std::span<const std::uint8_t> bytes;
    std::uint64_t position = 0;
    std::string error;
};

inline tmsize_t tiff_read(thandle_t h, void* buffer, tmsize_t size) {
    auto& m = *static_cast<tiff_memory*>(h);
    if (size < 0 || m.position > m.bytes.size()) return 0;
    const std::uint64_t n =
        std::min<std::uint64_t>(static_cast<std::uint64_t>(size), m.bytes.size() - m.position);
    std::memcpy(buffer, m.bytes.data() + m.position, n);
    m.position += n;
    return static_cast<tmsize_t>(n);
}
inline tmsize_t tiff_write(thandle_t, void*, tmsize_t) { return 0; }
inline toff_t tiff_seek(thandle_t h, toff_t offset, int whence) {
    auto& m = *static_cast<tiff_memory*>(h);
    const std::uint64_t base = whence == SEEK_CUR ? m.position : whence == SEEK_END ? m.bytes.size() : 0;
    if (offset > (std::uint64_t{1} << 62)) return static_cast<toff_t>(-1);
    m.position = base + offset;
    return m.position;
}
inline int tiff_close(thandle_t) { return 0; }
inline toff_t tiff_size(thandle_t h) { return static_cast<tiff_memory*>(h)->bytes.size(); }
inline int tiff_map(thandle_t, void**, toff_t*) { return 0; }
inline void tiff_unmap(thandle_t, void*, toff_t) {}
inline int tiff_error(TIFF*, void* user, const char* module, const char* format, va_list args) {
    auto& m = *static_cast<tiff_memory*>(user);
    if (m.error.empty()) {
        char text[512];
        std::vsnprintf(text, sizeof text, format, args);
        m.error = std::string(module ? module : "libtiff") + ": " + text;
    }
    return 1;  // handled: libtiff prints nothing
}
inline int tiff_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

}  // namespace detail

// TIFF: the first page, through libtiff's RGBA reader (any photometric
// libtiff understands); grey pages keep one channel.
inline image8 decode_tiff(std::span<const std::uint8_t> bytes, const decode_limits& limits,
                          const std::string& name) {
    detail::tiff_memory memory{bytes, 0, {}};
    std::unique_ptr<TIFFOpenOptions, decltype(&TIFFOpenOptionsFree)> options(TIFFOpenOptionsAlloc(),
                                                                             &TIFFOpenOptionsFree);
    TIFFOpenOptionsSetErrorHandlerExtR(options.get(), &detail::tiff_error, &memory);
    TIFFOpenOptionsSetWarningHandlerExtR(options.get(), &detail::tiff_warning, &memory);
    // libtiff's own buffers (a strip can be the whole image at 16 bits x 4).
    TIFFOpenOptionsSetMaxSingleMemAlloc(
        options.get(), static_cast<tmsize_t>(std::max<std::size_t>(limits.max_pixels * 8, 1 << 20)));
    std::unique_ptr<TIFF, decltype(&TIFFClose)> tif(
        TIFFClientOpenExt(name.c_str(), "rm", &memory, &detail::tiff_read, &detail::tiff_write,
                          &detail::tiff_seek, &detail::tiff_close, &detail::tiff_size, &detail::tiff_map,
                          &detail::tiff_unmap, options.get()),
        &TIFFClose);
    if (!tif) detail::fail(name, "not a valid TIFF (" + memory.error + ")");
    std::uint32_t width = 0, height = 0;
    std::uint16_t samples = 1, photometric = PHOTOMETRIC_MINISBLACK, extra_count = 0;
    std::uint16_t* extra = nullptr;
    TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &width);
    TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &height);
    TIFFGetFieldDefaulted(tif.get(), TIFFTAG_SAMPLESPERPIXEL, &samples);
    TIFFGetField(tif.get(), TIFFTAG_PHOTOMETRIC, &photometric);
    TIFFGetFieldDefaulted(tif.get(), TIFFTAG_EXTRASAMPLES, &extra_count, &extra);
    detail::check_size(name, width, height, limits);
    const bool grey = photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE;
    const bool alpha = extra_count > 0;
    const std::size_t channels = grey ? (alpha ? 2 : 1) : (alpha ? 4 : 3);
    std::uint16_t bits = 1, planar = PLANARCONFIG_CONTIG;
    TIFFGetFieldDefaulted(tif.get(), TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(tif.get(), TIFFTAG_PLANARCONFIG, &planar);
    // 8-bit interleaved grey or RGB scanlines are read as stored: libtiff's
    // RGBA reader would premultiply an unassociated alpha, which Pillow keeps.
    if (bits == 8 && planar == PLANARCONFIG_CONTIG && !TIFFIsTiled(tif.get()) && samples == channels &&
        (photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_RGB)) {
        image8 out = detail::blank(width, height, channels);
        if (static_cast<std::size_t>(TIFFScanlineSize(tif.get())) != width * channels)
            detail::fail(name, "TIFF scanline size does not match its width");
        for (std::uint32_t y = 0; y < height; ++y)
            if (TIFFReadScanline(tif.get(), out.pixels.data() + std::size_t{y} * width * channels, y, 0) < 0)
                detail::fail(name, "corrupt or truncated TIFF (" + memory.error + ")");
        return out;
    }
    char why[1024] = {};
    if (!TIFFRGBAImageOK(tif.get(), why)) detail::fail(name, std::string("unsupported TIFF (") + why + ")");
    std::vector<std::uint32_t> raster(static_cast<std::size_t>(width) * height);
    if (!TIFFReadRGBAImageOriented(tif.get(), width, height, raster.data(), ORIENTATION_TOPLEFT, 1))
        detail::fail(name, "corrupt or truncated TIFF (" + memory.error + ")");
    image8 out = detail::blank(width, height, channels);
    for (std::size_t i = 0; i < raster.size(); ++i) {
        const std::uint32_t p = raster[i];
        std::uint8_t* dst = out.pixels.data() + i * channels;
        dst[0] = static_cast<std::uint8_t>(TIFFGetR(p));
        if (!grey)
            dst[1] = static_cast<std::uint8_t>(TIFFGetG(p)), dst[2] = static_cast<std::uint8_t>(TIFFGetB(p));
        if (alpha) dst[channels - 1] = static_cast<std::uint8_t>(TIFFGetA(p));
    }
    return out;
}
#endif

inline constexpr bool tiff_supported() noexcept {
#ifdef STRATA_IMAGE_TIFF
    return true;
#else
    return false;
#endif
}

// Any supported format, told by its first bytes.
inline image8 decode(std::span<const std::uint8_t> bytes, const decode_limits& limits,
                     const std::string& name) {
    if (is_png(bytes)) return decode_png(bytes, limits, name);
    if (is_jpeg(bytes)) return decode_jpeg(bytes, limits, name);
    if (is_bmp(bytes)) return decode_bmp(bytes, limits, name);
    if (is_pnm(bytes)) return decode_pnm(bytes, limits, name);
    if (is_tiff(bytes)) {
#ifdef STRATA_IMAGE_TIFF
        return decode_tiff(bytes, limits, name);
#else
        detail::fail(name, "TIFF support was not built in (it needs libtiff: Debian's libtiff-dev)");
#endif
    }
    detail::fail(name, bytes.empty() ? std::string("the file is empty")
                                     : "not an image: the content is not PNG, JPEG, BMP, PPM/PGM or TIFF");
}

inline image8 read(const std::filesystem::path& path, const decode_limits& limits = {}) {
    const std::string bytes =
        strata::detail::read_file_bytes(path, path.string() + ": ", limits.max_file_bytes);
    return decode({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, limits, path.string());
}

}  // namespace strata::image
