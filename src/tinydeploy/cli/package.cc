#include "tinydeploy/cli/package.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "tinydeploy/analysis/analysis.h"
#include "tinydeploy/codegen/package.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/common/output_directory.h"
#include "tinydeploy/common/process.h"
#include "tinydeploy/common/temporary_directory.h"
#include "tinydeploy/engine/engine.h"
#include "tinydeploy/model/reader.h"
#include "tinydeploy/validate/tensor_io.h"

namespace tinydeploy::cli {
namespace {

namespace fs = std::filesystem;

// Every operator the runtime cannot run, in one message, before anything is generated.
void require_supported(const model::Model& model, const analysis::ModelAnalysis& analysis) {
  std::vector<std::string> missing;
  for (const analysis::OpUsage& usage : analysis.inventory) {
    if (!usage.supported) missing.push_back(analysis::signature_text(usage));
  }
  if (!missing.empty()) {
    throw Error("{}: nothing generated: the runtime has no kernel for {}", model.path,
                fmt::join(missing, "; "));
  }
}

// The host engine's inference on seeded random inputs: the example's expected output. Refused
// before anything is computed when the inputs and outputs together exceed `max_bytes`.
codegen::ExampleData compute_example(const model::Model& model, engine::Engine& engine,
                                     uint64_t seed, int64_t max_bytes) {
  int64_t total = 0;
  for (size_t i = 0; i < engine.input_count(); ++i) total += engine.input_tensor(i).bytes();
  for (size_t i = 0; i < engine.output_count(); ++i) total += engine.output_tensor(i).bytes();
  if (total > max_bytes) {
    throw Error(
        "{}: nothing generated: the example would embed {} bytes of inputs and expected outputs "
        "({:.1f} MiB, about six times that as C source), over the limit of {} bytes; if this is "
        "expected, raise it with --max-example-data (e.g. --max-example-data {}M)",
        model.path, total, static_cast<double>(total) / 1048576.0, max_bytes,
        (total + 1048575) / 1048576);
  }
  codegen::ExampleData example;
  example.seed = seed;
  for (size_t i = 0; i < engine.input_count(); ++i) {
    const std::span<uint8_t> destination = engine.input(i);
    if (destination.size() != static_cast<size_t>(engine.input_tensor(i).bytes())) {
      throw Error("{}: input {} has no arena storage", model.path, i);
    }
    const validate::TensorData input = validate::random_tensor(engine.input_tensor(i), seed + i);
    if (destination.size() != input.bytes.size()) {
      throw Error("{}: input {} has no arena storage", model.path, i);
    }
    std::memcpy(destination.data(), input.bytes.data(), destination.size());
    example.inputs.push_back(input.bytes);
  }
  engine.invoke();
  for (size_t i = 0; i < engine.output_count(); ++i) {
    const auto bytes = engine.output(i);
    example.outputs.emplace_back(bytes.begin(), bytes.end());
  }
  return example;
}

}  // namespace

codegen::Package make_package(const PackageCommandOptions& options) {
  const codegen::Target target = codegen::parse_target(options.target);
  const std::string name =
      options.name ? *options.name : codegen::default_package_name(options.model);
  codegen::check_package_name(name);
  const model::Model model = model::read_model(options.model);
  const analysis::ModelAnalysis analysis = analysis::analyze(model);
  require_supported(model, analysis);
  // The engine lowers the model once; the package prints the same calls it ran for the example.
  engine::Engine engine(model, analysis, options.max_arena_bytes);
  const codegen::ExampleData example =
      compute_example(model, engine, options.example_seed, options.max_example_bytes);
  return codegen::generate_package(model, analysis, engine.calls(), example, {name, target});
}

namespace {

void write_file(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream file(path, std::ios::binary);
  file.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!file.flush()) throw Error("cannot write {}", path.string());
}

void write_package(const codegen::Package& package, const fs::path& root) {
  for (const codegen::GeneratedFile& file : package.files)
    write_file(root / file.path, file.content);
}

// The -o directory, checked before any work is done.
OutputRequest output_request(const PackageCommandOptions& options, std::string command) {
  return {options.output_dir, options.model, {}, options.force, std::move(command)};
}

// The last `lines` lines of a build log: where the compiler's message is.
std::string tail(const std::string& text, size_t lines) {
  size_t at = text.size();
  for (size_t n = 0; n <= lines && at > 0; ++n) {
    const size_t found = text.rfind('\n', at - 1);
    if (found == std::string::npos) return text;
    at = found;
  }
  return text.substr(at + 1);
}

class Progress {
 public:
  Progress(std::ostream& out, bool quiet) : out_(out), quiet_(quiet) {}
  void step(std::string_view what) {
    if (!quiet_) out_ << what << "..." << std::endl;
  }

