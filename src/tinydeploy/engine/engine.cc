#include "tinydeploy/engine/engine.h"

#include <fmt/format.h>

#include <cstring>

#include "tinydeploy/common/error.h"
#include "tinydeploy/common/text.h"
#include "tinydeploy/lowering/lowering.h"

namespace tinydeploy::engine {

Engine::Engine(const model::Model& model, const lowering::LoweredModel& lowered,
               int64_t max_arena_bytes)
    : model_(model) {
  lowering::require_supported(model, lowered, "");
  const model::Subgraph& graph = model.main();
  const analysis::MemoryPlan& plan = lowered.analysis.plan;
  const int64_t needed = plan.arena_bytes + plan.variable_arena_bytes;
  if (needed > max_arena_bytes) {
    throw Error(
        "{}: the model's tensors need an arena of {} bytes ({:.1f} MiB), over the limit of {} "
        "bytes ({:.1f} MiB); nothing was allocated. If the model is meant to be this large, "
        "raise the limit with --max-arena (e.g. --max-arena {}M)",
        model.path, needed, static_cast<double>(needed) / 1048576.0, max_arena_bytes,
        static_cast<double>(max_arena_bytes) / 1048576.0, (needed + 1048575) / 1048576);
  }
  arena_.assign(static_cast<size_t>((plan.arena_bytes + 7) / 8), 0);
  auto* arena = reinterpret_cast<uint8_t*>(arena_.data());
  tensor_data_.assign(graph.tensors.size(), nullptr);
  tensor_size_.assign(graph.tensors.size(), 0);
  std::vector<void*> scratch(graph.operators.size(), nullptr);
  for (const analysis::Allocation& a : plan.allocations) {
    if (a.offset < 0 || a.size < 0 || a.offset + a.size > plan.arena_bytes) {
      throw Error("{}: the memory plan places a buffer outside the arena", model.path);
    }
    if (a.tensor >= 0 && static_cast<size_t>(a.tensor) < graph.tensors.size()) {
      tensor_data_[static_cast<size_t>(a.tensor)] = arena + a.offset;
      tensor_size_[static_cast<size_t>(a.tensor)] = a.size;
    } else if (a.scratch_of_op >= 0 && static_cast<size_t>(a.scratch_of_op) < scratch.size()) {
      scratch[static_cast<size_t>(a.scratch_of_op)] = arena + a.offset;
    }
  }
  variables_.assign(static_cast<size_t>((plan.variable_arena_bytes + 7) / 8), 0);
  for (const analysis::VariableAllocation& v : plan.variables) {
    if (v.offset < 0 || v.size < 0 || v.offset + v.size > plan.variable_arena_bytes) {
      throw Error("{}: the memory plan places a variable outside the variable area", model.path);
    }
    if (v.tensor < 0 || static_cast<size_t>(v.tensor) >= graph.tensors.size()) continue;
    tensor_data_[static_cast<size_t>(v.tensor)] =
        reinterpret_cast<uint8_t*>(variables_.data()) + v.offset;
    tensor_size_[static_cast<size_t>(v.tensor)] = v.size;
    variable_slots_.push_back(v);
  }
  reset();
  // Constants are used in place when suitably aligned, otherwise from an aligned copy.
  for (size_t t = 0; t < graph.tensors.size(); ++t) {
    const model::Tensor& tensor = graph.tensors[t];
    if (!tensor.data || tensor_data_[t] != nullptr) continue;
    const auto bytes = model.data(tensor);
    const uintptr_t address = reinterpret_cast<uintptr_t>(bytes.data());
    if (address % 8 == 0) {
      tensor_data_[t] = const_cast<uint8_t*>(bytes.data());  // kernels never write constants
    } else {
      auto& copy = aligned_constants_.emplace_back((bytes.size() + 7) / 8, 0);
      std::memcpy(copy.data(), bytes.data(), bytes.size());
      tensor_data_[t] = copy.data();
    }
    tensor_size_[t] = static_cast<int64_t>(bytes.size());
  }
  calls_ = lowered.calls;
  for (const lowering::KernelCall& call : calls_) {
    const int32_t index = call.op_index;
    const model::Operator& op = graph.operators[static_cast<size_t>(index)];
    lowering::HostStorage host;
    host.scratch = scratch[static_cast<size_t>(index)];
    host.tensor = [this, &graph, &model, index, &op](int32_t tensor) -> void* {
      void* p = storage(tensor);
      if (p == nullptr && graph.tensors[static_cast<size_t>(tensor)].elements() > 0) {
        throw Error(
            "{}: operator {} ({}): tensor {} ('{}') has no storage (not planned, not "
            "constant)",
            model.path, index, op.name(), tensor,
            printable(graph.tensors[static_cast<size_t>(tensor)].name));
      }
      return p;
    };
    bound_calls_.push_back(call.bind(call, host));
  }
}

void* Engine::storage(int32_t tensor) {
  if (tensor < 0 || static_cast<size_t>(tensor) >= tensor_data_.size()) return nullptr;
  return tensor_data_[static_cast<size_t>(tensor)];
}

const model::Tensor& Engine::input_tensor(size_t i) const {
  return model_.main().tensors[static_cast<size_t>(model_.main().inputs.at(i))];
}

const model::Tensor& Engine::output_tensor(size_t i) const {
  return model_.main().tensors[static_cast<size_t>(model_.main().outputs.at(i))];
}

std::span<uint8_t> Engine::input(size_t i) {
  const int32_t t = model_.main().inputs.at(i);
  const int64_t bytes = input_tensor(i).bytes();
  auto* p = static_cast<uint8_t*>(storage(t));
  if (p == nullptr) return {};
  return {p, static_cast<size_t>(bytes)};
}

std::span<const uint8_t> Engine::output(size_t i) const {
  return tensor_bytes(model_.main().outputs.at(i));
}

std::span<const uint8_t> Engine::tensor_bytes(int32_t tensor) const {
  if (tensor < 0 || static_cast<size_t>(tensor) >= tensor_data_.size()) return {};
  const auto* p = static_cast<const uint8_t*>(tensor_data_[static_cast<size_t>(tensor)]);
  if (p == nullptr) return {};
  const int64_t bytes = model_.main().tensors[static_cast<size_t>(tensor)].bytes();
  return {p, static_cast<size_t>(bytes)};
}

void Engine::invoke(const std::function<void(int32_t)>& after_op) {
  for (size_t i = 0; i < bound_calls_.size(); ++i) {
    if (calls_[i].once && !run_once_pending_) continue;
    bound_calls_[i]();
    if (after_op) after_op(calls_[i].op_index);
  }
  run_once_pending_ = false;
}

void Engine::reset() {
  auto* area = reinterpret_cast<uint8_t*>(variables_.data());
  for (const analysis::VariableAllocation& v : variable_slots_) {
    std::memset(area + v.offset, v.reset_byte, static_cast<size_t>(v.size));
  }
  run_once_pending_ = true;
}

}  // namespace tinydeploy::engine
