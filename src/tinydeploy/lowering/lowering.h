// Lowering: every operator of a model's subgraph 0 as a call of one runtime kernel with its
// parameters prepared ahead of time. The engine runs these calls on the host; codegen prints them.
#pragma once

#include <vector>

#include "tinydeploy/analysis/analysis.h"
#include "tinydeploy/lowering/kernel_call.h"
#include "tinydeploy/model/graph.h"

namespace tinydeploy::lowering {

// One call per operator, in execution order. Throws tinydeploy::Error naming the operator index,
// op and types for anything the runtime does not support.
std::vector<KernelCall> lower(const model::Model& model, const analysis::ModelAnalysis& analysis);

}  // namespace tinydeploy::lowering
