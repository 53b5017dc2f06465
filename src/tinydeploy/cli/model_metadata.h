// The metadata document (report/metadata.h) of a prepared package: what the model, its lowering
// and its memory plan say, before anything runs on a target.
#pragma once

#include <filesystem>
#include <string>

#include "tinydeploy/cli/package.h"
#include "tinydeploy/report/metadata.h"

namespace tinydeploy::cli {

inline constexpr std::string_view kToolName = "tinydeploy 0.1.0";

// The SHA-256 of a package's files (paths and contents): equal for packages that build alike.
std::string package_sha256(const codegen::Package& package);

// `target` is the name the user gave (a board or a core).
report::Metadata describe_package(const PreparedPackage& prepared, const std::string& target);

// Throws tinydeploy::Error unless `metadata` describes this very model file (by SHA-256).
void require_same_model(const report::Metadata& metadata, const model::Model& model,
                        const std::string& metadata_file);

}  // namespace tinydeploy::cli
