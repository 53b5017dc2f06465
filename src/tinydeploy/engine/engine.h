// Host execution of a model's subgraph 0: the planned arena, the variable area (state kept from
// one invoke to the next) and the model's lowered kernel calls (lowering/), bound to host storage
// once before anything runs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "tinydeploy/lowering/lowering.h"
#include "tinydeploy/model/graph.h"

namespace tinydeploy::engine {

// The largest arena (planned tensors plus variables) the engine allocates unless told otherwise.
// A model's shapes alone decide its arena: a 1 KB file can ask for gigabytes.
inline constexpr int64_t kDefaultMaxArenaBytes = int64_t{256} << 20;

class Engine {
 public:
  // Binds the lowered calls of subgraph 0 to storage placed by the lowered memory plan. Throws
  // tinydeploy::Error for any operator lowering refused (lowering::require_supported), before
  // anything runs, and before allocating anything when the plan's arena is larger than
  // `max_arena_bytes`.
  Engine(const model::Model& model, const lowering::LoweredModel& lowered,
         int64_t max_arena_bytes = kDefaultMaxArenaBytes);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  size_t input_count() const { return model_.main().inputs.size(); }
  size_t output_count() const { return model_.main().outputs.size(); }
  const model::Tensor& input_tensor(size_t i) const;
  const model::Tensor& output_tensor(size_t i) const;
  // The bytes of input / output i, in the arena.
  std::span<uint8_t> input(size_t i);
  std::span<const uint8_t> output(size_t i) const;
  // The current bytes of any tensor of subgraph 0 (valid while it is live in the arena).
  std::span<const uint8_t> tensor_bytes(int32_t tensor) const;

  // The lowered kernel calls this engine runs, one per operator in execution order.
  const std::vector<lowering::KernelCall>& calls() const { return calls_; }

  // Runs every operator in order; `after_op(op_index)` is called after each one, while the
  // operator's outputs are still live. Variable tensors keep what the invoke left in them for the
  // next one; operators that run once (an inlined CALL_ONCE subgraph) run on the first invoke
  // after construction or reset() only.
  void invoke(const std::function<void(int32_t)>& after_op = {});

  // Puts the state back to where it was before the first invoke: every variable tensor filled as
  // TensorFlow Lite Micro fills it (model::variable_reset_byte), and run-once operators re-armed.
  void reset();

 private:
  void* storage(int32_t tensor);

  const model::Model& model_;
  std::vector<uint64_t> arena_;      // 8-byte aligned; the planner's slots are 16-byte aligned
  std::vector<uint64_t> variables_;  // the variable area, laid out as the plan's variables
  std::vector<analysis::VariableAllocation> variable_slots_;
  bool run_once_pending_ = true;
  std::vector<void*> tensor_data_;
  std::vector<int64_t> tensor_size_;
  std::vector<std::vector<uint64_t>> aligned_constants_;
  std::vector<lowering::KernelCall> calls_;         // owns the tables the bound calls read
  std::vector<std::function<void()>> bound_calls_;  // calls_ bound to this engine's storage
};

}  // namespace tinydeploy::engine
