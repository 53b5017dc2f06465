// SVDF's lowering: the shape and multipliers it derives as TFLite Micro's prepare step does, the
// scratch it declares, and each refusal's message. (tests/engine/test_stateful_models.py runs
// the generated SVDF models over several invokes against TFLite Micro.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "lowering/one_op.h"
#include "tinydeploy/runtime/svdf.h"

namespace tinydeploy::lowering {
namespace {

using model::BuiltinOp;
using model::DType;

constexpr int32_t kInt32Max = std::numeric_limits<int32_t>::max();

// The parts of an int8 SVDF a test varies; the defaults lower.
struct Int8Svdf {
  int32_t rank = 2;
  int32_t filters = 4;  // with memory 2 and input size 3
  DType state_type = DType::Int16;
  int64_t state_zero_point = 0;
  int64_t weights_time_zero_point = 0;
  float bias_scale = 1.0f / 32;  // state scale 1/16 x weights_time scale 1/2
  int32_t bias_value = 5;
  int8_t weights_time_value = 3;  // every weights_time element (int8 state)
  bool variable_state = true;
  std::vector<int32_t> state_shape;  // [1, memory x filters] when empty
  DType input_type = DType::Int8;
};

// input [1, 3] (scale 1/2, zero point 3), weights_feature [filters, 3] (scale 1/4),
// weights_time [filters, 2] (scale 1/2), bias [units] (scale 1/32), state [1, 2 x filters]
// (scale 1/16), output [1, units] (scale 1/8, zero point -1).
OneOp int8_svdf(const Int8Svdf& p) {
  OneOp m;
  const int32_t units = p.filters / p.rank;
  const int32_t x = m.tensor("x", {1, 3}, p.input_type, {0.5f}, {3});
  const int32_t wf = m.constant<int8_t>(
      "wf", {p.filters, 3}, DType::Int8,
      std::vector<int8_t>(static_cast<size_t>(p.filters) * 3, int8_t{1}), {0.25f});
  int32_t wt = 0;
  if (p.state_type == DType::Int16) {
    wt = m.constant<int16_t>("wt", {p.filters, 2}, DType::Int16,
                             std::vector<int16_t>(static_cast<size_t>(p.filters) * 2, 7), {0.5f});
  } else {
    wt = m.constant<int8_t>(
        "wt", {p.filters, 2}, DType::Int8,
        std::vector<int8_t>(static_cast<size_t>(p.filters) * 2, p.weights_time_value), {0.5f});
  }
  if (p.weights_time_zero_point != 0) {
    m.at(wt).quantization.zero_point = {p.weights_time_zero_point};
  }
  const int32_t bias = m.constant<int32_t>(
      "bias", {units}, DType::Int32, std::vector<int32_t>(static_cast<size_t>(units), p.bias_value),
      {p.bias_scale});
  const int32_t state = m.tensor(
      "state", p.state_shape.empty() ? std::vector<int32_t>{1, 2 * p.filters} : p.state_shape,
      p.state_type, {1.0f / 16}, {p.state_zero_point});
  if (p.variable_state) m.make_variable(state);
  const int32_t y = m.tensor("y", {1, units}, DType::Int8, {0.125f}, {-1});
  model::SVDFOptions options;
  options.rank = p.rank;
  m.op(BuiltinOp::SVDF, {x, wf, wt, bias, state}, {y}, options);
  return m;
}

template <typename T>
const T& argument(const KernelCall& c) {
  for (const Argument& a : c.arguments) {
    if (const auto* found = std::get_if<T>(&a)) return *found;
  }
  throw std::runtime_error("argument missing");
}

constexpr const char* kPrefix = "test.tflite: operator 0 (SVDF): ";

TEST(SvdfLoweringTest, DerivesShapeMultipliersAndScratch) {
  for (DType state_type : {DType::Int16, DType::Int8}) {
    Int8Svdf p;
    p.state_type = state_type;
    p.state_zero_point = state_type == DType::Int8 ? -4 : 0;
    const KernelCall c = int8_svdf(p).lowered();
    EXPECT_EQ(c.kernel, "svdf");
    EXPECT_EQ(c.source, "svdf");
    // One int32 time-filter result per batch and filter.
    EXPECT_EQ(c.scratch_bytes, 1 * 4 * 4);
    const auto& shape = argument<rt::SvdfShape>(c);
    EXPECT_EQ(shape.batches, 1);
    EXPECT_EQ(shape.input_size, 3);
    EXPECT_EQ(shape.filters, 4);
    EXPECT_EQ(shape.rank, 2);
    EXPECT_EQ(shape.memory, 2);
    const auto& q = argument<rt::SvdfQuantization>(c);
    EXPECT_EQ(q.input_offset, -3);
    EXPECT_EQ(q.state_zero_point, p.state_zero_point);
    EXPECT_EQ(q.output_zero_point, -1);
    // input x weights_feature to state: (1/2 x 1/4) / (1/16) = 2 = 2^30 / 2^31 x 2^2.
    EXPECT_EQ(q.feature.multiplier, 1 << 30);
    EXPECT_EQ(q.feature.shift, 2);
    // state x weights_time to output: (1/16 x 1/2) / (1/8) = 1/4 = 2^30 / 2^31 x 2^-1.
    EXPECT_EQ(q.time.multiplier, 1 << 30);
    EXPECT_EQ(q.time.shift, -1);
  }
}

TEST(SvdfLoweringTest, FloatSvdfPassesTheActivationAndFloatScratch) {
  OneOp m;
  const int32_t x = m.tensor("x", {2, 3}, DType::Float32);
  const int32_t wf = m.constant<float>("wf", {2, 3}, DType::Float32, std::vector<float>(6, 0.5f));
  const int32_t wt = m.constant<float>("wt", {2, 4}, DType::Float32, std::vector<float>(8, 0.25f));
  const int32_t state = m.tensor("state", {2, 8}, DType::Float32);
  m.make_variable(state);
  const int32_t y = m.tensor("y", {2, 2}, DType::Float32);
  model::SVDFOptions options;
  options.rank = 1;
  options.activation = model::Activation::Relu6;
  m.op(BuiltinOp::SVDF, {x, wf, wt, -1, state}, {y}, options);
  const KernelCall c = m.lowered();
  EXPECT_EQ(c.scratch_bytes, 2 * 2 * 4);
  EXPECT_EQ(argument<int32_t>(c), rt::kSvdfActivationRelu6);
  const auto& shape = argument<rt::SvdfShape>(c);
  EXPECT_EQ(shape.batches, 2);
  EXPECT_EQ(shape.memory, 4);
  EXPECT_EQ(shape.rank, 1);
}

TEST(SvdfLoweringTest, RefusesShapesThatDisagree) {
  Int8Svdf p;
  p.filters = 3;  // rank 2
  EXPECT_EQ(int8_svdf(p).error(), std::string(kPrefix) + "rank 2 does not divide the 3 filters");
  p = {};
  p.state_shape = {1, 6};
  EXPECT_EQ(int8_svdf(p).error(),
            std::string(kPrefix) +
                "state 'state' has shape [1, 6], expected [batches, memory x filters] = [1, 8]");
}

TEST(SvdfLoweringTest, RefusesAStateThatIsNotAVariableTensor) {
  Int8Svdf p;
  p.variable_state = false;
  EXPECT_EQ(
      int8_svdf(p).error(),
      std::string(kPrefix) + "the activation state 'state' (input 4) is not a variable tensor");
}

TEST(SvdfLoweringTest, RefusesAsymmetricWeightsAndAnInt16StateZeroPoint) {
  Int8Svdf p;
  p.weights_time_zero_point = 1;
  EXPECT_EQ(
      int8_svdf(p).error(),
      std::string(kPrefix) + "weights_time 'wt' has zero point 1, expected 0 (symmetric weights)");
  p = {};
  p.state_zero_point = 2;
  EXPECT_EQ(int8_svdf(p).error(),
            std::string(kPrefix) + "int16 state 'state' has zero point 2, expected 0");
}

TEST(SvdfLoweringTest, RefusesABiasScaleOtherThanStateTimesWeightsTime) {
  Int8Svdf p;
  p.bias_scale = 1.0f / 16;
  EXPECT_EQ(int8_svdf(p).error(),
            std::string(kPrefix) +
                "bias 'bias' has scale 0.0625, expected state x weights_time scale (0.03125)");
}

TEST(SvdfLoweringTest, RefusesTypesTheRuntimeLacks) {
  Int8Svdf p;
  p.input_type = DType::Int16;
  EXPECT_EQ(int8_svdf(p).error(),
            std::string(kPrefix) +
                "the runtime has float32 SVDF and int8 SVDF (int8 weights_feature, int32 bias, "
                "int8 output, and weights_time of the state's type, int16 or int8); got input "
                "int16, weights_feature int8, weights_time int16, state int16, output int8");

  OneOp hybrid;
  const int32_t x = hybrid.tensor("x", {1, 3}, DType::Float32);
  const int32_t wf =
      hybrid.constant<int8_t>("wf", {1, 3}, DType::Int8, std::vector<int8_t>(3, 1), {0.5f});
  const int32_t wt =
      hybrid.constant<float>("wt", {1, 2}, DType::Float32, std::vector<float>(2, 1.0f));
  const int32_t state = hybrid.tensor("state", {1, 2}, DType::Float32);
  hybrid.make_variable(state);
  const int32_t y = hybrid.tensor("y", {1, 1}, DType::Float32);
  model::SVDFOptions options;
  options.rank = 1;
  hybrid.op(BuiltinOp::SVDF, {x, wf, wt, -1, state}, {y}, options);
  EXPECT_EQ(hybrid.error(), std::string(kPrefix) +
                                "a float input with quantized weights (hybrid SVDF) is not "
                                "supported: TFLite Micro has no hybrid SVDF");
}

// With an int8 state the time sums are bounded: the state magnitude (128 from zero point 0)
// times each unit's |weights_time| (rank 2 x memory 2 x 127), plus |bias|, must fit int32.
TEST(SvdfLoweringTest, Int8StateTimeSumLimitIsExact) {
  Int8Svdf p;
  p.state_type = DType::Int8;
  p.weights_time_value = 127;
  p.bias_value = kInt32Max - 128 * 4 * 127;
  EXPECT_EQ(int8_svdf(p).error(), "");
  p.bias_value += 1;
  EXPECT_EQ(int8_svdf(p).error(),
            std::string(kPrefix) +
                "the time sums of unit 0 (state x weights_time 'wt' plus bias) can exceed the "
                "int32 accumulator");
}

}  // namespace
}  // namespace tinydeploy::lowering
