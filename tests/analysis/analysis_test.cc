#include "tinydeploy/analysis/analysis.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "analysis/planned.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/model/reader.h"
#include "tinydeploy/model/resource_variables.h"

namespace tinydeploy::analysis {
namespace {

using model::BuiltinOp;
using model::DType;
using ::testing::HasSubstr;

// Builds single-operator models in memory: tensors are added in order, constants get bytes.
class GraphBuilder {
 public:
  GraphBuilder() {
    model_.path = "built.tflite";
    model_.subgraphs.emplace_back();
  }

  int32_t tensor(std::vector<int32_t> shape, DType type = DType::Int8) {
    model::Tensor tensor;
    tensor.name = "t" + std::to_string(graph().tensors.size());
    tensor.shape = std::move(shape);
    tensor.dtype = type;
    graph().tensors.push_back(std::move(tensor));
    return static_cast<int32_t>(graph().tensors.size() - 1);
  }

  int32_t constant(std::vector<int32_t> shape, DType type = DType::Int8) {
    const int32_t index = tensor(std::move(shape), type);
    model::Tensor& t = graph().tensors[static_cast<size_t>(index)];
    t.data = model::ByteRange{model_.file.size(), static_cast<uint64_t>(t.bytes())};
    model_.file.resize(model_.file.size() + static_cast<size_t>(t.bytes()));
    return index;
  }

  int32_t int32_values(const std::vector<int32_t>& values) {
    const int32_t index = constant({static_cast<int32_t>(values.size())}, DType::Int32);
    std::memcpy(model_.file.data() + graph().tensors[static_cast<size_t>(index)].data->offset,
                values.data(), values.size() * 4);
    return index;
  }

  void op(BuiltinOp code, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
          model::Options options = {}) {
    model::Operator op;
    op.op = code;
    op.inputs = std::move(inputs);
    op.outputs = std::move(outputs);
    op.options = std::move(options);
    graph().operators.push_back(std::move(op));
  }

  model::Model& finish(std::vector<int32_t> inputs, std::vector<int32_t> outputs) {
    graph().inputs = std::move(inputs);
    graph().outputs = std::move(outputs);
    return model_;
  }

