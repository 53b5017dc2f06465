// SVDF over consecutive invokes with its state carried: every generated SVDF model
// (tests/data/models/svdf_*.tflite, tools/testmodels/svdf.py) runs kInvokes times in one engine
// on seeded random inputs, and each invoke's outputs are compared with TFLite Micro's, computed
// now by the PC reference on one interpreter (so its state is carried the same way): integer
// outputs bit-exact, float outputs within validate's tolerance.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "tinydeploy/analysis/analysis.h"
#include "tinydeploy/engine/engine.h"
#include "tinydeploy/model/reader.h"
#include "tinydeploy/reference/reference.h"
#include "tinydeploy/tensors/tensor_io.h"
#include "tinydeploy/validate/compare.h"

namespace tinydeploy {
namespace {

namespace fs = std::filesystem;

constexpr int kInvokes = 5;

std::vector<std::string> svdf_models() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(fs::path(TINYDEPLOY_TEST_DATA_DIR) / "models")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("svdf_", 0) == 0 && entry.path().extension() == ".tflite") {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

tensors::TensorData engine_output(const engine::Engine& engine, size_t o) {
  const model::Tensor& tensor = engine.output_tensor(o);
  const auto bytes = engine.output(o);
  return {tensor.dtype, tensor.shape, {bytes.begin(), bytes.end()}};
}

class SvdfInvokes : public ::testing::TestWithParam<std::string> {};

TEST_P(SvdfInvokes, EveryInvokeMatchesTfliteMicroWithStateCarried) {
  const fs::path model_path = fs::path(TINYDEPLOY_TEST_DATA_DIR) / "models" / GetParam();
  const model::Model model = model::read_model(model_path);
  const analysis::ModelAnalysis analysis = analysis::analyze(model);
  engine::Engine engine(model, analysis);
  ASSERT_EQ(engine.input_count(), 1u);

  const fs::path work = fs::temp_directory_path() / ("svdf_invokes_" + GetParam());
  fs::remove_all(work);
  fs::create_directories(work);
  std::vector<tensors::TensorData> inputs;
  std::vector<std::vector<fs::path>> runs;
  for (int r = 0; r < kInvokes; ++r) {
    inputs.push_back(
        tensors::random_tensor(engine.input_tensor(0), 1000 + static_cast<uint64_t>(r)));
    runs.push_back({work / fmt::format("input_{}.npy", r)});
    tensors::write_npy(runs.back()[0], inputs.back());
  }
  const std::vector<reference::ReferenceRun> expected =
      reference::run_reference_batch(model_path, reference::Interpreter::TFLM, runs, work / "tflm");
  ASSERT_EQ(expected.size(), static_cast<size_t>(kInvokes));

  std::vector<std::vector<tensors::TensorData>> ours(kInvokes);
  for (int r = 0; r < kInvokes; ++r) {
    const auto in = engine.input(0);
    std::memcpy(in.data(), inputs[static_cast<size_t>(r)].bytes.data(), in.size());
    engine.invoke();
    ASSERT_EQ(expected[static_cast<size_t>(r)].outputs.size(), engine.output_count());
    for (size_t o = 0; o < engine.output_count(); ++o) {
      ours[static_cast<size_t>(r)].push_back(engine_output(engine, o));
      const tensors::TensorData reference =
          tensors::read_npy(expected[static_cast<size_t>(r)].outputs[o]);
      const validate::Comparison comparison = validate::compare(ours[static_cast<size_t>(r)].back(),
                                                                reference, engine.output_tensor(o));
      EXPECT_TRUE(comparison.matches()) << GetParam() << " invoke " << r << " output " << o << ": "
                                        << validate::describe(comparison, engine.output_tensor(o));
    }
  }

  // The state matters: a fresh engine given the last invoke's input alone computes something
  // else, so the comparison above covered the carried state.
  engine::Engine fresh(model, analysis);
  const auto in = fresh.input(0);
  std::memcpy(in.data(), inputs.back().bytes.data(), in.size());
  fresh.invoke();
  bool differs = false;
  for (size_t o = 0; o < fresh.output_count(); ++o) {
    differs = differs || engine_output(fresh, o).bytes != ours.back()[o].bytes;
  }
  EXPECT_TRUE(differs) << GetParam() << ": the last output does not depend on earlier invokes";
  fs::remove_all(work);
}

INSTANTIATE_TEST_SUITE_P(Models, SvdfInvokes, ::testing::ValuesIn(svdf_models()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param.substr(0, info.param.size() - 7);
                           std::replace(name.begin(), name.end(), '.', '_');
                           return name;
                         });

TEST(SvdfInvokesSuite, CoversEveryGeneratedSvdfModel) { EXPECT_EQ(svdf_models().size(), 7u); }

}  // namespace
}  // namespace tinydeploy
