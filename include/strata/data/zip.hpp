// The zip container of NumPy's .npz files: a writer of stored (uncompressed)
// members, and a reader that takes stored and deflated members (what
// numpy.savez and numpy.savez_compressed write) and checks every offset,
// size and CRC before trusting it, so a truncated, corrupt or hostile file
// gives data_error naming the file and the member, never a crash.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <zlib.h>

#include "../core/error.hpp"
#include "npy.hpp"

namespace strata::detail {

class zip_writer {
public:
    void add(const std::string& name, std::string_view bytes) {
        if (bytes.size() >= 0xffffffffu || out_.size() + bytes.size() + 30 + name.size() >= 0xffffffffu)
            throw usage_error("zip: member " + name +
                              " would make the archive larger than 4 GB (zip64 is not written)");
        if (name.size() > 0xffff || entries_.size() >= 0xffff)
            throw usage_error("zip: too many members or too long a name (" + name.substr(0, 64) + "...)");
        const std::uint32_t crc = checksum(bytes);
        entries_.push_back(
            {name, crc, static_cast<std::uint32_t>(bytes.size()), static_cast<std::uint32_t>(out_.size())});
        put32(out_, 0x04034b50);
        header_fields(out_, crc, static_cast<std::uint32_t>(bytes.size()), name);
        put16(out_, 0);  // extra field length
        out_ += name;
        out_.append(bytes.data(), bytes.size());
    }

    // The archive's bytes: the members, then the central directory. The
    // writer hands its buffer over, so it is spent afterwards.
    std::string finish() {
        std::string out = std::move(out_);
        out_.clear();
        const std::size_t directory = out.size();
        for (const auto& e : entries_) {
            put32(out, 0x02014b50);
            put16(out, 20);  // made by: version 2.0
            header_fields(out, e.crc, e.size, e.name);
            put16(out, 0);  // extra
            put16(out, 0);  // comment
            put16(out, 0);  // disk
            put16(out, 0);  // internal attributes
            put32(out, 0);  // external attributes
            put32(out, e.offset);
            out += e.name;
        }
        const std::size_t directory_size = out.size() - directory;
        put32(out, 0x06054b50);
        put16(out, 0);  // this disk
        put16(out, 0);  // the directory's disk
        put16(out, static_cast<std::uint16_t>(entries_.size()));
        put16(out, static_cast<std::uint16_t>(entries_.size()));
        put32(out, static_cast<std::uint32_t>(directory_size));
        put32(out, static_cast<std::uint32_t>(directory));
        put16(out, 0);  // comment
        entries_.clear();
        return out;
    }

    static std::uint32_t checksum(std::string_view bytes) {
        uLong crc = crc32(0L, Z_NULL, 0);
        std::size_t done = 0;
        while (done < bytes.size()) {  // crc32 takes a uInt length
            const auto chunk = static_cast<uInt>(std::min<std::size_t>(bytes.size() - done, 1u << 30));
            crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + done), chunk);
            done += chunk;
        }
        return static_cast<std::uint32_t>(crc);
    }

private:
    struct entry {
        std::string name;
        std::uint32_t crc, size, offset;
    };
    static void put16(std::string& s, std::uint16_t v) {
        s += static_cast<char>(v & 0xff);
        s += static_cast<char>(v >> 8);
    }
    static void put32(std::string& s, std::uint32_t v) {
        put16(s, static_cast<std::uint16_t>(v & 0xffff));
        put16(s, static_cast<std::uint16_t>(v >> 16));
    }
    // From "version needed" to "file name length", shared by both headers.
    static void header_fields(std::string& s, std::uint32_t crc, std::uint32_t size,
                              const std::string& name) {
        put16(s, 20);      // version needed: 2.0
        put16(s, 0);       // flags
        put16(s, 0);       // stored
        put16(s, 0);       // time 00:00
        put16(s, 0x0021);  // date 1980-01-01: the same bytes for the same network
        put32(s, crc);
        put32(s, size);
        put32(s, size);
        put16(s, static_cast<std::uint16_t>(name.size()));
    }

    std::string out_;
    std::vector<entry> entries_;
};

class zip_reader {
public:
    // Reads and indexes the archive; max_size bounds the file and each member.
    zip_reader(const std::filesystem::path& file, std::uintmax_t max_size = std::uintmax_t{1} << 31)
        : file_(file.string()),
          bytes_(read_file_bytes(file, file.string() + ": ", max_size)),
          max_size_(max_size) {
        index();
    }
    // The same over bytes already in memory (fuzzing, tests); name is what messages call them.
    zip_reader(std::string name, std::string bytes, std::uintmax_t max_size = std::uintmax_t{1} << 31)
        : file_(std::move(name)), bytes_(std::move(bytes)), max_size_(max_size) {
        index();
    }

    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& [name, m] : members_) out.push_back(name);
        return out;
    }
    bool contains(const std::string& name) const { return members_.count(name) != 0; }
    const std::string& file() const noexcept { return file_; }

    // A member's bytes, decompressed and checked against its CRC.
    std::string read(const std::string& name) const {
        const auto it = members_.find(name);
        if (it == members_.end()) throw data_error(file_ + ": member '" + name + "' is missing");
        const member& m = it->second;
        const std::string where = file_ + ": member '" + name + "': ";
        const std::string_view stored(bytes_.data() + m.data_offset, m.compressed);
        std::string out;
        if (m.method == 0) {
            if (m.compressed != m.size)
                throw data_error(where + "stored with " + std::to_string(m.compressed) +
                                 " bytes but declares " + std::to_string(m.size));
            out.assign(stored);
        } else {
            out = inflate_raw(stored, m.size, where);
        }
        if (zip_writer::checksum(out) != m.crc) throw data_error(where + "CRC mismatch: the data is corrupt");
        return out;
    }

