// `tinydeploy library`: the package built into a static library with its header, the example
// and a flash/RAM memory report (the host build also runs the example).
#pragma once

#include <iosfwd>

#include "tinydeploy/cli/package.h"

namespace tinydeploy::cli {

void run_library(const PackageCommandOptions& options, std::ostream& out);

}  // namespace tinydeploy::cli
