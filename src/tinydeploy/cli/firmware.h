// `tinydeploy firmware`: the validator firmware for a board as a CMake project, built when the
// board has a port, to flash on a real board or run by hand.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

namespace tinydeploy::cli {

struct FirmwareOptions {
  std::filesystem::path model;
  std::string target = "host";
  std::filesystem::path output_dir;
  std::optional<std::filesystem::path> package;
  bool force = false;  // replace an existing directory tinydeploy did not write
  bool quiet = false;
};

void run_firmware(const FirmwareOptions& options, std::ostream& out);

}  // namespace tinydeploy::cli
