#include "tinydeploy/analysis/memory_plan.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "analysis/planned.h"
#include "tinydeploy/analysis/analysis.h"
#include "tinydeploy/model/reader.h"

namespace tinydeploy::analysis {
namespace {

// Every pair of buffers live during a common operator occupies disjoint bytes.
void expect_valid(std::span<const LiveBuffer> buffers, const Placement& placement) {
  ASSERT_EQ(placement.offsets.size(), buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i) {
    EXPECT_EQ(placement.offsets[i] % kArenaAlignment, 0);
    EXPECT_LE(placement.offsets[i] + buffers[i].size, placement.arena_bytes);
    for (size_t j = i + 1; j < buffers.size(); ++j) {
      const bool live_together =
          buffers[i].first <= buffers[j].last && buffers[j].first <= buffers[i].last;
      const bool share_bytes = placement.offsets[i] < placement.offsets[j] + buffers[j].size &&
                               placement.offsets[j] < placement.offsets[i] + buffers[i].size;
      EXPECT_FALSE(live_together && share_bytes) << "buffers " << i << " and " << j;
    }
  }
  EXPECT_GE(placement.arena_bytes, placement.lower_bound_bytes);
}

TEST(MemoryPlanTest, LowerBoundIsThePeakOfLiveBytes) {
  // Op 0: a(100->112) + b(16); op 1: b + c(40->48); op 2: c alone.
  const std::vector<LiveBuffer> buffers = {{100, 0, 0}, {16, 0, 1}, {40, 1, 2}};
  EXPECT_EQ(arena_lower_bound(buffers), 112 + 16);
}

TEST(MemoryPlanTest, ChainsReachTheLowerBound) {
  std::mt19937 random(3);
  for (int trial = 0; trial < 500; ++trial) {
    // Tensor i is written by operator i and read by operator i + 1 only.
    const int length = std::uniform_int_distribution<int>(1, 40)(random);
    std::vector<LiveBuffer> chain;
    for (int i = 0; i < length; ++i) {
      chain.push_back({std::uniform_int_distribution<int64_t>(1, 100000)(random), i, i + 1});
    }
    const Placement placement = plan_arena(chain);
    expect_valid(chain, placement);
    EXPECT_EQ(placement.arena_bytes, placement.lower_bound_bytes) << "trial " << trial;
  }
}

TEST(MemoryPlanTest, RandomGraphsNeverOverlap) {
  std::mt19937 random(17);
  int64_t total_arena = 0;
  int64_t total_bound = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    const int steps = std::uniform_int_distribution<int>(1, 30)(random);
    const int count = std::uniform_int_distribution<int>(1, 50)(random);
    std::vector<LiveBuffer> buffers;
    for (int i = 0; i < count; ++i) {
      const int first = std::uniform_int_distribution<int>(0, steps - 1)(random);
      const int last = std::uniform_int_distribution<int>(first, steps - 1)(random);
      // Mix tensors with single-operator scratch buffers.
      const bool scratch = std::uniform_int_distribution<int>(0, 4)(random) == 0;
      buffers.push_back({std::uniform_int_distribution<int64_t>(1, 50000)(random), first,
                         scratch ? first : last});
    }
    const Placement placement = plan_arena(buffers);
    expect_valid(buffers, placement);
    if (::testing::Test::HasFailure()) return;
    total_arena += placement.arena_bytes;
    total_bound += placement.lower_bound_bytes;
  }
  // The planner is close to optimal on random interval graphs too (measured: within 10%).
  EXPECT_LT(static_cast<double>(total_arena) / static_cast<double>(total_bound), 1.10);
}

TEST(MemoryPlanTest, EmptyPlan) {
  const Placement placement = plan_arena({});
  EXPECT_EQ(placement.arena_bytes, 0);
  EXPECT_EQ(placement.lower_bound_bytes, 0);
}

TEST(MemoryPlanTest, RealModelsNeverOverlap) {
  const auto folder = std::filesystem::path(TINYDEPLOY_SHARED_DIR) / "models";
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().extension() != ".tflite") continue;
    SCOPED_TRACE(entry.path().string());
    const auto model = model::read_model(entry.path());
    const MemoryPlan plan = planned(model).plan;
    std::vector<LiveBuffer> buffers;
    Placement placement{{}, plan.arena_bytes, plan.lower_bound_bytes};
    for (const Allocation& allocation : plan.allocations) {
      buffers.push_back({allocation.size, allocation.first_op, allocation.last_op});
      placement.offsets.push_back(allocation.offset);
    }
    expect_valid(buffers, placement);
    EXPECT_FALSE(plan.allocations.empty());
  }
}

}  // namespace
}  // namespace tinydeploy::analysis
