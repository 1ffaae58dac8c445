// libFuzzer target: the image decoders on arbitrary bytes, then colour
// conversion and resizing of whatever decodes. Every input must decode or
// give a data_error; anything else is a bug. STRATA_FUZZ_FORMAT picks one
// decoder (png, jpeg, bmp, pnm, tiff); without it the bytes go through
// decode(), which picks by content as the loaders do.
#include <cstddef>
#include <cstdint>
#include <span>

#include <strata/image/decode.hpp>
#include <strata/image/pixels.hpp>

namespace {

strata::image::image8 decode(std::span<const std::uint8_t> bytes) {
    // Small enough that libFuzzer's memory limit is never the first to complain.
    const strata::image::decode_limits limits{.max_pixels = 1 << 22, .max_file_bytes = 1 << 24};
#if defined(STRATA_FUZZ_PNG)
    return strata::image::decode_png(bytes, limits, "fuzz");
#elif defined(STRATA_FUZZ_JPEG)
    return strata::image::decode_jpeg(bytes, limits, "fuzz");
#elif defined(STRATA_FUZZ_BMP)
    return strata::image::decode_bmp(bytes, limits, "fuzz");
#elif defined(STRATA_FUZZ_PNM)
    return strata::image::decode_pnm(bytes, limits, "fuzz");
#elif defined(STRATA_FUZZ_TIFF)
    return strata::image::decode_tiff(bytes, limits, "fuzz");
#else
    return strata::image::decode(bytes, limits, "fuzz");
#endif
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto img = decode({data, size});
        if (img.pixels.size() != img.width * img.height * img.channels) __builtin_trap();
        if (img.width * img.height > 4096) return 0;  // keep each input fast
        using strata::image::color_mode;
        using strata::image::interpolation;
        for (const auto mode : {color_mode::grayscale, color_mode::rgb, color_mode::rgba}) {
            const auto converted = strata::image::convert(img, mode);
            for (const auto how : {interpolation::nearest, interpolation::bilinear, interpolation::area}) {
                const auto small = strata::image::resize(converted, 7, 5, how);
                if (small.pixels.size() != 7 * 5 * converted.channels) __builtin_trap();
            }
        }
    } catch (const strata::data_error&) {
    }
    return 0;
}
