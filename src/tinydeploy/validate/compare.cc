#include "tinydeploy/validate/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "tinydeploy/common/text.h"

namespace tinydeploy::validate {

using tensors::TensorData;

Comparison compare(const TensorData& ours, const TensorData& reference,
                   const model::Tensor& tensor) {
  Comparison result;
  result.elements = ours.elements();
  if (ours.dtype != reference.dtype || ours.elements() != reference.elements()) {
    result.shape_mismatch = true;
    return result;
  }
  const bool is_float = ours.dtype == model::DType::Float32 || ours.dtype == model::DType::Float64;
  const double scale = tensor.quantization.is_quantized() && !is_float
                           ? static_cast<double>(tensor.quantization.scale[0])
                           : 1.0;
  for (int64_t i = 0; i < result.elements; ++i) {
    const double a = ours.value(i);
    const double b = reference.value(i);
    const double diff = std::fabs(a - b);
    const bool nan_mismatch = std::isnan(a) != std::isnan(b);
    bool differs = false;
    if (is_float) {
      differs =
          nan_mismatch || (!std::isnan(a) && diff > kFloatTolerance * std::max(1.0, std::fabs(b)));
      if (!std::isnan(diff)) {
        result.max_rel_diff = std::max(result.max_rel_diff, diff / std::max(std::fabs(b), 1e-30));
      }
    } else {
      differs = diff != 0.0;
    }
    if (differs) ++result.differing;
    if (!std::isnan(diff)) {
      result.max_abs_diff = std::max(result.max_abs_diff, diff);
      result.max_real_diff = std::max(result.max_real_diff, diff * scale);
    }
  }
  return result;
}

std::string describe(const Comparison& c, const model::Tensor& tensor) {
  if (c.shape_mismatch)
    return fmt::format("'{}': type or element count differs", printable(tensor.name));
  const bool is_float = tensor.dtype == model::DType::Float32;
  if (is_float) {
    return fmt::format(
        "'{}': {} of {} elements outside tolerance, max abs diff {:.3g}, max rel "
        "diff {:.3g}",
        printable(tensor.name), c.differing, c.elements, c.max_abs_diff, c.max_rel_diff);
  }
  return fmt::format("'{}': {} of {} elements differ, max diff {} LSB ({:.3g} real)",
                     printable(tensor.name), c.differing, c.elements,
                     static_cast<int64_t>(c.max_abs_diff), c.max_real_diff);
}

}  // namespace tinydeploy::validate
