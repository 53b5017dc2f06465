#include "tinydeploy/profile/profile.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tinydeploy/common/error.h"

namespace tinydeploy::profile {

namespace fs = std::filesystem;

Counters unmeasured() {
  Counters c;
  c.fill(kNotMeasured);
  return c;
}

PluginRecords read_plugin_records(const fs::path& file, size_t layers) {
  std::ifstream in(file);
  if (!in) throw Error("the profiler plugin wrote no records ({} is missing)", file.string());
  PluginRecords records;
  Inference current;
  current.layers.resize(layers);
  std::string line;
  size_t number = 0;
  auto bad = [&](std::string_view why) {
    return Error("{}:{}: {} in the profiler plugin's records", file.string(), number, why);
  };
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (records.header.empty()) records.header = line.substr(2);
      continue;
    }
    std::istringstream fields(line);
    std::string kind;
    uint64_t inference = 0;
    std::string index;
    Counters counters = unmeasured();
    fields >> kind >> inference >> index;
    for (size_t f = 0; f < kPluginFieldCount; ++f) fields >> counters[f];
    if (!fields) throw bad("a malformed line");
    if (inference != records.inferences.size()) throw bad("an inference out of order");
    if (kind == "layer") {
      size_t layer = 0;
      try {
        layer = std::stoul(index);
      } catch (const std::exception&) {
        throw bad("a bad layer index");
      }
      if (layer >= layers) throw bad("a layer index past the model's layers");
      current.layers[layer] = counters;
    } else if (kind == "tail") {
      current.tail = counters;
    } else if (kind == "total") {
      current.total = counters;
      records.inferences.push_back(std::move(current));
      current = Inference{};
      current.layers.resize(layers);
    } else {
      throw bad("an unknown record");
    }
  }
  return records;
}

size_t median_run(const std::vector<Inference>& inferences, Field by) {
  if (inferences.empty()) return 0;
  std::vector<size_t> order(inferences.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return inferences[a].total[by] < inferences[b].total[by];
  });
  return order[(order.size() - 1) / 2];
}

bool event_counts_exact(const BoardCount& count) {
  constexpr uint32_t kCyclesBit = 1u << 0;  // TD_COUNTER_CYCLES
  return (count.mask & kCyclesBit) != 0 && count.values[0] < 256;
}

Counters board_counters(const BoardCount& count) {
  if (count.ticks == kNotMeasured) {
    throw Error("the board reported {} ticks for one layer: not a time", count.ticks);
  }
  Counters c = unmeasured();
  c[kTicks] = count.ticks;
  constexpr Field kOrder[] = {kCycles, kCpi, kExc, kSleep, kLsu, kFold};
  const bool events = event_counts_exact(count);
  for (size_t i = 0; i < std::size(kOrder); ++i) {
    if ((count.mask & (1u << i)) == 0) continue;
    if (kOrder[i] != kCycles && !events) continue;
    c[kOrder[i]] = count.values[i];
  }
  return c;
}

Counters add_counters(const std::vector<Counters>& parts) {
  Counters sum{};
  for (const Counters& part : parts) {
    for (size_t f = 0; f < kFieldCount; ++f) {
      if (sum[f] == kNotMeasured || part[f] == kNotMeasured) {
        sum[f] = kNotMeasured;
      } else if (__builtin_add_overflow(sum[f], part[f], &sum[f]) || sum[f] == kNotMeasured) {
        // Only counts that lie get here (2^64 ticks of 1 ns is 584 years).
        throw Error("the layers' counts add up past 2^64 - 2: the board's counters are wrong");
      }
    }
  }
  return parts.empty() ? unmeasured() : sum;
}

Aggregate aggregate(const std::vector<Counters>& runs, size_t median) {
  Aggregate result;
  if (runs.empty()) return result;
  if (median >= runs.size()) throw Error("aggregate: run {} of {}", median, runs.size());
  result.cold = runs.front();
  result.median = runs[median];
  for (size_t f = 0; f < kFieldCount; ++f) {
    // kNotMeasured is the largest value: any run without the field makes the minimum unknown.
    result.min[f] = runs.front()[f];
    for (const Counters& run : runs) {
      result.min[f] = run[f] == kNotMeasured ? kNotMeasured : std::min(result.min[f], run[f]);
      if (result.min[f] == kNotMeasured) break;
    }
  }
  return result;
}

