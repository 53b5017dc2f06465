#include "tinydeploy/tensors/npz.h"

#include <fmt/format.h>
#include <zlib.h>

#include <fstream>
#include <map>

#include "tinydeploy/common/error.h"

namespace tinydeploy::tensors {
namespace {

namespace fs = std::filesystem;

// No input array of a microcontroller model comes near this; it bounds what a lying archive can
// make us allocate.
constexpr uint64_t kMaxEntryBytes = uint64_t{1} << 30;

struct Entry {
  std::string name;
  uint16_t method = 0;
  uint64_t compressed = 0;
  uint64_t size = 0;
  uint64_t local_offset = 0;
};

class Archive {
 public:
  explicit Archive(const fs::path& path) : path_(path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("{}: cannot open", path.string());
    bytes_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (bytes_.size() > (uint64_t{4} << 30)) throw Error("{}: too large", path.string());
  }

  std::vector<Entry> entries() const {
    // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
    if (bytes_.size() < 22) fail("not a zip archive (too short)");
    size_t eocd = bytes_.size() - 22;
    const size_t lowest = bytes_.size() > 65557 ? bytes_.size() - 65557 : 0;
    while (u32(eocd) != 0x06054b50u) {
      if (eocd == lowest) fail("not a zip archive (no end of central directory)");
      --eocd;
    }
    uint64_t count = u16(eocd + 10);
    uint64_t offset = u32(eocd + 16);
    if ((count == 0xFFFF || offset == 0xFFFFFFFFu) && eocd >= 20 && u32(eocd - 20) == 0x07064b50u) {
      const uint64_t record = u64(eocd - 20 + 8);  // zip64 end of central directory
      if (u32(record) != 0x06064b50u) fail("a broken zip64 directory");
      count = u64(record + 32);
      offset = u64(record + 48);
    }
    if (count > 4096) fail(fmt::format("{} entries; an input archive has a few", count));
    std::vector<Entry> list;
    for (uint64_t i = 0; i < count; ++i) {
      if (u32(offset) != 0x02014b50u) fail("a broken central directory");
      Entry e;
      e.method = u16(offset + 10);
      e.compressed = u32(offset + 20);
      e.size = u32(offset + 24);
      const uint64_t name_size = u16(offset + 28);
      const uint64_t extra_size = u16(offset + 30);
      const uint64_t comment_size = u16(offset + 32);
      e.local_offset = u32(offset + 42);
      e.name = std::string(text(offset + 46, name_size));
      // Zip64 extra field: the 64-bit values of the fields that read as 0xFFFFFFFF, in order.
      uint64_t extra = offset + 46 + name_size;
      const uint64_t extra_end = extra + extra_size;
      while (extra + 4 <= extra_end) {
        const uint16_t id = u16(extra);
        const uint16_t size = u16(extra + 2);
        if (id == 0x0001) {
          uint64_t at = extra + 4;
          if (e.size == 0xFFFFFFFFu && at + 8 <= extra + 4 + size) e.size = u64(at), at += 8;
          if (e.compressed == 0xFFFFFFFFu && at + 8 <= extra + 4 + size) {
            e.compressed = u64(at), at += 8;
          }
          if (e.local_offset == 0xFFFFFFFFu && at + 8 <= extra + 4 + size) e.local_offset = u64(at);
        }
        extra += 4 + uint64_t{size};
      }
      list.push_back(e);
      offset = extra_end + comment_size;
    }
    return list;
  }

