#include "pipeline.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

#include "tinydeploy/analysis/analysis.h"
#include "tinydeploy/codegen/package.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/engine/engine.h"
#include "tinydeploy/lowering/lowering.h"
#include "tinydeploy/model/reader.h"
#include "tinydeploy/tensors/tensor_io.h"

namespace tinydeploy::fuzz {
namespace {

// What the pooling layers compute, which MACs do not count: for each output element a window of
// the filter's size, clipped to the input.
int64_t pooling_work(const model::Model& model, const analysis::ModelAnalysis& analysis) {
  const model::Subgraph& graph = model.main();
  int64_t work = 0;
  for (size_t i = 0; i < graph.operators.size() && i < analysis.layers.size(); ++i) {
    const model::Operator& op = graph.operators[i];
    const auto* pool = std::get_if<model::Pool2DOptions>(&op.options);
    if (pool == nullptr || op.inputs.empty() || op.inputs[0] < 0 ||
        static_cast<size_t>(op.inputs[0]) >= graph.tensors.size()) {
      continue;
    }
    const std::vector<int32_t>& in = graph.tensors[static_cast<size_t>(op.inputs[0])].shape;
    if (in.size() != 4) continue;
    const int64_t window = int64_t{std::clamp(pool->filter_h, 1, std::max(in[1], 1))} *
                           std::clamp(pool->filter_w, 1, std::max(in[2], 1));
    work += analysis.layers[i].output_elements * window;
  }
  return work;
}

bool within_limits(const model::Model& model, const analysis::ModelAnalysis& analysis,
                   const PipelineLimits& limits) {
  if (analysis.plan.arena_bytes + analysis.plan.variable_arena_bytes > limits.max_arena_bytes) {
    return false;
  }
  if (analysis.total_macs > limits.max_macs) return false;
  if (pooling_work(model, analysis) > limits.max_macs) return false;
  int64_t traffic = 0;
  for (const analysis::LayerInfo& layer : analysis.layers) {
    traffic += layer.weight_bytes + layer.activation_read_bytes + layer.activation_write_bytes +
               layer.scratch_bytes;
    if (traffic > limits.max_traffic_bytes) return false;
  }
  return true;
}

// One inference of `lowered` on `inputs`.
Inference infer(const model::Model& model, const lowering::LoweredModel& lowered,
                const std::vector<std::vector<uint8_t>>& inputs) {
  engine::Engine engine(model, lowered);
  for (size_t i = 0; i < engine.input_count(); ++i) {
    const std::span<uint8_t> destination = engine.input(i);
    if (i >= inputs.size() || destination.size() != inputs[i].size()) {
      throw Error("{}: input {} has no arena storage", model.path, i);
    }
    if (!destination.empty()) std::memcpy(destination.data(), inputs[i].data(), destination.size());
  }
  Inference result;
  const model::Subgraph& graph = model.main();
  engine.invoke([&](int32_t op) {
    const std::vector<int32_t>& outputs = graph.operators[static_cast<size_t>(op)].outputs;
    std::vector<uint8_t> bytes;
    if (!outputs.empty() && outputs[0] >= 0) {
      const std::span<const uint8_t> layer = engine.tensor_bytes(outputs[0]);
      bytes.assign(layer.begin(), layer.end());
    }
    result.layers.push_back(std::move(bytes));
  });
  for (size_t i = 0; i < engine.output_count(); ++i) {
    const std::span<const uint8_t> bytes = engine.output(i);
    result.outputs.emplace_back(bytes.begin(), bytes.end());
  }
  return result;
}

}  // namespace

void require_same_bytes(const std::vector<lowering::KernelCall>& calls, const Inference& core,
                        const Inference& portable) {
  for (size_t op = 0; op < core.layers.size() && op < portable.layers.size(); ++op) {
    if (core.layers[op] != portable.layers[op]) {
      const std::string kernel = op < calls.size() ? calls[op].kernel : "?";
      throw std::logic_error("operator " + std::to_string(op) + " (kernel " + kernel +
                             ") computes other bytes than the portable kernel");
    }
  }
  if (core.outputs != portable.outputs) {
    throw std::logic_error("the outputs differ from the portable kernels' outputs");
  }
}

PipelineResult run_pipeline(std::vector<uint8_t> model_bytes, const PipelineLimits& limits) {
  // The seed and target follow from the file, so a reproducer replays the same run.
  const uint64_t seed = model_bytes.size();
  constexpr board::Core kCores[] = {board::Core::Host, board::Core::CortexM4,
                                    board::Core::CortexM55};
  const board::Core core = kCores[model_bytes.size() % std::size(kCores)];
  const model::Model model = model::parse_model(std::move(model_bytes), "fuzz.tflite");
  // Lowered for the core: its kernel variants (and the constants lowering prepares for them)
  // run on the host too, and must compute the portable kernels' bytes.
  const lowering::LoweredModel lowered = lowering::lower(model, core);
  const analysis::ModelAnalysis& analysis = lowered.analysis;
  if (!within_limits(model, analysis, limits)) return {};

  codegen::ExampleData example;
  example.seed = seed;
  const model::Subgraph& graph = model.main();
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const model::Tensor& input = graph.tensors[static_cast<size_t>(graph.inputs[i])];
    example.inputs.push_back(tensors::random_tensor(input, seed + i).bytes);
  }
  const Inference inference = infer(model, lowered, example.inputs);
  example.outputs = inference.outputs;
  if (core != board::Core::Host) {
    const lowering::LoweredModel portable = lowering::lower(model, board::Core::Host);
    require_same_bytes(lowered.calls, inference, infer(model, portable, example.inputs));
  }

  PipelineResult result{PipelineOutcome::Ran, example.inputs, example.outputs};
  if (analysis.parameter_bytes > limits.max_codegen_parameter_bytes) return result;
  int64_t example_bytes = 0;
  for (const auto& bytes : example.inputs) example_bytes += static_cast<int64_t>(bytes.size());
  for (const auto& bytes : example.outputs) example_bytes += static_cast<int64_t>(bytes.size());
  if (example_bytes > limits.max_codegen_example_bytes) return result;
  const codegen::Package package =
      codegen::generate_package(model, analysis, lowered.calls, example, {"fuzz_model", core});
  if (package.files.empty()) throw std::logic_error("generate_package returned no files");
  result.outcome = PipelineOutcome::Generated;
  return result;
}

}  // namespace tinydeploy::fuzz
