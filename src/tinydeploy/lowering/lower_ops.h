// Per-operator lowering: derives each runtime kernel's parameters from the model (padding,
// requantization multipliers, activation clamps, broadcast strides, lookup tables) and records
// the kernel call. Internal to the lowering module.
#pragma once

#include <string>

#include "tinydeploy/lowering/call_builder.h"
#include "tinydeploy/lowering/lowering.h"

namespace tinydeploy::lowering {

// What lowering sees of one operator.
struct OpBinding {
  const model::Model& model;
  const model::Subgraph& graph;
  const model::Operator& op;
  int32_t index;
  bool has_scratch = false;  // the memory plan gave the operator a scratch buffer

  const model::Tensor& input(size_t i) const;
  const model::Tensor& output(size_t i) const;
  bool has_input(size_t i) const;
  detail::Slot input_slot(size_t i) const { return {op.inputs[i], false, false}; }
  detail::Slot output_slot(size_t i) const { return {op.outputs[i], true, false}; }
  // A writable pointer to input i, which must be a variable tensor: state the kernel updates and
  // that persists across invokes (in the variable area). Refuses any other input.
  detail::Slot state_slot(size_t i) const;
  static detail::Slot scratch_slot() { return {-1, true, true}; }
  std::string where() const;
};

// Returns the kernel call for `binding.op`; throws tinydeploy::Error when the operator, its
// types or its parameters are outside what the runtime implements.
KernelCall lower_op(const OpBinding& binding);

}  // namespace tinydeploy::lowering
