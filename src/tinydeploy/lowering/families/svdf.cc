// SVDF (runtime/kernels/svdf.cc): float32; int8 with an int16 state and int16 time weights;
// int8 with an int8 state and int8 time weights. The multipliers are derived here as TFLite
// Micro's prepare step derives them; the state (input 4) is a variable tensor that the kernel
// updates in place on every invoke.
#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "tinydeploy/lowering/contracts.h"
#include "tinydeploy/lowering/families.h"
#include "tinydeploy/lowering/op_lowering.h"
#include "tinydeploy/runtime/svdf.h"

namespace tinydeploy::lowering {
namespace {

using model::Activation;
using model::BuiltinOp;
using model::DType;
using model::Tensor;

constexpr size_t kInput = 0;
constexpr size_t kWeightsFeature = 1;
constexpr size_t kWeightsTime = 2;
constexpr size_t kBias = 3;
constexpr size_t kState = 4;

std::string shape_text(const std::vector<int32_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

// The shapes TFLite Micro's prepare step checks, with every dimension at least 1.
rt::SvdfShape svdf_shape(const OpBinding& b, int32_t rank) {
  const Tensor& input = b.input(kInput);
  const Tensor& weights_feature = b.input(kWeightsFeature);
  const Tensor& weights_time = b.input(kWeightsTime);
  const Tensor& state = b.input(kState);
  const Tensor& output = b.output(0);
  require(input.shape.size() == 2, b,
          fmt::format("input '{}' has shape {}, expected [batches, input size]", input.name,
                      shape_text(input.shape)));
  require(weights_feature.shape.size() == 2 && weights_feature.shape[1] == input.shape[1], b,
          fmt::format("weights_feature '{}' has shape {}, expected [filters, {}] (the input "
                      "size)",
                      weights_feature.name, shape_text(weights_feature.shape), input.shape[1]));
  require(weights_time.shape.size() == 2 && weights_time.shape[0] == weights_feature.shape[0], b,
          fmt::format("weights_time '{}' has shape {}, expected [{}, memory] (one row per filter)",
                      weights_time.name, shape_text(weights_time.shape), weights_feature.shape[0]));
  rt::SvdfShape shape;
  shape.batches = input.shape[0];
  shape.input_size = input.shape[1];
  shape.filters = weights_feature.shape[0];
  shape.rank = rank;
  shape.memory = weights_time.shape[1];
  require(shape.batches >= 1 && shape.input_size >= 1 && shape.filters >= 1 && shape.memory >= 1, b,
          "batches, input size, filters and memory must each be at least 1");
  require(rank >= 1, b, fmt::format("rank is {}, expected at least 1", rank));
  require(shape.filters % rank == 0, b,
          fmt::format("rank {} does not divide the {} filters", rank, shape.filters));
  const int32_t units = shape.filters / rank;
  const int64_t state_row = int64_t{shape.memory} * shape.filters;
  require(state.shape.size() == 2 && state.shape[0] == shape.batches && state.shape[1] == state_row,
          b,
          fmt::format("state '{}' has shape {}, expected [batches, memory x filters] = [{}, {}]",
                      state.name, shape_text(state.shape), shape.batches, state_row));
  require(output.shape.size() == 2 && output.shape[0] == shape.batches && output.shape[1] == units,
          b,
          fmt::format("output '{}' has shape {}, expected [batches, units] = [{}, {}]", output.name,
                      shape_text(output.shape), shape.batches, units));
  return shape;
}

// The float kernel's activation code; TFLite Micro's float SVDF applies every fused activation
// of the schema.
int32_t float_activation(Activation activation) {
  switch (activation) {
    case Activation::Relu:
      return rt::kSvdfActivationRelu;
    case Activation::ReluN1To1:
      return rt::kSvdfActivationReluN1To1;
    case Activation::Relu6:
      return rt::kSvdfActivationRelu6;
    case Activation::Tanh:
      return rt::kSvdfActivationTanh;
    case Activation::SignBit:
      return rt::kSvdfActivationSignBit;
    default:
      return rt::kSvdfActivationNone;
  }
}

// |value| of element i of a constant int8 or int32 tensor.
int64_t constant_magnitude(const OpBinding& b, const Tensor& t, int64_t i) {
  const auto bytes = b.model.data(t);
  if (t.dtype == DType::Int8) {
    return std::abs(int64_t{static_cast<int8_t>(bytes[static_cast<size_t>(i)])});
  }
  int32_t value = 0;
  std::memcpy(&value, bytes.data() + static_cast<size_t>(i) * 4, 4);
  return std::abs(int64_t{value});
}

// With an int8 state the time sums of a unit (its rank filters' memory rows times the state
// less its zero point, plus the bias) are bounded and refused when they could leave int32, as
// for every int8 accumulator; with an int16 state TFLite Micro's int32 sums are narrower than
// its products can reach and wrap, and the kernel wraps them the same way.
void require_int8_time_sums_fit(const OpBinding& b, const rt::SvdfShape& shape) {
  const Tensor& weights_time = b.input(kWeightsTime);
  const int64_t state_magnitude = input_magnitude(b.input(kState));
  const int32_t units = shape.filters / shape.rank;
  const int64_t per_unit = int64_t{shape.rank} * shape.memory;
  for (int32_t u = 0; u < units; ++u) {
    int64_t weights = 0;
    for (int64_t i = 0; i < per_unit; ++i) {
      weights += weights_time.is_constant()
                     ? constant_magnitude(b, weights_time, int64_t{u} * per_unit + i)
                     : 128;
    }
    int64_t bias = 0;
    if (b.has_input(kBias)) {
      bias = b.input(kBias).is_constant() ? constant_magnitude(b, b.input(kBias), u)
                                          : int64_t{1} << 31;
    }
    require(state_magnitude * weights + bias <= std::numeric_limits<int32_t>::max(), b,
            fmt::format("the time sums of unit {} (state x weights_time '{}' plus bias) can "
                        "exceed the int32 accumulator",
                        u, weights_time.name));
  }
}

KernelCall lower_svdf(const OpBinding& b) {
  require(b.op.inputs.size() == 5 && b.op.outputs.size() == 1, b,
          "expects 5 inputs (input, weights_feature, weights_time, bias or none, state) and one "
          "output");
  require_inputs(b, 3);
  require(b.has_input(kState), b, "the activation state (input 4) is omitted");
  const auto& o = options<model::SVDFOptions>(b);
  const Tensor& input = b.input(kInput);
  const Tensor& weights_feature = b.input(kWeightsFeature);
  const Tensor& weights_time = b.input(kWeightsTime);
  const Tensor& state = b.input(kState);
  const Tensor& output = b.output(0);
  require(state.is_variable, b,
          fmt::format("the activation state '{}' (input 4) is not a variable tensor", state.name));
  const rt::SvdfShape shape = svdf_shape(b, o.rank);
  const int32_t units = shape.filters / shape.rank;
  // One time-filter result (int32 or float) per batch and filter.
  const int64_t scratch_bytes = int64_t{shape.batches} * shape.filters * 4;
  const bool has_bias = b.has_input(kBias);
  const Slot bias = has_bias ? b.input_slot(kBias) : Slot{};

  if (input.dtype == DType::Float32) {
    require(weights_feature.dtype == DType::Float32, b,
            "a float input with quantized weights (hybrid SVDF) is not supported: TFLite Micro "
            "has no hybrid SVDF");
    require(weights_time.dtype == DType::Float32 && state.dtype == DType::Float32 &&
                output.dtype == DType::Float32 &&
                (!has_bias || b.input(kBias).dtype == DType::Float32),
            b, "float SVDF needs float32 weights, bias, state and output");
    require_bias(b, kBias, units, false);
    return with_scratch(
        call(b, TINYDEPLOY_RUNTIME_KERNEL(svdf), float_activation(o.activation), shape,
             typed<float>(b.input_slot(kInput)), typed<float>(b.input_slot(kWeightsFeature)),
             typed<float>(b.input_slot(kWeightsTime)), typed<float>(bias),
             typed<float>(b.state_slot(kState)), typed<float>(b.output_slot(0)),
             typed<float>(b.scratch_slot())),
        scratch_bytes);
  }

  const bool state16 = weights_time.dtype == DType::Int16 && state.dtype == DType::Int16;
  const bool state8 = weights_time.dtype == DType::Int8 && state.dtype == DType::Int8;
  require(input.dtype == DType::Int8 && weights_feature.dtype == DType::Int8 &&
              output.dtype == DType::Int8 && (state16 || state8) &&
              (!has_bias || b.input(kBias).dtype == DType::Int32),
          b,
          fmt::format("the runtime has float32 SVDF and int8 SVDF (int8 weights_feature, int32 "
                      "bias, int8 output, and weights_time of the state's type, int16 or int8); "
                      "got input {}, weights_feature {}, weights_time {}, state {}, output {}",
                      model::dtype_name(input.dtype), model::dtype_name(weights_feature.dtype),
                      model::dtype_name(weights_time.dtype), model::dtype_name(state.dtype),
                      model::dtype_name(output.dtype)));
  for (const Tensor* t : {&input, &weights_feature, &weights_time, &state, &output}) {
    require(t->quantization.is_quantized() && std::isfinite(t->quantization.scale[0]) &&
                t->quantization.scale[0] > 0.0f,
            b, fmt::format("tensor '{}' has no valid quantization scale", t->name));
  }
  for (const Tensor* t : {&weights_feature, &weights_time}) {
    require(zero_point_of(*t) == 0, b,
            fmt::format("{} '{}' has zero point {}, expected 0 (symmetric weights)",
                        t == &weights_feature ? "weights_feature" : "weights_time", t->name,
                        zero_point_of(*t)));
  }
  require(state8 || zero_point_of(state) == 0, b,
          fmt::format("int16 state '{}' has zero point {}, expected 0", state.name,
                      zero_point_of(state)));
  require_bias(b, kBias, units, true);
  // As TFLite Micro's prepare step: the scale products and quotients in single precision, and
  // a bias scale within 1e-5 of state scale x weights_time scale.
  const float state_scale = scale_of(state);
  const float time_product = state_scale * scale_of(weights_time);
  if (has_bias) {
    const Tensor& bias_tensor = b.input(kBias);
    const double bias_scale =
        bias_tensor.quantization.is_quantized() ? double{scale_of(bias_tensor)} : 0.0;
    require(std::abs(bias_scale - double{time_product}) < 1e-5, b,
            fmt::format("bias '{}' has scale {}, expected state x weights_time scale ({})",
                        bias_tensor.name, bias_scale, time_product));
  }
  rt::SvdfQuantization q;
  q.input_offset = -zero_point_of(input);
  q.state_zero_point = zero_point_of(state);
  q.output_zero_point = zero_point_of(output);
  q.feature = requantization(
      b, double{scale_of(input) * scale_of(weights_feature) / state_scale}, Accumulator::Int32,
      fmt::format("the rescaling of input '{}' x weights_feature '{}' to state '{}'", input.name,
                  weights_feature.name, state.name));
  q.time = requantization(b, double{time_product / scale_of(output)}, Accumulator::Int32,
                          fmt::format("the rescaling of state '{}' x weights_time '{}' to output "
                                      "'{}'",
                                      state.name, weights_time.name, output.name));
  require_accumulator_fits(b, Accumulator::Int32, input_magnitude(input), weights_feature, 0, 0,
                           nullptr);
  if (state8) require_int8_time_sums_fit(b, shape);

  return with_scratch(
      state16
          ? call(b, TINYDEPLOY_RUNTIME_KERNEL(svdf), q, shape, typed<int8_t>(b.input_slot(kInput)),
                 typed<int8_t>(b.input_slot(kWeightsFeature)),
                 typed<int16_t>(b.input_slot(kWeightsTime)), typed<int32_t>(bias),
                 typed<int16_t>(b.state_slot(kState)), typed<int8_t>(b.output_slot(0)),
                 typed<int32_t>(b.scratch_slot()))
          : call(b, TINYDEPLOY_RUNTIME_KERNEL(svdf), q, shape, typed<int8_t>(b.input_slot(kInput)),
                 typed<int8_t>(b.input_slot(kWeightsFeature)),
                 typed<int8_t>(b.input_slot(kWeightsTime)), typed<int32_t>(bias),
                 typed<int8_t>(b.state_slot(kState)), typed<int8_t>(b.output_slot(0)),
                 typed<int32_t>(b.scratch_slot())),
      scratch_bytes);
}

constexpr OperatorLowering kOperators[] = {{BuiltinOp::SVDF, lower_svdf}};

}  // namespace

Family svdf_family() { return {"svdf", "svdf", kOperators}; }

}  // namespace tinydeploy::lowering
