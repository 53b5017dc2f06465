// Lowering: every operator of a model's subgraph 0 as a call of one runtime kernel with its
// parameters prepared ahead of time. It is the single answer to "is this operator supported,
// and with how much scratch": the memory plan takes each kernel's scratch from its call, and
// `inspect`, `run` and `generate` all read the same refusals. The engine runs the calls on the
// host; codegen prints them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tinydeploy/analysis/analysis.h"
#include "tinydeploy/board/core.h"
#include "tinydeploy/lowering/kernel_call.h"
#include "tinydeploy/model/graph.h"

namespace tinydeploy::lowering {

// An operator lowering refused, with the reason ("the runtime has no kernel for inputs (int64)
// -> outputs (int64)", "the filter's per-channel scales do not match the output channels").
struct Refusal {
  int32_t op_index = 0;
  std::string op;
  std::string reason;  // without the "model: operator i (OP): " prefix
};

struct LoweredModel {
  // The analysis, with each layer's scratch from its call and the memory plan placed from them.
  analysis::ModelAnalysis analysis;
  std::vector<KernelCall> calls;  // one per accepted operator, in execution order
  std::vector<Refusal> refusals;  // one per refused operator, in execution order

  bool supported() const { return refusals.empty(); }
};

// Analyses and lowers every operator of subgraph 0 for `core`. Operators the runtime cannot run
// are collected as refusals, not thrown; a model that contradicts itself (analysis::analyze)
// throws tinydeploy::Error. The core only chooses kernel variants, never what is supported: a
// call for a core with a faster kernel (e.g. conv_1x1_s8_dsp on a Cortex-M4) computes the same
// bytes as the portable call the host gets, and the variants also run on the host.
LoweredModel lower(const model::Model& model, board::Core core = board::Core::Host);

// Throws tinydeploy::Error unless every operator was lowered: the one refusal as
// "<model>: operator <i> (<OP>): <reason> (<what>)", or every refusal, one per line. `what`
// says what did not happen ("nothing generated"); empty for no remark.
void require_supported(const model::Model& model, const LoweredModel& lowered,
                       std::string_view what);

}  // namespace tinydeploy::lowering
