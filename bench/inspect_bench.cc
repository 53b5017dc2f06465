// For each shared model: the time `inspect` takes (read + verify + analyse + lower + plan), with
// the planned arena, its lower bound and their ratio as counters.
//   build/release/bench/inspect_bench [--benchmark_filter=kws]
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tinydeploy/lowering/lowering.h"
#include "tinydeploy/model/reader.h"

namespace {

void inspect_model(benchmark::State& state, const std::filesystem::path& path) {
  tinydeploy::lowering::LoweredModel lowered;
  for (auto _ : state) {
    const auto model = tinydeploy::model::read_model(path);
    lowered = tinydeploy::lowering::lower(model);
    benchmark::DoNotOptimize(lowered);
  }
  const tinydeploy::analysis::ModelAnalysis& analysis = lowered.analysis;
  state.counters["arena_bytes"] = static_cast<double>(analysis.plan.arena_bytes);
  state.counters["lower_bound"] = static_cast<double>(analysis.plan.lower_bound_bytes);
  state.counters["ratio"] = analysis.plan.ratio();
  state.counters["MACs"] = static_cast<double>(analysis.total_macs);
}

}  // namespace

int main(int argc, char** argv) {
  const auto folder = std::filesystem::path(TINYDEPLOY_SHARED_DIR) / "models";
  std::vector<std::filesystem::path> models;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().extension() == ".tflite") models.push_back(entry.path());
  }
  std::sort(models.begin(), models.end());
  for (const auto& path : models) {
    benchmark::RegisterBenchmark(("inspect/" + path.stem().string()).c_str(), inspect_model, path)
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
