// Static analysis of a model: per-layer shapes, MACs and bytes, the memory plan and the
// operator inventory. Everything is derived from the file before anything runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tinydeploy/model/graph.h"

namespace tinydeploy::analysis {

struct LayerInfo {
  int32_t index = 0;
  std::string op;  // operator name as users know it (CONV_2D, or the custom code)
  std::vector<int32_t> output_shape;
  model::DType output_dtype = model::DType::Float32;
  int64_t macs = 0;
  int64_t output_elements = 0;
  int64_t weight_bytes = 0;           // constant inputs read
  int64_t activation_read_bytes = 0;  // non-constant inputs read
  int64_t activation_write_bytes = 0;
  int64_t scratch_bytes = 0;   // the lowered kernel's working memory (set by lowering)
  bool shape_checked = false;  // output shapes re-derived from inputs and options
};

// One arena placement: a tensor of subgraph 0, or the scratch buffer of an operator.
struct Allocation {
  int32_t tensor = -1;         // -1 for scratch
  int32_t scratch_of_op = -1;  // operator index for scratch, -1 for tensors
  int64_t offset = 0;
  int64_t size = 0;      // bytes used (the slot is rounded up to 16)
  int32_t first_op = 0;  // live from the start of this operator...
  int32_t last_op = 0;   // ...to the end of this one
};

// State that outlives one inference: variable tensors and resource variables (VAR_HANDLE).
struct VariableAllocation {
  std::string name;     // tensor name, or the resource's container/shared_name
  int32_t tensor = -1;  // the variable tensor of subgraph 0; -1 for unresolved resources
  int64_t offset = 0;
  int64_t size = 0;
  uint8_t reset_byte = 0;  // every byte's value before the first invoke and after a reset
};

struct MemoryPlan {
  int64_t arena_bytes = 0;
  int64_t lower_bound_bytes = 0;
  std::vector<Allocation> allocations;
  int64_t variable_arena_bytes = 0;
  std::vector<VariableAllocation> variables;

  // arena / lower bound (1.0 is optimal); 1.0 for an empty arena.
  double ratio() const;
  // The placement of tensor `tensor` of subgraph 0, if it lives in the arena.
  const Allocation* find_tensor(int32_t tensor) const;
};

struct OpUsage {
  std::string op;
  std::vector<model::DType> input_types;  // of the non-optional inputs, in order
  std::vector<model::DType> output_types;
  int32_t count = 0;
  bool supported = false;  // set by lowering: no operator of this signature was refused
};

// The signature of one operator of `graph`: its name and the types of its present inputs and
// its outputs (count 0, not yet marked supported).
OpUsage usage_of(const model::Subgraph& graph, const model::Operator& op);

// "OP (input types -> output types)", as messages and reports name a type signature.
std::string signature_text(const OpUsage& usage);

struct ModelAnalysis {
  std::vector<LayerInfo> layers;  // subgraph 0, in execution order
  // Placed by lowering::lower, which alone knows each kernel's scratch (plan_memory).
  MemoryPlan plan;
  std::vector<OpUsage> inventory;  // one entry per distinct op and type signature
  int64_t total_macs = 0;
  int64_t parameter_bytes = 0;   // bytes of all constant tensors of subgraph 0
  int32_t unchecked_layers = 0;  // layers whose output shape tinydeploy does not re-derive
  // Subgraphs other than the entry point and those inlined into it (control flow); only subgraph
  // 0 is planned.
  int32_t extra_subgraphs = 0;
};

// Analyses subgraph 0 of `model`: shapes, MACs, bytes and the operator inventory; the plan and
// the support flags are left to lowering (lowering::lower). Throws tinydeploy::Error when the
// model contradicts itself (a stored output shape that its inputs and options cannot produce, a
// stride of 0, ...).
ModelAnalysis analyze(const model::Model& model);

// The static memory plan of subgraph 0: its run-time tensors and each layer's `scratch_bytes`
// in the arena, by live range; variable tensors and resource variables in the variable area.
MemoryPlan plan_memory(const model::Model& model, const std::vector<LayerInfo>& layers);

}  // namespace tinydeploy::analysis
