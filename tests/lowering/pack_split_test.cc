// PACK, UNPACK, SPLIT and SPLIT_V lowered to the layout family's byte-moving kernels: the
// outer count and chunk sizes derived from shapes and axes, and each refusal's message.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tinydeploy/common/error.h"
#include "tinydeploy/lowering/families.h"

namespace tinydeploy::lowering {
namespace {

using model::BuiltinOp;
using model::DType;
using ::testing::HasSubstr;

// One operator over tensors of one type; constants live in the model's file bytes.
class LayoutOp {
 public:
  explicit LayoutOp(DType type, std::vector<float> scale = {}) : type_(type), scale_(scale) {
    model_.path = "m.tflite";
    model_.subgraphs.emplace_back();
  }

  int32_t tensor(const std::string& name, std::vector<int32_t> shape) {
    return add(name, std::move(shape), type_, scale_);
  }
  int32_t tensor_as(const std::string& name, std::vector<int32_t> shape, DType type,
                    std::vector<float> scale = {}) {
    return add(name, std::move(shape), type, std::move(scale));
  }
  template <typename T>
  int32_t constant(const std::string& name, std::vector<int32_t> shape, DType type,
                   const std::vector<T>& values) {
    const int32_t index = add(name, std::move(shape), type, {});
    const size_t offset = model_.file.size();
    model_.file.resize(offset + values.size() * sizeof(T));
    std::memcpy(model_.file.data() + offset, values.data(), values.size() * sizeof(T));
    model_.subgraphs[0].tensors.back().data = model::ByteRange{offset, values.size() * sizeof(T)};
    return index;
  }
  void op(BuiltinOp code, std::vector<int32_t> inputs, std::vector<int32_t> outputs,
          model::Options options = {}) {
    model::Operator op;
    op.op = code;
    op.inputs = std::move(inputs);
    op.outputs = std::move(outputs);
    op.options = std::move(options);
    model_.subgraphs[0].operators = {op};
  }

