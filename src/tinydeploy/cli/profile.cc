#include "tinydeploy/cli/profile.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "tinydeploy/board/board.h"
#include "tinydeploy/build/firmware_image.h"
#include "tinydeploy/cli/model_metadata.h"
#include "tinydeploy/cli/package.h"
#include "tinydeploy/cli/progress.h"
#include "tinydeploy/cli/target_session.h"
#include "tinydeploy/common/atomic_file.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/common/output_directory.h"
#include "tinydeploy/common/process.h"
#include "tinydeploy/common/sha256.h"
#include "tinydeploy/common/temporary_directory.h"
#include "tinydeploy/common/text.h"
#include "tinydeploy/link/client.h"
#include "tinydeploy/lowering/lowering.h"
#include "tinydeploy/model/reader.h"
#include "tinydeploy/profile/profile.h"
#include "tinydeploy/report/baseline.h"
#include "tinydeploy/tensors/tensor_io.h"

#ifndef TINYDEPLOY_QEMU_PLUGIN_BUILT
#define TINYDEPLOY_QEMU_PLUGIN_BUILT ""
#endif

namespace tinydeploy::cli {
namespace {

namespace fs = std::filesystem;
using profile::Counters;
using profile::Field;
static_assert(std::is_same_v<Counters, report::CounterValues>,
              "the plugin's counters are the metadata's");
static_assert(profile::kInstructions == report::kInstructionsCounter &&
                  profile::kEstCycles == report::kEstCyclesCounter &&
                  profile::kTicks == report::kTicksCounter &&
                  profile::kCycles == report::kCyclesCounter &&
                  profile::kPluginFields == report::kPluginCounters &&
                  profile::kNotMeasured == report::kNotMeasured,
              "the profile's field order is the metadata's");

constexpr std::string_view kMarksSymbol = "td_model_profile_marks";

// A value of the image's CMake cache (CMAKE_NM), as the firmware build configured it.
std::string cmake_cache_value(const fs::path& build_dir, std::string_view key) {
  std::ifstream in(build_dir / "CMakeCache.txt");
  std::string line;
  const std::string prefix = std::string(key) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    const size_t equals = line.find('=');
    if (equals != std::string::npos) return line.substr(equals + 1);
  }
  return {};
}

// The address of the firmware's profiling marks, from the image's symbol table.
uint64_t marks_address(const fs::path& build_dir, const fs::path& image) {
  std::string nm = cmake_cache_value(build_dir, "CMAKE_NM");
  if (nm.empty()) nm = "arm-none-eabi-nm";
  const ProcessResult symbols =
      run_process({nm, image.string()}, build_dir / "profile_nm.txt", Capture::Stdout);
  if (symbols.exit_code != 0) throw Error("{} could not read {}", nm, image.string());
  std::istringstream lines(symbols.output);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string address;
    std::string type;
    std::string name;
    if (fields >> address >> type >> name && name == kMarksSymbol) {
      return std::stoull(address, nullptr, 16);
    }
  }
  throw Error("{} has no symbol {}: the validator firmware is older than this tool", image.string(),
              kMarksSymbol);
}

// Flash of an image: its loadable code and constants (text + data, from `size`).
int64_t image_flash_bytes(const fs::path& build_dir, const fs::path& image) {
  std::string nm = cmake_cache_value(build_dir, "CMAKE_NM");
  const size_t at = nm.rfind("nm");
  if (nm.empty() || at == std::string::npos) return 0;
  const std::string size = nm.substr(0, at) + "size";
  const ProcessResult result = run_process({size, "-B", "-d", image.string()},
                                           build_dir / "profile_size.txt", Capture::Stdout);
  std::istringstream lines(result.output);
  std::string header;
  std::getline(lines, header);
  int64_t text = 0;
  int64_t data = 0;
  if (result.exit_code != 0 || !(lines >> text >> data)) return 0;
  return text + data;
}

double ratio(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

uint64_t misses(const Counters& c, Field access, Field hits_lookup, Field hits_line) {
  const uint64_t hits = c[hits_lookup] + c[hits_line];
  return c[access] > hits ? c[access] - hits : 0;
}

}  // namespace

