// The regression guard (report/baseline.h): a profile against an earlier one, layer by layer
// and in total, on the median inference's estimated cycles.
#include "tinydeploy/report/baseline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "tinydeploy/common/error.h"

namespace tinydeploy::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr size_t kEstCycles = 5;
constexpr size_t kInstructions = 0;

// A profiled model of three layers whose median inference took `layer_cycles` per layer and
// their sum plus `tail` in total. Other counters get values unlike the cycles, so that a
// comparison of the wrong counter shows.
Metadata profiled(const std::vector<uint64_t>& layer_cycles, uint64_t tail = 0) {
  Metadata m;
  m.model_file = "kws.tflite";
  const std::vector<std::string> ops = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED",
                                        "SOFTMAX", "RESHAPE"};
  const std::vector<std::string> tags = {"conv1", "dw1", "fc", "softmax", "reshape"};
  ProfileMeta p;
  p.target = "qemu-m4";
  p.core = "cortex-m4";
  for (size_t i = 0; i < layer_cycles.size(); ++i) {
    m.layers.push_back({ops[i % ops.size()], tags[i % tags.size()], "", 0, 0, 0});
    CounterAggregate a;
    a.median[kEstCycles] = layer_cycles[i];
    a.median[kInstructions] = 1;  // never compared
    a.cold[kEstCycles] = 10 * layer_cycles[i];
    a.min[kEstCycles] = 1;
    p.layers.push_back(a);
  }
  p.total.median[kEstCycles] =
      std::accumulate(layer_cycles.begin(), layer_cycles.end(), uint64_t{0}) + tail;
  p.total.cold[kEstCycles] = 10 * p.total.median[kEstCycles];
  m.profile = p;
  return m;
}

