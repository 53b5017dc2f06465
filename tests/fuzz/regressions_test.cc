// Every model with which a fuzz target found a crash (tests/data/fuzz-regressions) goes through
// the same pipeline the model fuzz target drives (fuzz/pipeline.h: reader, analysis, lowering,
// one inference on the host engine, code generation) and ends the way listed here: refused with
// a tinydeploy::Error that names the operator, or run with the outputs checked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
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
const Refusal kRefusals[] = {
    {"transpose_conv_input_zero_point_out_of_range.tflite",
     "int8 input zero point 2^31-1: signed overflow in the TRANSPOSE_CONV kernel",
     "operator 0 (TRANSPOSE_CONV)"},
    {"depthwise_conv_bias_shorter_than_channels.tflite",
     "4 bias values for 1000 channels: heap-buffer-overflow in the DEPTHWISE_CONV_2D kernel",
     "operator 2 (DEPTHWISE_CONV_2D)"},
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
     "operator 1 (STRIDED_SLICE)"},
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
  std::set<std::string> listed = {"leaky_relu_huge_alpha.tflite", "relu6_tiny_output_scale.tflite",
                                  "fully_connected_int16_extreme_multiplier.tflite",
                                  "transpose_conv_int16_extreme_multiplier.tflite",
                                  "softmax_int8_long_row_of_equal_values.tflite"};
  for (const Refusal& r : kRefusals) listed.insert(r.file);
  std::set<std::string> present;
  for (const auto& entry : fs::directory_iterator(kDirectory)) {
    if (entry.path().extension() == ".tflite") present.insert(entry.path().filename().string());
  }
  EXPECT_EQ(present, listed);
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

TEST(FuzzRegressions, LeakyReluWithHugeAlphaSaturates) {
  // Operator 8: LEAKY_RELU with alpha 1e10 on the int8 input (zero point 0) into output 4
  // (zero point -128, half the input's scale). Negative values times alpha saturated the
  // rescaling, and adding the zero point overflowed; they must clamp to -128 instead, while
  // the others are doubled.
  const PipelineResult result =
      run_pipeline(read_bytes(kDirectory / "leaky_relu_huge_alpha.tflite"));
  ASSERT_EQ(result.outcome, PipelineOutcome::Generated);
  const std::vector<int8_t> input = as_int8(result.inputs.at(0));
  const std::vector<int8_t> output = as_int8(result.outputs.at(4));
  ASSERT_EQ(input.size(), 128u);
  ASSERT_EQ(output.size(), input.size());
  int negative = 0;
  for (size_t i = 0; i < input.size(); ++i) {
    const int expected = input[i] < 0 ? -128 : -128 + 2 * input[i];
    EXPECT_EQ(output[i], expected) << "element " << i << ", input " << int{input[i]};
    negative += input[i] < 0 ? 1 : 0;
  }
  EXPECT_GT(negative, 0);
}

TEST(FuzzRegressions, Relu6WithTinyOutputScaleSaturates) {
  // Operator 4: RELU6 of int16 input 1 (requantized, sign kept) into output 3 with scale 1e-10:
  // 6.0 / scale overflowed the int32 clamp bound. Positive values saturate at 32767.
  const PipelineResult result =
      run_pipeline(read_bytes(kDirectory / "relu6_tiny_output_scale.tflite"));
  ASSERT_EQ(result.outcome, PipelineOutcome::Generated);
  const std::vector<int16_t> input = as_int16(result.inputs.at(1));
  const std::vector<int16_t> output = as_int16(result.outputs.at(3));
  ASSERT_EQ(input.size(), 4u * 5 * 11000);
  ASSERT_EQ(output.size(), input.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < input.size(); ++i) {
    mismatches += output[i] != (input[i] > 0 ? 32767 : 0) ? 1u : 0u;
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_TRUE(std::count(output.begin(), output.end(), int16_t{32767}) > 0);
}

TEST(FuzzRegressions, Int16FullyConnectedWithExtremeMultiplierSaturates) {
  // Operator 1: 16x8 FULLY_CONNECTED with RELU into output 1, whose scale is FLT_MIN: the
  // rescaling shift left the range of the 64-bit rescaling (a negative shift count). Every sum
  // is far beyond the int16 range in real terms: positive ones saturate, RELU clamps the rest.
  const PipelineResult result =
      run_pipeline(read_bytes(kDirectory / "fully_connected_int16_extreme_multiplier.tflite"));
  ASSERT_EQ(result.outcome, PipelineOutcome::Generated);
  const std::vector<int16_t> output = as_int16(result.outputs.at(1));
  ASSERT_EQ(output.size(), 8u);
  for (const int16_t value : output) EXPECT_TRUE(value == 0 || value == 32767) << value;
  EXPECT_GT(std::count(output.begin(), output.end(), int16_t{32767}), 0);
}

TEST(FuzzRegressions, Int16TransposeConvWithExtremeChannelScaleSaturates) {
  // Operator 1: 16x8 TRANSPOSE_CONV into output 2 ([1, 10, 10, 3]) whose weights' channel 2 has
  // scale 1e30 (the others are ordinary). Channel 2 saturates to the int16 range (or stays 0
  // where nothing was added); it used to take a negative shift count.
  const PipelineResult result =
      run_pipeline(read_bytes(kDirectory / "transpose_conv_int16_extreme_multiplier.tflite"));
  ASSERT_EQ(result.outcome, PipelineOutcome::Generated);
  const std::vector<int16_t> output = as_int16(result.outputs.at(2));
  ASSERT_EQ(output.size(), 300u);
  size_t saturated = 0;
  size_t ordinary = 0;
  for (size_t i = 0; i < output.size(); ++i) {
    const int16_t value = output[i];
    if (i % 3 == 2) {
      EXPECT_TRUE(value == -32768 || value == 0 || value == 32767) << "element " << i;
      saturated += value != 0 ? 1u : 0u;
    } else {
      ordinary += value != -32768 && value != 32767 ? 1u : 0u;
    }
  }
  EXPECT_GT(saturated, 0u);
  EXPECT_GT(ordinary, 0u);
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

}  // namespace
}  // namespace tinydeploy::fuzz