fs::path qemu_plugin_path() {
  if (const char* env = std::getenv("TINYDEPLOY_QEMU_PLUGIN"); env != nullptr && *env != '\0') {
    if (!fs::is_regular_file(env)) {
      throw Error("TINYDEPLOY_QEMU_PLUGIN={} is not a file", env);
    }
    return env;
  }
  const fs::path built = TINYDEPLOY_QEMU_PLUGIN_BUILT;
  if (!built.empty() && fs::is_regular_file(built)) return built;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed =
        self.parent_path().parent_path() / "lib" / "tinydeploy" / "libtinydeploy_profile.so";
    if (fs::is_regular_file(installed)) return installed;
  }
  throw Error(
      "tinydeploy's QEMU plugin (libtinydeploy_profile.so) is missing: build the "
      "tinydeploy_profile target, or set TINYDEPLOY_QEMU_PLUGIN to its path");
}

namespace {

// The inputs of profiled inference `run`: random, from the settings' seed.
void write_random_inputs(link::Client& client, const model::Subgraph& graph,
                         const ProfileSettings& settings, uint32_t run) {
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    const model::Tensor& t = graph.tensors[static_cast<size_t>(graph.inputs[i])];
    const tensors::TensorData data =
        tensors::random_tensor(t, settings.seed + run * graph.inputs.size() + i);
    client.write_input(static_cast<uint16_t>(i), data.bytes);
  }
}

nlohmann::json field_names(profile::FieldMask mask) {
  nlohmann::json names = nlohmann::json::array();
  for (size_t f = 0; f < profile::kFieldCount; ++f) {
    if (mask & (profile::FieldMask{1} << f)) names.push_back(report::kCounterNames[f]);
  }
  return names;
}

// Every inference's values of the fields in `mask` (null: not measured): NAME_profile.json.
nlohmann::json inferences_json(const std::vector<profile::Inference>& inferences,
                               const std::vector<uint64_t>& ticks, profile::FieldMask mask) {
  auto values = [&](const Counters& c) {
    nlohmann::json out = nlohmann::json::array();
    for (size_t f = 0; f < profile::kFieldCount; ++f) {
      if ((mask & (profile::FieldMask{1} << f)) == 0) continue;
      out.push_back(c[f] == profile::kNotMeasured ? nlohmann::json(nullptr) : nlohmann::json(c[f]));
    }
    return out;
  };
  nlohmann::json list = nlohmann::json::array();
  for (size_t r = 0; r < inferences.size(); ++r) {
    const profile::Inference& inference = inferences[r];
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& layer : inference.layers) {
      layers.push_back(layer ? values(*layer) : nlohmann::json(nullptr));
    }
    list.push_back({{"systick_ticks", ticks[r]},
                    {"total", values(inference.total)},
                    {"tail", values(inference.tail)},
                    {"layers", layers}});
  }
  return list;
}

// Per layer and in total: the cold run, the minimum over the runs, and the median run (one whole
// inference, so that its layers and the tail add up to its total).
void aggregate_inferences(const std::vector<profile::Inference>& inferences, size_t median,
                          size_t layer_count, report::ProfileMeta& meta) {
  auto as_meta = [](const profile::Aggregate& a) {
    return report::CounterAggregate{a.cold, a.min, a.median};
  };
  for (size_t op = 0; op < layer_count; ++op) {
    std::vector<Counters> runs;
    for (const profile::Inference& inference : inferences) {
      if (op < inference.layers.size() && inference.layers[op]) {
        runs.push_back(*inference.layers[op]);
      }
    }
    if (!runs.empty() && runs.size() == inferences.size()) {
      meta.layers.push_back(as_meta(profile::aggregate(runs, median)));
    } else {
      meta.layers.push_back(std::nullopt);
    }
  }
  std::vector<Counters> totals;
  std::vector<Counters> tails;
  for (const profile::Inference& inference : inferences) {
    totals.push_back(inference.total);
    tails.push_back(inference.tail);
  }
  meta.total = as_meta(profile::aggregate(totals, median));
  meta.tail = as_meta(profile::aggregate(tails, median));
}

