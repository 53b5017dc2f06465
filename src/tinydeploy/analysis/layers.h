// Per-operator rules the analysis applies: shape derivation and MAC counts.
// Internal to the analysis module; other modules use analysis.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tinydeploy/model/graph.h"

namespace tinydeploy::analysis {

// Context for messages: "model.tflite: operator 3 (CONV_2D)".
struct OpContext {
  const model::Model& model;
  const model::Subgraph& graph;
  const model::Operator& op;
  int32_t index;

  const model::Tensor& input(size_t i) const;
  bool has_input(size_t i) const;
  const model::Tensor& output(size_t i) const;
  std::string where() const;
};

// The output shapes `op` produces from its input shapes and options, one per output, or nullopt
// for operators whose shape rules tinydeploy does not re-derive. Throws tinydeploy::Error for
// invalid parameters (zero strides, mismatched channels, incompatible broadcast shapes, ...).
std::optional<std::vector<std::vector<int32_t>>> derive_output_shapes(const OpContext& context);

// Multiply-accumulates of one execution of `op` (0 for operators without products).
int64_t estimate_macs(const OpContext& context);

}  // namespace tinydeploy::analysis
