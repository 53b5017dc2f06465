#include "tinydeploy/lowering/families.h"

#include <vector>

namespace tinydeploy::lowering {

std::span<const Family> families() {
  static const std::vector<Family> kFamilies = {
      activation_family(), conv_family(),      elementwise_family(), layout_family(),
      lstm_family(),       pooling_family(),   reduce_family(),      resize_family(),
      svdf_family(),       variables_family(),
  };
  return kFamilies;
}

FoundLowering find_lowering(model::BuiltinOp op) {
  for (const Family& family : families()) {
    for (const OperatorLowering& entry : family.operators) {
      if (entry.op == op) return {&family, entry.lower};
    }
  }
  return {};
}

}  // namespace tinydeploy::lowering
