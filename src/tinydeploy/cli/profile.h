// `tinydeploy profile`: runs the model on an emulated board under tinydeploy's QEMU plugin and
// reports per layer where the instructions, memory accesses and (estimated) cycles go; with
// --baseline it also guards against a regression.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "tinydeploy/cli/package.h"
#include "tinydeploy/cli/progress.h"
#include "tinydeploy/report/metadata.h"

namespace tinydeploy::cli {

// How to profile, for `profile` and `deploy` alike.
struct ProfileSettings {
  uint32_t runs = 10;
  std::optional<double> clock_mhz;    // default: the board's clock
  std::string icache = "32768:2:32";  // SIZE:WAYS:LINE of the simulated caches
  std::string dcache = "32768:4:32";
  uint64_t seed = 0;
  double timeout_seconds = 120;  // for one inference on the target
};

struct ProfileOptions {
  std::filesystem::path model;
  std::string target = "qemu-m4";
  std::string core = "cortex-m4";  // of a serial:DEVICE target, which does not say
  ProfileSettings settings;
  std::optional<std::filesystem::path> output_dir;  // default: NAME_profile
  bool force = false;
  std::optional<std::filesystem::path> package;   // profile this generated package instead
  std::optional<std::filesystem::path> baseline;  // an earlier NAME.meta.json
  double max_regression_percent = 5;
  bool quiet = false;
};

// Exit status when --baseline finds a regression.
constexpr int kProfileRegression = 1;

int run_profile(const ProfileOptions& options, std::ostream& out);

struct ProfileOutcome {
  report::ProfileMeta meta;
  std::string raw_json;  // NAME_profile.json: every inference's counters and SysTick ticks
};

// Builds (or reuses) the validator firmware of `prepared` (or of the package in `package_dir`)
// for `target_name`'s board, runs it under the plugin and aggregates the records.
ProfileOutcome profile_on_target(const PreparedPackage& prepared, const std::string& target_name,
                                 const ProfileSettings& settings,
                                 const std::optional<std::filesystem::path>& package_dir,
                                 const Progress& progress);

// NAME_stats.csv and the summary block, from metadata holding a profile.
std::string profile_stats_csv(const report::Metadata& metadata);
std::string profile_summary(const report::Metadata& metadata);

// The plugin's shared library: $TINYDEPLOY_QEMU_PLUGIN, the one built with this tool, or
// ../lib/tinydeploy/ next to the installed executable. Throws when none exists.
std::filesystem::path qemu_plugin_path();

}  // namespace tinydeploy::cli
