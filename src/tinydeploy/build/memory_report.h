// Flash and RAM of a built package, read from its smallest image (NAME_footprint) with nm and
// size, split by where each symbol comes from.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tinydeploy::build {

struct MemoryReport {
  int64_t library_code = 0;  // runtime kernels and the model's invoke/API
  int64_t parameters = 0;    // prepared kernel parameters, tables, tensor descriptors
  int64_t weights = 0;       // constant tensors and arrays prepared from them (NAME_model_data)
  int64_t other_flash = 0;   // C library and startup code of the image
  int64_t flash_total = 0;
  int64_t arena = 0;
  int64_t resource_variables = 0;
  int64_t other_ram = 0;
  int64_t ram_total = 0;
  int64_t archive_bytes = 0;
};

// Reads `image` of the package `name` built in `build_dir` (whose CMake cache names the nm and
// size of its toolchain). `variable_bytes` is the planned variable area.
MemoryReport measure(const std::filesystem::path& build_dir, const std::filesystem::path& image,
                     const std::string& name, int64_t variable_bytes);

struct ReportContext {
  std::string model;
  std::string name;
  std::string target;
  std::vector<std::string> kernels;
};

std::string report_text(const MemoryReport& report, const ReportContext& context);
std::string report_json(const MemoryReport& report, const ReportContext& context);

}  // namespace tinydeploy::build
