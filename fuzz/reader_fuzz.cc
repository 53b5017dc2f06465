// libFuzzer target: any byte string given to the model reader either loads or is refused with
// tinydeploy::Error; every other outcome (crash, sanitizer report, hang) is a bug. Loaded models
// go through the analysis too, since it is the next consumer of whatever the reader accepts.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tinydeploy/analysis/analysis.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/model/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto model =
        tinydeploy::model::parse_model(std::vector<uint8_t>(data, data + size), "fuzz.tflite");
    (void)tinydeploy::analysis::analyze(model);
  } catch (const tinydeploy::Error&) {
  }
  return 0;
}