// A board that runs the validator itself (the host process, a board on a serial line): counted
// invokes, each layer measured by the board's tick counter and, where its port has them, the
// core's DWT counters.
ProfileOutcome profile_with_board_counters(const PreparedPackage& prepared,
                                           const board::Target& target,
                                           const std::string& target_name,
                                           const ProfileSettings& settings,
                                           const std::optional<fs::path>& package_dir,
                                           const Progress& progress) {
  const model::Model& model = prepared.model;
  const std::string model_hash = sha256_hex(model.file);
  const model::Subgraph& graph = model.main();
  const size_t layer_count = graph.operators.size();

  // The host's validator is built here; a real board runs what the user flashed, and the hello
  // exchange checks that it is this model.
  fs::path image;
  if (target.board.runner != board::Runner::Serial) {
    image = build_validator(package_dir ? read_package_directory(*package_dir) : prepared.package,
                            target.board, progress)
                .image;
  } else if (package_dir) {
    throw Error(
        "--package with --target {}: the board runs the firmware flashed on it; build that "
        "from the package with `tinydeploy firmware`",
        target_name);
  }

  TemporaryDirectory work(fs::temp_directory_path());
  const TargetSession session = open_target(target, image, work.path() / "target.log",
                                            settings.timeout_seconds, model_hash, progress);
  const std::unique_ptr<link::Transport>& transport = session.transport;
  link::Client& client = *session.client;
  const link::HelloInfo& hello = session.hello;
  if (hello.layers != layer_count) {
    throw Error("{} reports {} layers; the model has {}", transport->describe(), hello.layers,
                layer_count);
  }
  if (hello.tick_hz == 0) {
    throw Error("{} reports a tick rate of 0 Hz: its port's td_port_tick_hz is wrong",
                transport->describe());
  }

  progress.step(fmt::format("profiling {} inference(s) with the board's counters", settings.runs));
  std::vector<profile::Inference> inferences;
  std::vector<uint64_t> ticks;
  uint32_t port_mask = 0xFF;  // the counters read in every layer of every inference
  for (uint32_t r = 0; r < settings.runs; ++r) {
    write_random_inputs(client, graph, settings, r);
    const link::InvokeResult result = client.invoke(link::InvokeMode::Count);
    auto take = [&](const link::LayerCount& count) {
      port_mask &= count.mask;
      return profile::board_counters({count.ticks, count.mask, count.values});
    };
    profile::Inference inference;
    std::vector<Counters> parts;
    for (const auto& count : result.counts) {
      inference.layers.push_back(count ? std::optional<Counters>(take(*count)) : std::nullopt);
      if (inference.layers.back()) parts.push_back(*inference.layers.back());
    }
    inference.tail = take(*result.tail);
    parts.push_back(inference.tail);
    inference.total = profile::add_counters(parts);
    inferences.push_back(std::move(inference));
    ticks.push_back(result.ticks);
  }

  const bool cycles = (port_mask & 1u) != 0;
  profile::FieldMask fields = profile::field_bit(profile::kTicks);
  if (cycles) fields |= profile::field_bit(profile::kCycles);
  if ((port_mask >> 1) != 0) fields |= profile::kEventFields;
  const size_t median =
      profile::median_run(inferences, cycles ? profile::kCycles : profile::kTicks);

  ProfileOutcome outcome;
  report::ProfileMeta& meta = outcome.meta;
  meta.target = target_name;
  meta.board = hello.board;
  meta.core = std::string(board::core_name(prepared.target.board.core));
  meta.method = cycles                                              ? "dwt"
                : target.board.runner == board::Runner::HostProcess ? "host-clock"
                                                                    : "ticks";
  meta.counters = fields;
  meta.tick_hz = hello.tick_hz;
  // Cycles become time at the clock given, else at the board's own rate: its cycles per tick.
  const Counters& whole = inferences[median].total;
  if (settings.clock_mhz) {
    meta.clock_hz = *settings.clock_mhz * 1e6;
  } else if (cycles && whole[profile::kTicks] > 0) {
    meta.clock_hz = static_cast<double>(whole[profile::kCycles]) /
                    static_cast<double>(whole[profile::kTicks]) * hello.tick_hz;
  } else {
    meta.clock_hz = static_cast<double>(target.board.clock_hz);
  }
  meta.runs = settings.runs;
  meta.seed = settings.seed;
  aggregate_inferences(inferences, median, layer_count, meta);
  meta.systick_ticks = ticks[median];

  nlohmann::json doc;
  doc["model"] = fs::path(model.path).filename().string();
  doc["target"] = target_name;
  doc["board"] = hello.board;
  doc["method"] = meta.method;
  doc["clock_hz"] = meta.clock_hz;
  doc["tick_hz"] = hello.tick_hz;
  doc["median_run"] = median;
  doc["fields"] = field_names(fields);
  // "systick_ticks" is the invoke as the board timed it, the link's time between layers included.
  doc["inferences"] = inferences_json(inferences, ticks, fields);
  outcome.raw_json = doc.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return outcome;
}

}  // namespace

