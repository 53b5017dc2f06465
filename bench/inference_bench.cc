// Host inference time of tinydeploy's runtime per shared model (one invoke, random input,
// the portable kernels). bench/inference_vs_tflm.sh prints it next to TFLite Micro's.
//   build/release/bench/inference_bench [--benchmark_filter=kws]
#include <benchmark/benchmark.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "tinydeploy/analysis/analysis.h"
#include "tinydeploy/engine/engine.h"
#include "tinydeploy/lowering/lowering.h"
#include "tinydeploy/model/reader.h"
#include "tinydeploy/tensors/tensor_io.h"

namespace {

void invoke_model(benchmark::State& state, const std::filesystem::path& path) {
  const auto model = tinydeploy::model::read_model(path);
  const auto lowered = tinydeploy::lowering::lower(model);
  const auto& analysis = lowered.analysis;
  tinydeploy::engine::Engine engine(model, lowered);
  for (size_t i = 0; i < engine.input_count(); ++i) {
    const auto data = tinydeploy::tensors::random_tensor(engine.input_tensor(i), i);
    std::memcpy(engine.input(i).data(), data.bytes.data(), data.bytes.size());
  }
  for (auto _ : state) {
    engine.invoke();
    benchmark::ClobberMemory();
  }
  state.counters["MACs"] = static_cast<double>(analysis.total_macs);
  state.counters["MACs/s"] = benchmark::Counter(static_cast<double>(analysis.total_macs),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> models;
  for (const auto& entry : std::filesystem::directory_iterator(TINYDEPLOY_SHARED_DIR "/models")) {
    if (entry.path().extension() == ".tflite") models.push_back(entry.path());
  }
  std::sort(models.begin(), models.end());
  for (const auto& path : models) {
    benchmark::RegisterBenchmark(path.stem().string().c_str(), invoke_model, path)
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
