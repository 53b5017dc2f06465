// The operators and type signatures tinydeploy's runtime has kernels for. The engine checks the
// finer conditions (quantization parameters, shapes) when it prepares each operator.
#include "tinydeploy/analysis/layers.h"

namespace tinydeploy::analysis {

using model::BuiltinOp;
using model::DType;

namespace {

bool is_activation_type(DType t) {
  return t == DType::Int8 || t == DType::Int16 || t == DType::Float32;
}

// CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED: activations, weights [, bias].
bool weighted_signature(DType activation, DType weights, const std::vector<DType>& inputs,
                        DType output) {
  const bool has_bias = inputs.size() > 2;
  const DType bias = has_bias ? inputs[2] : DType::Int32;
  switch (activation) {
    case DType::Int8:
      return weights == DType::Int8 && output == DType::Int8 && bias == DType::Int32;
    case DType::Int16:
      return weights == DType::Int8 && output == DType::Int16 &&
             (bias == DType::Int32 || bias == DType::Int64);
    case DType::Float32:
      return weights == DType::Float32 && output == DType::Float32 &&
             (!has_bias || bias == DType::Float32);
    default:
      return false;
  }
}

}  // namespace

bool runtime_supports(BuiltinOp op, const std::vector<DType>& in, const std::vector<DType>& out) {
  if (in.empty() || out.empty()) return false;
  const DType first = in[0];
  const DType result = out[0];
  const bool same_type = first == result;
  switch (op) {
    case BuiltinOp::CONV_2D:
      // Also hybrid: float activations with int8 weights and float bias.
      if (in.size() >= 2 && first == DType::Float32 && in[1] == DType::Int8) {
        return result == DType::Float32 && (in.size() < 3 || in[2] == DType::Float32);
      }
      return in.size() >= 2 && weighted_signature(first, in[1], in, result);
    case BuiltinOp::DEPTHWISE_CONV_2D:
    case BuiltinOp::FULLY_CONNECTED:
      return in.size() >= 2 && weighted_signature(first, in[1], in, result);
    case BuiltinOp::TRANSPOSE_CONV: {
      // output shape, weights, activations [, bias]
      if (in.size() < 3) return false;
      const DType activation = in[2];
      const DType bias = in.size() > 3 ? in[3] : DType::Float32;
      if (activation == DType::Float32) return in[1] == DType::Float32 && result == DType::Float32;
      if (activation == DType::Int8) {
        return in[1] == DType::Int8 && result == DType::Int8 &&
               (in.size() <= 3 || bias == DType::Int32);
      }
      return activation == DType::Int16 && in[1] == DType::Int8 && result == DType::Int16 &&
             (in.size() <= 3 || bias == DType::Int64);
    }
    case BuiltinOp::AVERAGE_POOL_2D:
    case BuiltinOp::MAX_POOL_2D:
    case BuiltinOp::RELU:
    case BuiltinOp::RELU6:
    case BuiltinOp::RELU_N1_TO_1:
    case BuiltinOp::LEAKY_RELU:
    case BuiltinOp::MEAN:
      return same_type && is_activation_type(first);
    case BuiltinOp::ADD:
    case BuiltinOp::SUB:
    case BuiltinOp::MUL:
    case BuiltinOp::MAXIMUM:
    case BuiltinOp::MINIMUM:
      return in.size() == 2 && in[1] == first && same_type && is_activation_type(first);
    case BuiltinOp::HARD_SWISH:  // TFLite has no 16x8 HARD_SWISH
      return same_type && (first == DType::Int8 || first == DType::Float32);
    case BuiltinOp::LOGISTIC:
    case BuiltinOp::TANH:
      return same_type && is_activation_type(first);
    case BuiltinOp::SOFTMAX:
      return (same_type && is_activation_type(first)) ||
             (first == DType::Int8 && result == DType::Int16);
    case BuiltinOp::QUANTIZE:
      return (first == DType::Float32 || first == DType::Int8 || first == DType::Int16 ||
              first == DType::Int32) &&
             (result == DType::Int8 || result == DType::Int16 ||
              (result == DType::Int32 && (first == DType::Int8 || first == DType::Int16)));
    case BuiltinOp::DEQUANTIZE:
      return (first == DType::Int8 || first == DType::Int16) && result == DType::Float32;
    case BuiltinOp::RESHAPE:
    case BuiltinOp::SQUEEZE:
    case BuiltinOp::EXPAND_DIMS:
    case BuiltinOp::PAD:
    case BuiltinOp::PADV2:
    case BuiltinOp::CONCATENATION:
    case BuiltinOp::STRIDED_SLICE:
    case BuiltinOp::TRANSPOSE:
      return same_type && (is_activation_type(first) || first == DType::Int32 ||
                           first == DType::UInt8 || first == DType::Bool);
    case BuiltinOp::PACK:  // the types of TFLite Micro's kernels
      return same_type &&
             (is_activation_type(first) || first == DType::Int32 || first == DType::Int64);
    case BuiltinOp::UNPACK:
    case BuiltinOp::SPLIT_V:
      return same_type && (is_activation_type(first) || first == DType::Int32);
    case BuiltinOp::SPLIT:  // axis, input
      return in.size() == 2 && in[1] == result &&
             (is_activation_type(result) || result == DType::Int32);
    default:
      return false;
  }
}

}  // namespace tinydeploy::analysis
