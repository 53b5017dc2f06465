// `tinydeploy library`: the package built into a static library with its header, the example
// and a flash/RAM memory report (the host build also runs the example).
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>

#include "tinydeploy/build/memory_report.h"
#include "tinydeploy/cli/package.h"
#include "tinydeploy/cli/progress.h"
#include "tinydeploy/report/metadata.h"

namespace tinydeploy::cli {

void run_library(const PackageCommandOptions& options, std::ostream& out);

struct LibraryOutcome {
  build::MemoryReport report;
  std::string text;          // the memory report as printed
  bool example_ran = false;  // the host build ran its example, and it passed
};

// Builds `prepared`'s package into `result` (lib/, include/, example/, memory_report.*); for the
// host it also runs the example. `model_shown` names the model in the report.
LibraryOutcome build_library(const PreparedPackage& prepared, const std::string& model_shown,
                             const std::filesystem::path& result, const Progress& progress);

report::LibraryMeta library_meta(const build::MemoryReport& report, board::Core core);

}  // namespace tinydeploy::cli
