// A data source that decodes an image folder batch by batch, for folders
// larger than memory. The trainer tells it the next batch (prefetch) while
// it trains on the current one, so decoding runs ahead on worker threads.
//
// Memory bound: the batch being decoded ahead (batch x height x width x
// channels floats), plus, per worker, the one file it is decoding and at
// most three 8-bit copies of that image (decoded, converted, resized), each
// below decode_limits (max_file_bytes, and max_pixels x 4 bytes). Nothing
// grows with the folder but the file list.
#pragma once

#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "image_folder.hpp"

namespace strata::data {

class image_folder_source {
public:
    // Lists the folder (a subset, split and class list as for
    // load_image_folder); nothing is decoded yet. bad_file::skip passes over
    // folders that cannot be listed and symlink loops (see problems()); a bad
    // file met while training stops it with a data_error naming the file,
    // since a streamed batch cannot drop a sample.
    image_folder_source(const std::filesystem::path& root, image_folder_options options)
        : options_(std::move(options)),
          listing_(list_image_folder(root, options_)),
          scale_(detail::pixel_scale(options_.divide_by)),
          pool_(std::make_unique<thread_pool>(options_.workers)) {
        detail::check_target_size(options_);
        targets_.reserve(listing_.labels.size());
        for (const std::size_t label : listing_.labels) targets_.push_back(static_cast<float>(label));
    }
    image_folder_source(const image_folder_source&) = delete;
    image_folder_source& operator=(const image_folder_source&) = delete;
    ~image_folder_source() {
        if (ahead_.valid()) ahead_.wait();
    }

    std::size_t size() const noexcept { return listing_.files.size(); }
    std::size_t sample_size() const noexcept {
        return options_.height * options_.width * image::channels_of(options_.color);
    }
    std::size_t target_width() const noexcept { return 1; }
    std::span<const float> targets() const noexcept { return targets_; }
    const std::vector<std::string>& class_names() const noexcept { return listing_.class_names; }
    const std::vector<std::filesystem::path>& files() const noexcept { return listing_.files; }
    const std::vector<std::string>& problems() const noexcept { return listing_.problems; }

    // The samples at indices into x and y: from the batch decoded ahead when
    // it is the one asked for, else decoded now.
    void gather(std::span<const std::size_t> indices, float* x, float* y) const {
        std::lock_guard lock(mutex_);
        bool ready = false;
        if (ahead_.valid()) {
            ahead_.get();  // rethrows a decoding error
            ready = std::equal(indices.begin(), indices.end(), ahead_indices_.begin(), ahead_indices_.end());
        }
        if (ready) {
            std::copy_n(ahead_buffer_.data(), indices.size() * sample_size(), x);
        } else {
            decode_into(indices, x);
        }
        for (std::size_t k = 0; k < indices.size(); ++k) y[k] = targets_[indices[k]];
    }

    // Starts decoding the batch the next gather will ask for.
    void prefetch(std::span<const std::size_t> indices) const {
        std::lock_guard lock(mutex_);
        if (ahead_.valid()) ahead_.wait();
        check_indices(indices);  // now, so the caller hears of it rather than a later gather
        ahead_indices_.assign(indices.begin(), indices.end());
        ahead_buffer_.resize(indices.size() * sample_size());
        ahead_ =
            std::async(std::launch::async, [this] { decode_into(ahead_indices_, ahead_buffer_.data()); });
    }

private:
    void check_indices(std::span<const std::size_t> indices) const {
        for (const std::size_t i : indices)
            if (i >= size())
                throw usage_error("image_folder_source: index " + std::to_string(i) + " out of range");
    }
    void decode_into(std::span<const std::size_t> indices, float* x) const {
        const std::size_t sample = sample_size(), n = indices.size();
        check_indices(indices);
        pool_->run(std::min(n, pool_->size()), [&](std::size_t task) {
            for (std::size_t k = task; k < n; k += pool_->size())
                detail::load_sample(listing_.files[indices[k]], options_, scale_, x + k * sample);
        });
    }

    image_folder_options options_;
    image_listing listing_;
    std::array<float, 256> scale_;
    std::vector<float> targets_;
    std::unique_ptr<thread_pool> pool_;
    mutable std::mutex mutex_;
    mutable std::future<void> ahead_;
    mutable std::vector<std::size_t> ahead_indices_;
    mutable std::vector<float> ahead_buffer_;
};

}  // namespace strata::data
