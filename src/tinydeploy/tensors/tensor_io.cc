#include "tinydeploy/tensors/tensor_io.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <utility>

#include "tinydeploy/common/error.h"
#include "tinydeploy/common/text.h"

namespace tinydeploy::tensors {

using model::DType;

namespace {

constexpr size_t kMaxNpyBytes = size_t{1} << 31;
// numpy's own reader refuses headers above 10,000 bytes unless told otherwise.
constexpr size_t kMaxNpyHeaderBytes = 65535;

struct NpyType {
  DType dtype;
  const char* descr;
};
constexpr NpyType kNpyTypes[] = {
    {DType::Int8, "|i1"},    {DType::UInt8, "|u1"},  {DType::Int16, "<i2"}, {DType::UInt16, "<u2"},
    {DType::Int32, "<i4"},   {DType::UInt32, "<u4"}, {DType::Int64, "<i8"}, {DType::Float32, "<f4"},
    {DType::Float64, "<f8"}, {DType::Bool, "|b1"},
};

const char* npy_descr(DType dtype) {
  for (const NpyType& t : kNpyTypes) {
    if (t.dtype == dtype) return t.descr;
  }
  throw Error("tensors of type {} cannot be written as .npy", model::dtype_name(dtype));
}

size_t element_bytes(DType dtype) { return static_cast<size_t>(model::dtype_bits(dtype) / 8); }

std::vector<uint8_t> read_file(const std::filesystem::path& path, size_t limit) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error("{}: is a directory", path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("{}: cannot open (no such file or no permission)", path.string());
  if (std::filesystem::file_size(path, ec) > limit && !ec) {
    throw Error("{}: file is too large ({} bytes; at most {} expected)", path.string(),
                std::filesystem::file_size(path, ec), limit);
  }
  std::vector<uint8_t> bytes;
  char buffer[65536];
  while (in) {
    in.read(buffer, sizeof buffer);
    bytes.insert(bytes.end(), buffer, buffer + in.gcount());
    if (bytes.size() > limit) throw Error("{}: file is too large", path.string());
  }
  return bytes;
}

// The header of a .npy file: a Python dict literal with exactly the keys 'descr' (a string),
// 'fortran_order' (True or False) and 'shape' (a tuple of non-negative integers), as numpy writes
// it. Parsed strictly: the file is untrusted, and a header read loosely (a negative dimension
// taken as its digits, a list taken as a tuple) gives data a wrong shape without a word.
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

class NpyHeaderParser {
 public:
  NpyHeaderParser(std::string_view text, const std::filesystem::path& path)
      : text_(text), path_(path) {}

  NpyHeader parse() {
    NpyHeader header;
    bool has_descr = false;
    bool has_order = false;
    bool has_shape = false;
    expect('{');
    while (!accept('}')) {
      const std::string key = string_literal("a key");
      expect(':');
      if (key == "descr" && !has_descr) {
        header.descr = string_literal("the 'descr' value");
        has_descr = true;
      } else if (key == "fortran_order" && !has_order) {
        header.fortran_order = boolean();
        has_order = true;
      } else if (key == "shape" && !has_shape) {
        header.shape = shape();
        has_shape = true;
      } else {
        fail(
            "unexpected or repeated key '{}' (numpy writes only 'descr', 'fortran_order' and "
            "'shape')",
            printable(key));
      }
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
    skip_space();
    if (at_ != text_.size()) fail("text after the closing brace");
    if (!has_descr || !has_order || !has_shape) {
      fail("lacks '{}'", !has_descr ? "descr" : (!has_order ? "fortran_order" : "shape"));
    }
    return header;
  }

 private:
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    throw Error("{}: malformed .npy header: {}", path_.string(),
                fmt::format(format, std::forward<Args>(args)...));
  }

  void skip_space() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r')) {
      ++at_;
    }
  }

