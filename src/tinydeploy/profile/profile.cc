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
    Counters counters{};
    fields >> kind >> inference >> index;
    for (uint64_t& value : counters) fields >> value;
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

size_t median_run(const std::vector<Inference>& inferences) {
  if (inferences.empty()) return 0;
  std::vector<size_t> order(inferences.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return inferences[a].total[kInstructions] < inferences[b].total[kInstructions];
  });
  return order[(order.size() - 1) / 2];
}

Aggregate aggregate(const std::vector<Counters>& runs, size_t median) {
  Aggregate result;
  if (runs.empty()) return result;
  if (median >= runs.size()) throw Error("aggregate: run {} of {}", median, runs.size());
  result.cold = runs.front();
  result.median = runs[median];
  for (size_t f = 0; f < kFieldCount; ++f) {
    result.min[f] = runs.front()[f];
    for (const Counters& run : runs) result.min[f] = std::min(result.min[f], run[f]);
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

std::string stats_csv(const std::vector<LayerRow>& rows, double clock_hz) {
  std::string text =
      "Event,Tag,uSeconds,Est MACs,cycles,cpi,exc,sleep,lsu,fold,daccess,dtaglookup,dhitslookup,"
      "dhitsline,iaccess,itaglookup,ihitslookup,ihitsline,instructions,loads,stores,branches,"
      "taken branches,output bytes,cycles kind,cache kind,cold cycles,min cycles,"
      "cold instructions,min instructions,cycles per MAC\n";
  for (const LayerRow& row : rows) {
    const Counters& m = row.counters.median;
    const bool measured = m[kInstructions] > 0;
    auto value = [&](Field f) { return measured ? fmt::format("{}", m[f]) : std::string(); };
    std::string line = fmt::format("{},{},", csv_text(row.event), csv_text(row.tag));
    if (measured) {
      line +=
          fmt::format("{:.3f},{},{},{:.3f},", static_cast<double>(m[kEstCycles]) * 1e6 / clock_hz,
                      row.macs, m[kEstCycles],
                      static_cast<double>(m[kEstCycles]) / static_cast<double>(m[kInstructions]));
    } else {
      line += fmt::format(",{},,,", row.macs);
    }
    line += ",,,,";  // exc, sleep, lsu, fold: DWT event counters, not available under QEMU
    for (Field f :
         {kDAccess, kDTagLookup, kDHitsLookup, kDHitsLine, kIAccess, kITagLookup, kIHitsLookup,
          kIHitsLine, kInstructions, kLoads, kStores, kBranches, kTakenBranches}) {
      line += value(f) + ",";
    }
    line += fmt::format("{},", row.output_bytes);
    if (measured) {
      line += fmt::format("estimated,simulated,{},{},{},{},", row.counters.cold[kEstCycles],
                          row.counters.min[kEstCycles], row.counters.cold[kInstructions],
                          row.counters.min[kInstructions]);
      // Estimated cycles per estimated MAC; empty for a layer without MACs (a reshape, a pool).
      if (row.macs > 0) {
        line += fmt::format("{:.3f}",
                            static_cast<double>(m[kEstCycles]) / static_cast<double>(row.macs));
      }
    } else {
      line += ",,,,,,";
    }
    text += line + "\n";
  }
  return text;
}

}  // namespace tinydeploy::profile
