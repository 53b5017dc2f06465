// Per-operator preparation: derives each runtime kernel's parameters from the model (padding,
// requantization multipliers, activation clamps, broadcast strides) and binds the call.
// Internal to the engine module.
#pragma once

#include <string>

#include "tinydeploy/engine/engine.h"

namespace tinydeploy::engine {

// What a preparation step sees of one operator.
struct OpBinding {
  const model::Model& model;
  const model::Subgraph& graph;
  const model::Operator& op;
  int32_t index;
  // Storage of a tensor index (arena slot, constant data or scratch).
  std::function<void*(int32_t)> data;
  void* scratch = nullptr;  // the operator's planned scratch, if it declared one

  const model::Tensor& input(size_t i) const;
  const model::Tensor& output(size_t i) const;
  bool has_input(size_t i) const;
  void* input_data(size_t i) const { return data(op.inputs[i]); }
  void* output_data(size_t i) const { return data(op.outputs[i]); }
  std::string where() const;
};

// Returns the prepared call for `binding.op`; throws tinydeploy::Error when the operator, its
// types or its parameters are outside what the runtime implements.
std::function<void()> prepare_op(const OpBinding& binding);

}  // namespace tinydeploy::engine
