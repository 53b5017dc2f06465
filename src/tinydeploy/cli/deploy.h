// `tinydeploy deploy`: the whole flow after every model change, in one command: inspect ->
// generate -> build -> validate -> profile -> library -> report, every artifact under DIR/NAME/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "tinydeploy/cli/profile.h"

namespace tinydeploy::cli {

struct DeployOptions {
  std::filesystem::path model;
  std::optional<std::string> target;  // default: the metadata's target, else qemu-m4
  std::filesystem::path output_dir;   // DIR: the artifacts go to DIR/NAME/
  std::optional<std::string> name;    // default: the model file's stem
  bool validate = true;
  bool profile = true;
  bool library = true;
  // Take validation and profile from this NAME.meta.json instead of running the target.
  std::optional<std::filesystem::path> from_metadata;
  uint32_t validate_runs = 10;
  std::string reference = "tflm";
  uint32_t tolerance = 0;
  uint64_t seed = 0;
  ProfileSettings profile_settings;
  bool force = false;
  bool quiet = false;
};

// Exit status: 0 when every stage succeeded; a validation that FAILs stops the flow with
// kDeployValidationFailed. Other failures throw tinydeploy::Error.
constexpr int kDeployValidationFailed = 1;

int run_deploy(const DeployOptions& options, std::ostream& out);

}  // namespace tinydeploy::cli
