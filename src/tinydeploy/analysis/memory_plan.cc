#include "tinydeploy/analysis/memory_plan.h"

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>
#include <optional>

namespace tinydeploy::analysis {
namespace {

bool overlap_in_time(const LiveBuffer& a, const LiveBuffer& b) {
  return a.first <= b.last && b.first <= a.last;
}

struct Interval {
  int64_t begin;
  int64_t end;
};

enum class Fit { First, Best };

// The byte ranges taken by already placed buffers that are live together with `buffer`.
void collect_busy(std::span<const LiveBuffer> buffers, std::span<const size_t> placed,
                  std::span<const int64_t> offsets, const LiveBuffer& buffer,
                  std::vector<Interval>& busy) {
  busy.clear();
  for (const size_t other : placed) {
    if (overlap_in_time(buffer, buffers[other])) {
      busy.push_back({offsets[other], offsets[other] + align_up(buffers[other].size)});
    }
  }
}

// Places buffers one by one in `order`, each in a gap between the already placed buffers that
// are live at the same time: the lowest gap that fits, or the tightest one. Unbounded, a buffer
// that fits no gap goes above everything. Within a `capacity`, placement fails instead, and a
// gap that reaches the top of the arena is filled from the top: buffers then pile up from both
// ends, which is what alternating producer/consumer chains need to reach the lower bound.
std::optional<Placement> place(std::span<const LiveBuffer> buffers, std::span<const size_t> order,
                               Fit fit, std::optional<int64_t> capacity = std::nullopt) {
  Placement result;
  result.offsets.assign(buffers.size(), 0);
  std::vector<size_t> placed;
  placed.reserve(buffers.size());
  std::vector<Interval> busy;
  for (const size_t index : order) {
    const LiveBuffer& buffer = buffers[index];
    const int64_t size = align_up(buffer.size);
    collect_busy(buffers, placed, result.offsets, buffer, busy);
    if (capacity) busy.push_back({*capacity, *capacity});
    std::sort(busy.begin(), busy.end(),
              [](const Interval& a, const Interval& b) { return a.begin < b.begin; });
    std::optional<Interval> chosen;
    int64_t cursor = 0;
    for (const Interval& taken : busy) {
      const int64_t gap = taken.begin - cursor;
      if (gap >= size) {
        if (!chosen || (fit == Fit::Best && gap < chosen->end - chosen->begin)) {
          chosen = Interval{cursor, taken.begin};
        }
        if (fit == Fit::First) break;
      }
      cursor = std::max(cursor, taken.end);
    }
    if (!chosen) {
      if (capacity) return std::nullopt;
      chosen = Interval{cursor, cursor + size};
    }
    const bool from_top = capacity && chosen->end == *capacity && chosen->begin > 0;
    result.offsets[index] = from_top ? chosen->end - size : chosen->begin;
    result.arena_bytes = std::max(result.arena_bytes, result.offsets[index] + size);
    placed.push_back(index);
  }
  return result;
}

}  // namespace

int64_t arena_lower_bound(std::span<const LiveBuffer> buffers) {
  // Sweep over operator boundaries: +size when a buffer starts, -size after it ends.
  std::map<int32_t, int64_t> delta;
  for (const LiveBuffer& buffer : buffers) {
    delta[buffer.first] += align_up(buffer.size);
    delta[buffer.last + 1] -= align_up(buffer.size);
  }
  int64_t live = 0;
  int64_t peak = 0;
  for (const auto& [step, change] : delta) {
    live += change;
    peak = std::max(peak, live);
  }
  return peak;
}

Placement plan_arena(std::span<const LiveBuffer> buffers) {
  const int64_t bound = arena_lower_bound(buffers);
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), size_t{0});

  const auto span = [&](size_t i) { return int64_t{buffers[i].last} - buffers[i].first + 1; };
  const auto size = [&](size_t i) { return align_up(buffers[i].size); };
  // Orders that work well for different graph shapes; ties broken by index for determinism.
  const std::vector<std::function<bool(size_t, size_t)>> orders = {
      [&](size_t a, size_t b) {
        return std::tuple(-size(a), buffers[a].first, a) <
               std::tuple(-size(b), buffers[b].first, b);
      },
      [&](size_t a, size_t b) {
        return std::tuple(-size(a) * span(a), a) < std::tuple(-size(b) * span(b), b);
      },
      [&](size_t a, size_t b) {
        return std::tuple(-span(a), -size(a), a) < std::tuple(-span(b), -size(b), b);
      },
      [&](size_t a, size_t b) {
        return std::tuple(buffers[a].first, -size(a), a) <
               std::tuple(buffers[b].first, -size(b), b);
      },
  };
  Placement best;
  bool have_best = false;
  for (const auto& less : orders) {
    std::sort(order.begin(), order.end(), less);
    for (const Fit fit : {Fit::Best, Fit::First}) {
      Placement candidate = *place(buffers, order, fit);
      if (!have_best || candidate.arena_bytes < best.arena_bytes) {
        best = std::move(candidate);
        have_best = true;
      }
      if (best.arena_bytes == bound) break;
    }
    if (best.arena_bytes == bound) break;
  }
  // Bounded two-ended placement: first at the lower bound, then by bisection on the capacity
  // between the lower bound and the best greedy result.
  std::vector<std::vector<size_t>> bounded_orders;
  std::sort(order.begin(), order.end(), orders[3]);
  bounded_orders.push_back(order);
  std::sort(order.begin(), order.end(), orders[0]);
  bounded_orders.push_back(order);
  int64_t low = bound;
  int64_t high = best.arena_bytes - kArenaAlignment;
  for (int round = 0; round < 12 && low <= high; ++round) {
    const int64_t capacity = round == 0 ? low : align_up((low + high) / 2);
    bool fitted = false;
    for (const auto& candidate_order : bounded_orders) {
      if (auto candidate = place(buffers, candidate_order, Fit::Best, capacity)) {
        if (candidate->arena_bytes < best.arena_bytes) best = std::move(*candidate);
        fitted = true;
        break;
      }
    }
    if (fitted) {
      high = std::min(high, best.arena_bytes - kArenaAlignment);
      if (round == 0) break;
    } else {
      low = capacity + kArenaAlignment;
    }
  }
  best.lower_bound_bytes = bound;
  return best;
}

}  // namespace tinydeploy::analysis
