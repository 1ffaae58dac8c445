// PNG writing through libspng: exporting data sets to image folders and
// saving previews. Writes are atomic (a temporary file renamed into place).
#pragma once

#include <spng.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "../data/npy.hpp"
#include "pixels.hpp"

namespace strata::image {

inline std::vector<std::uint8_t> encode_png(const image8& img) {
    if (img.channels < 1 || img.channels > 4 || img.width == 0 || img.height == 0 ||
        img.pixels.size() != img.width * img.height * img.channels)
        throw usage_error(
            "encode_png: the image must be non-empty with 1 to 4 channels and width*height*channels "
            "pixels");
    std::unique_ptr<spng_ctx, decltype(&spng_ctx_free)> ctx(spng_ctx_new(SPNG_CTX_ENCODER), &spng_ctx_free);
    if (!ctx) throw std::bad_alloc();
    auto check = [](int rc) {
        if (rc != 0) throw std::runtime_error(std::string("encode_png: ") + spng_strerror(rc));
    };
    check(spng_set_option(ctx.get(), SPNG_ENCODE_TO_BUFFER, 1));
    static constexpr std::uint8_t colour_types[] = {
        SPNG_COLOR_TYPE_GRAYSCALE, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, SPNG_COLOR_TYPE_TRUECOLOR,
        SPNG_COLOR_TYPE_TRUECOLOR_ALPHA};
    spng_ihdr ihdr{};
    ihdr.width = static_cast<std::uint32_t>(img.width);
    ihdr.height = static_cast<std::uint32_t>(img.height);
    ihdr.bit_depth = 8;
    ihdr.color_type = colour_types[img.channels - 1];
    check(spng_set_ihdr(ctx.get(), &ihdr));
    check(spng_encode_image(ctx.get(), img.pixels.data(), img.pixels.size(), SPNG_FMT_PNG,
                            SPNG_ENCODE_FINALIZE));
    std::size_t size = 0;
    int error = 0;
    std::unique_ptr<void, decltype(&std::free)> png(spng_get_png_buffer(ctx.get(), &size, &error),
                                                    &std::free);
    if (!png) throw std::runtime_error(std::string("encode_png: ") + spng_strerror(error));
    const auto* bytes = static_cast<const std::uint8_t*>(png.get());
    return {bytes, bytes + size};
}

inline void write_png(const std::filesystem::path& path, const image8& img) {
    const std::vector<std::uint8_t> png = encode_png(img);
    strata::detail::write_file_atomically(
        path, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
}

}  // namespace strata::image