private:
    struct member {
        std::uint16_t method = 0;
        std::uint32_t crc = 0;
        std::size_t compressed = 0, size = 0, data_offset = 0;
    };

    std::uint32_t get(std::size_t at, int width, const char* field) const {
        if (at + static_cast<std::size_t>(width) > bytes_.size() || at > bytes_.size())
            throw data_error(file_ + ": truncated zip archive (reading the " + field + " at byte " +
                             std::to_string(at) + " of " + std::to_string(bytes_.size()) + ")");
        std::uint32_t v = 0;
        for (int i = width; i-- > 0;)
            v = v << 8 | static_cast<unsigned char>(bytes_[at + static_cast<std::size_t>(i)]);
        return v;
    }

    void index() {
        const std::string where = file_ + ": ";
        if (bytes_.size() < 22)
            throw data_error(where + "not a zip archive (.npz): too short for its end record");
        // The end record sits in the last 22 bytes plus at most a 64 KB comment.
        std::size_t end = std::string::npos;
        const std::size_t lowest = bytes_.size() >= 22 + 0xffff ? bytes_.size() - 22 - 0xffff : 0;
        for (std::size_t at = bytes_.size() - 22 + 1; at-- > lowest;)
            if (get(at, 4, "signature") == 0x06054b50) {
                end = at;
                break;
            }
        if (end == std::string::npos)
            throw data_error(where + "not a zip archive (.npz): no end-of-central-directory record");
        if (get(end + 4, 2, "disk number") != 0 || get(end + 6, 2, "directory disk") != 0)
            throw data_error(where + "multi-disk zip archives are not supported");
        const std::size_t count = get(end + 10, 2, "member count");
        const std::size_t directory_size = get(end + 12, 4, "directory size");
        const std::size_t directory = get(end + 16, 4, "directory offset");
        if (count == 0xffff || directory == 0xffffffff)
            throw data_error(where + "zip64 archives are not supported");
        if (directory > end || directory_size > end - directory)
            throw data_error(where + "the central directory (" + std::to_string(directory_size) +
                             " bytes at " + std::to_string(directory) + ") lies outside the file");
        std::size_t at = directory;
        for (std::size_t i = 0; i < count; ++i) {
            if (get(at, 4, "directory signature") != 0x02014b50)
                throw data_error(where + "directory entry " + std::to_string(i) +
                                 " is corrupt (bad signature)");
            member m;
            const std::uint32_t flags = get(at + 8, 2, "flags");
            m.method = static_cast<std::uint16_t>(get(at + 10, 2, "compression method"));
            m.crc = get(at + 16, 4, "CRC");
            m.compressed = get(at + 20, 4, "compressed size");
            m.size = get(at + 24, 4, "size");
            const std::size_t name_length = get(at + 28, 2, "name length");
            const std::size_t extra_length = get(at + 30, 2, "extra length");
            const std::size_t comment_length = get(at + 32, 2, "comment length");
            const std::size_t local = get(at + 42, 4, "member offset");
            if (at + 46 + name_length > bytes_.size()) get(at + 46 + name_length, 1, "member name");
            const std::string name = bytes_.substr(at + 46, name_length);
            const std::string member_where = where + "member '" + name + "': ";
            if (flags & 1) throw data_error(member_where + "encrypted members are not supported");
            if (m.method != 0 && m.method != 8)
                throw data_error(member_where + "compression method " + std::to_string(m.method) +
                                 " is not supported (stored and deflate are, as numpy writes)");
            if (m.size > max_size_ || m.compressed == 0xffffffff || m.size == 0xffffffff)
                throw data_error(member_where + "declares " + std::to_string(m.size) +
                                 " bytes, more than the " + std::to_string(max_size_) +
                                 " allowed (zip64 is not supported)");
            if (get(local, 4, "member signature") != 0x04034b50)
                throw data_error(member_where + "its local header at byte " + std::to_string(local) +
                                 " is corrupt (bad signature)");
            const std::size_t local_name = get(local + 26, 2, "local name length");
            const std::size_t local_extra = get(local + 28, 2, "local extra length");
            m.data_offset = local + 30 + local_name + local_extra;
            if (m.data_offset > bytes_.size() || m.compressed > bytes_.size() - m.data_offset)
                throw data_error(member_where + "its " + std::to_string(m.compressed) + " bytes at " +
                                 std::to_string(m.data_offset) +
                                 " run past the end of the file (truncated?)");
            if (!members_.emplace(name, m).second)
                throw data_error(member_where + "appears twice in the archive");
            at += 46 + name_length + extra_length + comment_length;
        }
    }

    static std::string inflate_raw(std::string_view in, std::size_t size, const std::string& where) {
        std::string out(size, '\0');
        z_stream z{};
        if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw data_error(where + "cannot start zlib");
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z.avail_in = static_cast<uInt>(in.size());
        z.next_out = reinterpret_cast<Bytef*>(out.data());
        z.avail_out = static_cast<uInt>(out.size());
        const int status = inflate(&z, Z_FINISH);
        const std::size_t produced = z.total_out;
        inflateEnd(&z);
        if (status != Z_STREAM_END || produced != size)
            throw data_error(where + "the deflated data is corrupt or does not hold the " +
                             std::to_string(size) + " bytes it declares");
        return out;
    }

    std::string file_, bytes_;
    std::uintmax_t max_size_;
    std::map<std::string, member> members_;
};

}  // namespace strata::detail
