// Static placement of buffers with known lifetimes in one arena.
//
// The planner only sees sizes and live ranges, so it is tested on its own with random
// lifetimes; analysis.h turns a model into these buffers.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace tinydeploy::analysis {

inline constexpr int64_t kArenaAlignment = 16;

constexpr int64_t align_up(int64_t bytes) {
  return (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
}

// A buffer live from the start of operator `first` to the end of operator `last` (inclusive).
struct LiveBuffer {
  int64_t size = 0;
  int32_t first = 0;
  int32_t last = 0;
};

struct Placement {
  std::vector<int64_t> offsets;  // one per buffer, 16-byte aligned
  int64_t arena_bytes = 0;
  // Largest sum of (aligned) sizes live during any one operator: no placement can be smaller.
  int64_t lower_bound_bytes = 0;
};

// The largest sum of aligned sizes of buffers live at the same operator.
int64_t arena_lower_bound(std::span<const LiveBuffer> buffers);

// Places every buffer so that no two buffers live at the same time share a byte. Several
// greedy orders are tried and the smallest arena is kept; it stops early at the lower bound.
Placement plan_arena(std::span<const LiveBuffer> buffers);

}  // namespace tinydeploy::analysis
