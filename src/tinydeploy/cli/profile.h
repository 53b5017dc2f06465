// `tinydeploy profile`: runs the model on an emulated board under tinydeploy's QEMU plugin and
// reports per layer where the instructions, memory accesses and (estimated) cycles go.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

namespace tinydeploy::cli {

struct ProfileOptions {
  std::filesystem::path model;
  std::string target = "qemu-m4";
  uint32_t runs = 10;
  std::optional<double> clock_mhz;  // default: the board's clock
  std::filesystem::path output_dir = ".";
  std::string icache = "32768:2:32";  // SIZE:WAYS:LINE of the simulated caches
  std::string dcache = "32768:4:32";
  uint64_t seed = 0;
  double timeout_seconds = 120;  // for one inference on the target
  bool quiet = false;
};

int run_profile(const ProfileOptions& options, std::ostream& out);

// The plugin's shared library: $TINYDEPLOY_QEMU_PLUGIN, the one built with this tool, or
// ../lib/tinydeploy/ next to the installed executable. Throws when none exists.
std::filesystem::path qemu_plugin_path();

}  // namespace tinydeploy::cli
