// `tinydeploy generate`: the C++ deployment package of a model, written to a directory.
#pragma once

#include <iosfwd>

#include "tinydeploy/cli/package.h"

namespace tinydeploy::cli {

void run_generate(const PackageCommandOptions& options, std::ostream& out);

}  // namespace tinydeploy::cli
