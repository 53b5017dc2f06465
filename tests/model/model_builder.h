// Test helper: real models unpacked into the FlatBuffers object API, edited, and packed again,
// so each malformed-input test changes exactly one thing in an otherwise valid model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "tinydeploy/model/tflite_schema_generated.h"

namespace tinydeploy::testing {

inline std::filesystem::path shared_model(const std::string& name) {
  return std::filesystem::path(TINYDEPLOY_SHARED_DIR) / "models" / name;
}

inline std::vector<uint8_t> file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::unique_ptr<tflite::ModelT> unpack(const std::vector<uint8_t>& bytes) {
  return std::unique_ptr<tflite::ModelT>(tflite::GetModel(bytes.data())->UnPack());
}

inline std::vector<uint8_t> pack(const tflite::ModelT& model) {
  flatbuffers::FlatBufferBuilder builder;
  builder.Finish(tflite::Model::Pack(builder, &model), tflite::ModelIdentifier());
  return {builder.GetBufferPointer(), builder.GetBufferPointer() + builder.GetSize()};
}

}  // namespace tinydeploy::testing
