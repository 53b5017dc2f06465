// The whole host pipeline on one untrusted model, as the fuzz targets and the fuzz regression
// tests drive it: reader -> analysis -> lowering -> host engine (one inference on seeded random
// inputs) -> code generation (the package's text, nothing compiled). Bounded so one run stays
// fast and small whatever the model asks for.
#pragma once

#include <cstdint>
#include <vector>

namespace tinydeploy::fuzz {

struct PipelineLimits {
  int64_t max_arena_bytes = int64_t{16} << 20;  // planned arena plus variables
  int64_t max_macs = 8'000'000;
  // Bytes read and written by all operators together: bounds the kernels without MACs.
  int64_t max_traffic_bytes = int64_t{64} << 20;
  // Constant bytes beyond which code generation (which prints every weight) is skipped.
  int64_t max_codegen_parameter_bytes = int64_t{512} << 10;
  // Example bytes (inputs and outputs, printed into the package) beyond which code generation
  // is skipped: megabytes of example text take seconds under the sanitizers, not a bug.
  int64_t max_codegen_example_bytes = int64_t{1} << 20;
};

enum class PipelineOutcome {
  Generated,   // ran every stage, the package was generated
  Ran,         // ran the inference; too many constants to print them as a package
  OverLimits,  // analysed, but too large to run within the limits
};

struct PipelineResult {
  PipelineOutcome outcome = PipelineOutcome::OverLimits;
  // One inference (empty when over the limits): the seeded random inputs and the engine's
  // outputs, raw bytes in model order.
  std::vector<std::vector<uint8_t>> inputs;
  std::vector<std::vector<uint8_t>> outputs;
};

// Throws tinydeploy::Error for everything a user can cause (bad file, contradictory shapes,
// unsupported operator or parameter). Any other exception, crash or sanitizer report is a bug.
PipelineResult run_pipeline(std::vector<uint8_t> model_bytes, const PipelineLimits& limits = {});

}  // namespace tinydeploy::fuzz
