// The analysis with its memory plan, as the analysis tests check it. Kernel scratch comes from
// lowering (lowering::lower), so these plans hold run-time tensors and variables only.
#pragma once

#include "tinydeploy/analysis/analysis.h"

namespace tinydeploy::analysis {

inline ModelAnalysis planned(const model::Model& model) {
  ModelAnalysis analysis = analyze(model);
  analysis.plan = plan_memory(model, analysis.layers);
  return analysis;
}

}  // namespace tinydeploy::analysis