namespace {

std::string csv_text(std::string_view text) {
  if (text.find_first_of(",\"\n") == std::string_view::npos) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace

std::string stats_csv(const std::vector<LayerRow>& rows, const CsvTiming& timing) {
  std::string text =
      "Event,Tag,uSeconds,Est MACs,cycles,cpi,exc,sleep,lsu,fold,daccess,dtaglookup,dhitslookup,"
      "dhitsline,iaccess,itaglookup,ihitslookup,ihitsline,instructions,loads,stores,branches,"
      "taken branches,output bytes,cycles kind,cache kind,cold cycles,min cycles,"
      "cold instructions,min instructions,cycles per MAC,cold uSeconds,min uSeconds\n";
  // A board measures its cycles (where it has a cycle counter) and its time in ticks; the plugin
  // estimates cycles, and the time from them at the given clock.
  const Field cycles = timing.measured ? kCycles : kEstCycles;
  auto cell = [](uint64_t value) {
    return value == kNotMeasured ? std::string() : fmt::format("{}", value);
  };
  auto micros = [&](const Counters& c) {
    const Field f = timing.measured ? kTicks : kEstCycles;
    const double hz = timing.measured ? timing.tick_hz : timing.clock_hz;
    if (c[f] == kNotMeasured || !(hz > 0)) return std::string();
    return fmt::format("{:.3f}", static_cast<double>(c[f]) * 1e6 / hz);
  };
  for (const LayerRow& row : rows) {
    std::string line = fmt::format("{},{},", csv_text(row.event), csv_text(row.tag));
    if (!row.counters) {
      // Nothing was seen of this layer: only what the model says.
      // uSeconds, Est MACs, 19 counters, output bytes and the 9 columns after it.
      line += fmt::format(",{},{}{},{}\n", row.macs, std::string(19, ','), row.output_bytes,
                          std::string(8, ','));
      text += line;
      continue;
    }
    const Counters& m = row.counters->median;
    line += fmt::format("{},{},{},", micros(m), row.macs, cell(m[cycles]));
    if (timing.measured) {
      line += cell(m[kCpi]) + ",";
    } else if (m[kEstCycles] != kNotMeasured && m[kInstructions] != kNotMeasured &&
               m[kInstructions] > 0) {
      // Estimated cycles per counted instruction.
      line += fmt::format(
          "{:.3f},", static_cast<double>(m[kEstCycles]) / static_cast<double>(m[kInstructions]));
    } else {
      line += ",";
    }
    for (Field f : {kExc, kSleep, kLsu, kFold, kDAccess, kDTagLookup, kDHitsLookup, kDHitsLine,
                    kIAccess, kITagLookup, kIHitsLookup, kIHitsLine, kInstructions, kLoads, kStores,
                    kBranches, kTakenBranches}) {
      line += cell(m[f]) + ",";
    }
    line += fmt::format("{},", row.output_bytes);
    const bool has_cycles = m[cycles] != kNotMeasured;
    line += has_cycles ? (timing.measured ? "measured," : "estimated,") : ",";
    line += m[kIAccess] != kNotMeasured ? "simulated," : ",";
    line += fmt::format("{},{},{},{},", cell(row.counters->cold[cycles]),
                        cell(row.counters->min[cycles]), cell(row.counters->cold[kInstructions]),
                        cell(row.counters->min[kInstructions]));
    // Cycles per estimated MAC; empty for a layer without MACs (a reshape, a pool).
    if (row.macs > 0 && has_cycles) {
      line += fmt::format("{:.3f}", static_cast<double>(m[cycles]) / static_cast<double>(row.macs));
    }
    line += fmt::format(",{},{}", micros(row.counters->cold), micros(row.counters->min));
    text += line + "\n";
  }
  return text;
}

}  // namespace tinydeploy::profile