  bool accept(char c) {
    skip_space();
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!accept(c)) fail("expected '{}' at byte {}", c, at_);
  }

  std::string string_literal(const char* what) {
    skip_space();
    if (at_ >= text_.size() || (text_[at_] != '\'' && text_[at_] != '"')) {
      fail("expected {} as a quoted string at byte {}", what, at_);
    }
    const char quote = text_[at_++];
    const size_t end = text_.find(quote, at_);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string value(text_.substr(at_, end - at_));
    at_ = end + 1;
    return value;
  }

  bool boolean() {
    skip_space();
    for (const auto& [word, value] :
         {std::pair{std::string_view("True"), true}, std::pair{std::string_view("False"), false}}) {
      if (text_.substr(at_, word.size()) == word) {
        at_ += word.size();
        return value;
      }
    }
    fail("'fortran_order' must be True or False");
  }

  std::vector<int64_t> shape() {
    if (!accept('(')) {
      fail("'shape' must be a tuple of non-negative integers such as (1, 49, 10, 1)");
    }
    std::vector<int64_t> dims;
    while (!accept(')')) {
      skip_space();
      if (at_ < text_.size() && text_[at_] == '-') {
        fail("'shape' has a negative dimension");
      }
      const char* begin = text_.data() + at_;
      const char* end = text_.data() + text_.size();
      int64_t dim = 0;
      const auto [stop, ec] = std::from_chars(begin, end, dim);
      if (stop == begin) {
        fail("'shape' must be a tuple of non-negative integers such as (1, 49, 10, 1)");
      }
      if (ec != std::errc() || dim > std::numeric_limits<int32_t>::max()) {
        fail("a dimension of 'shape' is larger than 2^31-1");
      }
      at_ += static_cast<size_t>(stop - begin);
      dims.push_back(dim);
      if (dims.size() > 16) fail("'shape' has more than 16 dimensions");
      // One element needs its trailing comma in Python: (3,) is a tuple, (3) is not.
      if (!accept(',')) {
        if (dims.size() == 1) fail("'shape' (n) is not a tuple: numpy writes (n,)");
        expect(')');
        break;
      }
    }
    return dims;
  }

  std::string_view text_;
  const std::filesystem::path& path_;
  size_t at_ = 0;
};

void check_fits(const TensorData& data, const model::Tensor& tensor,
                const std::filesystem::path& path) {
  if (data.dtype != tensor.dtype) {
    throw Error("{}: holds {} values but input '{}' is {}", path.string(),
                model::dtype_name(data.dtype), printable(tensor.name),
                model::dtype_name(tensor.dtype));
  }
  if (data.elements() != tensor.elements()) {
    throw Error("{}: holds {} values but input '{}' has {} (shape [{}])", path.string(),
                data.elements(), printable(tensor.name), tensor.elements(),
                fmt::join(tensor.shape, ","));
  }
}

template <typename T>
void append(std::vector<uint8_t>& bytes, T value) {
  uint8_t raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  bytes.insert(bytes.end(), raw, raw + sizeof(T));
}

template <typename T>
void append_integer(std::vector<uint8_t>& bytes, std::string_view text,
                    const std::filesystem::path& path, size_t index) {
  int64_t value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (result.ec != std::errc() || result.ptr != text.data() + text.size()) {
    throw Error("{}: value {} ('{}') is not an integer", path.string(), index, text);
  }
  if (value < std::numeric_limits<T>::min() || value > std::numeric_limits<T>::max()) {
    throw Error("{}: value {} ({}) is out of range for the input type", path.string(), index,
                value);
  }
  append(bytes, static_cast<T>(value));
}

TensorData read_csv(const std::filesystem::path& path, const model::Tensor& tensor) {
  const std::vector<uint8_t> raw = read_file(path, kMaxNpyBytes);
  const std::string text(raw.begin(), raw.end());
  TensorData data;
  data.dtype = tensor.dtype;
  data.shape = tensor.shape;
  // One line of values (the format of TFLite Micro's golden vectors), optionally ended by a
  // line break: a second line would be read as more values of the same tensor.
  const size_t line_end = text.find_first_of("\n\r");
  if (line_end != std::string::npos &&
      text.find_first_not_of(" \t\r\n", line_end) != std::string::npos) {
    throw Error(
        "{}: has more than one line; a CSV input is one line of comma-separated values: put all "
        "{} values of input '{}' on one line (or use .npy)",
        path.string(), tensor.elements(), printable(tensor.name));
  }
  const int64_t expected = tensor.elements();
  size_t index = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find_first_of(",\n\r", start);
    if (end == std::string::npos) end = text.size();
    std::string_view field(text.data() + start, end - start);
    while (!field.empty() && (field.front() == ' ' || field.front() == '\t'))
      field.remove_prefix(1);
    while (!field.empty() && (field.back() == ' ' || field.back() == '\t')) field.remove_suffix(1);
    if (!field.empty()) {
      if (static_cast<int64_t>(index) >= expected) {
        throw Error("{}: holds more than the {} values of input '{}' (shape [{}])", path.string(),
                    expected, printable(tensor.name), fmt::join(tensor.shape, ","));
      }
      switch (tensor.dtype) {
        case DType::Int8:
          append_integer<int8_t>(data.bytes, field, path, index);
          break;
        case DType::Int16:
          append_integer<int16_t>(data.bytes, field, path, index);
          break;
        case DType::Int32:
          append_integer<int32_t>(data.bytes, field, path, index);
          break;
        case DType::UInt8:
          append_integer<uint8_t>(data.bytes, field, path, index);
          break;
        case DType::Float32: {
          const std::string copy(field);
          char* stop = nullptr;
          const float value = std::strtof(copy.c_str(), &stop);
          if (stop != copy.c_str() + copy.size()) {
            throw Error("{}: value {} ('{}') is not a number", path.string(), index, field);
          }
          append(data.bytes, value);
          break;
        }
        default:
          throw Error("{}: CSV input for {} tensors is not supported", path.string(),
                      model::dtype_name(tensor.dtype));
      }
      ++index;
    } else if (end < text.size() && text[end] == ',') {
      throw Error("{}: empty value at position {}", path.string(), index);
    }
    if (end >= text.size()) break;
    start = end + 1;
  }
  check_fits(data, tensor, path);
  return data;
}

}  // namespace

