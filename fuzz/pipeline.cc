#include "pipeline.h"

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

bool within_limits(const analysis::ModelAnalysis& analysis, const PipelineLimits& limits) {
  if (analysis.plan.arena_bytes + analysis.plan.variable_arena_bytes > limits.max_arena_bytes) {
    return false;
  }
  if (analysis.total_macs > limits.max_macs) return false;
  int64_t traffic = 0;
  for (const analysis::LayerInfo& layer : analysis.layers) {
    traffic += layer.weight_bytes + layer.activation_read_bytes + layer.activation_write_bytes +
               layer.scratch_bytes;
    if (traffic > limits.max_traffic_bytes) return false;
  }
  return true;
}

}  // namespace

PipelineResult run_pipeline(std::vector<uint8_t> model_bytes, const PipelineLimits& limits) {
  // The seed and target follow from the file, so a reproducer replays the same run.
  const uint64_t seed = model_bytes.size();
  const board::Core core = model_bytes.size() % 2 == 0 ? board::Core::Host : board::Core::CortexM4;
  const model::Model model = model::parse_model(std::move(model_bytes), "fuzz.tflite");
  const lowering::LoweredModel lowered = lowering::lower(model);
  const analysis::ModelAnalysis& analysis = lowered.analysis;
  if (!within_limits(analysis, limits)) return {};

  engine::Engine engine(model, lowered);
  codegen::ExampleData example;
  example.seed = seed;
  for (size_t i = 0; i < engine.input_count(); ++i) {
    const tensors::TensorData input = tensors::random_tensor(engine.input_tensor(i), seed + i);
    const std::span<uint8_t> destination = engine.input(i);
    if (destination.size() != input.bytes.size()) {
      throw Error("{}: input {} has no arena storage", model.path, i);
    }
    if (!destination.empty()) {
      std::memcpy(destination.data(), input.bytes.data(), destination.size());
    }
    example.inputs.push_back(input.bytes);
  }
  engine.invoke();
  for (size_t i = 0; i < engine.output_count(); ++i) {
    const std::span<const uint8_t> bytes = engine.output(i);
    example.outputs.emplace_back(bytes.begin(), bytes.end());
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
