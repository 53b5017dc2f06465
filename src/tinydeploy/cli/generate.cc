#include "tinydeploy/cli/generate.h"

#include <fmt/format.h>

#include <ostream>

#include "tinydeploy/common/output_directory.h"

namespace tinydeploy::cli {

void run_generate(const PackageCommandOptions& options, std::ostream& out) {
  OutputDirectory output(output_request(options, "generate"));
  const codegen::Package package = make_package(options);
  codegen::write_files(package.files, output.staging());
  output.commit();
  const std::string variables =
      package.variable_bytes > 0 ? fmt::format(", variables {} bytes", package.variable_bytes) : "";
  out << fmt::format("wrote {} ({} files; arena {} bytes{}, weights {} bytes, kernels: {})\n",
                     output.path().string(), package.files.size(), package.arena_bytes, variables,
                     package.weight_bytes, fmt::join(package.kernel_sources, ", "));
}

}  // namespace tinydeploy::cli
