#include "tinydeploy/lowering/lowering.h"

#include <fmt/format.h>

#include <set>
#include <string_view>
#include <tuple>

#include "tinydeploy/common/error.h"
#include "tinydeploy/lowering/families.h"

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

KernelCall lower_op(const OpBinding& b) {
  const FoundLowering found = find_lowering(b.op.op);
  if (found.lower == nullptr) refuse(b, "the runtime has no kernel for this operator");
  KernelCall call = found.lower(b);
  // A variant names its own source (runtime/kernels/CORE/...); the portable kernels are the
  // family's.
  if (!call.kernel.empty() && call.source.empty()) {
    call.source = std::string(found.family->runtime_source);
  }
  return call;
}

LoweredModel lower(const model::Model& model, board::Core core) {
  LoweredModel lowered;
  lowered.analysis = analysis::analyze(model);
  const model::Subgraph& graph = model.main();
  lowered.calls.reserve(graph.operators.size());
  std::set<std::tuple<std::string, std::vector<model::DType>, std::vector<model::DType>>> refused;
  for (size_t i = 0; i < graph.operators.size(); ++i) {
    const OpBinding binding{model, graph, graph.operators[i], static_cast<int32_t>(i), core};
    try {
      KernelCall call = lower_op(binding);
      call.once = graph.operators[i].run_once;
      lowered.analysis.layers[i].scratch_bytes = call.scratch_bytes;
      lowered.calls.push_back(std::move(call));
    } catch (const Error& error) {
      const std::string message = error.what();
      const std::string prefix = binding.where() + ": ";
      std::string reason = message.starts_with(prefix) ? message.substr(prefix.size()) : message;
      lowered.refusals.push_back({binding.index, graph.operators[i].name(), std::move(reason)});
      const analysis::OpUsage usage = analysis::usage_of(graph, graph.operators[i]);
      refused.insert({usage.op, usage.input_types, usage.output_types});
    }
  }
  for (analysis::OpUsage& usage : lowered.analysis.inventory) {
    usage.supported = !refused.contains({usage.op, usage.input_types, usage.output_types});
  }
  lowered.analysis.plan = analysis::plan_memory(model, lowered.analysis.layers);
  return lowered;
}

void require_supported(const model::Model& model, const LoweredModel& lowered,
                       std::string_view what) {
  if (lowered.refusals.empty()) return;
  const std::string consequence = what.empty() ? std::string{} : fmt::format(" ({})", what);
  if (lowered.refusals.size() == 1) {
    const Refusal& refusal = lowered.refusals.front();
    throw Error("{}: operator {} ({}): {}{}", model.path, refusal.op_index, refusal.op,
                refusal.reason, consequence);
  }
  std::string list;
  for (const Refusal& refusal : lowered.refusals) {
    list += fmt::format("\n  operator {} ({}): {}", refusal.op_index, refusal.op, refusal.reason);
  }
  throw Error("{}: {} operators cannot run{}:{}", model.path, lowered.refusals.size(), consequence,
              list);
}

}  // namespace tinydeploy::lowering