ProfileOutcome profile_on_target(const PreparedPackage& prepared, const std::string& target_name,
                                 const ProfileSettings& settings,
                                 const std::optional<fs::path>& package_dir,
                                 const Progress& progress) {
  if (settings.runs == 0) throw Error("--runs must be at least 1");
  if (settings.clock_mhz && !(*settings.clock_mhz > 0)) {
    throw Error("--clock-mhz must be a positive number of MHz");
  }
  const board::Target target = board::parse_target(target_name);
  switch (target.board.runner) {
    case board::Runner::None:
      throw Error(
          "--target {} is a core without a board: profile runs the model on qemu-m4 or qemu-m55 "
          "(QEMU plugin), host, or serial:DEVICE (a board flashed with the validator: its tick "
          "and DWT counters)",
          target_name);
    case board::Runner::HostProcess:
    case board::Runner::Serial:
      return profile_with_board_counters(prepared, target, target_name, settings, package_dir,
                                         progress);
    case board::Runner::Qemu:
      break;
  }
  const double clock_hz =
      settings.clock_mhz ? *settings.clock_mhz * 1e6 : static_cast<double>(target.board.clock_hz);
  const fs::path plugin = qemu_plugin_path();

  const model::Model& model = prepared.model;
  const std::string model_hash = sha256_hex(model.file);
  const model::Subgraph& graph = model.main();
  const build::FirmwareImage firmware =
      build_validator(package_dir ? read_package_directory(*package_dir) : prepared.package,
                      target.board, progress);
  const fs::path build_dir = firmware.image.parent_path();
  const uint64_t marks = marks_address(build_dir, firmware.image);
  const size_t layer_count = graph.operators.size();

  TemporaryDirectory work(fs::temp_directory_path());
  const fs::path records_file = work.path() / "plugin_records.txt";
  const std::string core = target.board.core == board::Core::CortexM55 ? "m55" : "m4";
  const std::string plugin_arg = fmt::format(
      "{},marks={:#x},layers={},out={},core={},icache={},dcache={}", plugin.string(), marks,
      layer_count, records_file.string(), core, settings.icache, settings.dcache);

  std::vector<uint64_t> ticks;
  link::HelloInfo hello;
  {
    // QEMU ends, and the plugin writes its records, when the session closes.
    const TargetSession session =
        open_target(target, firmware.image, work.path() / "target.log", settings.timeout_seconds,
                    model_hash, progress, {"-plugin", plugin_arg});
    link::Client& client = *session.client;
    hello = session.hello;
    progress.step(fmt::format("profiling {} inference(s)", settings.runs));
    for (uint32_t r = 0; r < settings.runs; ++r) {
      write_random_inputs(client, graph, settings, r);
      ticks.push_back(client.invoke(link::InvokeMode::Profile).ticks);
    }
  }
  const profile::PluginRecords records = profile::read_plugin_records(records_file, layer_count);
  if (records.inferences.size() != settings.runs) {
    throw Error("the profiler plugin recorded {} of {} inferences (its log: {})",
                records.inferences.size(), settings.runs, (work.path() / "target.log").string());
  }

  const size_t median = profile::median_run(records.inferences);
  ProfileOutcome outcome;
  report::ProfileMeta& meta = outcome.meta;
  meta.target = target_name;
  meta.board = target.board.name;
  meta.core = std::string(board::core_name(target.board.core));
  meta.method = "qemu-plugin";
  meta.counters = profile::kPluginFields;
  meta.plugin = records.header;
  meta.icache = settings.icache;
  meta.dcache = settings.dcache;
  meta.clock_hz = clock_hz;
  meta.runs = settings.runs;
  meta.seed = settings.seed;
  aggregate_inferences(records.inferences, median, layer_count, meta);
  meta.systick_ticks = ticks[median];
  meta.instructions_per_tick = hello.tick_hz == 0 ? 0.0 : 1e9 / hello.tick_hz;
  meta.flash_bytes = image_flash_bytes(build_dir, firmware.image);

  // The raw figures, for tools and tests: every inference's totals and SysTick ticks.
  nlohmann::json doc;
  doc["model"] = fs::path(model.path).filename().string();
  doc["target"] = target.board.name;
  doc["plugin"] = records.header;
  doc["clock_hz"] = clock_hz;
  doc["tick_hz"] = hello.tick_hz;
  doc["instructions_per_tick"] = meta.instructions_per_tick;
  doc["median_run"] = median;  // the inference the CSV's main columns and the summary show
  doc["fields"] = field_names(profile::kPluginFields);
  doc["inferences"] = inferences_json(records.inferences, ticks, profile::kPluginFields);
  outcome.raw_json = doc.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return outcome;
}

