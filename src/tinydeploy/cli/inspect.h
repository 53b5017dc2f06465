// `tinydeploy inspect`: the model summary, as text or as one JSON document.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "tinydeploy/analysis/analysis.h"
#include "tinydeploy/model/graph.h"

namespace tinydeploy::cli {

struct InspectOptions {
  std::filesystem::path model;
  bool json = false;
  bool layers = false;
};

// Reads and analyses `options.model` and writes the report to `out`. Throws tinydeploy::Error.
void run_inspect(const InspectOptions& options, std::ostream& out);

nlohmann::json inspect_json(const model::Model& model, const analysis::ModelAnalysis& analysis,
                            bool layers);
std::string inspect_text(const model::Model& model, const analysis::ModelAnalysis& analysis,
                         bool layers);

}  // namespace tinydeploy::cli
