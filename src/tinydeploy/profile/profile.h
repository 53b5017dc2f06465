// Per-layer profiles: the records of tinydeploy's QEMU plugin (tools/qemu-plugin) read back, or a
// board's own counters from counted invokes, aggregated over inferences (the first, cold one; the
// minimum of all; the median run), and written as NAME_stats.csv with the columns vendor tools use.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tinydeploy::profile {

// Every counter a profile may hold: first the plugin's, in the order of its records, then what a
// board measures itself (its tick counter, and the DWT counters of tinydeploy/port.h).
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
  kTicks,   // measured: the board's tick counter (host: nanoseconds of the monotonic clock)
  kCycles,  // measured: DWT CYCCNT
  kCpi,     // measured: DWT CPICNT, EXCCNT, SLEEPCNT, LSUCNT, FOLDCNT (8 bits wide: see
  kExc,     //   event_counts_exact)
  kSleep,
  kLsu,
  kFold,
  kFieldCount
};
inline constexpr size_t kPluginFieldCount = kTicks;

// A set of fields, bit f for Field f.
using FieldMask = uint32_t;
inline constexpr FieldMask field_bit(Field f) { return FieldMask{1} << f; }
inline constexpr FieldMask kPluginFields = (FieldMask{1} << kPluginFieldCount) - 1;
inline constexpr FieldMask kEventFields =
    field_bit(kCpi) | field_bit(kExc) | field_bit(kSleep) | field_bit(kLsu) | field_bit(kFold);

// The value of a field that was not measured: one the method has not, or a DWT event count that
// may have wrapped. Never a count: left empty in the CSV, null in the metadata.
inline constexpr uint64_t kNotMeasured = ~uint64_t{0};

using Counters = std::array<uint64_t, kFieldCount>;
// All fields kNotMeasured.
Counters unmeasured();

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

// The median inference: the index of the run whose total `by` (instructions for the plugin, the
// time for a board) is the median (the lower one of an even number of runs). Reporting that one
// inference's counters, layers and total alike, keeps the layers adding up to the total, which
// field-by-field medians do not.
size_t median_run(const std::vector<Inference>& inferences, Field by = kInstructions);

// What one counted layer (or tail) of a board measured, as the link carries it: its ticks and the
// port's counters (bit i of `mask`: value i read, in TD_COUNTER_* order: cycles, cpi, exc, sleep,
// lsu, fold), as differences modulo 2^32 (cycles) and 2^8 (the five event counters).
struct BoardCount {
  uint64_t ticks = 0;
  uint32_t mask = 0;
  std::array<uint32_t, 6> values{};
};
// The counters of one BoardCount: ticks; cycles where read; each event count where read and
// provably whole: an 8-bit DWT counter gains at most one per cycle, so it cannot have wrapped
// when the layer took fewer than 256 cycles. Otherwise kNotMeasured.
Counters board_counters(const BoardCount& count);
bool event_counts_exact(const BoardCount& count);
// The whole inference: the layers and the tail added up (kNotMeasured where any part is). Throws
// tinydeploy::Error when a sum leaves the range of a count (a board's counters that lie).
Counters add_counters(const std::vector<Counters>& parts);

// cold = runs[0]; min over all runs, field by field; median = runs[median] (see median_run). A
// field not measured in some run is not measured in the aggregate's min.
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
  std::optional<Aggregate> counters;  // nullopt: the profiler saw nothing of this layer
};

// How a profile's figures were obtained, which decides the CSV's time and cycles columns.
struct CsvTiming {
  bool measured = false;  // a board's counters (ticks, cycles) rather than the plugin's estimate
  double clock_hz = 0;    // converts estimated cycles to microseconds (plugin)
  double tick_hz = 0;     // converts measured ticks to microseconds (board)
};

// The CSV: the median run's values in the vendor columns, cold and min beside them; what the
// target cannot measure is left empty.
std::string stats_csv(const std::vector<LayerRow>& rows, const CsvTiming& timing);

}  // namespace tinydeploy::profile
