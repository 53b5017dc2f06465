#include "tinydeploy/model/graph.h"

#include <limits>

#include <fmt/format.h>

#include "tinydeploy/common/text.h"

namespace tinydeploy::model {

std::string_view dtype_name(DType type) {
  switch (type) {
    case DType::Float32:
      return "float32";
    case DType::Float16:
      return "float16";
    case DType::Int32:
      return "int32";
    case DType::UInt8:
      return "uint8";
    case DType::Int64:
      return "int64";
    case DType::String:
      return "string";
    case DType::Bool:
      return "bool";
    case DType::Int16:
      return "int16";
    case DType::Complex64:
      return "complex64";
    case DType::Int8:
      return "int8";
    case DType::Float64:
      return "float64";
    case DType::Complex128:
      return "complex128";
    case DType::UInt64:
      return "uint64";
    case DType::Resource:
      return "resource";
    case DType::Variant:
      return "variant";
    case DType::UInt32:
      return "uint32";
    case DType::UInt16:
      return "uint16";
    case DType::Int4:
      return "int4";
  }
  return "unknown";
}

int dtype_bits(DType type) {
  switch (type) {
    case DType::Int4:
      return 4;
    case DType::Bool:
    case DType::UInt8:
    case DType::Int8:
      return 8;
    case DType::Float16:
    case DType::Int16:
    case DType::UInt16:
      return 16;
    case DType::Float32:
    case DType::Int32:
    case DType::UInt32:
      return 32;
    case DType::Int64:
    case DType::UInt64:
    case DType::Float64:
    case DType::Complex64:
      return 64;
    case DType::Complex128:
      return 128;
    case DType::String:
    case DType::Resource:
    case DType::Variant:
      return 0;
  }
  return 0;
}

std::optional<int64_t> storage_bytes(DType type, int64_t elements) {
  const int bits = dtype_bits(type);
  if (bits == 0 || elements < 0) return std::nullopt;
  if (elements > std::numeric_limits<int64_t>::max() / bits) return std::nullopt;
  return (elements * bits + 7) / 8;
}

std::optional<int64_t> element_count(std::span<const int32_t> shape) {
  int64_t count = 1;
  for (const int32_t dim : shape) {
    if (dim < 0) return std::nullopt;
    if (dim != 0 && count > std::numeric_limits<int64_t>::max() / dim) return std::nullopt;
    count *= dim;
  }
  return count;
}

int64_t Tensor::elements() const { return element_count(shape).value_or(0); }

int64_t Tensor::bytes() const { return storage_bytes(dtype, elements()).value_or(0); }

std::string_view padding_name(Padding padding) {
  return padding == Padding::Same ? "SAME" : padding == Padding::Valid ? "VALID" : "unknown";
}

std::string_view activation_name(Activation activation) {
  switch (activation) {
    case Activation::None:
      return "NONE";
    case Activation::Relu:
      return "RELU";
    case Activation::ReluN1To1:
      return "RELU_N1_TO_1";
    case Activation::Relu6:
      return "RELU6";
    case Activation::Tanh:
      return "TANH";
    case Activation::SignBit:
      return "SIGN_BIT";
  }
  return "unknown";
}

std::string Operator::name() const {
  // A custom code is the model's own text: shown escaped, never raw.
  if (op == BuiltinOp::CUSTOM) return custom_code.empty() ? "CUSTOM" : printable(custom_code);
  const std::string_view known = builtin_op_name(op);
  if (!known.empty()) return std::string(known);
  return fmt::format("BUILTIN_{}", static_cast<int32_t>(op));
}

uint8_t variable_reset_byte(const Tensor& tensor) {
  if (tensor.resource_fill) return *tensor.resource_fill;
  if (tensor.dtype == DType::Int8 && !tensor.quantization.zero_point.empty()) {
    // TFLite Micro fills with memset, which keeps the low byte of the value.
    return static_cast<uint8_t>(static_cast<uint64_t>(tensor.quantization.zero_point[0]) & 0xFFu);
  }
  return 0;
}

}  // namespace tinydeploy::model
