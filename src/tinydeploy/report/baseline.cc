#include "tinydeploy/report/baseline.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "tinydeploy/common/error.h"
#include "tinydeploy/common/text.h"

namespace tinydeploy::report {
namespace {

// A tensor name can be a whole converter path; a line shows its start.
std::string short_tag(const std::string& tag) {
  constexpr size_t kShown = 40;
  const std::string shown = printable(tag);
  if (shown.size() <= kShown) return shown;
  size_t cut = kShown;
  // Never inside a UTF-8 sequence: back up to the first byte of a character.
  while (cut > 0 && (static_cast<unsigned char>(shown[cut]) & 0xC0) == 0x80) --cut;
  return shown.substr(0, cut) + "...";
}

Change change(std::string what, uint64_t before, uint64_t after, double max_percent,
              uint64_t floor) {
  Change c;
  c.what = std::move(what);
  c.before = before;
  c.after = after;
  if (before == 0) {
    c.percent = after == 0 ? 0.0 : std::numeric_limits<double>::infinity();
  } else {
    c.percent = (static_cast<double>(after) - static_cast<double>(before)) * 100.0 /
                static_cast<double>(before);
  }
  c.regression = after > before && after - before > floor && c.percent > max_percent;
  return c;
}

std::string percent_text(double percent) {
  if (percent == std::numeric_limits<double>::infinity()) return "new";
  return fmt::format("{:+.1f}%", percent);
}

}  // namespace

bool BaselineComparison::regressed() const {
  return total.regression ||
         std::any_of(layers.begin(), layers.end(), [](const Change& c) { return c.regression; });
}

BaselineComparison compare_with_baseline(const Metadata& baseline, const Metadata& current,
                                         double max_regression_percent) {
  if (!(max_regression_percent >= 0)) {
    throw Error("--max-regression must be a percentage of at least 0");
  }
  if (!baseline.profile) {
    throw Error("the baseline ({}) holds no profile: give the metadata a profile run wrote",
                baseline.model_file);
  }
  if (!current.profile) throw Error("this run has no profile to compare with the baseline");
  const ProfileMeta& before = *baseline.profile;
  const ProfileMeta& after = *current.profile;
  if (before.core != after.core) {
    throw Error(
        "the baseline was profiled on {} ({}), this run on {} ({}): cycles of different cores "
        "do not compare",
        before.core, before.target, after.core, after.target);
  }
  const size_t counter = time_counter(after);
  if (time_counter(before) != counter) {
    throw Error("the baseline holds {} ({}), this run {} ({}): they do not compare",
                time_counter_label(before), before.method, time_counter_label(after), after.method);
  }
  const uint64_t before_total = before.total.median[counter];
  const uint64_t after_total = after.total.median[counter];
  if (before_total == kNotMeasured || after_total == kNotMeasured) {
    throw Error("the {} of the whole inference were not measured in the {}",
                time_counter_label(after), before_total == kNotMeasured ? "baseline" : "this run");
  }
  BaselineComparison result;
  result.metric = time_counter_label(after) + " (median inference)";
  result.unit = counter == kTicksCounter ? "ticks" : "cycles";
  result.max_regression_percent = max_regression_percent;
  result.noise_floor = std::max<uint64_t>(1, before_total / 1000);
  result.total =
      change("total", before_total, after_total, max_regression_percent, result.noise_floor);

  bool same_layers = baseline.layers.size() == current.layers.size();
  for (size_t i = 0; same_layers && i < current.layers.size(); ++i) {
    same_layers = baseline.layers[i].op == current.layers[i].op;
  }
  if (!same_layers) {
    result.layers_not_compared = fmt::format(
        "the baseline has {} layers, this model {}, not the same operators in the same order",
        baseline.layers.size(), current.layers.size());
    return result;
  }
  for (size_t i = 0; i < current.layers.size(); ++i) {
    if (!before.layers[i] || !after.layers[i]) continue;
    const uint64_t was = before.layers[i]->median[counter];
    const uint64_t is = after.layers[i]->median[counter];
    if (was == kNotMeasured || is == kNotMeasured) continue;
    const LayerMeta& layer = current.layers[i];
    result.layers.push_back(
        change(fmt::format("layer {} {} '{}'", i, layer.op, short_tag(layer.tag)), was, is,
               max_regression_percent, result.noise_floor));
  }
  return result;
}

std::string comparison_text(const BaselineComparison& c) {
  std::string text =
      fmt::format("baseline: {} compared, a regression is more than {:g}% and more than {} {}\n",
                  c.metric, c.max_regression_percent, c.noise_floor, c.unit);
  if (!c.layers_not_compared.empty()) {
    text += fmt::format("  layers not compared: {}\n", c.layers_not_compared);
  }
  size_t regressions = 0;
  for (const Change& layer : c.layers) {
    if (!layer.regression) continue;
    ++regressions;
    text += fmt::format("  REGRESSION {}: {} -> {} {} ({})\n", layer.what, layer.before,
                        layer.after, c.unit, percent_text(layer.percent));
  }
  text += fmt::format("  {}total: {} -> {} {} ({})\n", c.total.regression ? "REGRESSION " : "",
                      c.total.before, c.total.after, c.unit, percent_text(c.total.percent));
  if (regressions == 0 && !c.total.regression) {
    text += "  no regression\n";
  }
  return text;
}

}  // namespace tinydeploy::report