std::string refusal(const Metadata& baseline, const Metadata& current, double max_percent) {
  try {
    compare_with_baseline(baseline, current, max_percent);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(BaselineTest, EqualProfilesDoNotRegress) {
  const Metadata m = profiled({600'000, 300'000, 100'000});
  const BaselineComparison c = compare_with_baseline(m, m, 5);
  EXPECT_FALSE(c.regressed());
  EXPECT_EQ(c.metric, "estimated cycles (median inference)");
  EXPECT_EQ(c.max_regression_percent, 5);
  EXPECT_EQ(c.noise_floor, 1000u);  // 0.1% of 1,000,000
  EXPECT_TRUE(c.layers_not_compared.empty());
  ASSERT_EQ(c.layers.size(), 3u);
  EXPECT_EQ(c.layers[0].what, "layer 0 CONV_2D 'conv1'");
  EXPECT_EQ(c.layers[2].what, "layer 2 FULLY_CONNECTED 'fc'");
  for (const Change& layer : c.layers) {
    EXPECT_EQ(layer.before, layer.after);
    EXPECT_EQ(layer.percent, 0);
    EXPECT_FALSE(layer.regression);
  }
  EXPECT_EQ(c.total.what, "total");
  EXPECT_EQ(c.total.before, 1'000'000u);
  EXPECT_EQ(c.total.after, 1'000'000u);
  EXPECT_EQ(comparison_text(c),
            "baseline: estimated cycles (median inference) compared, a regression is more than "
            "5% and more than 1000 cycles\n"
            "  total: 1000000 -> 1000000 cycles (+0.0%)\n"
            "  no regression\n");
}

TEST(BaselineTest, ALayerGrownBeyondTheLimitIsARegressionAndNamed) {
  const Metadata before = profiled({600'000, 300'000, 100'000});
  const Metadata after = profiled({600'000, 330'000, 100'000});  // layer 1: +10%
  const BaselineComparison c = compare_with_baseline(before, after, 5);
  EXPECT_TRUE(c.regressed());
  ASSERT_EQ(c.layers.size(), 3u);
  EXPECT_FALSE(c.layers[0].regression);
  EXPECT_TRUE(c.layers[1].regression);
  EXPECT_FALSE(c.layers[2].regression);
  EXPECT_EQ(c.layers[1].what, "layer 1 DEPTHWISE_CONV_2D 'dw1'");
  EXPECT_EQ(c.layers[1].before, 300'000u);
  EXPECT_EQ(c.layers[1].after, 330'000u);
  EXPECT_DOUBLE_EQ(c.layers[1].percent, 10.0);
  // The total grew by 3%: within the limit.
  EXPECT_FALSE(c.total.regression);
  EXPECT_DOUBLE_EQ(c.total.percent, 3.0);
  EXPECT_EQ(comparison_text(c),
            "baseline: estimated cycles (median inference) compared, a regression is more than "
            "5% and more than 1000 cycles\n"
            "  REGRESSION layer 1 DEPTHWISE_CONV_2D 'dw1': 300000 -> 330000 cycles (+10.0%)\n"
            "  total: 1000000 -> 1030000 cycles (+3.0%)\n");
  // Under a 10% limit the same growth is no regression: "more than" the limit.
  EXPECT_FALSE(compare_with_baseline(before, after, 10).regressed());
  EXPECT_TRUE(compare_with_baseline(before, after, 9.9).regressed());
}

TEST(BaselineTest, FasterIsNeverARegression) {
  const Metadata before = profiled({600'000, 300'000, 100'000});
  const Metadata after = profiled({300'000, 150'000, 50'000});
  const BaselineComparison c = compare_with_baseline(before, after, 0);
  EXPECT_FALSE(c.regressed());
  EXPECT_DOUBLE_EQ(c.layers[0].percent, -50.0);
  EXPECT_DOUBLE_EQ(c.total.percent, -50.0);
  EXPECT_THAT(comparison_text(c), HasSubstr("  total: 1000000 -> 500000 cycles (-50.0%)\n"));
}

TEST(BaselineTest, GrowthBelowTheNoiseFloorIsNoRegression) {
  // Total 1,000,000: the floor is 1000 cycles. The small layer grows by 180% but by 900 cycles.
  const Metadata before = profiled({599'500, 400'000, 500});
  const BaselineComparison small =
      compare_with_baseline(before, profiled({599'500, 400'000, 1'400}), 5);
  EXPECT_EQ(small.noise_floor, 1000u);
  EXPECT_FALSE(small.layers[2].regression);
  EXPECT_DOUBLE_EQ(small.layers[2].percent, 180.0);
  EXPECT_FALSE(small.regressed());
  EXPECT_THAT(comparison_text(small), HasSubstr("no regression"));
  // Exactly the floor is still noise; one cycle more is not.
  EXPECT_FALSE(
      compare_with_baseline(before, profiled({599'500, 400'000, 1'500}), 5).layers[2].regression);
  EXPECT_TRUE(
      compare_with_baseline(before, profiled({599'500, 400'000, 1'501}), 5).layers[2].regression);
}

TEST(BaselineTest, TheNoiseFloorIsAtLeastOneCycle) {
  const Metadata before = profiled({300, 200, 100});
  const BaselineComparison c = compare_with_baseline(before, profiled({300, 202, 100}), 0.5);
  EXPECT_EQ(c.noise_floor, 1u);
  EXPECT_TRUE(c.layers[1].regression);  // 2 cycles, 1%
  EXPECT_FALSE(compare_with_baseline(before, profiled({300, 201, 100}), 0.1).layers[1].regression);
}

TEST(BaselineTest, TheTotalRegressesOnItsOwn) {
  // Every layer as before; the epilogue after the last layer grew.
  const Metadata before = profiled({600'000, 300'000, 100'000}, 10'000);
  const Metadata after = profiled({600'000, 300'000, 100'000}, 80'000);
  const BaselineComparison c = compare_with_baseline(before, after, 5);
  EXPECT_TRUE(c.regressed());
  EXPECT_TRUE(c.total.regression);
  for (const Change& layer : c.layers) EXPECT_FALSE(layer.regression);
  EXPECT_EQ(c.total.before, 1'010'000u);
  EXPECT_EQ(c.total.after, 1'080'000u);
  EXPECT_EQ(c.noise_floor, 1010u);
  EXPECT_THAT(comparison_text(c),
              AllOf(HasSubstr("  REGRESSION total: 1010000 -> 1080000 cycles (+6.9%)\n"),
                    Not(HasSubstr("no regression"))));
}

TEST(BaselineTest, OnlyTheMedianEstimatedCyclesAreCompared) {
  const Metadata before = profiled({600'000, 300'000, 100'000});
  Metadata after = before;
  for (auto& layer : after.profile->layers) {
    layer->cold[kEstCycles] *= 3;
    layer->median[kInstructions] *= 1000;
  }
  after.profile->total.cold[kEstCycles] *= 3;
  EXPECT_FALSE(compare_with_baseline(before, after, 0).regressed());
}

TEST(BaselineTest, ADifferentCoreThrows) {
  const Metadata before = profiled({600'000, 300'000, 100'000});
  Metadata after = before;
  after.profile->core = "cortex-m55";
  after.profile->target = "qemu-m55";
  EXPECT_EQ(refusal(before, after, 5),
            "the baseline was profiled on cortex-m4 (qemu-m4), this run on cortex-m55 "
            "(qemu-m55): cycles of different cores do not compare");
}

TEST(BaselineTest, ABaselineWithoutAProfileThrows) {
  Metadata before = profiled({600'000, 300'000, 100'000});
  const Metadata after = before;
  before.profile.reset();
  EXPECT_EQ(refusal(before, after, 5),
            "the baseline (kws.tflite) holds no profile: give the metadata a profile run wrote");
  EXPECT_EQ(refusal(after, before, 5), "this run has no profile to compare with the baseline");
}

TEST(BaselineTest, DifferentOperatorsCompareOnlyTheTotalAndSayWhy) {
  const Metadata before = profiled({600'000, 300'000, 100'000});
  const BaselineComparison more =
      compare_with_baseline(before, profiled({600'000, 300'000, 100'000, 200'000}), 5);
  EXPECT_TRUE(more.layers.empty());
  EXPECT_EQ(more.layers_not_compared,
            "the baseline has 3 layers, this model 4, not the same operators in the same order");
  EXPECT_TRUE(more.total.regression);  // +20%
  EXPECT_EQ(comparison_text(more),
            "baseline: estimated cycles (median inference) compared, a regression is more than "
            "5% and more than 1000 cycles\n"
            "  layers not compared: the baseline has 3 layers, this model 4, not the same "
            "operators in the same order\n"
            "  REGRESSION total: 1000000 -> 1200000 cycles (+20.0%)\n");

  // As many layers, one operator different: also the total only.
  Metadata swapped = profiled({600'000, 300'000, 100'000});
  swapped.layers[1].op = "CONV_2D";
  const BaselineComparison c = compare_with_baseline(before, swapped, 5);
  EXPECT_TRUE(c.layers.empty());
  EXPECT_EQ(c.layers_not_compared,
            "the baseline has 3 layers, this model 3, not the same operators in the same order");
  EXPECT_FALSE(c.regressed());
}

TEST(BaselineTest, ALayerOfZeroCyclesBefore) {
  const Metadata before = profiled({600'000, 0, 100'000});
  const BaselineComparison grown =
      compare_with_baseline(before, profiled({600'000, 5'000, 100'000}), 5);
  EXPECT_EQ(grown.layers[1].percent, std::numeric_limits<double>::infinity());
  EXPECT_TRUE(grown.layers[1].regression);
  EXPECT_THAT(comparison_text(grown),
              HasSubstr("  REGRESSION layer 1 DEPTHWISE_CONV_2D 'dw1': 0 -> 5000 cycles (new)\n"));
  // Zero before and after: no change.
  const BaselineComparison same = compare_with_baseline(before, before, 5);
  EXPECT_EQ(same.layers[1].percent, 0);
  EXPECT_FALSE(same.regressed());
  // From zero, but within the noise floor (700 cycles; the floor is 700).
  EXPECT_FALSE(
      compare_with_baseline(before, profiled({600'000, 700, 100'000}), 5).layers[1].regression);
}

TEST(BaselineTest, LayersWithoutFiguresAreSkipped) {
  Metadata before = profiled({600'000, 300'000, 100'000});
  Metadata after = profiled({600'000, 900'000, 150'000});
  before.profile->layers[1].reset();  // the profiler saw no marks for it in the baseline
  const BaselineComparison c = compare_with_baseline(before, after, 5);
  ASSERT_EQ(c.layers.size(), 2u);
  EXPECT_EQ(c.layers[0].what, "layer 0 CONV_2D 'conv1'");
  EXPECT_EQ(c.layers[1].what, "layer 2 FULLY_CONNECTED 'fc'");
  EXPECT_TRUE(c.layers[1].regression);
}

TEST(BaselineTest, ALongTagIsShortened) {
  Metadata before = profiled({600'000, 300'000, 100'000});
  before.layers[0].tag = "model/" + std::string(60, 'x') + "/BiasAdd";
  Metadata after = before;
  after.profile->layers[0]->median[kEstCycles] = 700'000;
  const BaselineComparison c = compare_with_baseline(before, after, 5);
  EXPECT_EQ(c.layers[0].what, "layer 0 CONV_2D 'model/" + std::string(34, 'x') + "...'");
}

TEST(BaselineTest, ANegativeOrNanLimitThrows) {
  const Metadata m = profiled({600'000, 300'000, 100'000});
  const std::string expected = "--max-regression must be a percentage of at least 0";
  EXPECT_EQ(refusal(m, m, -1), expected);
  EXPECT_EQ(refusal(m, m, -0.001), expected);
  EXPECT_EQ(refusal(m, m, std::nan("")), expected);
  EXPECT_EQ(refusal(m, m, 0), "");
}

// The same model measured by a board: its ticks per layer (no cycle counter).
Metadata measured(const std::vector<uint64_t>& layer_ticks) {
  Metadata m = profiled(layer_ticks);
  ProfileMeta& p = *m.profile;
  p.method = "ticks";
  p.counters = CounterMask{1} << kTicksCounter;
  p.tick_hz = 1e6;
  for (auto& layer : p.layers) {
    layer->median[kTicksCounter] = layer->median[kEstCycles];
    layer->median[kEstCycles] = kNotMeasured;
  }
  p.total.median[kTicksCounter] = p.total.median[kEstCycles];
  p.total.median[kEstCycles] = kNotMeasured;
  return m;
}

TEST(BaselineTest, ABoardsTicksCompareWithTicks) {
  const Metadata before = measured({600'000, 300'000, 100'000});
  const Metadata after = measured({600'000, 400'000, 100'000});
  const BaselineComparison c = compare_with_baseline(before, after, 5);
  EXPECT_EQ(c.metric, "ticks (median inference)");
  ASSERT_EQ(c.layers.size(), 3u);
  EXPECT_TRUE(c.layers[1].regression);
  EXPECT_THAT(comparison_text(c),
              HasSubstr("REGRESSION layer 1 DEPTHWISE_CONV_2D 'dw1': 300000 -> 400000 ticks"));
}

TEST(BaselineTest, MeasuredAndEstimatedFiguresDoNotCompare) {
  const Metadata estimated = profiled({600'000, 300'000, 100'000});
  const Metadata board = measured({600'000, 300'000, 100'000});
  EXPECT_THAT(refusal(estimated, board, 5),
              HasSubstr("the baseline holds estimated cycles (), this run ticks (ticks): they do "
                        "not compare"));
  EXPECT_THAT(refusal(board, estimated, 5), HasSubstr("do not compare"));
}

}  // namespace
}  // namespace tinydeploy::report
