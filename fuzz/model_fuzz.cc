// libFuzzer target for the whole pipeline (reader -> analysis -> lowering -> host engine ->
// code generation) with a structure-aware mutator: each mutation unpacks the model, changes one
// field, repairs what follows mechanically from the change and packs it again (model_mutator.h),
// so most inputs are models that get past the reader's and the analysis's checks and run the
// kernels. Inputs that are not well-formed models get libFuzzer's byte-level mutations.
//
// Refusals with tinydeploy::Error are the expected outcome of a bad model; crashes, sanitizer
// reports, any other exception and hangs are bugs. TINYDEPLOY_FUZZ_VERBOSE=1 prints each
// mutation and each refusal (for reading what the fuzzer does, not for long runs).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "model_mutator.h"
#include "pipeline.h"
#include "tinydeploy/common/error.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

bool verbose() {
  static const bool enabled = [] {
    const char* value = std::getenv("TINYDEPLOY_FUZZ_VERBOSE");
    return value != nullptr && std::strcmp(value, "0") != 0;
  }();
  return enabled;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)tinydeploy::fuzz::run_pipeline(std::vector<uint8_t>(data, data + size));
  } catch (const tinydeploy::Error& error) {
    if (verbose()) std::fprintf(stderr, "refused: %s\n", error.what());
  }
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  const auto mutation = tinydeploy::fuzz::mutate_model(data, size, seed, LLVMFuzzerMutate);
  if (!mutation || mutation->model.size() > max_size) {
    return LLVMFuzzerMutate(data, size, max_size);
  }
  if (verbose()) std::fprintf(stderr, "mutation: %s\n", mutation->description.c_str());
  std::memcpy(data, mutation->model.data(), mutation->model.size());
  return mutation->model.size();
}