  KernelCall lower() const {
    return lower_op(OpBinding{model_, model_.main(), model_.main().operators.front(), 0});
  }
  std::string error() const {
    try {
      lower();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

 private:
  int32_t add(const std::string& name, std::vector<int32_t> shape, DType type,
              std::vector<float> scale) {
    model::Tensor t;
    t.name = name;
    t.shape = std::move(shape);
    t.dtype = type;
    t.quantization.zero_point.assign(scale.size(), 0);
    t.quantization.scale = std::move(scale);
    model_.subgraphs[0].tensors.push_back(std::move(t));
    return static_cast<int32_t>(model_.subgraphs[0].tensors.size() - 1);
  }

  DType type_;
  std::vector<float> scale_;
  model::Model model_;
};

// The byte-moving calls' arguments: outer count, part count, chunk bytes, tensor lists.
struct Moves {
  int32_t outer = 0;
  int32_t parts = 0;
  std::vector<int32_t> chunks;
  std::vector<int32_t> tensors;  // PACK's inputs or the split's outputs
  bool writable_list = false;
};

Moves moves(const KernelCall& call) {
  Moves m;
  m.outer = std::get<int32_t>(call.arguments.at(0));
  m.parts = std::get<int32_t>(call.arguments.at(1));
  for (const Argument& a : call.arguments) {
    if (const auto* c = std::get_if<ConstantArray>(&a)) {
      m.chunks = std::get<std::vector<int32_t>>(c->values);
    } else if (const auto* list = std::get_if<TensorPointerList>(&a)) {
      m.tensors = list->tensors;
      m.writable_list = list->writable;
    }
  }
  return m;
}

TEST(PackLoweringTest, StacksAlongANegativeAxisIntoConcatenate) {
  LayoutOp m(DType::Int16, {0.5f});
  const int32_t a = m.tensor("a", {2, 3, 4});
  const int32_t b = m.tensor("b", {2, 3, 4});
  const int32_t out = m.tensor("out", {2, 3, 2, 4});
  m.op(BuiltinOp::PACK, {a, b}, {out}, model::PackOptions{2, -2});
  const KernelCall call = m.lower();
  EXPECT_EQ(call.kernel, "concatenate");
  EXPECT_EQ(call.source, "layout");
  const Moves moved = moves(call);
  EXPECT_EQ(moved.outer, 6);                              // 2 x 3 before the new axis
  EXPECT_EQ(moved.chunks, (std::vector<int32_t>{8, 8}));  // 4 int16 per input and row
  EXPECT_EQ(moved.tensors, (std::vector<int32_t>{a, b}));
  EXPECT_FALSE(moved.writable_list);
}

TEST(PackLoweringTest, Int64AndAxisZero) {
  LayoutOp m(DType::Int64);
  const int32_t a = m.tensor("a", {3});
  const int32_t out = m.tensor("out", {3, 3});
  m.op(BuiltinOp::PACK, {a, a, a}, {out}, model::PackOptions{3, 0});
  const Moves moved = moves(m.lower());
  EXPECT_EQ(moved.outer, 1);
  EXPECT_EQ(moved.chunks, (std::vector<int32_t>{24, 24, 24}));
}

TEST(PackLoweringTest, Refusals) {
  {
    LayoutOp m(DType::UInt8);
    const int32_t a = m.tensor("a", {3});
    m.op(BuiltinOp::PACK, {a}, {m.tensor("out", {1, 3})}, model::PackOptions{1, 0});
    EXPECT_EQ(m.error(),
              "m.tflite: operator 0 (PACK): the runtime has no kernel for inputs (uint8) -> "
              "outputs (uint8)");
  }
  {
    LayoutOp m(DType::Float32);
    const int32_t a = m.tensor("a", {3});
    m.op(BuiltinOp::PACK, {a, a}, {m.tensor("out", {2, 3})}, model::PackOptions{3, 0});
    EXPECT_EQ(m.error(),
              "m.tflite: operator 0 (PACK): values_count is 3 but the operator has 2 inputs");
  }
  {
    LayoutOp m(DType::Float32);
    const int32_t a = m.tensor("a", {3});
    m.op(BuiltinOp::PACK, {a, a}, {m.tensor("out", {2, 3})}, model::PackOptions{2, 2});
    EXPECT_THAT(m.error(), HasSubstr("(PACK): axis 2 is out of range for rank 2"));
  }
  {
    LayoutOp m(DType::Float32);
    const int32_t a = m.tensor("a", {3});
    const int32_t b = m.tensor("b", {4});
    m.op(BuiltinOp::PACK, {a, b}, {m.tensor("out", {2, 3})}, model::PackOptions{2, 0});
    EXPECT_THAT(m.error(),
                HasSubstr("input 'b' must have the output's type and the first input's shape"));
  }
  {
    LayoutOp m(DType::Int8, {0.5f});
    const int32_t a = m.tensor("a", {3});
    const int32_t b = m.tensor_as("b", {3}, DType::Int8, {0.25f});
    m.op(BuiltinOp::PACK, {a, b}, {m.tensor("out", {2, 3})}, model::PackOptions{2, 0});
    EXPECT_THAT(m.error(), HasSubstr("tensors 'b' and 'out' must share scale and zero point"));
  }
}

TEST(UnpackLoweringTest, DropsTheAxisAndSplitsIntoEqualParts) {
  LayoutOp m(DType::Float32);
  const int32_t in = m.tensor("in", {2, 3, 5});
  std::vector<int32_t> outs;
  for (int i = 0; i < 3; ++i) outs.push_back(m.tensor(fmt::format("o{}", i), {2, 5}));
  m.op(BuiltinOp::UNPACK, {in}, outs, model::UnpackOptions{3, -2});
  const KernelCall call = m.lower();
  EXPECT_EQ(call.kernel, "split");
  const Moves moved = moves(call);
  EXPECT_EQ(moved.outer, 2);
  EXPECT_EQ(moved.parts, 3);
  EXPECT_EQ(moved.chunks, (std::vector<int32_t>{20, 20, 20}));
  EXPECT_EQ(moved.tensors, outs);
  EXPECT_TRUE(moved.writable_list);
}

TEST(UnpackLoweringTest, Refusals) {
  {
    LayoutOp m(DType::Int64);  // TFLite Micro's UNPACK has no int64 kernel
    const int32_t in = m.tensor("in", {2});
    m.op(BuiltinOp::UNPACK, {in}, {m.tensor("a", {}), m.tensor("b", {})},
         model::UnpackOptions{2, 0});
    EXPECT_THAT(m.error(), HasSubstr("the runtime has no kernel for inputs (int64)"));
  }
  {
    LayoutOp m(DType::Int8, {1.0f});
    const int32_t in = m.tensor("in", {3, 2});
    m.op(BuiltinOp::UNPACK, {in}, {m.tensor("a", {2}), m.tensor("b", {2})},
         model::UnpackOptions{2, 0});
    EXPECT_EQ(m.error(),
              "m.tflite: operator 0 (UNPACK): num is 2 and dimension 0 has size 3, but the "
              "operator has 2 outputs");
  }
  {
    LayoutOp m(DType::Int16, {1.0f});
    const int32_t in = m.tensor("in", {2, 2});
    m.op(BuiltinOp::UNPACK, {in}, {m.tensor("a", {2}), m.tensor("b", {3})},
         model::UnpackOptions{2, 1});
    EXPECT_THAT(m.error(), HasSubstr("output 'b' has shape [3], expected [2]"));
  }
}

TEST(SplitLoweringTest, EqualPartsAlongANegativeConstantAxis) {
  LayoutOp m(DType::Int8, {0.1f});
  const int32_t axis = m.constant<int32_t>("axis", {}, DType::Int32, {-1});
  const int32_t in = m.tensor("in", {2, 3, 6});
  const int32_t a = m.tensor("a", {2, 3, 2});
  const int32_t b = m.tensor("b", {2, 3, 2});
  const int32_t c = m.tensor("c", {2, 3, 2});
  m.op(BuiltinOp::SPLIT, {axis, in}, {a, b, c}, model::SplitOptions{3});
  const KernelCall call = m.lower();
  EXPECT_EQ(call.kernel, "split");
  const Moves moved = moves(call);
  EXPECT_EQ(moved.outer, 6);
  EXPECT_EQ(moved.chunks, (std::vector<int32_t>{2, 2, 2}));
  // The input pointer is the data tensor, not the axis.
  EXPECT_EQ(std::get<TensorPointer>(call.arguments.at(2)).tensor, in);
}

TEST(SplitLoweringTest, Refusals) {
  const auto split = [](std::vector<int32_t> axis_value, DType axis_type, int32_t dim,
                        int32_t parts) {
    LayoutOp m(DType::Float32);
    const int32_t axis =
        axis_type == DType::Int32
            ? m.constant<int32_t>("axis", {static_cast<int32_t>(axis_value.size())}, axis_type,
                                  axis_value)
            : m.constant<int64_t>("axis", {static_cast<int32_t>(axis_value.size())}, axis_type,
                                  std::vector<int64_t>(axis_value.begin(), axis_value.end()));
    const int32_t in = m.tensor("in", {4, dim});
    std::vector<int32_t> outs;
    for (int32_t i = 0; i < parts; ++i) {
      outs.push_back(m.tensor(fmt::format("o{}", i), {4, dim / parts}));
    }
    m.op(BuiltinOp::SPLIT, {axis, in}, outs, model::SplitOptions{parts});
    return m.error();
  };
  EXPECT_EQ(split({1}, DType::Int32, 6, 2), "");
  EXPECT_THAT(split({1}, DType::Int32, 7, 2),
              HasSubstr("(SPLIT): dimension 1 of size 7 does not split into 2 equal parts"));
  EXPECT_THAT(split({2}, DType::Int32, 6, 2), HasSubstr("axis 2 is out of range for rank 2"));
  EXPECT_THAT(split({-3}, DType::Int32, 6, 2), HasSubstr("axis -3 is out of range for rank 2"));
  EXPECT_THAT(split({1, 0}, DType::Int32, 6, 2),
              HasSubstr("the axis 'axis' must be one int32 value"));
  EXPECT_THAT(split({1}, DType::Int64, 6, 2), HasSubstr("the axis 'axis' must be one int32 value"));

  LayoutOp m(DType::Float32);
  const int32_t axis = m.tensor_as("axis", {}, DType::Int32);  // computed, not constant
  const int32_t in = m.tensor("in", {4});
  m.op(BuiltinOp::SPLIT, {axis, in}, {m.tensor("a", {2}), m.tensor("b", {2})},
       model::SplitOptions{2});
  EXPECT_THAT(m.error(), HasSubstr("operand 'axis' must be a constant"));
}

TEST(SplitVLoweringTest, TheMinusOneSizeTakesTheRest) {
  LayoutOp m(DType::Int32);
  const int32_t in = m.tensor("in", {2, 7, 3});
  const int32_t sizes = m.constant<int32_t>("sizes", {3}, DType::Int32, {2, -1, 1});
  const int32_t axis = m.constant<int32_t>("axis", {1}, DType::Int32, {1});
  const int32_t a = m.tensor("a", {2, 2, 3});
  const int32_t b = m.tensor("b", {2, 4, 3});
  const int32_t c = m.tensor("c", {2, 1, 3});
  m.op(BuiltinOp::SPLIT_V, {in, sizes, axis}, {a, b, c}, model::SplitOptions{3});
  const Moves moved = moves(m.lower());
  EXPECT_EQ(moved.outer, 2);
  EXPECT_EQ(moved.chunks, (std::vector<int32_t>{24, 48, 12}));  // parts x 3 x 4 bytes
  EXPECT_EQ(moved.tensors, (std::vector<int32_t>{a, b, c}));
}

TEST(SplitVLoweringTest, Refusals) {
  const auto split_v = [](std::vector<int64_t> size_values, std::vector<int32_t> parts) {
    LayoutOp m(DType::Int16, {1.0f});
    const int32_t in = m.tensor("in", {5, 2});
    const int32_t sizes = m.constant<int64_t>("sizes", {static_cast<int32_t>(size_values.size())},
                                              DType::Int64, size_values);
    const int32_t axis = m.constant<int32_t>("axis", {}, DType::Int32, {-2});
    std::vector<int32_t> outs;
    for (size_t i = 0; i < parts.size(); ++i) {
      outs.push_back(m.tensor(fmt::format("o{}", i), {parts[i], 2}));
    }
    m.op(BuiltinOp::SPLIT_V, {in, sizes, axis}, outs,
         model::SplitOptions{static_cast<int32_t>(parts.size())});
    return m.error();
  };
  EXPECT_EQ(split_v({-1, 3}, {2, 3}), "");
  EXPECT_THAT(split_v({-1, -1}, {2, 3}), HasSubstr("(SPLIT_V): more than one split size is -1"));
  EXPECT_THAT(split_v({2, 2}, {2, 2}),
              HasSubstr("the split sizes add up to 4 but dimension 0 has size 5"));
  EXPECT_THAT(split_v({-1, 6}, {0, 6}), HasSubstr("split size 6 is outside 0..5"));
  EXPECT_THAT(split_v({-1, -2}, {2, 3}), HasSubstr("split size -2 is outside 0..5"));
  EXPECT_THAT(split_v({2, 3}, {3, 2}), HasSubstr("output 'o0' has shape [3, 2], expected [2, 2]"));
  EXPECT_THAT(split_v({5}, {5, 0}), HasSubstr("1 split sizes for 2 outputs"));
}

}  // namespace
}  // namespace tinydeploy::lowering
