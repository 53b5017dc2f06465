// The operators and type signatures tinydeploy's runtime has kernels for.
#include "tinydeploy/analysis/layers.h"

namespace tinydeploy::analysis {

bool runtime_supports(model::BuiltinOp /*op*/, const std::vector<model::DType>& /*input_types*/,
                      const std::vector<model::DType>& /*output_types*/) {
  // The kernel runtime is being built (runtime/); until its kernels are wired to the host
  // tool, no operator is reported as supported, so `inspect` never promises what `run`
  // cannot do.
  return false;
}

}  // namespace tinydeploy::analysis
