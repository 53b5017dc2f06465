// Comparison of tinydeploy's tensors with the PC reference's.
#pragma once

#include <string>

#include "tinydeploy/model/graph.h"
#include "tinydeploy/tensors/tensor_io.h"

namespace tinydeploy::validate {

struct Comparison {
  int64_t elements = 0;
  int64_t differing = 0;        // elements not equal (integers) / outside tolerance (float)
  double max_abs_diff = 0.0;    // in stored units: LSB for integers
  double max_real_diff = 0.0;   // in real units (scale applied; same as above for float)
  double max_rel_diff = 0.0;    // float only: |a - b| / max(|b|, tiny)
  bool shape_mismatch = false;  // different dtype or element count

  bool matches() const { return !shape_mismatch && differing == 0; }
};

// Float elements match when |a - b| <= kFloatTolerance * max(1, |b|).
constexpr double kFloatTolerance = 1e-5;

Comparison compare(const tensors::TensorData& ours, const tensors::TensorData& reference,
                   const model::Tensor& tensor);

std::string describe(const Comparison& comparison, const model::Tensor& tensor);

}  // namespace tinydeploy::validate
