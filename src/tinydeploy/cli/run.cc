#include "tinydeploy/cli/run.h"

#include <fmt/format.h>

#include <cstring>
#include <map>
#include <ostream>

#include "tinydeploy/analysis/analysis.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/common/output_directory.h"
#include "tinydeploy/common/temporary_directory.h"
#include "tinydeploy/common/text.h"
#include "tinydeploy/engine/engine.h"
#include "tinydeploy/lowering/lowering.h"
#include "tinydeploy/model/reader.h"
#include "tinydeploy/reference/reference.h"
#include "tinydeploy/tensors/tensor_io.h"
#include "tinydeploy/validate/compare.h"

namespace tinydeploy::cli {
namespace {

namespace fs = std::filesystem;

tensors::TensorData snapshot(std::span<const uint8_t> bytes, const model::Tensor& tensor) {
  tensors::TensorData data;
  data.dtype = tensor.dtype;
  data.shape = tensor.shape;
  data.bytes.assign(bytes.begin(), bytes.end());
  return data;
}

}  // namespace

int run_model(const RunOptions& options, std::ostream& out) {
  if (!options.reference.empty() && options.reference != "litert" && options.reference != "tflm") {
    throw Error("--reference must be litert or tflm");
  }
  if (options.layers && options.reference.empty()) {
    throw Error("--layers compares with the PC reference: add --reference litert|tflm");
  }
  if (!options.inputs.empty() && options.seed) {
    throw Error("use either --input files or --random, not both");
  }
  // The output path is checked before any work; without one, the files go to a scratch
  // directory that is removed at the end.
  std::optional<OutputDirectory> output;
  std::optional<TemporaryDirectory> scratch;
  if (options.output_dir) {
    output.emplace(
        OutputRequest{*options.output_dir, options.model, options.inputs, options.force, "run"});
  } else {
    scratch.emplace(temporary_root());
  }
  const fs::path& work = output ? output->staging() : scratch->path();

  const model::Model model = model::read_model(options.model);
  const lowering::LoweredModel lowered = lowering::lower(model);
  engine::Engine engine(model, lowered, options.max_arena_bytes);

  if (!options.inputs.empty() && options.inputs.size() != engine.input_count()) {
    throw Error("{}: the model has {} inputs but {} --input files were given",
                options.model.string(), engine.input_count(), options.inputs.size());
  }
  std::vector<tensors::TensorData> inputs;
  for (size_t i = 0; i < engine.input_count(); ++i) {
    const model::Tensor& tensor = engine.input_tensor(i);
    if (engine.input(i).size() != static_cast<size_t>(tensor.bytes())) {
      throw Error("{}: input {} has no arena storage", options.model.string(), i);
    }
    inputs.push_back(options.inputs.empty()
                         ? tensors::random_tensor(tensor, options.seed.value_or(0) + i)
                         : tensors::read_tensor_file(options.inputs[i], tensor));
    const std::span<uint8_t> destination = engine.input(i);
    if (destination.size() != inputs.back().bytes.size()) {
      throw Error("{}: input {} has no arena storage", options.model.string(), i);
    }
    // An input without elements has no storage (a null pointer memcpy must not see).
    if (!destination.empty()) {
      std::memcpy(destination.data(), inputs.back().bytes.data(), destination.size());
    }
  }

  // Every operator output, captured while it is live, for the layer comparison. The arena
  // reuses memory, the copies do not: bound their total before running.
  std::map<int32_t, tensors::TensorData> captured;
  const model::Subgraph& graph = model.main();
  if (options.layers) {
    int64_t copies = 0;
    for (const model::Operator& op : graph.operators) {
      for (int32_t t : op.outputs) {
        if (t >= 0) copies += graph.tensors[static_cast<size_t>(t)].bytes();
      }
      if (copies > options.max_arena_bytes) {
        throw Error(
            "{}: --layers keeps a copy of every operator output, more than the limit of {} "
            "bytes; raise it with --max-arena or run without --layers",
            options.model.string(), options.max_arena_bytes);
      }
    }
  }
  engine.invoke([&](int32_t op_index) {
    if (!options.layers) return;
    for (int32_t t : graph.operators[static_cast<size_t>(op_index)].outputs) {
      if (t < 0) continue;
      captured[t] = snapshot(engine.tensor_bytes(t), graph.tensors[static_cast<size_t>(t)]);
    }
  });

  std::vector<fs::path> input_files;
  for (size_t i = 0; i < inputs.size(); ++i) {
    input_files.push_back(work / fmt::format("input_{}.npy", i));
    tensors::write_npy(input_files.back(), inputs[i]);
  }
  std::vector<tensors::TensorData> outputs;
  for (size_t i = 0; i < engine.output_count(); ++i) {
    const model::Tensor& tensor = engine.output_tensor(i);
    outputs.push_back(snapshot(engine.output(i), tensor));
    tensors::write_npy(work / fmt::format("output_{}.npy", i), outputs.back());
    if (options.csv) tensors::write_csv(work / fmt::format("output_{}.csv", i), outputs.back());
    out << fmt::format("output {} '{}' {} [{}]\n", i, printable(tensor.name),
                       model::dtype_name(tensor.dtype), fmt::join(tensor.shape, ","));
  }

  int status = 0;
  if (!options.reference.empty()) {
    const auto interpreter =
        options.reference == "tflm" ? reference::Interpreter::TFLM : reference::Interpreter::LiteRT;
    const fs::path reference_dir = work / "reference";
    const reference::ReferenceRun run = reference::run_reference(
        options.model, interpreter, input_files, reference_dir, options.layers);
    if (run.outputs.size() != outputs.size()) {
      throw Error("the PC reference produced {} outputs, the model has {}", run.outputs.size(),
                  outputs.size());
    }
    bool all_match = true;
    for (size_t i = 0; i < outputs.size(); ++i) {
      const model::Tensor& tensor = engine.output_tensor(i);
      const validate::Comparison c =
          validate::compare(outputs[i], tensors::read_npy(run.outputs[i]), tensor);
      all_match = all_match && c.matches();
      out << fmt::format("{} output {} {}\n", c.matches() ? "match   " : "MISMATCH", i,
                         validate::describe(c, tensor));
    }
    if (options.layers) {
      // Operators whose output is a model output are compared too: the reference returns those
      // as outputs, not as intermediates.
      std::map<int32_t, fs::path> reference_tensors = run.intermediates;
      for (size_t i = 0; i < graph.outputs.size() && i < run.outputs.size(); ++i) {
        reference_tensors.emplace(graph.outputs[i], run.outputs[i]);
      }
      bool diverged = false;
      for (size_t op = 0; op < graph.operators.size() && !diverged; ++op) {
        for (int32_t t : graph.operators[op].outputs) {
          const auto found = reference_tensors.find(t);
          const auto ours = captured.find(t);
          if (t < 0 || found == reference_tensors.end() || ours == captured.end()) continue;
          const model::Tensor& tensor = graph.tensors[static_cast<size_t>(t)];
          const validate::Comparison c =
              validate::compare(ours->second, tensors::read_npy(found->second), tensor);
          if (!c.matches()) {
            out << fmt::format("first divergence: operator {} ({}) output {}\n", op,
                               graph.operators[op].name(), validate::describe(c, tensor));
            diverged = true;
            break;
          }
        }
      }
      if (!diverged) {
        out << fmt::format("all {} operators match layer by layer\n", graph.operators.size());
      }
      all_match = all_match && !diverged;
    }
    out << (all_match ? "PASS: matches " : "FAIL: differs from ") << options.reference << "\n";
    status = all_match ? 0 : kRunMismatch;
  }
  if (output) {
    std::error_code ec;
    fs::remove_all(work / "reference", ec);
    output->commit();
    out << fmt::format("wrote {}\n", output->path().string());
  }
  return status;
}

}  // namespace tinydeploy::cli