std::string profile_stats_csv(const report::Metadata& metadata) {
  if (!metadata.profile) throw Error("the metadata of {} holds no profile", metadata.model_file);
  const report::ProfileMeta& p = *metadata.profile;
  std::vector<profile::LayerRow> rows;
  for (size_t op = 0; op < metadata.layers.size(); ++op) {
    const report::LayerMeta& layer = metadata.layers[op];
    profile::LayerRow row;
    row.event = layer.op;
    row.tag = layer.tag;
    row.macs = layer.macs;
    row.output_bytes = layer.output_bytes;
    if (op < p.layers.size() && p.layers[op]) {
      row.counters =
          profile::Aggregate{p.layers[op]->cold, p.layers[op]->min, p.layers[op]->median};
    }
    rows.push_back(std::move(row));
  }
  profile::CsvTiming timing;
  timing.measured = report::time_counter(p) != report::kEstCyclesCounter;
  timing.clock_hz = p.clock_hz;
  timing.tick_hz = p.tick_hz;
  return profile::stats_csv(rows, timing);
}

namespace {

std::string count_text(uint64_t value) {
  return value == profile::kNotMeasured ? std::string("not measured") : grouped(value);
}

// Memory figures, the same for every method.
std::string memory_summary(const report::Metadata& metadata, int64_t flash_bytes) {
  std::string out;
  out += fmt::format("  arena              {} bytes\n",
                     grouped(static_cast<uint64_t>(metadata.arena_bytes)));
  out += fmt::format("  variable area      {} bytes\n",
                     grouped(static_cast<uint64_t>(metadata.variable_bytes)));
  if (flash_bytes > 0) {
    out += fmt::format(
        "  flash              {} bytes (the validator image: package, link and start-up)\n",
        grouped(static_cast<uint64_t>(flash_bytes)));
  }
  return out;
}

// A profile a board measured: its ticks, and its DWT counters where it has them.
std::string board_summary(const report::Metadata& metadata) {
  const report::ProfileMeta& p = *metadata.profile;
  const Counters& m = p.total.median;
  const bool cycles = (p.counters & profile::field_bit(profile::kCycles)) != 0;
  const double seconds = static_cast<double>(m[profile::kTicks]) / p.tick_hz;
  const double cold = static_cast<double>(p.total.cold[profile::kTicks]) / p.tick_hz;
  const double fastest = static_cast<double>(p.total.min[profile::kTicks]) / p.tick_hz;
  const int64_t macs = metadata.total_macs;
  std::string out;
  out += fmt::format("profile {} on {} (board {}, {}), {} inference(s)\n", metadata.model_file,
                     p.target, p.board, p.method, p.runs);
  out += fmt::format(
      "  inference time     {:.3f} ms (measured by the board's tick counter at {} Hz; median run; "
      "cold {:.3f} ms, min {:.3f} ms)\n",
      seconds * 1e3, grouped(static_cast<uint64_t>(p.tick_hz)), cold * 1e3, fastest * 1e3);
  if (cycles) {
    out +=
        fmt::format("  cycles             {} (measured: DWT CYCCNT, median run; min {}, cold {})\n",
                    count_text(m[profile::kCycles]), count_text(p.total.min[profile::kCycles]),
                    count_text(p.total.cold[profile::kCycles]));
    out += fmt::format(
        "  clock              {:.3f} MHz (cycles per second of the board's ticks, or "
        "--clock-mhz)\n",
        p.clock_hz / 1e6);
  } else {
    out +=
        "  cycles             not measured: the board's port reads no cycle counter "
        "(td_port_counters)\n";
  }
  out += fmt::format("  total MACs         {} (estimated from the model)\n",
                     grouped(static_cast<uint64_t>(macs)));
  if (macs > 0 && seconds > 0) {
    out += fmt::format("  MACs per second    {:.3g} (measured time)\n",
                       static_cast<double>(macs) / seconds);
    if (cycles && m[profile::kCycles] != profile::kNotMeasured) {
      out += fmt::format("  cycles per MAC     {:.2f} (measured)\n",
                         ratio(m[profile::kCycles], static_cast<uint64_t>(macs)));
    } else {
      out += fmt::format("  time per MAC       {:.3f} ns (measured)\n",
                         seconds * 1e9 / static_cast<double>(macs));
    }
  }
  const size_t time = report::time_counter(p);
  out += fmt::format(
      "  layers             {} (they and the {} {} after the last layer are the total; the link's "
      "time between layers is left out: the whole invoke took {} ticks with it)\n",
      metadata.layers.size(), count_text(p.tail.median[time]),
      time == report::kCyclesCounter ? "cycles" : "ticks", grouped(p.systick_ticks));
  if (p.counters & profile::kEventFields) {
    size_t exact = 0;
    for (const auto& layer : p.layers) {
      if (layer && layer->median[profile::kCpi] != profile::kNotMeasured) ++exact;
    }
    out += fmt::format(
        "  DWT event counters cpi {}, exc {}, sleep {}, lsu {}, fold {} (whole inference; 8 bits "
        "wide, so known for the {} of {} layers that took under 256 cycles)\n",
        count_text(m[profile::kCpi]), count_text(m[profile::kExc]), count_text(m[profile::kSleep]),
        count_text(m[profile::kLsu]), count_text(m[profile::kFold]), exact, metadata.layers.size());
  }
  out += memory_summary(metadata, p.flash_bytes);
  return out;
}

}  // namespace

