#include "tinydeploy/cli/library.h"

#include <fmt/format.h>

#include <fstream>
#include <ostream>

#include "tinydeploy/board/board.h"
#include "tinydeploy/build/cmake.h"
#include "tinydeploy/build/memory_report.h"
#include "tinydeploy/cli/progress.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/common/output_directory.h"
#include "tinydeploy/common/process.h"
#include "tinydeploy/common/temporary_directory.h"

namespace tinydeploy::cli {
namespace {

namespace fs = std::filesystem;

// The example is one inference; a generated program that runs longer than this has hung.
constexpr std::chrono::milliseconds kExampleTimeout{300'000};

}  // namespace

LibraryOutcome build_library(const PreparedPackage& prepared, const std::string& model_shown,
                             const fs::path& result, const Progress& progress) {
  const codegen::Package& package = prepared.package;
  TemporaryDirectory work(temporary_root());
  const fs::path source = work.path() / "package";
  const fs::path build = work.path() / "build";
  codegen::write_files(package.files, source);

  const board::Board& board = prepared.target.board;
  build::require_build_tools(board.core != board::Core::Host);
  progress.step("building the library");
  try {
    build::cmake_build(source, build, {}, "", work.path(), "the package");
  } catch (const Error&) {
    work.keep();  // a failed build keeps its package and logs for inspection
    throw;
  }

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
  LibraryOutcome outcome;
  outcome.report = build::measure(build, build / (n + "_footprint"), n, package.variable_bytes);
  outcome.report.archive_bytes = static_cast<int64_t>(fs::file_size(build / ("lib" + n + ".a")));
  const build::ReportContext context{
      model_shown, package.name, std::string(board::core_name(board.core)), package.kernel_sources};
  outcome.text = build::report_text(outcome.report, context);
  codegen::write_files({{"memory_report.txt", outcome.text},
                        {"memory_report.json", build::report_json(outcome.report, context)}},
                       result);

  if (board.core == board::Core::Host) {
    progress.step("running the example");
    ProcessResult run;
    try {
      run = run_process({(build / (n + "_example")).string()}, work.path() / "example.log",
                        Capture::Both, kExampleTimeout);
    } catch (const ProcessTimeout&) {
      throw Error("the built example did not finish within {} s and was stopped",
                  kExampleTimeout.count() / 1000);
    }
    if (run.exit_code != 0) {
      throw Error("the built example did not pass:\n{}", build::last_lines(run.output, 20));
    }
    outcome.example_ran = true;
  }
  return outcome;
}

report::LibraryMeta library_meta(const build::MemoryReport& report, board::Core core) {
  report::LibraryMeta meta;
  meta.core = std::string(board::core_name(core));
  meta.library_code = report.library_code;
  meta.parameters = report.parameters;
  meta.weights = report.weights;
  meta.flash_total = report.flash_total;
  meta.arena = report.arena;
  meta.variables = report.resource_variables;
  meta.ram_total = report.ram_total;
  meta.archive_bytes = report.archive_bytes;
  return meta;
}

void run_library(const PackageCommandOptions& options, std::ostream& out) {
  OutputDirectory output(output_request(options, "library"));
  Progress progress(out, options.quiet);
  progress.step("generating");
  const PreparedPackage prepared = prepare_package(options);
  const LibraryOutcome outcome =
      build_library(prepared, options.model.string(), output.staging(), progress);
  if (outcome.example_ran) out << "example: PASS\n";
  output.commit();
  out << outcome.text << fmt::format("wrote {}\n", output.path().string());
}

}  // namespace tinydeploy::cli
