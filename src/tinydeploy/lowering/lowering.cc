#include "tinydeploy/lowering/lowering.h"

#include <string_view>

#include "tinydeploy/common/error.h"
#include "tinydeploy/lowering/lower_ops.h"

namespace tinydeploy::lowering {

const char* c_type_name(CType type) {
  switch (type) {
    case CType::Int8:
      return "int8_t";
    case CType::UInt8:
      return "uint8_t";
    case CType::Int16:
      return "int16_t";
    case CType::Int32:
      return "int32_t";
    case CType::Int64:
      return "int64_t";
    case CType::Float32:
      return "float";
    case CType::Void:
      break;
  }
  return "void";
}

std::string kernel_source(std::string_view kernel) {
  struct Entry {
    std::string_view kernel;
    std::string_view source;
  };
  static constexpr Entry kSources[] = {
      {"conv", "conv"},
      {"conv_hybrid", "conv"},
      {"depthwise_conv", "conv"},
      {"transpose_conv", "conv"},
      {"fully_connected", "conv"},
      {"average_pool", "pooling"},
      {"max_pool", "pooling"},
      {"add", "elementwise"},
      {"sub", "elementwise"},
      {"mul", "elementwise"},
      {"maximum", "elementwise"},
      {"minimum", "elementwise"},
      {"requantize", "activation"},
      {"quantize", "activation"},
      {"dequantize", "activation"},
      {"clamp", "activation"},
      {"leaky_relu", "activation"},
      {"hard_swish", "activation"},
      {"logistic", "activation"},
      {"tanh", "activation"},
      {"unidirectional_sequence_lstm", "lstm"},
      {"softmax", "activation"},
      {"copy_bytes", "layout"},
      {"gather", "layout"},
      {"pad", "layout"},
      {"concatenate", "layout"},
      {"mean", "reduce"},
  };
  for (const Entry& entry : kSources) {
    if (entry.kernel == kernel) return std::string(entry.source);
  }
  throw Error("internal error: runtime kernel '{}' has no known source file", kernel);
}

std::vector<KernelCall> lower(const model::Model& model, const analysis::ModelAnalysis& analysis) {
  const model::Subgraph& graph = model.main();
  std::vector<bool> has_scratch(graph.operators.size(), false);
  for (const analysis::Allocation& a : analysis.plan.allocations) {
    if (a.scratch_of_op >= 0 && static_cast<size_t>(a.scratch_of_op) < has_scratch.size()) {
      has_scratch[static_cast<size_t>(a.scratch_of_op)] = true;
    }
  }
  std::vector<KernelCall> calls;
  calls.reserve(graph.operators.size());
  for (size_t i = 0; i < graph.operators.size(); ++i) {
    const OpBinding binding{model, graph, graph.operators[i], static_cast<int32_t>(i),
                            has_scratch[i]};
    calls.push_back(lower_op(binding));
  }
  return calls;
}

}  // namespace tinydeploy::lowering