  std::vector<uint8_t> read(const Entry& e) const {
    if (e.size > kMaxEntryBytes) fail(fmt::format("'{}' claims {} bytes", e.name, e.size));
    if (u32(e.local_offset) != 0x04034b50u) fail(fmt::format("'{}': broken local header", e.name));
    const uint64_t data = e.local_offset + 30 + u16(e.local_offset + 26) + u16(e.local_offset + 28);
    const std::span<const uint8_t> stored = span(data, e.compressed);
    if (e.method == 0) {
      if (e.compressed != e.size) fail(fmt::format("'{}': sizes disagree", e.name));
      return {stored.begin(), stored.end()};
    }
    if (e.method != 8) {
      fail(fmt::format("'{}' uses compression method {} (stored or deflate only)", e.name,
                       e.method));
    }
    std::vector<uint8_t> out(static_cast<size_t>(e.size));
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail("zlib cannot start");
    z.next_in = const_cast<Bytef*>(stored.data());
    z.avail_in = static_cast<uInt>(stored.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    const int status = inflate(&z, Z_FINISH);
    const uint64_t produced = z.total_out;
    inflateEnd(&z);
    if (status != Z_STREAM_END || produced != e.size) {
      fail(fmt::format("'{}': corrupt compressed data", e.name));
    }
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("{}: {}", path_.string(), what);
  }
  std::span<const uint8_t> span(uint64_t offset, uint64_t size) const {
    if (offset > bytes_.size() || size > bytes_.size() - offset) fail("truncated archive");
    return {bytes_.data() + offset, static_cast<size_t>(size)};
  }
  uint64_t le(uint64_t offset, size_t n) const {
    const auto s = span(offset, n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t{s[i]} << (8 * i);
    return v;
  }
  uint16_t u16(uint64_t offset) const { return static_cast<uint16_t>(le(offset, 2)); }
  uint32_t u32(uint64_t offset) const { return static_cast<uint32_t>(le(offset, 4)); }
  uint64_t u64(uint64_t offset) const { return le(offset, 8); }
  std::string_view text(uint64_t offset, uint64_t size) const {
    const auto s = span(offset, size);
    return {reinterpret_cast<const char*>(s.data()), s.size()};
  }

  fs::path path_;
  std::vector<uint8_t> bytes_;
};

}  // namespace

std::vector<std::vector<TensorData>> read_npz_runs(const fs::path& path,
                                                   const std::vector<const model::Tensor*>& inputs,
                                                   const fs::path& scratch) {
  const Archive archive(path);
  std::map<std::string, Entry> by_name;
  for (const Entry& e : archive.entries()) {
    if (e.name.size() > 4 && e.name.ends_with(".npy")) {
      by_name[e.name.substr(0, e.name.size() - 4)] = e;
    }
  }
  std::vector<TensorData> arrays;
  int64_t runs = -1;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const model::Tensor& t = *inputs[i];
    const Entry* entry = nullptr;
    for (const std::string& key : {t.name, fmt::format("input_{}", i), fmt::format("arr_{}", i)}) {
      const auto found = by_name.find(key);
      if (found != by_name.end()) {
        entry = &found->second;
        break;
      }
    }
    if (entry == nullptr) {
      throw Error("{}: no array for model input {} ('{}'): name it '{}', 'input_{}' or 'arr_{}'",
                  path.string(), i, t.name, t.name, i, i);
    }
    const std::vector<uint8_t> npy = archive.read(*entry);
    const fs::path file = scratch / fmt::format("npz_input_{}.npy", i);
    {
      std::ofstream out(file, std::ios::binary);
      out.write(reinterpret_cast<const char*>(npy.data()),
                static_cast<std::streamsize>(npy.size()));
      if (!out.flush()) throw Error("cannot write {}", file.string());
    }
    TensorData data = read_npy(file);
    const std::string where = fmt::format("{}: '{}'", path.string(), entry->name);
    if (data.dtype != t.dtype) {
      throw Error("{} is {}, model input {} is {}", where, model::dtype_name(data.dtype), i,
                  model::dtype_name(t.dtype));
    }
    int64_t count = 0;
    if (data.shape == t.shape) {
      count = 1;
    } else if (data.shape.size() == t.shape.size() + 1 &&
               std::equal(t.shape.begin(), t.shape.end(), data.shape.begin() + 1) &&
               data.shape[0] > 0) {
      count = data.shape[0];
    } else {
      throw Error("{} has shape [{}]; model input {} needs [{}] or [N,{}]", where,
                  fmt::join(data.shape, ","), i, fmt::join(t.shape, ","), fmt::join(t.shape, ","));
    }
    if (runs >= 0 && count != runs) {
      throw Error("{} holds {} run(s), the arrays before it {}", where, count, runs);
    }
    runs = count;
    arrays.push_back(std::move(data));
  }
  std::vector<std::vector<TensorData>> result(static_cast<size_t>(std::max<int64_t>(runs, 1)));
  for (size_t i = 0; i < arrays.size(); ++i) {
    const size_t bytes = static_cast<size_t>(inputs[i]->bytes());
    for (size_t r = 0; r < result.size(); ++r) {
      TensorData one{inputs[i]->dtype, inputs[i]->shape, {}};
      one.bytes.assign(arrays[i].bytes.begin() + static_cast<std::ptrdiff_t>(r * bytes),
                       arrays[i].bytes.begin() + static_cast<std::ptrdiff_t>((r + 1) * bytes));
      result[r].push_back(std::move(one));
    }
  }
  return result;
}

}  // namespace tinydeploy::tensors
