#include "tinydeploy/cli/firmware.h"

#include <fmt/format.h>

#include <fstream>
#include <ostream>

#include "tinydeploy/board/board.h"
#include "tinydeploy/build/cmake.h"
#include "tinydeploy/cli/validate.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/common/output_directory.h"

namespace tinydeploy::cli {

namespace fs = std::filesystem;

void run_firmware(const FirmwareOptions& options, std::ostream& out) {
  const board::Target target = board::parse_target(options.target);
  if (target.board.runner == board::Runner::Serial) {
    throw Error(
        "--target {}: name the board's core (cortex-m4, cortex-m55) or an emulated "
        "board; the serial line is for `validate`",
        options.target);
  }
  const auto files = validator_firmware_tree(options.model, options.package, target.board);
  OutputDirectory output({options.output_dir, options.model, {}, options.force, "firmware"});
  codegen::write_files(files, output.staging());
  // Built where it stays: CMake's build tree records absolute paths.
  output.commit();
  if (target.board.port.empty()) {
    out << fmt::format(
        "wrote {}: add your board's port as boards/NAME/port.c (boards/include/tinydeploy/port.h) "
        "and boards/NAME/board.ld, then: cmake -S {} -B {}/build -DTD_BOARD=NAME && cmake "
        "--build {}/build --target validator\n",
        options.output_dir.string(), options.output_dir.string(), options.output_dir.string(),
        options.output_dir.string());
    return;
  }
  if (!options.quiet) out << fmt::format("building the validator for {}...\n", target.board.name);
  build::require_build_tools(target.board.core != board::Core::Host);
  build::cmake_build(options.output_dir, options.output_dir / "build", {}, "validator",
                     options.output_dir, "the validator");
  out << fmt::format("wrote {}; the image is {}\n", options.output_dir.string(),
                     (options.output_dir / "build" / "validator").string());
}

}  // namespace tinydeploy::cli
