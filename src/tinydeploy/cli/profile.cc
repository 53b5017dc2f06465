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
#include "tinydeploy/cli/package.h"
#include "tinydeploy/cli/progress.h"
#include "tinydeploy/codegen/firmware.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/common/process.h"
#include "tinydeploy/common/sha256.h"
#include "tinydeploy/common/temporary_directory.h"
#include "tinydeploy/link/client.h"
#include "tinydeploy/link/launch.h"
#include "tinydeploy/lowering/lowering.h"
#include "tinydeploy/model/reader.h"
#include "tinydeploy/profile/profile.h"
#include "tinydeploy/tensors/tensor_io.h"

#ifndef TINYDEPLOY_QEMU_PLUGIN_BUILT
#define TINYDEPLOY_QEMU_PLUGIN_BUILT ""
#endif

namespace tinydeploy::cli {
namespace {

namespace fs = std::filesystem;
using profile::Counters;
using profile::Field;

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

// 1234567 -> "1,234,567". Built by appending (GCC 12's -Wrestrict misfires on string::insert).
std::string grouped(uint64_t value) {
  const std::string digits = fmt::format("{}", value);
  std::string result;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) result += ',';
    result += digits[i];
  }
  return result;
}

double ratio(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

uint64_t misses(const Counters& c, Field access, Field hits_lookup, Field hits_line) {
  const uint64_t hits = c[hits_lookup] + c[hits_line];
  return c[access] > hits ? c[access] - hits : 0;
}

void write_text_atomically(const fs::path& file, const std::string& text) {
  const fs::path temporary = file.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw Error("cannot write {}", temporary.string());
  }
  std::error_code ec;
  fs::rename(temporary, file, ec);
  if (ec) throw Error("cannot write {}: {}", file.string(), ec.message());
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

int run_profile(const ProfileOptions& options, std::ostream& out) {
  if (options.runs == 0) throw Error("--runs must be at least 1");
  const board::Target target = board::parse_target(options.target);
  if (target.board.runner != board::Runner::Qemu) {
    throw Error(
        "--target {}: profile runs on the emulated boards (qemu-m4, qemu-m55) under "
        "tinydeploy's QEMU plugin; reading a real board's DWT counters is not implemented yet",
        options.target);
  }
  const double clock_hz =
      options.clock_mhz ? *options.clock_mhz * 1e6 : static_cast<double>(target.board.clock_hz);
  if (!(clock_hz > 0)) throw Error("--clock-mhz must be a positive number of MHz");
  const Progress progress(out, options.quiet);
  const fs::path plugin = qemu_plugin_path();

  const model::Model model = model::read_model(options.model);
  const std::string model_hash = sha256_hex(model.file);
  const model::Subgraph& graph = model.main();
  const lowering::LoweredModel lowered = lowering::lower(model);
  lowering::require_supported(model, lowered, options.model.string());
  PackageCommandOptions package_options;
  package_options.model = options.model;
  package_options.target = std::string(board::core_name(target.board.core));
  package_options.quiet = true;
  const codegen::Package package = make_package(package_options);
  const auto files =
      codegen::firmware_files(package, target.board.port, board::toolchain_file(target.board.core));
  const build::FirmwareImage firmware =
      build::build_firmware(files, target.board.name, "validator", true,
                            [&](std::string_view step) { progress.step(step); });
  if (firmware.reused) progress.step("reusing the validator built earlier for this model");
  const fs::path build_dir = firmware.image.parent_path();
  const uint64_t marks = marks_address(build_dir, firmware.image);
  const size_t layer_count = graph.operators.size();

  TemporaryDirectory work(fs::temp_directory_path());
  const fs::path records_file = work.path() / "plugin_records.txt";
  const std::string core = target.board.core == board::Core::CortexM55 ? "m55" : "m4";
  const std::string plugin_arg =
      fmt::format("{},marks={:#x},layers={},out={},core={},icache={},dcache={}", plugin.string(),
                  marks, layer_count, records_file.string(), core, options.icache, options.dcache);

  std::vector<uint64_t> ticks;
  link::HelloInfo hello;
  {
    progress.step(fmt::format("starting {} with the profiler plugin", target.board.name));
    const std::unique_ptr<link::Transport> transport =
        link::connect(target, firmware.image, work.path() / "target.log", {"-plugin", plugin_arg});
    link::Timeouts timeouts;
    timeouts.invoke =
        std::chrono::milliseconds(static_cast<int64_t>(options.timeout_seconds * 1e3));
    link::Client client(*transport, timeouts);
    hello = client.hello(model_hash);
    progress.step(fmt::format("profiling {} inference(s)", options.runs));
    for (uint32_t r = 0; r < options.runs; ++r) {
      for (size_t i = 0; i < graph.inputs.size(); ++i) {
        const model::Tensor& t = graph.tensors[static_cast<size_t>(graph.inputs[i])];
        const tensors::TensorData data =
            tensors::random_tensor(t, options.seed + r * graph.inputs.size() + i);
        client.write_input(static_cast<uint16_t>(i), data.bytes);
      }
      ticks.push_back(client.invoke(false, true).ticks);
    }
  }
  const profile::PluginRecords records = profile::read_plugin_records(records_file, layer_count);
  if (records.inferences.size() != options.runs) {
    throw Error("the profiler plugin recorded {} of {} inferences (its log: {})",
                records.inferences.size(), options.runs, (work.path() / "target.log").string());
  }

  // Per layer and in total: the cold run, the minimum over the runs, and the median run (one
  // whole inference, so that its layers and the tail add up to its total).
  const size_t median = profile::median_run(records.inferences);
  std::vector<profile::LayerRow> rows;
  for (size_t op = 0; op < layer_count; ++op) {
    const model::Operator& oper = graph.operators[op];
    const analysis::LayerInfo& info = lowered.analysis.layers[op];
    profile::LayerRow row;
    row.event = info.op;
    if (!oper.outputs.empty() && oper.outputs[0] >= 0) {
      row.tag = graph.tensors[static_cast<size_t>(oper.outputs[0])].name;
    }
    row.macs = info.macs;
    for (int32_t o : oper.outputs) {
      if (o >= 0) row.output_bytes += graph.tensors[static_cast<size_t>(o)].bytes();
    }
    std::vector<Counters> runs;
    for (const profile::Inference& inference : records.inferences) {
      if (inference.layers[op]) runs.push_back(*inference.layers[op]);
    }
    if (runs.size() == records.inferences.size()) row.counters = profile::aggregate(runs, median);
    rows.push_back(std::move(row));
  }
  std::vector<Counters> totals;
  std::vector<Counters> tails;
  for (const profile::Inference& inference : records.inferences) {
    totals.push_back(inference.total);
    tails.push_back(inference.tail);
  }
  const profile::Aggregate total = profile::aggregate(totals, median);
  const profile::Aggregate tail = profile::aggregate(tails, median);

  std::error_code ec;
  fs::create_directories(options.output_dir, ec);
  if (ec) throw Error("cannot create {}: {}", options.output_dir.string(), ec.message());
  const fs::path csv = options.output_dir / (package.name + "_stats.csv");
  profile::write_stats_csv(csv, rows, clock_hz);

  // The raw figures, for tools and tests: every inference's totals and SysTick ticks.
  const double instructions_per_tick = hello.tick_hz == 0 ? 0.0 : 1e9 / hello.tick_hz;
  nlohmann::json doc;
  doc["model"] = options.model.filename().string();
  doc["target"] = target.board.name;
  doc["plugin"] = records.header;
  doc["clock_hz"] = clock_hz;
  doc["tick_hz"] = hello.tick_hz;
  doc["instructions_per_tick"] = instructions_per_tick;
  doc["median_run"] = median;  // the inference the CSV's main columns and the summary show
  doc["fields"] = {"instructions", "loads",      "stores",      "branches",    "taken_branches",
                   "est_cycles",   "iaccess",    "itaglookup",  "ihitslookup", "ihitsline",
                   "daccess",      "dtaglookup", "dhitslookup", "dhitsline"};
  nlohmann::json inferences = nlohmann::json::array();
  for (size_t r = 0; r < records.inferences.size(); ++r) {
    const profile::Inference& inference = records.inferences[r];
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& layer : inference.layers) {
      layers.push_back(layer ? nlohmann::json(*layer) : nlohmann::json(nullptr));
    }
    inferences.push_back({{"systick_ticks", ticks[r]},
                          {"total", inference.total},
                          {"tail", inference.tail},
                          {"layers", layers}});
  }
  doc["inferences"] = inferences;
  const fs::path json_file = options.output_dir / (package.name + "_profile.json");
  write_text_atomically(json_file, doc.dump(1) + "\n");

  // The summary.
  const Counters& m = total.median;
  const uint64_t median_ticks = ticks[median];
  const double seconds = static_cast<double>(m[profile::kEstCycles]) / clock_hz;
  const double cold_seconds = static_cast<double>(total.cold[profile::kEstCycles]) / clock_hz;
  const int64_t macs = lowered.analysis.total_macs;
  const int64_t flash = image_flash_bytes(build_dir, firmware.image);
  out << fmt::format("profile {} on {} ({}), {} inference(s)\n", options.model.filename().string(),
                     target.board.name, target.board.description, options.runs);
  out << fmt::format(
      "  inference time     {:.3f} ms at {:g} MHz (estimated: {} cost-model cycles / clock; "
      "median run; cold {:.3f} ms)\n",
      seconds * 1e3, clock_hz / 1e6, core == "m55" ? "Cortex-M55" : "Cortex-M4",
      cold_seconds * 1e3);
  out << fmt::format("  estimated cycles   {} (median run; min {}, cold {})\n",
                     grouped(m[profile::kEstCycles]), grouped(total.min[profile::kEstCycles]),
                     grouped(total.cold[profile::kEstCycles]));
  out << fmt::format(
      "  instructions       {} (counted by the plugin, median run; SysTick: {} ticks x {:g} = "
      "{})\n",
      grouped(m[profile::kInstructions]), grouped(median_ticks), instructions_per_tick,
      grouped(static_cast<uint64_t>(static_cast<double>(median_ticks) * instructions_per_tick)));
  out << fmt::format("  total MACs         {} (estimated from the model)\n",
                     grouped(static_cast<uint64_t>(macs)));
  if (macs > 0 && seconds > 0) {
    out << fmt::format("  MACs per second    {:.3g} (estimated)\n",
                       static_cast<double>(macs) / seconds);
    out << fmt::format(
        "  cycles per MAC     {:.2f} (estimated); instructions per MAC {:.2f} (counted)\n",
        ratio(m[profile::kEstCycles], static_cast<uint64_t>(macs)),
        ratio(m[profile::kInstructions], static_cast<uint64_t>(macs)));
  }
  out << fmt::format(
      "  layers             {} (their sum is the total but for {} instructions after the last "
      "layer: invoke's epilogue)\n",
      layer_count, grouped(tail.median[profile::kInstructions]));
  out << fmt::format(
      "  memory accesses    {} loads, {} stores (counted); {} branches, {} taken (counted)\n",
      grouped(m[profile::kLoads]), grouped(m[profile::kStores]), grouped(m[profile::kBranches]),
      grouped(m[profile::kTakenBranches]));
  out << fmt::format(
      "  icache {:<11} {} misses in {} accesses, {:.3f}% hits (simulated; {} tag lookups, {} "
      "hits by line buffer)\n",
      options.icache,
      grouped(misses(m, profile::kIAccess, profile::kIHitsLookup, profile::kIHitsLine)),
      grouped(m[profile::kIAccess]),
      100 * ratio(m[profile::kIHitsLookup] + m[profile::kIHitsLine], m[profile::kIAccess]),
      grouped(m[profile::kITagLookup]), grouped(m[profile::kIHitsLine]));
  out << fmt::format(
      "  dcache {:<11} {} misses in {} accesses, {:.3f}% hits (simulated; {} tag lookups, {} "
      "hits by line buffer)\n",
      options.dcache,
      grouped(misses(m, profile::kDAccess, profile::kDHitsLookup, profile::kDHitsLine)),
      grouped(m[profile::kDAccess]),
      100 * ratio(m[profile::kDHitsLookup] + m[profile::kDHitsLine], m[profile::kDAccess]),
      grouped(m[profile::kDTagLookup]), grouped(m[profile::kDHitsLine]));
  out << fmt::format("  arena              {} bytes\n",
                     grouped(static_cast<uint64_t>(package.arena_bytes)));
  out << fmt::format("  variable area      {} bytes\n",
                     grouped(static_cast<uint64_t>(package.variable_bytes)));
  if (flash > 0) {
    out << fmt::format(
        "  flash              {} bytes (the validator image: package, link and start-up)\n",
        grouped(static_cast<uint64_t>(flash)));
  }
  out << fmt::format("wrote {} and {}\n", csv.string(), json_file.string());
  return 0;
}

}  // namespace tinydeploy::cli
