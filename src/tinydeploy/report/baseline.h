// The regression guard: a profile compared with an earlier one (`profile --baseline`), layer by
// layer and in total, on the median inference's estimated cycles.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tinydeploy/report/metadata.h"

namespace tinydeploy::report {

struct Change {
  std::string what;  // "layer 3 CONV_2D 'conv1'" or "total"
  uint64_t before = 0;
  uint64_t after = 0;
  double percent = 0;  // (after - before) / before * 100; +inf when before is 0
  bool regression = false;
};

struct BaselineComparison {
  std::string metric;  // what is compared, e.g. "estimated cycles (median inference)"
  std::string unit =
      "cycles";  // of the figures: cycles, or ticks of a board without a cycle counter
  double max_regression_percent = 0;
  uint64_t noise_floor = 0;  // growth below this many cycles never counts
  // The layers are compared one by one when both profiles have the same operators in the same
  // order; otherwise only the total, and `layers_not_compared` says why.
  std::string layers_not_compared;
  std::vector<Change> layers;
  Change total;

  bool regressed() const;
};

// Throws tinydeploy::Error when the baseline has no profile or was profiled on another core.
// A layer (or the total) regresses when it grows by more than `max_regression_percent` and by
// more than the noise floor: 0.1% of the baseline's total, so that a layer of a few dozen
// cycles cannot fail a run by itself.
BaselineComparison compare_with_baseline(const Metadata& baseline, const Metadata& current,
                                         double max_regression_percent);

// One line per regression (or "no regression"), then the total.
std::string comparison_text(const BaselineComparison& comparison);

}  // namespace tinydeploy::report
