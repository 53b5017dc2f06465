// Per-layer profiles: the records of tinydeploy's QEMU plugin (tools/qemu-plugin) read back,
// aggregated over inferences (the first, cold one; the minimum of all; the median run), and written
// as NAME_stats.csv with the columns vendor tools use.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tinydeploy::profile {

// The plugin's fields, in the order of its records.
enum Field : size_t {
  kInstructions,   // counted
  kLoads,          // counted: read accesses as QEMU performs them
  kStores,         // counted: write accesses
  kBranches,       // counted: branch instructions executed
  kTakenBranches,  // counted: control transfers after a branch instruction
  kEstCycles,      // estimated: the plugin's instruction-class cost model
  kIAccess,        // simulated instruction cache
  kITagLookup,
  kIHitsLookup,
  kIHitsLine,
  kDAccess,  // simulated data cache
  kDTagLookup,
  kDHitsLookup,
  kDHitsLine,
  kFieldCount
};

using Counters = std::array<uint64_t, kFieldCount>;

struct Inference {
  std::vector<std::optional<Counters>> layers;  // one per layer; empty when not marked
  Counters tail{};   // after the last layer mark: the hook's return, invoke's epilogue
  Counters total{};  // the whole inference: the layers plus the tail
};

struct PluginRecords {
  std::string header;  // the plugin's first line: its core and cache geometry
  std::vector<Inference> inferences;
};

// Reads the plugin's output file for a model of `layers` layers. Throws tinydeploy::Error on a
// malformed or truncated file.
PluginRecords read_plugin_records(const std::filesystem::path& file, size_t layers);

// The median inference: the index of the run whose total instruction count is the median
// (the lower one of an even number of runs). Reporting that one inference's counters, layers
// and total alike, keeps the layers adding up to the total, which field-by-field medians do not.
size_t median_run(const std::vector<Inference>& inferences);

// cold = runs[0]; min over all runs, field by field; median = runs[median] (see median_run).
struct Aggregate {
  Counters cold{};
  Counters min{};
  Counters median{};
};
Aggregate aggregate(const std::vector<Counters>& runs, size_t median);

// One row of NAME_stats.csv.
struct LayerRow {
  std::string event;  // operator, e.g. CONV_2D
  std::string tag;    // its first output tensor's name
  int64_t macs = 0;
  int64_t output_bytes = 0;
  Aggregate counters;
};

// The CSV: the median run's values in the vendor columns, cold and min beside them; what the
// target cannot measure is left empty. `clock_hz` converts estimated cycles to microseconds.
std::string stats_csv(const std::vector<LayerRow>& rows, double clock_hz);

}  // namespace tinydeploy::profile
