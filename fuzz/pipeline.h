// The whole host pipeline on one untrusted model, as the fuzz targets and the fuzz regression
// tests drive it: reader -> analysis -> lowering for a core (the host, a Cortex-M4 or a
// Cortex-M55, chosen by the file's size) -> host engine (one inference on seeded random inputs,
// and for a Cortex-M core the same inference lowered for the host, compared byte for byte) ->
// code generation (the package's text, nothing compiled). Bounded so one run stays
// fast and small whatever the model asks for.
#pragma once

#include <cstdint>
#include <vector>

#include "tinydeploy/lowering/kernel_call.h"

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

// One inference: the outputs' bytes in model order, and each operator's first output as the
// operator left it.
struct Inference {
  std::vector<std::vector<uint8_t>> outputs;
  std::vector<std::vector<uint8_t>> layers;
};

// A model lowered for a Cortex-M core runs the core's kernel variants (they run on the host too)
// and must compute the portable kernels' bytes: throws std::logic_error, a bug the fuzzer
// reports, naming the first operator (and the kernel `calls` gives it) whose output differs.
void require_same_bytes(const std::vector<lowering::KernelCall>& calls, const Inference& core,
                        const Inference& portable);

// Throws tinydeploy::Error for everything a user can cause (bad file, contradictory shapes,
// unsupported operator or parameter). Any other exception, crash or sanitizer report is a bug.
PipelineResult run_pipeline(std::vector<uint8_t> model_bytes, const PipelineLimits& limits = {});

}  // namespace tinydeploy::fuzz
