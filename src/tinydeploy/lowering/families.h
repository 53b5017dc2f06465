// The operator families, one per runtime kernel file: the single list lowering consults to
// decide whether, and how, an operator runs. Internal to the lowering module.
#pragma once

#include <span>

#include "tinydeploy/lowering/op_lowering.h"

namespace tinydeploy::lowering {

Family activation_family();
Family conv_family();
Family elementwise_family();
Family layout_family();
Family lstm_family();
Family pooling_family();
Family reduce_family();
Family resize_family();
Family svdf_family();
Family variables_family();

// Every family, in no particular order (an operator belongs to exactly one).
std::span<const Family> families();

// The family and lowering function for `op`, or null when no family lowers it.
struct FoundLowering {
  const Family* family = nullptr;
  LowerFunction lower = nullptr;
};
FoundLowering find_lowering(model::BuiltinOp op);

// The kernel call for `b.op` from its family; throws tinydeploy::Error (a refusal) when no
// family lowers the operator or its lowering refuses it.
KernelCall lower_op(const OpBinding& b);

}  // namespace tinydeploy::lowering