std::string profile_summary(const report::Metadata& metadata) {
  if (!metadata.profile) throw Error("the metadata of {} holds no profile", metadata.model_file);
  const report::ProfileMeta& p = *metadata.profile;
  if (report::time_counter(p) != report::kEstCyclesCounter) return board_summary(metadata);
  const Counters& m = p.total.median;
  const double clock_hz = p.clock_hz;
  const double seconds = static_cast<double>(m[profile::kEstCycles]) / clock_hz;
  const double cold_seconds = static_cast<double>(p.total.cold[profile::kEstCycles]) / clock_hz;
  const int64_t macs = metadata.total_macs;
  std::string out;
  out += fmt::format("profile {} on {} ({}), {} inference(s)\n", metadata.model_file, p.board,
                     p.core, p.runs);
  out += fmt::format(
      "  inference time     {:.3f} ms at {:g} MHz (estimated: {} cost-model cycles / clock; "
      "median run; cold {:.3f} ms)\n",
      seconds * 1e3, clock_hz / 1e6, p.core, cold_seconds * 1e3);
  out += fmt::format("  estimated cycles   {} (median run; min {}, cold {})\n",
                     grouped(m[profile::kEstCycles]), grouped(p.total.min[profile::kEstCycles]),
                     grouped(p.total.cold[profile::kEstCycles]));
  out += fmt::format(
      "  instructions       {} (counted by the plugin, median run; SysTick: {} ticks x {:g} = "
      "{})\n",
      grouped(m[profile::kInstructions]), grouped(p.systick_ticks), p.instructions_per_tick,
      grouped(
          static_cast<uint64_t>(static_cast<double>(p.systick_ticks) * p.instructions_per_tick)));
  out += fmt::format("  total MACs         {} (estimated from the model)\n",
                     grouped(static_cast<uint64_t>(macs)));
  if (macs > 0 && seconds > 0) {
    out += fmt::format("  MACs per second    {:.3g} (estimated)\n",
                       static_cast<double>(macs) / seconds);
    out += fmt::format(
        "  cycles per MAC     {:.2f} (estimated); instructions per MAC {:.2f} (counted)\n",
        ratio(m[profile::kEstCycles], static_cast<uint64_t>(macs)),
        ratio(m[profile::kInstructions], static_cast<uint64_t>(macs)));
  }
  out += fmt::format(
      "  layers             {} (their sum is the total but for {} instructions after the last "
      "layer: invoke's epilogue)\n",
      metadata.layers.size(), grouped(p.tail.median[profile::kInstructions]));
  out += fmt::format(
      "  memory accesses    {} loads, {} stores (counted); {} branches, {} taken (counted)\n",
      grouped(m[profile::kLoads]), grouped(m[profile::kStores]), grouped(m[profile::kBranches]),
      grouped(m[profile::kTakenBranches]));
  out += fmt::format(
      "  icache {:<11} {} misses in {} accesses, {:.3f}% hits (simulated; {} tag lookups, {} "
      "hits by line buffer)\n",
      p.icache, grouped(misses(m, profile::kIAccess, profile::kIHitsLookup, profile::kIHitsLine)),
      grouped(m[profile::kIAccess]),
      100 * ratio(m[profile::kIHitsLookup] + m[profile::kIHitsLine], m[profile::kIAccess]),
      grouped(m[profile::kITagLookup]), grouped(m[profile::kIHitsLine]));
  out += fmt::format(
      "  dcache {:<11} {} misses in {} accesses, {:.3f}% hits (simulated; {} tag lookups, {} "
      "hits by line buffer)\n",
      p.dcache, grouped(misses(m, profile::kDAccess, profile::kDHitsLookup, profile::kDHitsLine)),
      grouped(m[profile::kDAccess]),
      100 * ratio(m[profile::kDHitsLookup] + m[profile::kDHitsLine], m[profile::kDAccess]),
      grouped(m[profile::kDTagLookup]), grouped(m[profile::kDHitsLine]));
  out += memory_summary(metadata, p.flash_bytes);
  return out;
}