 private:
  std::ostream& out_;
  bool quiet_;
};

// The compiler's diagnostics in a build log (lines naming an error or warning, with the
// source lines and carets that follow them), or else the end of the log.
std::string diagnostics(const std::string& log) {
  std::istringstream lines(log);
  std::string line;
  std::string found;
  int context = 0;
  int shown = 0;
  while (std::getline(lines, line) && shown < 60) {
    const bool diagnostic =
        line.find("error") != std::string::npos || line.find("warning:") != std::string::npos;
    if (diagnostic) context = 3;
    if (context > 0) {
      found += line + "\n";
      --context;
      ++shown;
    }
  }
  return found.empty() ? tail(log, 40) : found;
}

// Runs a build step; a failure shows the compiler's message from its log.
void run_build_step(const std::vector<std::string>& argv, const fs::path& log,
                    std::string_view what) {
  const ProcessResult result = run_process(argv, log, Capture::Both);
  if (result.exit_code != 0) {
    throw Error("{} failed (exit code {}); the package and the full log are kept in {}:\n{}", what,
                result.exit_code, log.parent_path().string(), diagnostics(result.output));
  }
}

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

// Flash and RAM of the footprint image, split by where each symbol comes from.
struct MemoryReport {
  int64_t library_code = 0;  // runtime kernels and the model's invoke/API
  int64_t parameters = 0;    // prepared kernel parameters, tables, tensor descriptors
  int64_t weights = 0;       // constant tensors
  int64_t other_flash = 0;   // C library and startup code of the image
  int64_t flash_total = 0;
  int64_t arena = 0;
  int64_t resource_variables = 0;
  int64_t other_ram = 0;
  int64_t ram_total = 0;
  int64_t archive_bytes = 0;
};

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
    } else if (ours && (kind == 't' || kind == 'w')) {
      report.library_code += bytes;
    } else if (ours && kind == 'r') {
      report.parameters += bytes;
    }
  }
  report.other_flash =
      report.flash_total - report.library_code - report.parameters - report.weights;
  report.resource_variables = variable_bytes;
  report.other_ram = report.ram_total - report.arena - report.resource_variables;
  return report;
}

nlohmann::json report_json(const MemoryReport& r, const codegen::Package& package,
                           const PackageCommandOptions& options) {
  return {{"model", options.model.string()},
          {"name", package.name},
          {"target", options.target},
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
          {"kernels", package.kernel_sources}};
}

std::string report_text(const MemoryReport& r, const codegen::Package& package,
                        const PackageCommandOptions& options) {
  return fmt::format(
      "memory report: {} for {} (smallest image that runs it: {}_footprint, linked with "
      "--gc-sections)\n"
      "flash {:>10} bytes\n"
      "  library code {:>10}  (runtime kernels: {}; invoke and API)\n"
      "  parameters   {:>10}  (prepared kernel parameters, tables, tensor descriptors)\n"
      "  weights      {:>10}  (constant tensors)\n"
      "  C library    {:>10}  (startup, memset/memcpy, math)\n"
      "ram   {:>10} bytes (static; stack not included)\n"
      "  arena        {:>10}\n"
      "  variables    {:>10}  (resource variables and variable tensors)\n"
      "  other        {:>10}  (C library and startup)\n"
      "lib{}.a {} bytes\n",
      package.name, options.target, package.name, r.flash_total, r.library_code,
      fmt::join(package.kernel_sources, ", "), r.parameters, r.weights, r.other_flash, r.ram_total,
      r.arena, r.resource_variables, r.other_ram, package.name, r.archive_bytes);
}

}  // namespace

void run_generate(const PackageCommandOptions& options, std::ostream& out) {
  OutputDirectory output(output_request(options, "generate"));
  const codegen::Package package = make_package(options);
  write_package(package, output.staging());
  output.commit();
  out << fmt::format("wrote {} ({} files; arena {} bytes, weights {} bytes, kernels: {})\n",
                     output.path().string(), package.files.size(), package.arena_bytes,
                     package.weight_bytes, fmt::join(package.kernel_sources, ", "));
}

void run_library(const PackageCommandOptions& options, std::ostream& out) {
  OutputDirectory output(output_request(options, "library"));
  Progress progress(out, options.quiet);
  progress.step("generating");
  const codegen::Package package = make_package(options);
  const fs::path& result = output.staging();
  TemporaryDirectory work(temporary_root());
  const fs::path source = work.path() / "package";
  const fs::path build = work.path() / "build";
  write_package(package, source);

  // A failed build keeps its package and logs for inspection.
  struct KeepOnFailure {
    TemporaryDirectory& work;
    bool done = false;
    ~KeepOnFailure() {
      if (!done) work.keep();
    }
  } keep_on_failure{work};
  progress.step("configuring");
  std::vector<std::string> configure = {"cmake", "-S", source.string(), "-B", build.string()};
  if (run_process({"ninja", "--version"}, work.path() / "ninja.txt", Capture::Both).exit_code ==
      0) {
    configure.insert(configure.end(), {"-G", "Ninja"});
  }
  run_build_step(configure, work.path() / "configure.log", "configuring the package (cmake)");
  progress.step("building");
  run_build_step({"cmake", "--build", build.string()}, work.path() / "build.log",
                 "building the package");
  keep_on_failure.done = true;

  const std::string& n = package.name;
  fs::create_directories(result / "lib");
  fs::create_directories(result / "include");
  fs::create_directories(result / "example");
  fs::copy_file(build / ("lib" + n + ".a"), result / "lib" / ("lib" + n + ".a"));
  fs::copy_file(source / (n + ".h"), result / "include" / (n + ".h"));
  for (const char* file : {"main.c", "example_data.h"}) {
    fs::copy_file(source / "example" / file, result / "example" / file);
  }
  fs::copy_file(build / (n + "_example"), result / "example" / (n + "_example"));

  progress.step("measuring");
  MemoryReport report = measure(build, build / (n + "_footprint"), n, package.variable_bytes);
  report.archive_bytes = static_cast<int64_t>(fs::file_size(build / ("lib" + n + ".a")));
  const std::string text = report_text(report, package, options);
  write_file(result / "memory_report.txt", text);
  write_file(result / "memory_report.json", report_json(report, package, options).dump(2) + "\n");

  if (options.target == "host") {
    progress.step("running the example");
    const ProcessResult run = run_process({(build / (n + "_example")).string()},
                                          work.path() / "example.log", Capture::Both);
    if (run.exit_code != 0) {
      throw Error("the built example did not pass:\n{}", tail(run.output, 20));
    }
    out << "example: PASS\n";
  }
  output.commit();
  out << text << fmt::format("wrote {}\n", output.path().string());
}

}  // namespace tinydeploy::cli
