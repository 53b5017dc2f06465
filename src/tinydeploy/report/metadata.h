// NAME.meta.json: what tinydeploy learned about one model on one target (its shapes,
// quantization, memory plan, kernels, per-layer profile, validation result, library footprint
// and an example), kept so that later stages (the library, the report, power) run without the
// board. The format is versioned and documented in docs/metadata.md.
//
// A metadata file is input like any other: read_metadata checks every field's type and range
// and names the first one that is wrong.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tinydeploy::report {

// The format version this tool writes and reads; a file of another version is refused.
inline constexpr int kMetadataVersion = 1;

struct TensorMeta {
  int32_t index = -1;  // tensor index in subgraph 0
  std::string name;
  std::string dtype;  // as model::dtype_name spells it
  std::vector<int32_t> shape;
  std::vector<double> scales;  // empty for an unquantized tensor
  std::vector<int64_t> zero_points;
  int32_t quantized_dimension = 0;
  int64_t bytes = 0;
};

// One layer (operator of subgraph 0) as analysis and lowering see it.
struct LayerMeta {
  std::string op;      // CONV_2D, ...
  std::string tag;     // its first output tensor's name
  std::string kernel;  // the runtime function the generated invoke calls ("" when none)
  int64_t macs = 0;    // estimated from shapes
  int64_t output_bytes = 0;
  int64_t scratch_bytes = 0;
};

// One placement of the arena plan: a tensor or a layer's scratch, live from first_layer to
// last_layer inclusive.
struct PlacementMeta {
  int32_t tensor = -1;            // -1 for scratch
  int32_t scratch_of_layer = -1;  // -1 for a tensor
  std::string name;
  int64_t offset = 0;
  int64_t bytes = 0;
  int32_t first_layer = 0;
  int32_t last_layer = 0;
};

// The counters of one layer (or of the whole inference) in profile::Field order: the QEMU
// plugin's instructions, loads, stores, branches, taken_branches, est_cycles, iaccess,
// itaglookup, ihitslookup, ihitsline, daccess, dtaglookup, dhitslookup, dhitsline; then what a
// board measures: ticks, cycles, cpi, exc, sleep, lsu, fold. A profile holds the ones its method
// gives (ProfileMeta::counters); any other value is kNotMeasured.
inline constexpr size_t kCounterCount = 21;
// The counters read by name most often: counted instructions, estimated cycles, and a board's
// ticks and measured cycles.
inline constexpr size_t kInstructionsCounter = 0;
inline constexpr size_t kEstCyclesCounter = 5;
inline constexpr size_t kTicksCounter = 14;
inline constexpr size_t kCyclesCounter = 15;
inline constexpr uint64_t kNotMeasured = ~uint64_t{0};
using CounterValues = std::array<uint64_t, kCounterCount>;
// Bit i for counter i.
using CounterMask = uint32_t;
inline constexpr CounterMask kPluginCounters = (CounterMask{1} << 14) - 1;

// The field names, as the JSON spells them, in that order.
extern const std::array<const char*, kCounterCount> kCounterNames;

struct CounterAggregate {
  CounterValues cold{};    // the first inference
  CounterValues min{};     // field by field over all inferences
  CounterValues median{};  // the median inference (by instructions), whole
};

struct ProfileMeta {
  std::string target;  // qemu-m4, ...
  std::string board;   // the registry's board the figures come from (qemu-m4, ...)
  std::string core;    // cortex-m4, ...
  // How the figures were obtained: "qemu-plugin" (counted, simulated, estimated), "dwt" (a board's
  // cycle and event counters, and its ticks), "ticks" (a board's tick counter only), "host-clock"
  // (the PC's monotonic clock, in nanoseconds).
  std::string method;
  CounterMask counters = kPluginCounters;  // the counters this method gives
  std::string plugin;  // the plugin's header line: core model and cache geometry ("" otherwise)
  std::string icache;  // SIZE:WAYS:LINE
  std::string dcache;
  double clock_hz = 0;  // converts cycles to time; 0 when unknown (a board with ticks only)
  double tick_hz = 0;   // the rate of a board's ticks; 0 under the plugin
  uint32_t runs = 0;
  uint64_t seed = 0;
  // Per layer; nullopt for a layer the profiler saw no marks for.
  std::vector<std::optional<CounterAggregate>> layers;
  CounterAggregate total;
  CounterAggregate tail;       // after the last layer: invoke's epilogue
  uint64_t systick_ticks = 0;  // of the median inference (the link's own time included on a board)
  double instructions_per_tick = 0;
  int64_t flash_bytes = 0;  // the profiled image's text + data; 0 when unknown
};