 private:
  model::Subgraph& graph() { return model_.subgraphs[0]; }
  model::Model model_;
};

std::string analysis_error(const model::Model& model) {
  try {
    planned(model);
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

model::Model conv_model(std::vector<int32_t> output_shape, model::Conv2DOptions options) {
  GraphBuilder b;
  const int32_t input = b.tensor({1, 10, 10, 3});
  const int32_t filter = b.constant({8, 3, 3, 3});
  const int32_t bias = b.constant({8}, DType::Int32);
  const int32_t output = b.tensor(std::move(output_shape));
  b.op(BuiltinOp::CONV_2D, {input, filter, bias}, {output}, options);
  return b.finish({input}, {output});
}

TEST(AnalysisTest, ConvSamePadding) {
  // SAME: ceil(10 / 2) = 5. MACs: 1*5*5*8 outputs x 3*3*3 products = 5400.
  const auto model = conv_model({1, 5, 5, 8}, {model::Padding::Same, 2, 2});
  const ModelAnalysis analysis = planned(model);
  ASSERT_EQ(analysis.layers.size(), 1u);
  EXPECT_TRUE(analysis.layers[0].shape_checked);
  EXPECT_EQ(analysis.layers[0].macs, 5400);
  EXPECT_EQ(analysis.layers[0].weight_bytes, 8 * 27 + 8 * 4);
  EXPECT_EQ(analysis.layers[0].activation_read_bytes, 300);
  EXPECT_EQ(analysis.layers[0].activation_write_bytes, 200);
  EXPECT_EQ(analysis.parameter_bytes, 8 * 27 + 8 * 4);
  // Input (300 -> 304 aligned) and output (200 -> 208) are live together.
  EXPECT_EQ(analysis.plan.lower_bound_bytes, 304 + 208);
  EXPECT_EQ(analysis.plan.arena_bytes, 304 + 208);
}

TEST(AnalysisTest, ConvValidPaddingWithDilation) {
  // VALID with dilation 2: effective filter 5, (10 - 5 + 2) / 2 = 3.
  const auto model =
      conv_model({1, 3, 3, 8}, {model::Padding::Valid, 2, 2, model::Activation::Relu, 2, 2});
  EXPECT_EQ(planned(model).layers[0].macs, 3 * 3 * 8 * 27);
}

TEST(AnalysisTest, StoredShapeMustMatchDerivedShape) {
  const auto model = conv_model({1, 6, 5, 8}, {model::Padding::Same, 2, 2});
  EXPECT_THAT(analysis_error(model),
              HasSubstr("built.tflite: operator 0 (CONV_2D): output 0 't3' is stored with shape "
                        "[1, 6, 5, 8], but its inputs and options give [1, 5, 5, 8]"));
}

TEST(AnalysisTest, ZeroStrideIsAnError) {
  const auto model = conv_model({1, 5, 5, 8}, {model::Padding::Same, 0, 2});
  EXPECT_THAT(analysis_error(model),
              HasSubstr("operator 0 (CONV_2D): stride 0 must be at least 1"));
}

TEST(AnalysisTest, DepthwiseWithMultiplier) {
  GraphBuilder b;
  const int32_t input = b.tensor({1, 8, 8, 4});
  const int32_t filter = b.constant({1, 3, 3, 8});
  const int32_t output = b.tensor({1, 8, 8, 8});
  b.op(BuiltinOp::DEPTHWISE_CONV_2D, {input, filter, model::kNoTensor}, {output},
       model::DepthwiseConv2DOptions{model::Padding::Same, 1, 1, 2});
  const auto analysis = planned(b.finish({input}, {output}));
  EXPECT_EQ(analysis.layers[0].macs, 8 * 8 * 8 * 9);
}

TEST(AnalysisTest, FullyConnectedKeepNumDims) {
  GraphBuilder b;
  const int32_t input = b.tensor({2, 3, 16}, DType::Float32);
  const int32_t weights = b.constant({10, 16}, DType::Float32);
  const int32_t output = b.tensor({2, 3, 10}, DType::Float32);
  model::FullyConnectedOptions options;
  options.keep_num_dims = true;
  b.op(BuiltinOp::FULLY_CONNECTED, {input, weights}, {output}, options);
  const auto analysis = planned(b.finish({input}, {output}));
  EXPECT_EQ(analysis.layers[0].macs, 2 * 3 * 10 * 16);
}

TEST(AnalysisTest, FullyConnectedFlattensWithoutKeepNumDims) {
  GraphBuilder b;
  const int32_t input = b.tensor({2, 3, 16});
  const int32_t weights = b.constant({10, 16});
  const int32_t output = b.tensor({2, 3, 10});  // should be [6, 10]
  b.op(BuiltinOp::FULLY_CONNECTED, {input, weights}, {output}, model::FullyConnectedOptions{});
  EXPECT_THAT(analysis_error(b.finish({input}, {output})), HasSubstr("give [6, 10]"));
}

TEST(AnalysisTest, BroadcastingAdd) {
  GraphBuilder b;
  const int32_t lhs = b.tensor({1, 4, 1, 3});
  const int32_t rhs = b.tensor({5, 1});
  const int32_t output = b.tensor({1, 4, 5, 3});
  b.op(BuiltinOp::ADD, {lhs, rhs}, {output}, model::ArithmeticOptions{});
  const auto analysis = planned(b.finish({lhs, rhs}, {output}));
  EXPECT_TRUE(analysis.layers[0].shape_checked);
  EXPECT_EQ(analysis.layers[0].macs, 0);
  EXPECT_EQ(analysis.layers[0].output_elements, 60);
}

TEST(AnalysisTest, IncompatibleBroadcastIsAnError) {
  GraphBuilder b;
  const int32_t lhs = b.tensor({1, 4, 3});
  const int32_t rhs = b.tensor({2, 3});
  const int32_t output = b.tensor({1, 4, 3});
  b.op(BuiltinOp::MUL, {lhs, rhs}, {output}, model::ArithmeticOptions{});
  EXPECT_THAT(analysis_error(b.finish({lhs, rhs}, {output})),
              HasSubstr("shapes [1, 4, 3] and [2, 3] cannot be broadcast together"));
}

TEST(AnalysisTest, ReshapeInfersMinusOne) {
  GraphBuilder b;
  const int32_t input = b.tensor({1, 6, 4});
  const int32_t shape = b.int32_values({-1, 8});
  const int32_t output = b.tensor({3, 8});
  b.op(BuiltinOp::RESHAPE, {input, shape}, {output});
  EXPECT_TRUE(planned(b.finish({input}, {output})).layers[0].shape_checked);
}

TEST(AnalysisTest, PadAndMeanFromConstantOperands) {
  GraphBuilder b;
  const int32_t input = b.tensor({1, 4, 4, 2});
  const int32_t paddings = b.constant({4, 2}, DType::Int32);  // all zero: no padding
  const int32_t padded = b.tensor({1, 4, 4, 2});
  const int32_t axes = b.int32_values({1, 2});
  const int32_t mean = b.tensor({1, 1, 1, 2});
  b.op(BuiltinOp::PAD, {input, paddings}, {padded});
  b.op(BuiltinOp::MEAN, {padded, axes}, {mean}, model::ReducerOptions{true});
  const auto analysis = planned(b.finish({input}, {mean}));
  EXPECT_EQ(analysis.unchecked_layers, 0);
}

TEST(AnalysisTest, UnknownOperatorsAreCountedNotChecked) {
  GraphBuilder b;
  const int32_t input = b.tensor({4});
  const int32_t output = b.tensor({7});
  b.op(BuiltinOp::CUSTOM, {input}, {output});
  const auto analysis = planned(b.finish({input}, {output}));
  EXPECT_FALSE(analysis.layers[0].shape_checked);
  EXPECT_EQ(analysis.unchecked_layers, 1);
  EXPECT_EQ(analysis.layers[0].output_elements, 7);
}

TEST(AnalysisTest, VariableTensorsLiveInTheirOwnArena) {
  GraphBuilder b;
  const int32_t input = b.tensor({1, 16});
  const int32_t state = b.tensor({1, 40});
  const int32_t output = b.tensor({1, 16});
  b.op(BuiltinOp::ADD, {input, input}, {output}, model::ArithmeticOptions{});
  model::Model& model = b.finish({input}, {output});
  model.subgraphs[0].tensors[static_cast<size_t>(state)].is_variable = true;
  model.subgraphs[0].operators[0].inputs.push_back(state);
  const auto analysis = planned(model);
  EXPECT_EQ(analysis.plan.variable_arena_bytes, 48);
  ASSERT_EQ(analysis.plan.variables.size(), 1u);
  EXPECT_EQ(analysis.plan.variables[0].tensor, state);
  EXPECT_EQ(analysis.plan.find_tensor(state), nullptr);
  EXPECT_EQ(analysis.plan.arena_bytes, 32);
}

TEST(AnalysisTest, ResourceVariablesAreSizedFromTheirAssignments) {
  GraphBuilder b;
  const int32_t handle = b.tensor({}, DType::Resource);
  const int32_t value = b.constant({10, 3}, DType::Float32);
  b.op(BuiltinOp::VAR_HANDLE, {}, {handle}, model::VarHandleOptions{"", "counter"});
  b.op(BuiltinOp::ASSIGN_VARIABLE, {handle, value}, {});
  // As the reader leaves it: the resource became a variable tensor of the entry subgraph.
  model::Model model = b.finish({}, {});
  model::resolve_resource_variables(model);
  ASSERT_TRUE(model.unresolved_state.empty()) << model.unresolved_state;
  const auto analysis = planned(model);
  ASSERT_EQ(analysis.plan.variables.size(), 1u);
  EXPECT_EQ(analysis.plan.variables[0].size, 120);
  EXPECT_EQ(analysis.plan.variable_arena_bytes, 128);
}

TEST(AnalysisTest, UnresolvedResourceVariablesAreStillSized) {
  // A resource the reader could not resolve (never read, here by fiat) is listed and sized from
  // its ASSIGN_VARIABLE value, though no kernel runs it.
  GraphBuilder b;
  const int32_t handle = b.tensor({}, DType::Resource);
  const int32_t value = b.constant({10, 3}, DType::Float32);
  b.op(BuiltinOp::VAR_HANDLE, {}, {handle}, model::VarHandleOptions{"", "counter"});
  b.op(BuiltinOp::ASSIGN_VARIABLE, {handle, value}, {});
  model::Model model = b.finish({}, {});
  model.unresolved_state = "test";
  const auto analysis = planned(model);
  ASSERT_EQ(analysis.plan.variables.size(), 1u);
  EXPECT_EQ(analysis.plan.variables[0].name, "/counter");
  EXPECT_EQ(analysis.plan.variables[0].size, 120);
  EXPECT_EQ(analysis.plan.variable_arena_bytes, 128);
}

int64_t total_macs(const std::string& name) {
  const auto path = std::filesystem::path(TINYDEPLOY_SHARED_DIR) / "models" / name;
  return planned(model::read_model(path)).total_macs;
}

// MAC totals computed by hand from the layer shapes of each network.
TEST(AnalysisTest, AnomalyDetectionAutoencoderMacs) {
  // Dense 640->128, 3x 128->128, 128->8, 8->128, 3x 128->128, 128->640.
  const int64_t expected =
      640 * 128 + 3 * 128 * 128 + 128 * 8 + 8 * 128 + 3 * 128 * 128 + 128 * 640;
  EXPECT_EQ(expected, 264192);
  EXPECT_EQ(total_macs("ad01_int8.tflite"), expected);
  EXPECT_EQ(total_macs("ad01_fp32.tflite"), expected);
  EXPECT_EQ(total_macs("model_ToyCar_quant_fullint_micro.tflite"), expected);
}

TEST(AnalysisTest, KeywordSpottingDsCnnMacs) {
  // Conv 10x4 stride 2 on 49x10x1 -> 25x5x64; 4x (depthwise 3x3 + pointwise 64->64); FC 64->12.
  const int64_t outputs = 25 * 5 * 64;
  const int64_t expected = outputs * 10 * 4 * 1 + 4 * (outputs * 9 + outputs * 64) + 12 * 64;
  EXPECT_EQ(expected, 2656768);
  EXPECT_EQ(total_macs("kws_ref_model.tflite"), expected);
  EXPECT_EQ(total_macs("kws_ref_model_float32.tflite"), expected);
}

TEST(AnalysisTest, ResNet8Macs) {
  // CIFAR-10 32x32x3. Conv 3x3 3->16; stack 1: 2x conv 3x3 16->16 at 32x32; stack 2: conv 3x3
  // stride 2 16->32, conv 3x3 32->32, shortcut 1x1 16->32, all at 16x16; stack 3: same with
  // 32->64 at 8x8; dense 64->10.
  const int64_t expected = 32 * 32 * 16 * 27 + 2 * (32 * 32 * 16 * 144) +
                           (16 * 16 * 32) * (144 + 288 + 16) + (8 * 8 * 64) * (288 + 576 + 32) +
                           10 * 64;
  EXPECT_EQ(expected, 12501632);
  EXPECT_EQ(total_macs("pretrainedResnet_quant.tflite"), expected);
  EXPECT_EQ(total_macs("pretrainedResnet.tflite"), expected);
}

TEST(AnalysisTest, VisualWakeWordsMobileNetMacs) {
  // MobileNet v1 0.25 on 96x96x3: conv 3x3 stride 2 -> 48x48x8, then 13 depthwise-separable
  // blocks (depthwise 3x3 + pointwise) and a dense 256->2.
  const auto block = [](int64_t side, int64_t in, int64_t out) {
    return side * side * in * 9 + side * side * out * in;  // depthwise at output size + pointwise
  };
  const int64_t expected = 48 * 48 * 8 * 27 + block(48, 8, 16) + block(24, 16, 32) +
                           block(24, 32, 32) + block(12, 32, 64) + block(12, 64, 64) +
                           block(6, 64, 128) + 5 * block(6, 128, 128) + block(3, 128, 256) +
                           block(3, 256, 256) + 2 * 256;
  EXPECT_EQ(expected, 7489664);
  EXPECT_EQ(total_macs("vww_96_int8.tflite"), expected);
  EXPECT_EQ(total_macs("vww_96_float.tflite"), expected);
}

TEST(AnalysisTest, StridedSliceWithMasks) {
  // Input [4, 10, 6]. Axis 0: begin_mask -> 0, end 3, stride 1 -> 3. Axis 1: begin -1 -> 9,
  // end_mask with stride -2 -> stop -1: elements 9, 7, 5, 3, 1 -> 5. Axis 2: shrunk at index 2.
  GraphBuilder b;
  const int32_t input = b.tensor({4, 10, 6});
  const int32_t begin = b.int32_values({0, -1, 2});
  const int32_t end = b.int32_values({3, 0, 3});
  const int32_t strides = b.int32_values({1, -2, 1});
  const int32_t output = b.tensor({3, 5});
  model::StridedSliceOptions options;
  options.begin_mask = 0b001;
  options.end_mask = 0b010;
  options.shrink_axis_mask = 0b100;
  b.op(BuiltinOp::STRIDED_SLICE, {input, begin, end, strides}, {output}, options);
  const auto analysis = planned(b.finish({input}, {output}));
  EXPECT_TRUE(analysis.layers[0].shape_checked);
}

TEST(AnalysisTest, StridedSliceMismatchIsReported) {
  GraphBuilder b;
  const int32_t input = b.tensor({8});
  const int32_t begin = b.int32_values({1});
  const int32_t end = b.int32_values({8});
  const int32_t strides = b.int32_values({3});
  const int32_t output = b.tensor({2});  // 1, 4, 7 -> 3 elements
  b.op(BuiltinOp::STRIDED_SLICE, {input, begin, end, strides}, {output},
       model::StridedSliceOptions{});
  EXPECT_THAT(analysis_error(b.finish({input}, {output})), HasSubstr("give [3]"));
}

TEST(AnalysisTest, SplitPackUnpackGather) {
  GraphBuilder b;
  const int32_t input = b.tensor({2, 6, 3});
  const int32_t axis = b.int32_values({1});
  const int32_t first = b.tensor({2, 3, 3});
  const int32_t second = b.tensor({2, 3, 3});
  b.op(BuiltinOp::SPLIT, {axis, input}, {first, second}, model::SplitOptions{2});
  const int32_t packed = b.tensor({2, 2, 3, 3});
  b.op(BuiltinOp::PACK, {first, second}, {packed}, model::PackOptions{2, 1});
  const int32_t row0 = b.tensor({2, 2, 3});
  const int32_t row1 = b.tensor({2, 2, 3});
  const int32_t row2 = b.tensor({2, 2, 3});
  b.op(BuiltinOp::UNPACK, {packed}, {row0, row1, row2}, model::UnpackOptions{3, 2});
  const int32_t indices = b.tensor({4, 5}, DType::Int32);
  const int32_t gathered = b.tensor({2, 4, 5, 3});
  b.op(BuiltinOp::GATHER, {row0, indices}, {gathered}, model::GatherOptions{1, 0});
  const auto analysis = planned(b.finish({input, indices}, {gathered, row1, row2}));
  EXPECT_EQ(analysis.unchecked_layers, 0);
}

TEST(AnalysisTest, EverySharedModelAnalyses) {
  for (const char* folder : {"models", "golden/seanet/add", "golden/seanet/conv",
                             "golden/seanet/pad", "golden/seanet/quantize"}) {
    for (const auto& entry : std::filesystem::directory_iterator(
             std::filesystem::path(TINYDEPLOY_SHARED_DIR) / folder)) {
      if (entry.path().extension() != ".tflite") continue;
      SCOPED_TRACE(entry.path().string());
      const ModelAnalysis analysis = planned(model::read_model(entry.path()));
      EXPECT_GT(analysis.plan.arena_bytes, 0);
      EXPECT_GE(analysis.plan.arena_bytes, analysis.plan.lower_bound_bytes);
      EXPECT_EQ(analysis.unchecked_layers, 0);
    }
  }
}

}  // namespace
}  // namespace tinydeploy::analysis
