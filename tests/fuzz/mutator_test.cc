// The model fuzz target's mutator (fuzz/model_mutator.h) keeps mutated models useful: most of
// them still load, and thanks to the repair a good share runs the whole pipeline (lowering, the
// kernels, code generation) instead of stopping at the reader's or the analysis's checks.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "model_mutator.h"
#include "pipeline.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/model/reader.h"

namespace tinydeploy::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Tally {
  int loaded = 0;     // the reader accepts the mutated model
  int generated = 0;  // the whole pipeline ran, up to code generation
  int total = 0;
};

Tally mutate_and_run(const fs::path& model, uint32_t mutations) {
  const std::vector<uint8_t> original = read_bytes(model);
  Tally tally;
  for (uint32_t seed = 1; seed <= mutations; ++seed) {
    const auto mutation = mutate_model(original.data(), original.size(), seed, nullptr);
    if (!mutation) continue;
    ++tally.total;
    try {
      (void)model::parse_model(mutation->model, "mutated.tflite");
      ++tally.loaded;
      if (run_pipeline(mutation->model).outcome == PipelineOutcome::Generated) ++tally.generated;
    } catch (const Error&) {
    }
  }
  return tally;
}

TEST(ModelMutator, MostMutationsLoadAndManyRunTheWholePipeline) {
  const fs::path models = fs::path(TINYDEPLOY_TEST_DATA_DIR) / "models";
  Tally all;
  for (const char* name : {"conv2d_int8.tflite", "softmax_beta_int16.tflite",
                           "strided_slice_float.tflite", "transpose_conv_int8pt.tflite"}) {
    const Tally t = mutate_and_run(models / name, 100);
    SCOPED_TRACE(name);
    EXPECT_EQ(t.total, 100);  // every model is well formed, so every mutation applies
    all.loaded += t.loaded;
    all.generated += t.generated;
    all.total += t.total;
  }
  std::printf("mutated models: %d, loaded %d, ran up to code generation %d\n", all.total,
              all.loaded, all.generated);
  EXPECT_GT(all.loaded, all.total * 3 / 4);
  EXPECT_GT(all.generated, all.total / 3);
}

TEST(ModelMutator, NotAModelIsLeftToByteMutation) {
  const std::vector<uint8_t> junk = {'T', 'F', 'L', '3', 1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_FALSE(mutate_model(junk.data(), junk.size(), 1, nullptr));
}

TEST(ModelMutator, SameSeedSameMutation) {
  const std::vector<uint8_t> original =
      read_bytes(fs::path(TINYDEPLOY_TEST_DATA_DIR) / "models" / "pooling_int8.tflite");
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    const auto a = mutate_model(original.data(), original.size(), seed, nullptr);
    const auto b = mutate_model(original.data(), original.size(), seed, nullptr);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->model, b->model) << a->description;
    EXPECT_EQ(a->description, b->description);
    EXPECT_FALSE(a->description.empty());
  }
}

}  // namespace
}  // namespace tinydeploy::fuzz
