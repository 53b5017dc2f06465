#include "tinydeploy/cli/package.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <optional>

#include "tinydeploy/analysis/analysis.h"
#include "tinydeploy/board/board.h"
#include "tinydeploy/codegen/package.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/common/output_directory.h"
#include "tinydeploy/engine/engine.h"
#include "tinydeploy/lowering/lowering.h"
#include "tinydeploy/model/reader.h"
#include "tinydeploy/tensors/tensor_io.h"

namespace tinydeploy::cli {
namespace {

namespace fs = std::filesystem;

// The host engine's inferences on seeded random inputs (invoke k draws as `run --invokes`):
// the example's expected outputs. Refused before anything is computed when the inputs and
// outputs together exceed `max_bytes`.
codegen::ExampleData compute_example(const model::Model& model, engine::Engine& engine,
                                     uint64_t seed, size_t invokes, int64_t max_bytes) {
  int64_t total = 0;
  for (size_t i = 0; i < engine.input_count(); ++i) total += engine.input_tensor(i).bytes();
  for (size_t i = 0; i < engine.output_count(); ++i) total += engine.output_tensor(i).bytes();
  total *= static_cast<int64_t>(invokes);
  if (total > max_bytes) {
    throw Error(
        "{}: nothing generated: the example would embed {} bytes of inputs and expected outputs "
        "({:.1f} MiB, about six times that as C source), over the limit of {} bytes; if this is "
        "expected, raise it with --max-example-data (e.g. --max-example-data {}M)",
        model.path, total, static_cast<double>(total) / 1048576.0, max_bytes,
        (total + 1048575) / 1048576);
  }
  codegen::ExampleData example;
  example.seed = seed;
  example.invokes = invokes;
  for (size_t k = 0; k < invokes; ++k) {
    for (size_t i = 0; i < engine.input_count(); ++i) {
      const std::span<uint8_t> destination = engine.input(i);
      if (destination.size() != static_cast<size_t>(engine.input_tensor(i).bytes())) {
        throw Error("{}: input {} has no arena storage", model.path, i);
      }
      const tensors::TensorData input =
          tensors::random_tensor(engine.input_tensor(i), tensors::invoke_seed(seed, k) + i);
      if (destination.size() != input.bytes.size()) {
        throw Error("{}: input {} has no arena storage", model.path, i);
      }
      // An input without elements has no storage (a null pointer memcpy must not see).
      if (!destination.empty()) {
        std::memcpy(destination.data(), input.bytes.data(), destination.size());
      }
      example.inputs.push_back(input.bytes);
    }
    engine.invoke();
    for (size_t i = 0; i < engine.output_count(); ++i) {
      const auto bytes = engine.output(i);
      example.outputs.emplace_back(bytes.begin(), bytes.end());
    }
  }
  return example;
}

}  // namespace

PreparedPackage prepare_package(const PackageCommandOptions& options) {
  const board::Target target = board::parse_target(options.target);
  if (target.board.runner == board::Runner::Serial) {
    throw Error(
        "--target {}: name the board's core (cortex-m4, cortex-m55) or a board; a serial "
        "line is for `validate`",
        options.target);
  }
  const std::string name =
      options.name ? *options.name : codegen::default_package_name(options.model);
  codegen::check_package_name(name);
  PreparedPackage prepared{target, model::read_model(options.model), {}, {}, {}};
  const model::Model& model = prepared.model;
  // Every refusal in one message, before anything is computed or generated. The package gets
  // the calls for its core (kernel variants chosen ahead of time); the example is computed by
  // the portable calls, so that the example application checks the variants against them.
  prepared.lowered = lowering::lower(model, target.board.core);
  const lowering::LoweredModel& lowered = prepared.lowered;
  lowering::require_supported(model, lowered, "nothing generated");
  std::optional<lowering::LoweredModel> portable;
  if (target.board.core != board::Core::Host) portable = lowering::lower(model);
  engine::Engine engine(model, portable ? *portable : lowered, options.max_arena_bytes);
  prepared.example = compute_example(
      model, engine, options.example_seed,
      options.example_invokes.value_or(
          lowered.analysis.plan.variable_arena_bytes > 0 ? kStatefulExampleInvokes : 1),
      options.max_example_bytes);
  prepared.package = codegen::generate_package(model, lowered.analysis, lowered.calls,
                                               prepared.example, {name, target.board.core});
  return prepared;
}

codegen::Package make_package(const PackageCommandOptions& options) {
  return prepare_package(options).package;
}

OutputRequest output_request(const PackageCommandOptions& options, std::string command) {
  return {options.output_dir, options.model, {}, options.force, std::move(command)};
}

codegen::Package read_package_directory(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw Error("--package {}: not a directory", dir.string());
  codegen::Package package;
  size_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.is_symlink()) continue;
    const std::string relative = fs::relative(entry.path(), dir).generic_string();
    total += static_cast<size_t>(entry.file_size());
    if (package.files.size() > 10000 || total > (size_t{1} << 30)) {
      throw Error("--package {}: more files or bytes than a generated package has", dir.string());
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    constexpr std::string_view kDataHeader = "_model_data.h";
    if (relative.find('/') == std::string::npos && relative.size() > kDataHeader.size() &&
        relative.ends_with(kDataHeader)) {
      package.name = relative.substr(0, relative.size() - kDataHeader.size());
    }
    package.files.push_back({relative, std::move(content)});
  }
  if (package.name.empty() || !fs::is_regular_file(dir / (package.name + ".h"))) {
    throw Error("--package {}: no generated package here (NAME.h and NAME_model_data.h)",
                dir.string());
  }
  std::sort(package.files.begin(), package.files.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });
  return package;
}

}  // namespace tinydeploy::cli
