#include "tinydeploy/build/memory_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tinydeploy/common/error.h"
#include "tinydeploy/common/process.h"

namespace tinydeploy::build {
namespace {

namespace fs = std::filesystem;

std::string cache_value(const fs::path& build_dir, std::string_view key) {
  std::ifstream cache(build_dir / "CMakeCache.txt");
  std::string line;
  const std::string prefix = std::string(key) + ":";
  while (std::getline(cache, line)) {
    if (line.rfind(prefix, 0) == 0) {
      const size_t eq = line.find('=');
      if (eq != std::string::npos) return line.substr(eq + 1);
    }
  }
  return {};
}

}  // namespace

MemoryReport measure(const fs::path& build_dir, const fs::path& image, const std::string& name,
                     int64_t variable_bytes) {
  std::string nm = cache_value(build_dir, "CMAKE_NM");
  std::string size = nm;
  const size_t slash = nm.rfind("nm");
  if (nm.empty() || slash == std::string::npos) {
    throw Error("the package's CMake cache names no 'nm' tool for the memory report");
  }
  size.replace(slash, 2, "size");
  const ProcessResult symbols = run_process({nm, "-S", "-C", "-t", "d", image.string()},
                                            build_dir / "nm.txt", Capture::Stdout);
  if (symbols.exit_code != 0) throw Error("{} could not read {}", nm, image.string());
  const ProcessResult sizes =
      run_process({size, "-B", "-d", image.string()}, build_dir / "size.txt", Capture::Stdout);
  if (sizes.exit_code != 0) throw Error("{} could not read {}", size, image.string());

  MemoryReport report;
  {
    std::istringstream lines(sizes.output);
    std::string header;
    std::getline(lines, header);
    int64_t text = 0;
    int64_t data = 0;
    int64_t bss = 0;
    if (!(lines >> text >> data >> bss)) throw Error("unexpected output from {}", size);
    report.flash_total = text + data;
    report.ram_total = data + bss;
  }
  std::istringstream lines(symbols.output);
  std::string line;
  const std::string data_namespace = name + "_model_data::";
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string address;
    std::string size_text;
    std::string type;
    if (!(fields >> address >> size_text >> type)) continue;
    const bool sized = !size_text.empty() && size_text.size() <= 20 &&
                       std::all_of(size_text.begin(), size_text.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
    if (!sized || type.size() != 1) continue;  // a symbol without a size
    std::string symbol;
    std::getline(fields, symbol);
    if (!symbol.empty() && symbol.front() == ' ') symbol.erase(0, 1);
    const int64_t bytes = std::stoll(size_text);
    const char kind = static_cast<char>(std::tolower(static_cast<unsigned char>(type[0])));
    const bool ours = symbol.rfind("tinydeploy::runtime::", 0) == 0 ||
                      symbol.rfind("(anonymous namespace)::", 0) == 0 ||
                      symbol.rfind(name + "_", 0) == 0;
    if (symbol.rfind(data_namespace, 0) == 0) {
      report.weights += bytes;
    } else if (symbol == "(anonymous namespace)::arena") {
      report.arena += bytes;
    } else if (symbol == "(anonymous namespace)::variables") {
      report.resource_variables += bytes;
    } else if (ours && (kind == 't' || kind == 'w')) {
      report.library_code += bytes;
    } else if (ours && kind == 'r') {
      report.parameters += bytes;
    }
  }
  report.other_flash =
      report.flash_total - report.library_code - report.parameters - report.weights;
  // The variable area as linked; the plan's size when the image does not name it.
  if (report.resource_variables == 0) report.resource_variables = variable_bytes;
  report.other_ram = report.ram_total - report.arena - report.resource_variables;
  return report;
}

std::string report_json(const MemoryReport& r, const ReportContext& context) {
  const nlohmann::json json = {{"model", context.model},
                               {"name", context.name},
                               {"target", context.target},
                               {"flash",
                                {{"library_code", r.library_code},
                                 {"parameters", r.parameters},
                                 {"weights", r.weights},
                                 {"c_library_and_startup", r.other_flash},
                                 {"total", r.flash_total}}},
                               {"ram",
                                {{"arena", r.arena},
                                 {"resource_variables", r.resource_variables},
                                 {"other_static", r.other_ram},
                                 {"total", r.ram_total}}},
                               {"archive_bytes", r.archive_bytes},
                               {"kernels", context.kernels}};
  return json.dump(2) + "\n";
}

std::string report_text(const MemoryReport& r, const ReportContext& context) {
  return fmt::format(
      "memory report: {} for {} (smallest image that runs it: {}_footprint, linked with "
      "--gc-sections)\n"
      "flash {:>10} bytes\n"
      "  library code {:>10}  (runtime kernels: {}; invoke and API)\n"
      "  parameters   {:>10}  (prepared kernel parameters, tables, tensor descriptors)\n"
      "  weights      {:>10}  (constant tensors and the arrays prepared from them)\n"
      "  C library    {:>10}  (startup, memset/memcpy, math)\n"
      "ram   {:>10} bytes (static; stack not included)\n"
      "  arena        {:>10}\n"
      "  variables    {:>10}  (resource variables and variable tensors)\n"
      "  other        {:>10}  (C library and startup)\n"
      "lib{}.a {} bytes\n",
      context.name, context.target, context.name, r.flash_total, r.library_code,
      fmt::join(context.kernels, ", "), r.parameters, r.weights, r.other_flash, r.ram_total,
      r.arena, r.resource_variables, r.other_ram, context.name, r.archive_bytes);
}

}  // namespace tinydeploy::build
