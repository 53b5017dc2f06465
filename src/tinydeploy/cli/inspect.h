// `tinydeploy inspect`: the model summary, as text or as one JSON document.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "tinydeploy/lowering/lowering.h"
#include "tinydeploy/model/graph.h"

namespace tinydeploy::cli {

struct InspectOptions {
  std::filesystem::path model;
  bool json = false;
  bool layers = false;
};

// Reads, analyses and lowers `options.model` and writes the report to `out`, listing every
// operator lowering refuses with its reason. Throws tinydeploy::Error.
void run_inspect(const InspectOptions& options, std::ostream& out);

nlohmann::json inspect_json(const model::Model& model, const lowering::LoweredModel& lowered,
                            bool layers);
std::string inspect_text(const model::Model& model, const lowering::LoweredModel& lowered,
                         bool layers);

}  // namespace tinydeploy::cli
