#include "tinydeploy/model/reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "model/model_builder.h"
#include "tinydeploy/common/error.h"

namespace tinydeploy::model {
namespace {

using testing::file_bytes;
using ::testing::HasSubstr;
using testing::pack;
using testing::shared_model;
using testing::unpack;

// The message parse_model throws for `bytes`, or "" if the model loads.
std::string parse_error(std::vector<uint8_t> bytes) {
  try {
    parse_model(std::move(bytes), "test.tflite");
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(ReaderTest, ReadsEverySharedModel) {
  std::vector<std::filesystem::path> models;
  for (const char* folder : {"models", "golden/seanet/add", "golden/seanet/conv",
                             "golden/seanet/pad", "golden/seanet/quantize"}) {
    for (const auto& entry : std::filesystem::directory_iterator(
             std::filesystem::path(TINYDEPLOY_SHARED_DIR) / folder)) {
      if (entry.path().extension() == ".tflite") models.push_back(entry.path());
    }
  }
  ASSERT_GE(models.size(), 60u);
  for (const auto& path : models) {
    SCOPED_TRACE(path.string());
    const Model model = read_model(path);
    EXPECT_FALSE(model.main().operators.empty());
    EXPECT_FALSE(model.main().inputs.empty());
  }
}

TEST(ReaderTest, KeywordSpottingModelFacts) {
  const Model model = read_model(shared_model("kws_ref_model.tflite"));
  const Subgraph& graph = model.main();
  EXPECT_EQ(model.schema_version, 3u);
  EXPECT_EQ(graph.tensors.size(), 35u);
  ASSERT_EQ(graph.operators.size(), 13u);

  const Tensor& input = graph.tensors[static_cast<size_t>(graph.inputs.at(0))];
  EXPECT_EQ(input.shape, (std::vector<int32_t>{1, 49, 10, 1}));
  EXPECT_EQ(input.dtype, DType::Int8);
  ASSERT_EQ(input.quantization.scale.size(), 1u);
  EXPECT_FLOAT_EQ(input.quantization.scale[0], 0.584702909f);
  EXPECT_EQ(input.quantization.zero_point[0], 83);

  const Tensor& output = graph.tensors[static_cast<size_t>(graph.outputs.at(0))];
  EXPECT_EQ(output.shape, (std::vector<int32_t>{1, 12}));
  EXPECT_FLOAT_EQ(output.quantization.scale[0], 1.0f / 256);
  EXPECT_EQ(output.quantization.zero_point[0], -128);

  const Operator& first = graph.operators[0];
  EXPECT_EQ(first.op, BuiltinOp::CONV_2D);
  EXPECT_EQ(first.name(), "CONV_2D");
  const auto& conv = std::get<Conv2DOptions>(first.options);
  EXPECT_EQ(conv.stride_h, 2);
  EXPECT_EQ(conv.stride_w, 2);
  EXPECT_EQ(conv.padding, Padding::Same);
  EXPECT_EQ(conv.activation, Activation::Relu);

  // Conv weights: 64 filters of 10x4x1, int8, per-channel along dimension 0.
  const Tensor& weights = graph.tensors[static_cast<size_t>(first.inputs[1])];
  EXPECT_EQ(weights.shape, (std::vector<int32_t>{64, 10, 4, 1}));
  EXPECT_TRUE(weights.is_constant());
  EXPECT_EQ(model.data(weights).size(), 64u * 10 * 4);
  EXPECT_TRUE(weights.quantization.is_per_channel());
  EXPECT_EQ(weights.quantization.scale.size(), 64u);
  EXPECT_EQ(weights.quantization.quantized_dimension, 0);
  EXPECT_EQ(graph.operators.back().op, BuiltinOp::SOFTMAX);
}

TEST(ReaderTest, FileErrorsAreOneClearMessage) {
  const auto message = [](const std::filesystem::path& path) {
    try {
      read_model(path);
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string();
  };
  const auto dir = std::filesystem::temp_directory_path() / "tinydeploy_reader_test";
  std::filesystem::create_directories(dir);
  EXPECT_THAT(message(dir), HasSubstr("is a directory"));
  EXPECT_THAT(message(dir / "missing.tflite"), HasSubstr("no such file"));
  const auto empty = dir / "empty.tflite";
  std::ofstream(empty).close();
  EXPECT_THAT(message(empty), HasSubstr("the file is empty"));
}

TEST(ReaderTest, AValidModelWithAnotherIdentifierIsReadWithANote) {
  // TFLite Micro never looks at the identifier; the structure decides.
  auto bytes = file_bytes(shared_model("ad01_int8.tflite"));
  bytes[4] = 'X';
  const Model model = parse_model(bytes, "renamed.tflite");
  ASSERT_FALSE(model.reader_notes.empty());
  EXPECT_THAT(model.reader_notes[0], HasSubstr("the file identifier is 'XFL3', not 'TFL3'"));
  EXPECT_EQ(model.main().operators.size(),
            parse_model(file_bytes(shared_model("ad01_int8.tflite")), "ad01_int8.tflite")
                .main()
                .operators.size());
}

TEST(ReaderTest, RejectsNonModelsAndTinyFiles) {
  std::vector<uint8_t> text(64, 'a');
  EXPECT_THAT(parse_error(text), HasSubstr("not a TFLite model (file identifier is 'aaaa'"));
  EXPECT_THAT(parse_error({1, 2, 3}), HasSubstr("too small"));
  EXPECT_THAT(parse_error({}), HasSubstr("empty"));
}

TEST(ReaderTest, TruncatedFilesNeverLoad) {
  const auto bytes = file_bytes(shared_model("kws_ref_model.tflite"));
  std::mt19937 random(7);
  for (int i = 0; i < 300; ++i) {
    const size_t length = std::uniform_int_distribution<size_t>(8, bytes.size() - 1)(random);
    const std::string error =
        parse_error(std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(length)));
    EXPECT_FALSE(error.empty()) << "a file truncated to " << length << " bytes loaded";
  }
}

TEST(ReaderTest, BitFlipsLoadOrFailCleanly) {
  // Each flipped file either still describes a valid model or is refused with an Error; any
  // other exception, crash or sanitizer report fails the test.
  const auto original = file_bytes(shared_model("kws_ref_model.tflite"));
  std::mt19937 random(11);
  int refused = 0;
  for (int i = 0; i < 1500; ++i) {
    auto bytes = original;
    for (int flips = 0; flips < 4; ++flips) {
      const size_t at = std::uniform_int_distribution<size_t>(0, bytes.size() - 1)(random);
      bytes[at] ^= static_cast<uint8_t>(1u << std::uniform_int_distribution<int>(0, 7)(random));
    }
    if (!parse_error(std::move(bytes)).empty()) ++refused;
  }
  EXPECT_GT(refused, 0);
}

class EditedModelTest : public ::testing::Test {
 protected:
  void SetUp() override { model_ = unpack(file_bytes(shared_model("kws_ref_model.tflite"))); }
  tflite::SubGraphT& graph() { return *model_->subgraphs[0]; }
  std::string error() { return parse_error(pack(*model_)); }

  std::unique_ptr<tflite::ModelT> model_;
};

TEST_F(EditedModelTest, UneditedModelLoads) { EXPECT_EQ(error(), ""); }

TEST_F(EditedModelTest, OperatorInputOutOfRange) {
  graph().operators[3]->inputs[0] = 250;
  EXPECT_THAT(error(), HasSubstr("subgraph 0, operator 3 (DEPTHWISE_CONV_2D): input 0 refers to "
                                 "tensor 250 but the subgraph has 35 tensors"));
}

TEST_F(EditedModelTest, NegativeOutputIndex) {
  graph().operators[2]->outputs[0] = -1;
  EXPECT_THAT(error(), HasSubstr("operator 2 (CONV_2D): output 0 refers to tensor -1"));
}

TEST_F(EditedModelTest, OpcodeIndexOutOfRange) {
  graph().operators[5]->opcode_index = 40;
  EXPECT_THAT(error(), HasSubstr("subgraph 0, operator 5: refers to operator code 40 but the "
                                 "model has 6 operator codes"));
}

TEST_F(EditedModelTest, BufferIndexOutOfRange) {
  graph().tensors[7]->buffer = 100000;
  EXPECT_THAT(error(), HasSubstr("tensor 7"));
  EXPECT_THAT(error(), HasSubstr("refers to buffer 100000"));
}

TEST_F(EditedModelTest, AbsurdShapeIsRefused) {
  const int32_t input = graph().inputs[0];
  graph().tensors[static_cast<size_t>(input)]->shape = {1 << 20, 1 << 20, 8, 1};
  EXPECT_THAT(error(), HasSubstr("more than a 32-bit target can address"));
}

TEST_F(EditedModelTest, OverflowingShapeIsRefused) {
  graph().tensors[static_cast<size_t>(graph().inputs[0])]->shape = {1 << 30, 1 << 30, 1 << 30, 1};
  EXPECT_THAT(error(), HasSubstr("overflows"));
}

TEST_F(EditedModelTest, NegativeDimensionIsRefused) {
  graph().tensors[static_cast<size_t>(graph().inputs[0])]->shape = {1, -49, 10, 1};
  EXPECT_THAT(error(), HasSubstr("negative dimension"));
}

TEST_F(EditedModelTest, ConstantSizeMustMatchShape) {
  const int32_t weights = graph().operators[0]->inputs[1];
  graph().tensors[static_cast<size_t>(weights)]->shape = {64, 10, 4, 2};
  EXPECT_THAT(error(), HasSubstr(fmt::format("tensor {}", weights)));
  EXPECT_THAT(error(), HasSubstr("needs 5120 bytes but its buffer"));
}

TEST_F(EditedModelTest, ReadBeforeWriteIsACycle) {
  // Operator 1 now reads the output of operator 2, which runs after it.
  graph().operators[1]->inputs[0] = graph().operators[2]->outputs[0];
  EXPECT_THAT(error(), HasSubstr("operator 1 (DEPTHWISE_CONV_2D): reads tensor"));
  EXPECT_THAT(error(), HasSubstr("before any operator writes it"));
}

TEST_F(EditedModelTest, TensorWrittenTwice) {
  graph().operators[2]->outputs[0] = graph().operators[0]->outputs[0];
  EXPECT_THAT(error(), HasSubstr("which an earlier operator already wrote"));
}

TEST_F(EditedModelTest, PerChannelScalesMustMatchChannels) {
  const int32_t weights = graph().operators[0]->inputs[1];
  graph().tensors[static_cast<size_t>(weights)]->quantization->scale.resize(3);
  graph().tensors[static_cast<size_t>(weights)]->quantization->zero_point.resize(3);
  EXPECT_THAT(error(), HasSubstr("3 per-channel scales for 64 channels"));
}

// The conv_2d_int8 generated test model: CONV_2D with a per-channel int8 filter and bias.
class EditedConvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = unpack(
        file_bytes(std::filesystem::path(TINYDEPLOY_TEST_DATA_DIR) / "models/conv2d_int8.tflite"));
  }
  tflite::SubGraphT& graph() { return *model_->subgraphs[0]; }
  Model read() { return parse_model(pack(*model_), "edited.tflite"); }
  std::string error() { return parse_error(pack(*model_)); }
  // The bias (input 2) of the first CONV_2D.
  tflite::TensorT& bias() {
    for (const auto& op : graph().operators) {
      if (model_->operator_codes[op->opcode_index]->deprecated_builtin_code == 3) {
        return *graph().tensors[static_cast<size_t>(op->inputs[2])];
      }
    }
    throw std::logic_error("no CONV_2D");
  }

  std::unique_ptr<tflite::ModelT> model_;
};

TEST_F(EditedConvTest, RankOneBiasQuantizedAlongDimensionThreeIsReadPerChannel) {
  auto& b = bias();
  ASSERT_EQ(b.shape.size(), 1u);
  ASSERT_GT(b.quantization->scale.size(), 1u);
  b.quantization->quantized_dimension = 3;
  const Model model = read();
  ASSERT_EQ(model.reader_notes.size(), 1u);
  EXPECT_THAT(model.reader_notes[0],
              HasSubstr(fmt::format("per-channel quantization along dimension 3 of a rank-1 "
                                    "tensor is read along its only dimension ({} scales for {} "
                                    "elements)",
                                    b.shape[0], b.shape[0])));
  bool found = false;
  for (const Tensor& t : model.main().tensors) {
    if (t.name == b.name) {
      EXPECT_EQ(t.quantization.quantized_dimension, 0);
      EXPECT_EQ(t.quantization.scale.size(), static_cast<size_t>(b.shape[0]));
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(EditedConvTest, RankOneBiasWithTheWrongScaleCountIsRefused) {
  auto& b = bias();
  b.quantization->quantized_dimension = 3;
  b.quantization->scale.pop_back();
  b.quantization->zero_point.pop_back();
  EXPECT_THAT(error(), HasSubstr("per-channel quantization along dimension 3 of a rank-1 tensor"));
}

TEST_F(EditedConvTest, OneZeroPointServesEveryChannel) {
  auto& b = bias();
  b.quantization->zero_point = {0};
  const Model model = read();
  ASSERT_EQ(model.reader_notes.size(), 1u);
  EXPECT_THAT(model.reader_notes[0], HasSubstr("one zero point for"));
  b.quantization->zero_point = {0, 0};
  EXPECT_THAT(error(), HasSubstr("scales but 2 zero points"));
}

TEST_F(EditedConvTest, AnInputWithDataIsReadAsAnInputNotAConstant) {
  // The bias made a model input as well: what the caller writes is what the CONV_2D reads, so
  // nothing may treat the file's bytes as its constant value.
  const auto bias_index = [&] {
    for (size_t t = 0; t < graph().tensors.size(); ++t) {
      if (graph().tensors[t].get() == &bias()) return static_cast<int32_t>(t);
    }
    throw std::logic_error("no bias");
  }();
  graph().inputs.push_back(bias_index);
  const Model model = read();
  ASSERT_EQ(model.reader_notes.size(), 1u);
  EXPECT_THAT(
      model.reader_notes[0],
      HasSubstr(fmt::format("input 1 is tensor {} ('{}'), which holds", bias_index, bias().name)));
  EXPECT_FALSE(model.main().tensors[static_cast<size_t>(bias_index)].is_constant());
}

TEST_F(EditedConvTest, QuantizedDimensionOfAPerTensorQuantizationIsIgnored) {
  const int32_t input = graph().inputs[0];
  graph().tensors[static_cast<size_t>(input)]->quantization->quantized_dimension = 7;
  const Model model = read();
  EXPECT_TRUE(model.reader_notes.empty());
  EXPECT_EQ(model.main().tensors[static_cast<size_t>(input)].quantization.quantized_dimension, 0);
}

TEST_F(EditedConvTest, LenientReadsOfWhatTfliteMicroIgnores) {
  const int32_t input = graph().inputs[0];
  auto& in = *graph().tensors[static_cast<size_t>(input)];
  in.shape_signature = {1, 2};  // rank differs from the shape
  auto& b = bias();
  const size_t bias_bytes = model_->buffers[b.buffer]->data.size();
  model_->buffers[b.buffer]->data.resize(bias_bytes + 8, 0xAB);  // padding after the data
  tflite::SignatureDefT signature;
  signature.signature_key = "broken";
  signature.subgraph_index = 9;
  model_->signature_defs.push_back(std::make_unique<tflite::SignatureDefT>(signature));
  auto metadata = std::make_unique<tflite::MetadataT>();
  metadata->name = "extra";
  metadata->buffer = 100000;
  model_->metadata.push_back(std::move(metadata));
  const size_t signatures = model_->signature_defs.size() - 1;
  const size_t metadata_entries = model_->metadata.size() - 1;
  const Model model = read();
  ASSERT_EQ(model.reader_notes.size(), 4u);
  EXPECT_THAT(model.reader_notes[0], HasSubstr("shape_signature [1, 2] does not match shape"));
  EXPECT_THAT(model.reader_notes[1], HasSubstr(fmt::format("holds {} bytes, more than the {}",
                                                           bias_bytes + 8, bias_bytes)));
  EXPECT_THAT(model.reader_notes[2],
              HasSubstr(fmt::format("signature {} ('broken') refers to subgraph 9", signatures)));
  EXPECT_THAT(
      model.reader_notes[3],
      HasSubstr(fmt::format("metadata {} ('extra') refers to buffer 100000", metadata_entries)));
  EXPECT_TRUE(model.main().tensors[static_cast<size_t>(input)].shape_signature.empty());
  EXPECT_EQ(model.signatures.size(), signatures);
  EXPECT_EQ(model.metadata.size(), metadata_entries);
  for (const Tensor& t : model.main().tensors) {
    if (t.name == b.name) {
      EXPECT_EQ(t.data->size, bias_bytes);
    }
  }
}

TEST_F(EditedConvTest, UnknownActivationCodeIsReadAsNone) {
  for (auto& op : graph().operators) {
    if (auto* conv = op->builtin_options.AsConv2DOptions()) {
      conv->fused_activation_function = static_cast<tflite::ActivationFunctionType>(9);
      break;
    }
  }
  const Model model = read();
  ASSERT_EQ(model.reader_notes.size(), 1u);
  EXPECT_THAT(model.reader_notes[0], HasSubstr("unknown fused activation code 9 is read as none"));
}

TEST(ReaderTest, AModelWithoutBuffersHasNoConstants) {
  auto model = unpack(file_bytes(std::filesystem::path(TINYDEPLOY_TEST_DATA_DIR) /
                                 "models/pack_split_float.tflite"));
  // Every constant becomes an input, and the buffer list goes: tensors refer to buffer 0.
  auto& graph = *model->subgraphs[0];
  for (size_t i = 0; i < graph.tensors.size(); ++i) {
    if (!model->buffers[graph.tensors[i]->buffer]->data.empty()) {
      graph.inputs.push_back(static_cast<int32_t>(i));
    }
    graph.tensors[i]->buffer = 0;
  }
  model->buffers.clear();
  const Model read = parse_model(pack(*model), "no_buffers.tflite");
  for (const Tensor& t : read.main().tensors) EXPECT_FALSE(t.data.has_value());
  model->subgraphs[0]->tensors[0]->buffer = 1;
  EXPECT_THAT(parse_error(pack(*model)), HasSubstr("refers to buffer 1 but the model has 0"));
}

TEST_F(EditedModelTest, UnknownTensorTypeIsRefused) {
  graph().tensors[0]->type = static_cast<tflite::TensorType>(42);
  EXPECT_THAT(error(), HasSubstr("tensor 0"));
  EXPECT_THAT(error(), HasSubstr("unknown element type code 42"));
}

TEST_F(EditedModelTest, WrongOptionsTypeIsRefused) {
  auto& op = *graph().operators[0];
  op.builtin_options.Set(tflite::SoftmaxOptionsT{});
  EXPECT_THAT(error(), HasSubstr("operator 0 (CONV_2D): carries SoftmaxOptions options, expected "
                                 "Conv2DOptions"));
}

TEST_F(EditedModelTest, ExtendedBuiltinCodesUseTheLargerField) {
  // Codes above 127 are stored in builtin_code with the placeholder 127 in the old field.
  auto& code = *model_->operator_codes[graph().operators[12]->opcode_index];
  code.deprecated_builtin_code = 127;
  code.builtin_code = 150;  // GELU
  const Model model = parse_model(pack(*model_), "edited.tflite");
  EXPECT_EQ(model.main().operators[12].op, BuiltinOp::GELU);
  code.builtin_code = 300;  // newer than this schema: kept, named by number
  const Model future = parse_model(pack(*model_), "edited.tflite");
  EXPECT_EQ(future.main().operators[12].name(), "BUILTIN_300");
}

TEST_F(EditedModelTest, LargeModelBufferOutsideTheFile) {
  const int32_t weights = graph().operators[0]->inputs[1];
  auto& buffer = *model_->buffers[graph().tensors[static_cast<size_t>(weights)]->buffer];
  buffer.data.clear();
  buffer.offset = 1u << 20;
  buffer.size = 2560;
  EXPECT_THAT(error(), HasSubstr("buffer"));
  EXPECT_THAT(error(), HasSubstr("but the file has"));
}

TEST_F(EditedModelTest, LargeModelBufferAfterTheFlatBuffer) {
  // The weights move behind the FlatBuffer, addressed by offset and size from the file start.
  const int32_t weights = graph().operators[0]->inputs[1];
  auto& buffer = *model_->buffers[graph().tensors[static_cast<size_t>(weights)]->buffer];
  const std::vector<uint8_t> data = buffer.data;
  buffer.data.clear();
  buffer.offset = 2;  // placeholder so the packed size does not change when it is set
  buffer.size = data.size();
  const size_t flatbuffer_size = pack(*model_).size();
  buffer.offset = (flatbuffer_size + 15) / 16 * 16;
  std::vector<uint8_t> file = pack(*model_);
  ASSERT_EQ(file.size(), flatbuffer_size);
  file.resize(buffer.offset, 0);
  file.insert(file.end(), data.begin(), data.end());

  const Model model = parse_model(file, "large.tflite");
  const Tensor& tensor = model.main().tensors[static_cast<size_t>(weights)];
  const auto stored = model.data(tensor);
  EXPECT_EQ(std::vector<uint8_t>(stored.begin(), stored.end()), data);
}

TEST_F(EditedModelTest, SignatureTensorOutOfRangeIsIgnoredWithANote) {
  auto signature = std::make_unique<tflite::SignatureDefT>();
  signature->signature_key = "serving_default";
  auto entry = std::make_unique<tflite::TensorMapT>();
  entry->name = "x";
  entry->tensor_index = 99;
  signature->inputs.push_back(std::move(entry));
  model_->signature_defs.push_back(std::move(signature));
  const Model model = parse_model(pack(*model_), "edited.tflite");
  EXPECT_TRUE(model.signatures.empty());
  ASSERT_EQ(model.reader_notes.size(), 1u);
  EXPECT_THAT(model.reader_notes[0],
              HasSubstr("signature 0 ('serving_default'): input 'x' refers to tensor 99"));
}

TEST_F(EditedModelTest, NoSubgraphs) {
  model_->subgraphs.clear();
  EXPECT_THAT(error(), HasSubstr("the model has no subgraphs"));
}

}  // namespace
}  // namespace tinydeploy::model
