// Decode + resize throughput of an image folder, and the memory the
// in-memory loader and the streamed source hold on it; image_folder_pil.py
// runs it beside Pillow on the same folder and prints the ratio.
//
// Usage: image_folder_bench FOLDER HEIGHT WIDTH load|stream THREADS REPEATS
// Prints one JSON line: images, median seconds, images per second, peak RSS.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include <strata/data/image_folder.hpp>
#include <strata/data/image_source.hpp>

int main(int argc, char** argv) {
    if (argc != 7) {
        std::fprintf(stderr, "usage: %s FOLDER HEIGHT WIDTH load|stream THREADS REPEATS\n", argv[0]);
        return 2;
    }
    strata::data::image_folder_options o;
    o.height = std::stoul(argv[2]);
    o.width = std::stoul(argv[3]);
    o.color = strata::image::color_mode::rgb;
    o.resize = strata::image::interpolation::bilinear;
    o.workers = strata::threads{std::stoul(argv[5])};
    const std::string mode = argv[4];
    const std::size_t repeats = std::stoul(argv[6]);
    std::vector<double> seconds;
    std::size_t images = 0;
    for (std::size_t r = 0; r < repeats; ++r) {
        const auto start = std::chrono::steady_clock::now();
        if (mode == "load") {
            images = strata::data::load_image_folder(argv[1], o).data.size();
        } else {
            // One epoch in batches of 64, each decoded while the previous is consumed.
            const strata::data::image_folder_source source(argv[1], o);
            images = source.size();
            std::vector<std::size_t> order(images);
            std::iota(order.begin(), order.end(), std::size_t{0});
            const std::size_t batch = 64;
            std::vector<float> x(batch * source.sample_size()), y(batch);
            for (std::size_t first = 0; first < images; first += batch) {
                const std::size_t count = std::min(batch, images - first);
                source.gather(std::span<const std::size_t>(order.data() + first, count), x.data(), y.data());
                if (first + count < images)
                    source.prefetch(std::span<const std::size_t>(order.data() + first + count,
                                                                 std::min(batch, images - first - count)));
            }
        }
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    const double median = seconds[seconds.size() / 2];
    // VmHWM, not getrusage's ru_maxrss, which execve inherits from the parent.
    double peak_kb = 0;
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmHWM:", 0) == 0) peak_kb = std::stod(line.substr(6));
    std::printf(
        "{\"mode\": \"%s\", \"images\": %zu, \"median_seconds\": %.4f, \"images_per_second\": %.1f, "
        "\"peak_rss_mb\": %.1f}\n",
        mode.c_str(), images, median, static_cast<double>(images) / median, peak_kb / 1024.0);
}