int64_t TensorData::elements() const {
  const size_t size = element_bytes(dtype);
  return size == 0 ? 0 : static_cast<int64_t>(bytes.size() / size);
}

double TensorData::value(int64_t i) const {
  const uint8_t* p = bytes.data() + static_cast<size_t>(i) * element_bytes(dtype);
  auto load = [p](auto sample) {
    std::memcpy(&sample, p, sizeof sample);
    return static_cast<double>(sample);
  };
  switch (dtype) {
    case DType::Int8:
      return load(int8_t{});
    case DType::UInt8:
    case DType::Bool:
      return load(uint8_t{});
    case DType::Int16:
      return load(int16_t{});
    case DType::UInt16:
      return load(uint16_t{});
    case DType::Int32:
      return load(int32_t{});
    case DType::UInt32:
      return load(uint32_t{});
    case DType::Int64:
      return load(int64_t{});
    case DType::Float32:
      return load(float{});
    case DType::Float64:
      return load(double{});
    default:
      return 0.0;
  }
}

namespace {

// Reads a .npy file whose data may take at most `max_payload` bytes.
TensorData read_npy_limited(const std::filesystem::path& path, size_t max_payload) {
  const std::vector<uint8_t> raw = read_file(path, max_payload + kMaxNpyHeaderBytes + 12);
  if (raw.size() < 10 || std::memcmp(raw.data(), "\x93NUMPY", 6) != 0) {
    throw Error("{}: not a .npy file", path.string());
  }
  const int major = raw[6];
  size_t header_length = 0;
  size_t header_start = 0;
  if (major == 1) {
    header_length = raw[8] | (size_t{raw[9]} << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (raw.size() < 12) throw Error("{}: truncated .npy header", path.string());
    header_length =
        raw[8] | (size_t{raw[9]} << 8) | (size_t{raw[10]} << 16) | (size_t{raw[11]} << 24);
    header_start = 12;
  } else {
    throw Error("{}: unsupported .npy version {}", path.string(), major);
  }
  if (header_length > kMaxNpyHeaderBytes) {
    throw Error("{}: .npy header of {} bytes (numpy writes a few hundred; at most {} accepted)",
                path.string(), header_length, kMaxNpyHeaderBytes);
  }
  if (header_length > raw.size() - header_start) {
    throw Error("{}: truncated .npy header", path.string());
  }
  const std::string_view header_text(reinterpret_cast<const char*>(raw.data()) + header_start,
                                     header_length);
  const NpyHeader header = NpyHeaderParser(header_text, path).parse();

  std::string descr = header.descr;
  if (descr.size() < 3 || std::string_view("<>|=").find(descr[0]) == std::string_view::npos) {
    throw Error("{}: unsupported .npy element type '{}'", path.string(), printable(descr));
  }
  TensorData data;
  bool known = false;
  for (const NpyType& t : kNpyTypes) {
    if (descr.substr(1) == std::string_view(t.descr).substr(1)) {
      data.dtype = t.dtype;
      known = true;
    }
  }
  if (!known) {
    throw Error("{}: unsupported .npy element type '{}'", path.string(), printable(descr));
  }
  if (descr[0] == '|' && element_bytes(data.dtype) > 1) {
    throw Error("{}: malformed .npy element type '{}' (no byte order)", path.string(), descr);
  }
  if (descr[0] == '>' && element_bytes(data.dtype) > 1) {
    throw Error("{}: big-endian data ('{}'): save it little-endian (numpy: astype('<{}'))",
                path.string(), descr, descr.substr(1));
  }
  // Fortran order stores the last index slowest; it is C order only when at most one
  // dimension is larger than 1.
  if (header.fortran_order && std::count_if(header.shape.begin(), header.shape.end(),
                                            [](int64_t d) { return d > 1; }) > 1) {
    throw Error("{}: Fortran-ordered arrays are not supported: save with np.ascontiguousarray",
                path.string());
  }
  int64_t elements = 1;
  for (const int64_t dim : header.shape) {
    // Each dimension fits in int32, so the product is checked before it can overflow.
    if (dim != 0 && elements > static_cast<int64_t>(max_payload) / dim) {
      throw Error("{}: the .npy shape ({}) holds more data than the {} bytes accepted here",
                  path.string(), fmt::join(header.shape, ", "), max_payload);
    }
    elements *= dim;
    data.shape.push_back(static_cast<int32_t>(dim));
  }
  const size_t payload = static_cast<size_t>(elements) * element_bytes(data.dtype);
  const size_t start = header_start + header_length;
  if (raw.size() - start != payload) {
    throw Error("{}: {} data bytes where the header's shape ({}) needs {}", path.string(),
                raw.size() - start, fmt::join(header.shape, ", "), payload);
  }
  data.bytes.assign(raw.begin() + static_cast<std::ptrdiff_t>(start), raw.end());
  return data;
}

}  // namespace

TensorData read_npy(const std::filesystem::path& path) {
  return read_npy_limited(path, kMaxNpyBytes);
}

TensorData read_tensor_file(const std::filesystem::path& path, const model::Tensor& tensor) {
  const std::string extension = path.extension().string();
  if (extension == ".csv") return read_csv(path, tensor);
  if (extension != ".npy") {
    throw Error("{}: input files must be .npy or .csv", path.string());
  }
  // The file holds one tensor: anything much larger is refused before it is read.
  TensorData data = read_npy_limited(path, static_cast<size_t>(tensor.bytes()));
  check_fits(data, tensor, path);
  data.shape = tensor.shape;
  return data;
}

void write_npy(const std::filesystem::path& path, const TensorData& data) {
  std::string shape;
  for (int32_t d : data.shape) shape += fmt::format("{}, ", d);
  if (data.shape.size() > 1) shape.resize(shape.size() - 1);
  if (data.shape.size() > 1) shape.pop_back();
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}",
                                   npy_descr(data.dtype), shape);
  // Pad so the data starts on a 64-byte boundary, ending the header with a newline.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error("{}: cannot write", path.string());
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t length = static_cast<uint16_t>(header.size());
  const char length_bytes[2] = {static_cast<char>(length & 0xff), static_cast<char>(length >> 8)};
  out.write(length_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(data.bytes.data()),
            static_cast<std::streamsize>(data.bytes.size()));
  if (!out) throw Error("{}: write failed", path.string());
}

