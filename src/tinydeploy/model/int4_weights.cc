#include "tinydeploy/model/int4_weights.h"

#include <fmt/format.h>

#include <cstdint>
#include <vector>

namespace tinydeploy::model {
namespace {

// Whether TensorFlow Lite Micro's kernel for `op` unpacks int4 weights `weights` (input 1): int8
// activations only (its 16x8 kernels and hybrid float ones refuse int4), and for
// FULLY_CONNECTED per-tensor weights only.
bool unpacks_int4(const Subgraph& graph, const Operator& op, const Tensor& weights) {
  if (op.inputs.empty() || op.inputs[0] < 0 ||
      static_cast<size_t>(op.inputs[0]) >= graph.tensors.size() ||
      graph.tensors[static_cast<size_t>(op.inputs[0])].dtype != DType::Int8) {
    return false;
  }
  switch (op.op) {
    case BuiltinOp::CONV_2D:
    case BuiltinOp::DEPTHWISE_CONV_2D:
      return true;
    case BuiltinOp::FULLY_CONNECTED:
      return weights.quantization.scale.size() <= 1;
    default:
      return false;
  }
}

// Whether tensor `t` of `graph` is read, and every read is as the weights of an operator whose
// TensorFlow Lite Micro kernel unpacks int4 weights.
bool only_read_as_int4_weights(const Subgraph& graph, int32_t t) {
  bool read = false;
  for (const Operator& op : graph.operators) {
    for (size_t i = 0; i < op.inputs.size(); ++i) {
      if (op.inputs[i] != t) continue;
      if (i != 1 || !unpacks_int4(graph, op, graph.tensors[static_cast<size_t>(t)])) {
        return false;
      }
      read = true;
    }
  }
  for (const int32_t output : graph.outputs) {
    if (output == t) return false;
  }
  return read;
}

}  // namespace

void unpack_int4_weights(Model& model) {
  for (size_t s = 0; s < model.subgraphs.size(); ++s) {
    Subgraph& graph = model.subgraphs[s];
    for (size_t t = 0; t < graph.tensors.size(); ++t) {
      Tensor& tensor = graph.tensors[t];
      if (tensor.dtype != DType::Int4 || !tensor.is_constant() || tensor.is_sparse ||
          !only_read_as_int4_weights(graph, static_cast<int32_t>(t))) {
        continue;
      }
      const std::span<const uint8_t> packed = model.data(tensor);
      const auto elements = static_cast<size_t>(tensor.elements());
      // The reader checked the buffer holds at least the packed bytes the shape needs.
      if (packed.size() < (elements + 1) / 2) continue;
      const size_t offset = model.unpacked.size();
      model.unpacked.resize(offset + elements);
      for (size_t i = 0; i < elements; ++i) {
        const uint8_t byte = packed[i / 2];
        const uint8_t nibble = i % 2 == 0 ? byte & 0x0F : byte >> 4;
        // Sign-extends the 4-bit two's complement value.
        const int8_t value = static_cast<int8_t>(nibble >= 8 ? nibble - 16 : nibble);
        model.unpacked[offset + i] = static_cast<uint8_t>(value);
      }
      model.reader_notes.push_back(fmt::format(
          "subgraph {}, tensor {} ('{}'): {} int4 weights unpacked to int8, as TensorFlow Lite "
          "Micro unpacks them before its kernels",
          s, t, tensor.name, elements));
      tensor.dtype = DType::Int8;
      tensor.data = ByteRange{offset, elements, true};
    }
  }
}

}  // namespace tinydeploy::model