struct OutputValidationMeta {
  std::string name;
  double max_lsb = 0;   // integer outputs; 0 for float
  double max_real = 0;  // infinite when only one side was infinite
  int64_t differing = 0;
  int64_t elements = 0;
  bool classifier = false;
  int64_t top1_agree = 0;
};

struct ValidationMeta {
  std::string target;
  std::string reference;  // tflm or litert
  uint32_t runs = 0;
  uint64_t seed = 0;
  uint32_t tolerance = 0;
  bool pass = false;
  std::vector<OutputValidationMeta> outputs;
  std::string first_divergence;  // "" when none was traced or none found
  std::string timing;            // the target's own time per inference, as validate words it
};

struct LibraryMeta {
  std::string core;
  int64_t library_code = 0;
  int64_t parameters = 0;
  int64_t weights = 0;
  int64_t flash_total = 0;
  int64_t arena = 0;
  int64_t variables = 0;
  int64_t ram_total = 0;
  int64_t archive_bytes = 0;
};

// An example inference: the inputs the package's example embeds and the outputs the host engine
// computed for them (values as numbers; a tensor larger than kMaxExampleElements is left out).
inline constexpr int64_t kMaxExampleElements = 4096;
struct ExampleTensorMeta {
  std::string name;
  std::string dtype;
  std::vector<int32_t> shape;
  std::vector<double> values;  // empty when left out; NaN and infinities are kept (see docs)
};

struct Metadata {
  int version = kMetadataVersion;
  std::string tool;        // "tinydeploy 0.1.0"
  std::string model_file;  // file name as given (no directories)
  std::string model_sha256;
  int64_t model_bytes = 0;
  std::string name;            // the package name
  std::string package_sha256;  // of the generated package's files (paths and contents)
  std::string target;
  std::string core;
  int64_t arena_bytes = 0;
  int64_t variable_bytes = 0;
  int64_t weight_bytes = 0;
  int64_t total_macs = 0;
  std::vector<TensorMeta> inputs;
  std::vector<TensorMeta> outputs;
  std::vector<LayerMeta> layers;
  std::vector<PlacementMeta> plan;
  std::vector<std::string> kernel_sources;
  std::vector<ExampleTensorMeta> example_inputs;
  std::vector<ExampleTensorMeta> example_outputs;
  std::optional<ProfileMeta> profile;
  std::optional<ValidationMeta> validation;
  std::optional<LibraryMeta> library;
};

// The counter that stands for time in a profile: a board's measured cycles where it counted them,
// else the plugin's estimated cycles, else the board's ticks.
size_t time_counter(const ProfileMeta& profile);
// What that counter is, for people: "measured cycles", "estimated cycles", "ticks".
std::string time_counter_label(const ProfileMeta& profile);
// Seconds of `value` of the time counter; NaN when the profile has no rate to convert it by.
double counter_seconds(const ProfileMeta& profile, uint64_t value);

std::string metadata_json(const Metadata& metadata);
// Parses and checks a metadata document; `where` names it in errors. Throws tinydeploy::Error.
Metadata parse_metadata(std::string_view text, const std::string& where);

// Writes atomically (temporary file, then rename).
void write_metadata(const std::filesystem::path& file, const Metadata& metadata);
// Reads and checks a file (at most 64 MiB).
Metadata read_metadata(const std::filesystem::path& file);

}  // namespace tinydeploy::report
