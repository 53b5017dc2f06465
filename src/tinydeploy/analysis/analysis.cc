#include "tinydeploy/analysis/analysis.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "tinydeploy/analysis/layers.h"
#include "tinydeploy/analysis/memory_plan.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/common/text.h"

namespace tinydeploy::analysis {
namespace {

using model::BuiltinOp;

std::string shape_text(const std::vector<int32_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

LayerInfo analyze_layer(const OpContext& context) {
  const model::Operator& op = context.op;
  LayerInfo layer;
  layer.index = context.index;
  layer.op = op.name();
  if (!op.outputs.empty()) {
    const model::Tensor& output = context.output(0);
    layer.output_shape = output.shape;
    layer.output_dtype = output.dtype;
    layer.output_elements = output.elements();
  }
  if (const auto derived = derive_output_shapes(context)) {
    for (size_t i = 0; i < derived->size() && i < op.outputs.size(); ++i) {
      const model::Tensor& output = context.output(i);
      if ((*derived)[i] != output.shape) {
        throw Error(
            "{}: output {} '{}' is stored with shape {}, but its inputs and options give {}",
            context.where(), i, printable(output.name), shape_text(output.shape),
            shape_text((*derived)[i]));
      }
    }
    layer.shape_checked = true;
  }
  for (size_t i = 0; i < op.inputs.size(); ++i) {
    if (!context.has_input(i)) continue;
    const model::Tensor& input = context.input(i);
    (input.is_constant() ? layer.weight_bytes : layer.activation_read_bytes) += input.bytes();
  }
  for (size_t i = 0; i < op.outputs.size(); ++i) {
    layer.activation_write_bytes += context.output(i).bytes();
  }
  layer.macs = estimate_macs(context);
  return layer;
}

// Live ranges of the tensors the arena holds: everything computed at run time, except
// variables, which keep their values across inferences in their own area.
MemoryPlan plan_arena_of(const model::Subgraph& graph, const std::vector<LayerInfo>& layers) {
  const auto count = static_cast<int32_t>(graph.operators.size());
  const int32_t last_step = std::max(count - 1, 0);
  constexpr int32_t kUnused = -1;
  std::vector<int32_t> first(graph.tensors.size(), kUnused);
  std::vector<int32_t> last(graph.tensors.size(), kUnused);
  const auto touch = [&](int32_t tensor, int32_t step) {
    const auto t = static_cast<size_t>(tensor);
    first[t] = first[t] == kUnused ? step : std::min(first[t], step);
    last[t] = std::max(last[t], step);
  };
  for (const int32_t input : graph.inputs) touch(input, 0);
  for (int32_t step = 0; step < count; ++step) {
    const model::Operator& op = graph.operators[static_cast<size_t>(step)];
    for (const int32_t input : op.inputs) {
      if (input != model::kNoTensor) touch(input, step);
    }
    for (const int32_t output : op.outputs) touch(output, step);
  }
  for (const int32_t output : graph.outputs) touch(output, last_step);

  std::vector<LiveBuffer> buffers;
  std::vector<Allocation> allocations;
  for (size_t t = 0; t < graph.tensors.size(); ++t) {
    const model::Tensor& tensor = graph.tensors[t];
    if (first[t] == kUnused || tensor.is_constant() || tensor.is_variable || tensor.bytes() == 0) {
      continue;
    }
    buffers.push_back({tensor.bytes(), first[t], last[t]});
    allocations.push_back({static_cast<int32_t>(t), -1, 0, tensor.bytes(), first[t], last[t]});
  }
  for (const LayerInfo& layer : layers) {
    if (layer.scratch_bytes == 0) continue;
    buffers.push_back({layer.scratch_bytes, layer.index, layer.index});
    allocations.push_back({-1, layer.index, 0, layer.scratch_bytes, layer.index, layer.index});
  }
  const Placement placement = plan_arena(buffers);
  for (size_t i = 0; i < allocations.size(); ++i) allocations[i].offset = placement.offsets[i];

  MemoryPlan plan;
  plan.arena_bytes = placement.arena_bytes;
  plan.lower_bound_bytes = placement.lower_bound_bytes;
  plan.allocations = std::move(allocations);
  return plan;
}

// Variable tensors of the entry subgraph (resource variables became variable tensors when the
// model was read, model/resource_variables.h). Resources the reader could not resolve are still
// listed, sized from their ASSIGN_VARIABLE values, though no kernel runs them.
void plan_variables(const model::Model& model, MemoryPlan& plan) {
  const auto add = [&plan](std::string name, int32_t tensor, int64_t size, uint8_t fill) {
    plan.variables.push_back({std::move(name), tensor, plan.variable_arena_bytes, size, fill});
    plan.variable_arena_bytes += align_up(size);
  };
  const model::Subgraph& main = model.main();
  for (size_t t = 0; t < main.tensors.size(); ++t) {
    const model::Tensor& tensor = main.tensors[t];
    // A variable without elements has no storage, like any empty tensor.
    if (tensor.is_variable && tensor.bytes() > 0) {
      add(tensor.name, static_cast<int32_t>(t), tensor.bytes(), model::variable_reset_byte(tensor));
    }
  }
  if (model.unresolved_state.empty()) return;
  std::map<std::string, int64_t> resources;
  for (const model::Subgraph& graph : model.subgraphs) {
    std::map<int32_t, std::string> handles;
    for (const model::Operator& op : graph.operators) {
      if (op.op == BuiltinOp::VAR_HANDLE && !op.outputs.empty()) {
        const auto* options = std::get_if<model::VarHandleOptions>(&op.options);
        const std::string key =
            options == nullptr ? std::string{} : options->container + "/" + options->shared_name;
        handles[op.outputs[0]] = key;
        resources.try_emplace(key, 0);
      } else if (op.op == BuiltinOp::ASSIGN_VARIABLE && op.inputs.size() >= 2 &&
                 op.inputs[1] != model::kNoTensor) {
        const auto handle = handles.find(op.inputs[0]);
        if (handle == handles.end()) continue;
        const int64_t bytes = graph.tensors[static_cast<size_t>(op.inputs[1])].bytes();
        resources[handle->second] = std::max(resources[handle->second], bytes);
      }
    }
  }
  for (const auto& [key, bytes] : resources) add(key, -1, bytes, 0);
}

std::vector<OpUsage> inventory(const model::Subgraph& graph) {
  std::map<std::tuple<std::string, std::vector<model::DType>, std::vector<model::DType>>, size_t>
      index;
  std::vector<OpUsage> usages;
  for (const model::Operator& op : graph.operators) {
    OpUsage usage = usage_of(graph, op);
    auto key = std::tuple(usage.op, usage.input_types, usage.output_types);
    const auto [found, inserted] = index.try_emplace(std::move(key), usages.size());
    if (inserted) {
      usages.push_back(std::move(usage));
    }
    ++usages[found->second].count;
  }
  return usages;
}

}  // namespace

double MemoryPlan::ratio() const {
  return lower_bound_bytes == 0
             ? 1.0
             : static_cast<double>(arena_bytes) / static_cast<double>(lower_bound_bytes);
}

const Allocation* MemoryPlan::find_tensor(int32_t tensor) const {
  const auto found = std::find_if(allocations.begin(), allocations.end(),
                                  [tensor](const Allocation& a) { return a.tensor == tensor; });
  return found == allocations.end() ? nullptr : &*found;
}

MemoryPlan plan_memory(const model::Model& model, const std::vector<LayerInfo>& layers) {
  MemoryPlan plan = plan_arena_of(model.main(), layers);
  plan_variables(model, plan);
  return plan;
}

OpUsage usage_of(const model::Subgraph& graph, const model::Operator& op) {
  OpUsage usage;
  usage.op = op.name();
  for (const int32_t input : op.inputs) {
    if (input != model::kNoTensor) {
      usage.input_types.push_back(graph.tensors[static_cast<size_t>(input)].dtype);
    }
  }
  for (const int32_t output : op.outputs) {
    usage.output_types.push_back(graph.tensors[static_cast<size_t>(output)].dtype);
  }
  return usage;
}

std::string signature_text(const OpUsage& usage) {
  std::vector<std::string_view> in;
  std::vector<std::string_view> out;
  for (const model::DType type : usage.input_types) in.push_back(model::dtype_name(type));
  for (const model::DType type : usage.output_types) out.push_back(model::dtype_name(type));
  return fmt::format("{} ({} -> {})", usage.op, fmt::join(in, ", "), fmt::join(out, ", "));
}

ModelAnalysis analyze(const model::Model& model) {
  ModelAnalysis result;
  const model::Subgraph& graph = model.main();
  result.extra_subgraphs = static_cast<int32_t>(model.subgraphs.size()) - 1 -
                           static_cast<int32_t>(model.inlined_subgraphs.size());
  for (size_t i = 0; i < graph.operators.size(); ++i) {
    const OpContext context{model, graph, graph.operators[i], static_cast<int32_t>(i)};
    result.layers.push_back(analyze_layer(context));
    result.total_macs += result.layers.back().macs;
    if (!result.layers.back().shape_checked) ++result.unchecked_layers;
  }
  for (const model::Tensor& tensor : graph.tensors) {
    if (tensor.data) result.parameter_bytes += static_cast<int64_t>(tensor.data->size);
  }
  result.inventory = inventory(graph);
  return result;
}

}  // namespace tinydeploy::analysis
