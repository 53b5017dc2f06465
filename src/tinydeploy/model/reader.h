// Reading a .tflite file into the Graph IR. The file is untrusted: everything is verified and
// bound-checked, and any problem ends in one tinydeploy::Error naming the file and the index.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tinydeploy/model/graph.h"

namespace tinydeploy::model {

// Largest model file accepted; bigger files are refused before anything is allocated.
inline constexpr uint64_t kMaxModelFileBytes = uint64_t{2} << 30;
// Bounds that keep a hostile file from making us do unbounded work per element.
inline constexpr size_t kMaxTensorRank = 16;

// Reads and validates the model at `path`.
Model read_model(const std::filesystem::path& path);

// Validates `bytes` as a model; `display_name` is used in messages and stored in Model::path.
Model parse_model(std::vector<uint8_t> bytes, std::string display_name);

}  // namespace tinydeploy::model