void write_csv(const std::filesystem::path& path, const TensorData& data) {
  std::ofstream out(path);
  if (!out) throw Error("{}: cannot write", path.string());
  for (int64_t i = 0; i < data.elements(); ++i) {
    if (i > 0) out << ',';
    if (data.dtype == DType::Float32 || data.dtype == DType::Float64) {
      out << fmt::format("{}", data.value(i));
    } else {
      out << static_cast<int64_t>(data.value(i));
    }
  }
  out << '\n';
  if (!out) throw Error("{}: write failed", path.string());
}

uint64_t invoke_seed(uint64_t seed, uint64_t invoke) {
  if (invoke == 0) return seed;
  uint64_t z = seed + invoke * 0x9E3779B97F4A7C15u;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

TensorData random_tensor(const model::Tensor& tensor, uint64_t seed) {
  TensorData data;
  data.dtype = tensor.dtype;
  data.shape = tensor.shape;
  std::mt19937_64 generator(seed);
  const int64_t count = tensor.elements();
  // Draw raw 64-bit values and map them ourselves: the standard distributions are not
  // reproducible across standard libraries.
  for (int64_t i = 0; i < count; ++i) {
    const uint64_t r = generator();
    switch (tensor.dtype) {
      case DType::Int8:
        append(data.bytes, static_cast<int8_t>(static_cast<int64_t>(r >> 56) - 128));
        break;
      case DType::UInt8:
      case DType::Bool:
        append(data.bytes, static_cast<uint8_t>(r >> 56));
        break;
      case DType::Int16:
        append(data.bytes, static_cast<int16_t>(static_cast<int64_t>(r >> 48) - 32768));
        break;
      case DType::Int32:
        append(data.bytes, static_cast<int32_t>(static_cast<int64_t>(r >> 48) - 32768));
        break;
      case DType::Int64:
        append(data.bytes, static_cast<int64_t>(r >> 48) - 32768);
        break;
      case DType::Float32:
        append(data.bytes, static_cast<float>(static_cast<double>(r >> 40) / 8388608.0 - 1.0));
        break;
      default:
        throw Error("cannot generate random data for input '{}' of type {}", printable(tensor.name),
                    model::dtype_name(tensor.dtype));
    }
  }
  return data;
}

}  // namespace tinydeploy::tensors