int run_profile(const ProfileOptions& options, std::ostream& out) {
  const Progress progress(out, options.quiet);
  // A baseline that cannot be read is found before minutes of profiling, not after.
  std::optional<report::Metadata> baseline;
  if (options.baseline) baseline = report::read_metadata(*options.baseline);

  PackageCommandOptions package_options;
  package_options.model = options.model;
  package_options.target = options.target;
  package_options.quiet = true;
  // A board on a serial line runs the package built for its core, named by --core.
  if (board::parse_target(options.target).board.runner == board::Runner::Serial) {
    const board::Target core = board::parse_target(options.core);
    if (core.board.runner != board::Runner::None) {
      throw Error("--core {}: name a core (cortex-m4, cortex-m55)", options.core);
    }
    package_options.target = options.core;
  }
  progress.step("generating");
  const PreparedPackage prepared = prepare_package(package_options);
  const std::string& name = prepared.package.name;
  const fs::path output_path =
      options.output_dir ? *options.output_dir : fs::path(name + "_profile");
  OutputDirectory output(OutputRequest{
      output_path, options.model,
      options.baseline ? std::vector<fs::path>{*options.baseline} : std::vector<fs::path>{},
      options.force, "profile"});

  report::Metadata metadata = describe_package(prepared, options.target);
  ProfileOutcome outcome =
      profile_on_target(prepared, options.target, options.settings, options.package, progress);
  metadata.profile = std::move(outcome.meta);

  const std::string summary = profile_summary(metadata);
  const fs::path& staging = output.staging();
  write_file_atomically(staging / (name + "_stats.csv"), profile_stats_csv(metadata));
  write_file_atomically(staging / (name + "_profile.json"), outcome.raw_json);
  write_file_atomically(staging / (name + "_summary.txt"), summary);
  report::write_metadata(staging / (name + ".meta.json"), metadata);
  output.commit();
  out << summary;
  out << fmt::format("wrote {}/: {}_stats.csv, {}.meta.json, {}_profile.json, {}_summary.txt\n",
                     output.path().string(), name, name, name, name);

  if (!baseline) return 0;
  const report::BaselineComparison comparison =
      report::compare_with_baseline(*baseline, metadata, options.max_regression_percent);
  out << report::comparison_text(comparison);
  if (comparison.regressed()) {
    out << fmt::format("FAIL: slower than the baseline {}\n", options.baseline->string());
    return kProfileRegression;
  }
  return 0;
}

}  // namespace tinydeploy::cli
