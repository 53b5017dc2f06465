// What lowering sees of one operator: the model, its subgraph, the operator and where its
// operands live. Internal to the lowering module.
#pragma once

#include <string>

#include "tinydeploy/board/core.h"
#include "tinydeploy/lowering/call_builder.h"
#include "tinydeploy/lowering/kernel_call.h"
#include "tinydeploy/model/graph.h"

namespace tinydeploy::lowering {

// What lowering sees of one operator.
struct OpBinding {
  const model::Model& model;
  const model::Subgraph& graph;
  const model::Operator& op;
  int32_t index;
  // The core the calls are for: it chooses among a kernel's variants (the host runs the
  // portable ones).
  board::Core core = board::Core::Host;

  const model::Tensor& input(size_t i) const;
  const model::Tensor& output(size_t i) const;
  bool has_input(size_t i) const;
  detail::Slot input_slot(size_t i) const { return {op.inputs[i], false, false}; }
  detail::Slot output_slot(size_t i) const { return {op.outputs[i], true, false}; }
  // Writable pointers to every output, in order, passed as one `void* const*` (SPLIT).
  detail::OutputList output_list() const { return {op.outputs}; }
  // A writable pointer to input i, which must be a variable tensor (state kept across invokes).
  detail::Slot state_slot(size_t i) const;
  // The operator's scratch buffer; the call must declare its size in KernelCall::scratch_bytes.
  static detail::Slot scratch_slot() { return {-1, true, true}; }
  std::string where() const;
};

}  // namespace tinydeploy::lowering
