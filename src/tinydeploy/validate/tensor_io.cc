#include "tinydeploy/validate/tensor_io.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>

#include "tinydeploy/common/error.h"

namespace tinydeploy::validate {

using model::DType;

namespace {

constexpr size_t kMaxNpyBytes = size_t{1} << 31;

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
  std::vector<uint8_t> bytes;
  char buffer[65536];
  while (in) {
    in.read(buffer, sizeof buffer);
    bytes.insert(bytes.end(), buffer, buffer + in.gcount());
    if (bytes.size() > limit) throw Error("{}: file is too large", path.string());
  }
  return bytes;
}

// The value of `key` in the header dict, as the raw text up to the next top-level comma.
std::string header_field(const std::string& header, const std::string& key,
                         const std::filesystem::path& path) {
  const std::string quoted = "'" + key + "'";
  const size_t at = header.find(quoted);
  if (at == std::string::npos) throw Error("{}: .npy header lacks '{}'", path.string(), key);
  size_t i = header.find(':', at + quoted.size());
  if (i == std::string::npos) throw Error("{}: malformed .npy header", path.string());
  ++i;
  while (i < header.size() && header[i] == ' ') ++i;
  size_t end = i;
  if (end < header.size() && header[end] == '(') {
    end = header.find(')', end);
    if (end == std::string::npos) throw Error("{}: malformed .npy header", path.string());
    ++end;
  } else {
    while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  }
  return header.substr(i, end - i);
}

void check_fits(const TensorData& data, const model::Tensor& tensor,
                const std::filesystem::path& path) {
  if (data.dtype != tensor.dtype) {
    throw Error("{}: holds {} values but input '{}' is {}", path.string(),
                model::dtype_name(data.dtype), tensor.name, model::dtype_name(tensor.dtype));
  }
  if (data.elements() != tensor.elements()) {
    throw Error("{}: holds {} values but input '{}' has {} (shape [{}])", path.string(),
                data.elements(), tensor.name, tensor.elements(), fmt::join(tensor.shape, ","));
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

TensorData read_npy(const std::filesystem::path& path) {
  const std::vector<uint8_t> raw = read_file(path, kMaxNpyBytes);
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
  if (header_length > raw.size() - header_start) {
    throw Error("{}: truncated .npy header", path.string());
  }
  const std::string header(raw.begin() + static_cast<std::ptrdiff_t>(header_start),
                           raw.begin() + static_cast<std::ptrdiff_t>(header_start + header_length));
  std::string descr = header_field(header, "descr", path);
  if (descr.size() < 2) throw Error("{}: malformed .npy descr", path.string());
  descr = descr.substr(1, descr.size() - 2);
  if (descr == "<i1" || descr == "=i1") descr = "|i1";
  if (descr == "<u1" || descr == "=u1") descr = "|u1";
  TensorData data;
  bool known = false;
  for (const NpyType& t : kNpyTypes) {
    if (descr == t.descr) {
      data.dtype = t.dtype;
      known = true;
    }
  }
  if (!known) throw Error("{}: unsupported .npy element type '{}'", path.string(), descr);
  if (header_field(header, "fortran_order", path).find("True") != std::string::npos) {
    throw Error("{}: Fortran-ordered arrays are not supported", path.string());
  }
  const std::string shape_text = header_field(header, "shape", path);
  int64_t elements = 1;
  for (size_t i = 0; i < shape_text.size();) {
    if (shape_text[i] < '0' || shape_text[i] > '9') {
      ++i;
      continue;
    }
    int64_t dim = 0;
    while (i < shape_text.size() && shape_text[i] >= '0' && shape_text[i] <= '9') {
      dim = dim * 10 + (shape_text[i] - '0');
      if (dim > (int64_t{1} << 31)) throw Error("{}: absurd .npy shape", path.string());
      ++i;
    }
    data.shape.push_back(static_cast<int32_t>(dim));
    elements *= dim;
    if (elements > static_cast<int64_t>(kMaxNpyBytes)) {
      throw Error("{}: absurd .npy shape", path.string());
    }
  }
  const size_t payload = static_cast<size_t>(elements) * element_bytes(data.dtype);
  const size_t start = header_start + header_length;
  if (raw.size() - start != payload) {
    throw Error("{}: {} data bytes where the header promises {}", path.string(), raw.size() - start,
                payload);
  }
  data.bytes.assign(raw.begin() + static_cast<std::ptrdiff_t>(start), raw.end());
  return data;
}

TensorData read_tensor_file(const std::filesystem::path& path, const model::Tensor& tensor) {
  const std::string extension = path.extension().string();
  if (extension == ".csv") return read_csv(path, tensor);
  if (extension != ".npy") {
    throw Error("{}: input files must be .npy or .csv", path.string());
  }
  TensorData data = read_npy(path);
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
      case DType::Float32:
        append(data.bytes, static_cast<float>(static_cast<double>(r >> 40) / 8388608.0 - 1.0));
        break;
      default:
        throw Error("cannot generate random data for input '{}' of type {}", tensor.name,
                    model::dtype_name(tensor.dtype));
    }
  }
  return data;
}

}  // namespace tinydeploy::validate
