// Int4 weights unpacked ahead of time (model::unpack_int4_weights): the nibble order, the sign
// extension, an odd count, and the readers TensorFlow Lite Micro refuses int4 for.
#include "tinydeploy/model/int4_weights.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace tinydeploy::model {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// input (int8) -> `op` with weights tensor 1: five int4 values packed in three bytes.
Model model_with(BuiltinOp op, DType activations) {
  Model model;
  model.file = {0x00, 0x7F, 0x8F, 0x01, 0xAB};  // the weights are bytes 1..3
  Subgraph graph;
  Tensor input;
  input.dtype = activations;
  input.shape = {1, 5};
  Tensor weights;
  weights.name = "w";
  weights.dtype = DType::Int4;
  weights.shape = {1, 5};
  weights.data = ByteRange{1, 3};
  Tensor output;
  output.dtype = activations;
  output.shape = {1, 1};
  graph.tensors = {input, weights, output};
  graph.inputs = {0};
  graph.outputs = {2};
  Operator o;
  o.op = op;
  o.inputs = {0, 1};
  o.outputs = {2};
  graph.operators = {o};
  model.subgraphs = {graph};
  return model;
}

std::vector<int8_t> weights_of(const Model& model) {
  const std::span<const uint8_t> bytes = model.data(model.main().tensors[1]);
  return {bytes.begin(), bytes.end()};
}

TEST(Int4Weights, LowNibbleFirstSignExtendedOddCount) {
  for (const BuiltinOp op :
       {BuiltinOp::CONV_2D, BuiltinOp::DEPTHWISE_CONV_2D, BuiltinOp::FULLY_CONNECTED}) {
    Model model = model_with(op, DType::Int8);
    unpack_int4_weights(model);
    const Tensor& weights = model.main().tensors[1];
    EXPECT_EQ(weights.dtype, DType::Int8);
    // 0x7F -> 15 = -1, then 7; 0x8F -> -1, then 8 = -8; 0x01 -> 1 (its high nibble is padding).
    EXPECT_THAT(weights_of(model), ElementsAre(-1, 7, -1, -8, 1));
    ASSERT_EQ(model.reader_notes.size(), 1u);
    EXPECT_THAT(model.reader_notes[0], HasSubstr("tensor 1 ('w'): 5 int4 weights unpacked"));
    // The file is untouched: its hash still names the model.
    EXPECT_THAT(model.file, ElementsAre(0x00, 0x7F, 0x8F, 0x01, 0xAB));
  }
}

TEST(Int4Weights, LeftAsTheyAreWhereTfliteMicroRefusesThem) {
  // 16x8 and float activations, another operator, per-channel FULLY_CONNECTED weights, weights
  // that are also a model output, and an int4 tensor that is not constant.
  std::vector<Model> models;
  models.push_back(model_with(BuiltinOp::CONV_2D, DType::Int16));
  models.push_back(model_with(BuiltinOp::DEPTHWISE_CONV_2D, DType::Float32));
  models.push_back(model_with(BuiltinOp::TRANSPOSE_CONV, DType::Int8));
  models.push_back(model_with(BuiltinOp::FULLY_CONNECTED, DType::Int8));
  models.back().subgraphs[0].tensors[1].quantization.scale = {0.5f, 0.25f};
  models.push_back(model_with(BuiltinOp::CONV_2D, DType::Int8));
  models.back().subgraphs[0].outputs.push_back(1);
  models.push_back(model_with(BuiltinOp::CONV_2D, DType::Int8));
  models.back().subgraphs[0].tensors[1].data.reset();
  for (Model& model : models) {
    unpack_int4_weights(model);
    EXPECT_EQ(model.main().tensors[1].dtype, DType::Int4);
    EXPECT_TRUE(model.reader_notes.empty());
    EXPECT_TRUE(model.unpacked.empty());
  }
}

}  // namespace
}  // namespace tinydeploy::model
