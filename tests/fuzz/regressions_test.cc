// Every model with which a fuzz target found a crash (tests/data/fuzz-regressions) goes through
// the same pipeline the model fuzz target drives (fuzz/pipeline.h: reader, analysis, lowering,
// one inference on the host engine, code generation) and ends the way listed here: refused with
// a tinydeploy::Error that names the operator, or run with the outputs checked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipeline.h"
#include "tinydeploy/common/error.h"

namespace tinydeploy::fuzz {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kDirectory = fs::path(TINYDEPLOY_TEST_DATA_DIR) / "fuzz-regressions";

struct Refusal {
  const char* file;
  const char* found;  // what the fuzzer found before the fix
  const char* message;
};

// Models that must be refused. The message is checked up to the operator it names (and for
// checks outside lowering, the reason), so that rewording a lowering message does not break it.
// Lowering's operand contracts refuse some of them earlier than where the fuzzer crashed (a
// lying bias or zero point in an earlier operator), and refuse rescalings beyond what the
// runtime's helpers apply rather than saturating them.
const Refusal kRefusals[] = {
    {"transpose_conv_input_zero_point_out_of_range.tflite",
     "int8 input zero point 2^31-1: signed overflow in the TRANSPOSE_CONV kernel",
     "operator 0 (TRANSPOSE_CONV)"},
    {"depthwise_conv_bias_shorter_than_channels.tflite",
     "4 bias values for 1000 channels: heap-buffer-overflow in the DEPTHWISE_CONV_2D kernel",
     "operator 1 (DEPTHWISE_CONV_2D)"},
    {"conv_int16_bias_shorter_than_channels.tflite",
     "2 bias values for 4 channels: bytes after the bias read as bias, then signed overflow",
     "operator 1 (CONV_2D)"},
    {"conv_int16_bias_overflows_accumulator.tflite",
     "int64 bias near 2^62: signed overflow rescaling the 16x8 CONV_2D accumulator",
     "operator 2 (CONV_2D)"},
    {"conv_zero_input_channels.tflite",
     "input with 0 channels: division by zero while lowering CONV_2D", "operator 0 (CONV_2D)"},
    {"strided_slice_stride_overflows.tflite",
     "stride 2^31-1: signed overflow computing the element step while lowering STRIDED_SLICE",
     "operator 3 (STRIDED_SLICE)"},
    {"mul_input_zero_point_out_of_range.tflite",
     "int8 zero point -2^31: negation overflow while lowering MUL", "operator 0 (MUL)"},
    {"mul_output_zero_point_out_of_range.tflite",
     "int8 output zero point 2^31-1: signed overflow in the MUL kernel", "operator 0 (MUL)"},
    {"reshape_element_count_overflows.tflite",
     "new shape of 1627389953 x 1684291955 x ...: signed overflow in the analysis",
     "operator 2 (RESHAPE): the element count of new shape [1627389953, 1684291955, 59, 7, 5] "
     "overflows"},
    {"conv_huge_dilation.tflite",
     "dilation 2^30: signed overflow computing window positions in the float CONV_2D kernel",
     "operator 1 (CONV_2D)"},
    {"softmax_int8_row_too_long.tflite",
     "int8 SOFTMAX over rows of 65535 values: signed overflow summing the exps in Q12.19",
     "operator 1 (SOFTMAX)"},
    {"concatenation_omitted_input.tflite",
     "CONCATENATION with input 1 left out (-1): tensors[-1] in the analysis (found inside the "
     "mutator's shape repair; reproducer written by hand)",
     "operator 3 (CONCATENATION): needs at least 2 inputs, input 1 is missing"},
    {"transpose_conv_batch_mismatch.tflite",
     "16x8 TRANSPOSE_CONV with an input batch of 2 into an output batch of 1: heap-buffer-overflow "
     "in the kernel",
     "operator 0 (TRANSPOSE_CONV)"},
    {"depthwise_conv_empty_filter.tflite",
     "the graph input [0, 9, 9, 4] as DEPTHWISE_CONV_2D filter: no storage, so the kernel indexed "
     "a null pointer",
     "operator 0 (DEPTHWISE_CONV_2D)"},
    {"zero_element_input.tflite",
     "an input with a 0 dimension: memcpy to a null arena pointer (the same call is in "
     "`tinydeploy run` and `generate`)",
     "model input 0 ('serving_default_x:0') has no place in the arena"},
    {"variable_tensor_zero_elements.tflite",
     "a variable tensor with a 0 dimension: memset of a null variable area on reset",
     "model input 0 ('x') has no place in the arena"},
    {"leaky_relu_huge_alpha.tflite",
     "LEAKY_RELU with alpha 1e10: the rescaling saturated and adding the zero point overflowed",
     "operator 8 (LEAKY_RELU): the rescaling of alpha"},
    {"fully_connected_int16_extreme_multiplier.tflite",
     "16x8 FULLY_CONNECTED into an output scale of FLT_MIN: a negative shift count in the 64-bit "
     "rescaling",
     "operator 1 (FULLY_CONNECTED): the rescaling of input"},
    {"transpose_conv_int16_extreme_multiplier.tflite",
     "16x8 TRANSPOSE_CONV whose weights' channel 2 has scale 1e30: a negative shift count",
     "operator 1 (TRANSPOSE_CONV): the rescaling of input"},
    {"depth_to_space_block_size_squared_overflows.tflite",
     "DEPTH_TO_SPACE with block size 2^31-1: signed overflow squaring it in the shape rule",
     "operator 0 (DEPTH_TO_SPACE): depth 8 must be a multiple of block size squared"},
    {"conv_bias_is_a_model_input_with_data.tflite",
     "a CONV_2D bias that is a model input and has data: the Cortex-M55 variant folded the "
     "file's bias while the portable kernel read the input (the pipeline's comparison of a core's "
     "lowering with the portable one); now the input's data is ignored, and a bias given at run "
     "time can overflow the accumulator",
     "operator 2 (CONV_2D): the accumulator of output channel 0 can reach"},
};

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string refusal(const std::string& file) {
  try {
    (void)run_pipeline(read_bytes(kDirectory / file));
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(FuzzRegressions, EveryReproducerHasAnExpectation) {
  std::set<std::string> listed = {
      "relu6_tiny_output_scale.tflite", "conv_hybrid_non_finite_input.tflite",
      "softmax_int8_long_row_of_equal_values.tflite", "pooling_windows_over_the_work_limit.tflite"};
  for (const Refusal& r : kRefusals) listed.insert(r.file);
  std::set<std::string> present;
  for (const auto& entry : fs::directory_iterator(kDirectory)) {
    if (entry.path().extension() == ".tflite") present.insert(entry.path().filename().string());
  }
  EXPECT_EQ(present, listed);
}

// Five pooling layers over a [1, 9, 32767, 3] float input with windows of up to the input's
// size: 0 MACs, so the pipeline ran them and one input took 46 s under ASan (a libFuzzer timeout
// in CI). The pipeline's work limit now counts pooling windows too.
TEST(FuzzRegressions, PoolingWindowsCountAgainstTheWorkLimit) {
  const PipelineResult result =
      run_pipeline(read_bytes(kDirectory / "pooling_windows_over_the_work_limit.tflite"));
  EXPECT_EQ(result.outcome, PipelineOutcome::OverLimits);
}

TEST(FuzzRegressions, RefusedWithAnErrorNamingTheOperator) {
  for (const Refusal& r : kRefusals) {
    SCOPED_TRACE(std::string(r.file) + ": " + r.found);
    EXPECT_THAT(refusal(r.file), HasSubstr(r.message));
  }
}

std::vector<int8_t> as_int8(const std::vector<uint8_t>& bytes) {
  std::vector<int8_t> values(bytes.size());
  std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

std::vector<int16_t> as_int16(const std::vector<uint8_t>& bytes) {
  std::vector<int16_t> values(bytes.size() / 2);
  std::memcpy(values.data(), bytes.data(), values.size() * 2);
  return values;
}

TEST(FuzzRegressions, Relu6WithTinyOutputScaleClampsInItsInputsUnits) {
  // Operator 4: RELU6 of tensor 11 (model input 1, int16, requantized by a QUANTIZE from scale
  // 3.050971e-05 to 3.047842e-05, sign kept) into output 3 with scale 1e-10: 6.0 / scale
  // overflowed the int32 clamp bound when the clamp was in the output's units. TensorFlow Lite
  // Micro clamps in the input's units (6 / 3.047842e-05 is past 32767) and ignores the output's
  // scale: each output is the requantized input, 0 where it is negative.
  const PipelineResult result =
      run_pipeline(read_bytes(kDirectory / "relu6_tiny_output_scale.tflite"));
  // Ran (its example data is past the pipeline's 1 MiB bound for code generation).
  ASSERT_NE(result.outcome, PipelineOutcome::OverLimits);
  const std::vector<int16_t> input = as_int16(result.inputs.at(1));
  const std::vector<int16_t> output = as_int16(result.outputs.at(3));
  ASSERT_EQ(input.size(), 4u * 5 * 11000);
  ASSERT_EQ(output.size(), input.size());
  constexpr double kRequantization = 3.050971463380847e-05 / 3.0478422559099272e-05;
  size_t mismatches = 0;
  size_t positive = 0;
  for (size_t i = 0; i < input.size(); ++i) {
    const double requantized = std::min(32767.0, std::round(input[i] * kRequantization));
    const double expected = input[i] > 0 ? requantized : 0.0;
    // The QUANTIZE's fixed-point rescaling may round 1 LSB away from the real product.
    mismatches += std::fabs(output[i] - expected) > 1.0 ? 1u : 0u;
    positive += input[i] > 0 ? 1u : 0u;
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_GT(positive, input.size() / 4);
}

TEST(FuzzRegressions, Int8SoftmaxOverLongRowsOfEqualValues) {
  // Operator 1: int8 SOFTMAX over rows of 1000 values into output 6 (scale 1/256, zero point
  // -128). Where most of a row is near its maximum, the sum of exps reaches 2^9 and the output
  // shift 32, which the kernel took as a shift by 32 bits; each probability is below 1/512 and
  // must round to 0. A row's probabilities sum to at most 1 plus half an LSB per value.
  const PipelineResult result =
      run_pipeline(read_bytes(kDirectory / "softmax_int8_long_row_of_equal_values.tflite"));
  ASSERT_EQ(result.outcome, PipelineOutcome::Generated);
  const std::vector<int8_t> output = as_int8(result.outputs.at(6));
  constexpr size_t kDepth = 1000;
  ASSERT_EQ(output.size(), 16 * kDepth);
  for (size_t row = 0; row < output.size() / kDepth; ++row) {
    double sum = 0;
    for (size_t c = 0; c < kDepth; ++c) sum += (output[row * kDepth + c] + 128) / 256.0;
    EXPECT_LE(sum, 1.0 + kDepth / 512.0) << "row " << row;
  }
}

TEST(FuzzRegressions, HybridConvOfNonFiniteValuesStaysDefined) {
  // The float KWS model with a mutated float layer that overflows to infinity: the hybrid
  // CONV_2D after it quantized inf * 0 = NaN to int (UBSan: nan outside the range of int).
  // Non-finite values now quantize to a clamped or zero value; the run completes.
  const PipelineResult result =
      run_pipeline(read_bytes(kDirectory / "conv_hybrid_non_finite_input.tflite"));
  ASSERT_NE(result.outcome, PipelineOutcome::OverLimits);
  ASSERT_EQ(result.outputs.size(), 1u);
  EXPECT_EQ(result.outputs[0].size(), 12u * sizeof(float));
}

TEST(FuzzRegressions, TheComparisonWithThePortableKernelsNamesTheFirstOperatorThatDiffers) {
  lowering::KernelCall conv;
  conv.kernel = "conv_s8_mve";
  lowering::KernelCall softmax;
  softmax.kernel = "softmax_s8";
  const std::vector<lowering::KernelCall> calls = {softmax, conv, softmax};
  const Inference portable{{{1, 2}}, {{5}, {6, 7}, {1, 2}}};
  EXPECT_NO_THROW(require_same_bytes(calls, portable, portable));
  Inference core = portable;
  core.layers[1][1] = 8;  // operator 1 differs, and the one after it
  core.layers[2][0] = 9;
  try {
    require_same_bytes(calls, core, portable);
    FAIL() << "no difference found";
  } catch (const std::logic_error& error) {
    EXPECT_THAT(error.what(), HasSubstr("operator 1 (kernel conv_s8_mve)"));
  }
  core = portable;
  core.outputs[0][0] = 3;  // only an output differs
  EXPECT_THROW(require_same_bytes(calls, core, portable), std::logic_error);
}

}  // namespace
}  // namespace tinydeploy::fuzz
