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
#include "tinydeploy/tensors/npz.h"
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

// The inputs of every invoke, inputs[k][i]: random (input i of invoke k drawn with
// invoke_seed(seed, k) + i), from one .npz with a leading invoke axis, or from --input files,
// invoke after invoke.
std::vector<std::vector<tensors::TensorData>> gather_inputs(const RunOptions& options,
                                                            const engine::Engine& engine,
                                                            const fs::path& scratch) {
  const size_t invokes = options.invokes;
  const size_t count = engine.input_count();
  std::vector<std::vector<tensors::TensorData>> inputs(invokes);
  if (options.inputs.empty()) {
    const uint64_t seed = options.seed.value_or(0);
    for (size_t k = 0; k < invokes; ++k) {
      for (size_t i = 0; i < count; ++i) {
        inputs[k].push_back(
            tensors::random_tensor(engine.input_tensor(i), tensors::invoke_seed(seed, k) + i));
      }
    }
    return inputs;
  }
  if (options.inputs.size() == 1 && options.inputs[0].extension() == ".npz") {
    std::vector<const model::Tensor*> tensors;
    for (size_t i = 0; i < count; ++i) tensors.push_back(&engine.input_tensor(i));
    fs::create_directories(scratch);
    inputs = tensors::read_npz_runs(options.inputs[0], tensors, scratch);
    if (inputs.size() != invokes) {
      throw Error("{}: holds inputs for {} invoke(s), but --invokes is {}",
                  options.inputs[0].string(), inputs.size(), invokes);
    }
    return inputs;
  }
  if (options.inputs.size() != count * invokes) {
    if (invokes == 1) {
      throw Error("{}: the model has {} inputs but {} --input files were given",
                  options.model.string(), count, options.inputs.size());
    }
    throw Error(
        "{}: the model has {} inputs, so --invokes {} takes {} --input files (invoke 0's, then "
        "invoke 1's, ...) or one .npz with a leading invoke axis; {} files were given",
        options.model.string(), count, invokes, count * invokes, options.inputs.size());
  }
  for (size_t k = 0; k < invokes; ++k) {
    for (size_t i = 0; i < count; ++i) {
      inputs[k].push_back(
          tensors::read_tensor_file(options.inputs[k * count + i], engine.input_tensor(i)));
    }
  }
  return inputs;
}

// Compares every captured operator output with the reference's; prints the first divergence or
// that all match. `invoke` prefixes the lines ("" or "invoke K ").
bool compare_layers(const model::Subgraph& graph, const reference::ReferenceRun& run,
                    const std::map<int32_t, tensors::TensorData>& captured,
                    const std::string& invoke, std::ostream& out) {
  // Operators whose output is a model output are compared too: the reference returns those as
  // outputs, not as intermediates.
  std::map<int32_t, fs::path> reference_tensors = run.intermediates;
  for (size_t i = 0; i < graph.outputs.size() && i < run.outputs.size(); ++i) {
    reference_tensors.emplace(graph.outputs[i], run.outputs[i]);
  }
  for (size_t op = 0; op < graph.operators.size(); ++op) {
    for (int32_t t : graph.operators[op].outputs) {
      const auto found = reference_tensors.find(t);
      const auto ours = captured.find(t);
      if (t < 0 || found == reference_tensors.end() || ours == captured.end()) continue;
      const model::Tensor& tensor = graph.tensors[static_cast<size_t>(t)];
      const validate::Comparison c =
          validate::compare(ours->second, tensors::read_npy(found->second), tensor);
      if (!c.matches()) {
        out << fmt::format("{}first divergence: operator {} ({}) output {}\n", invoke, op,
                           graph.operators[op].name(), validate::describe(c, tensor));
        return false;
      }
    }
  }
  out << fmt::format("{}all {} operators match layer by layer\n", invoke, graph.operators.size());
  return true;
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
  if (options.invokes < 1) throw Error("--invokes must be at least 1");
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

  const size_t invokes = options.invokes;
  const std::vector<std::vector<tensors::TensorData>> inputs =
      gather_inputs(options, engine, work / "npz");
  // Every operator output of every invoke, captured while it is live, for the layer comparison.
  // The arena reuses memory, the copies do not: bound their total before running.
  const model::Subgraph& graph = model.main();
  if (options.layers) {
    int64_t copies = 0;
    for (const model::Operator& op : graph.operators) {
      for (int32_t t : op.outputs) {
        if (t >= 0) copies += graph.tensors[static_cast<size_t>(t)].bytes();
      }
    }
    if (copies > options.max_arena_bytes / static_cast<int64_t>(invokes)) {
      throw Error(
          "{}: --layers keeps a copy of every operator output{}, more than the limit of {} "
          "bytes; raise it with --max-arena or run without --layers",
          options.model.string(), invokes > 1 ? " of every invoke" : "", options.max_arena_bytes);
    }
  }
  std::vector<std::map<int32_t, tensors::TensorData>> captured(invokes);
  std::vector<std::vector<tensors::TensorData>> outputs(invokes);
  std::vector<std::vector<fs::path>> input_files(invokes);
  for (size_t k = 0; k < invokes; ++k) {
    for (size_t i = 0; i < engine.input_count(); ++i) {
      const std::span<uint8_t> destination = engine.input(i);
      if (destination.size() != inputs[k][i].bytes.size()) {
        throw Error("{}: input {} has no arena storage", options.model.string(), i);
      }
      // An input without elements has no storage (a null pointer memcpy must not see).
      if (!destination.empty()) {
        std::memcpy(destination.data(), inputs[k][i].bytes.data(), destination.size());
      }
    }
    engine.invoke([&](int32_t op_index) {
      if (!options.layers) return;
      for (int32_t t : graph.operators[static_cast<size_t>(op_index)].outputs) {
        if (t < 0) continue;
        captured[k][t] = snapshot(engine.tensor_bytes(t), graph.tensors[static_cast<size_t>(t)]);
      }
    });
    const fs::path dir = invokes == 1 ? work : work / fmt::format("invoke_{}", k);
    fs::create_directories(dir);
    for (size_t i = 0; i < inputs[k].size(); ++i) {
      input_files[k].push_back(dir / fmt::format("input_{}.npy", i));
      tensors::write_npy(input_files[k].back(), inputs[k][i]);
    }
    for (size_t i = 0; i < engine.output_count(); ++i) {
      outputs[k].push_back(snapshot(engine.output(i), engine.output_tensor(i)));
      tensors::write_npy(dir / fmt::format("output_{}.npy", i), outputs[k].back());
      if (options.csv) tensors::write_csv(dir / fmt::format("output_{}.csv", i), outputs[k].back());
    }
  }
  for (size_t i = 0; i < engine.output_count(); ++i) {
    const model::Tensor& tensor = engine.output_tensor(i);
    out << fmt::format("output {} '{}' {} [{}]\n", i, printable(tensor.name),
                       model::dtype_name(tensor.dtype), fmt::join(tensor.shape, ","));
  }
  if (invokes > 1) out << fmt::format("ran {} invokes, state carried\n", invokes);

  int status = 0;
  if (!options.reference.empty()) {
    const auto interpreter =
        options.reference == "tflm" ? reference::Interpreter::TFLM : reference::Interpreter::LiteRT;
    const fs::path reference_dir = work / "reference";
    // One invoke runs as before; several run as consecutive invokes of one interpreter.
    const std::vector<reference::ReferenceRun> runs =
        invokes == 1
            ? std::vector{reference::run_reference(options.model, interpreter, input_files[0],
                                                   reference_dir, options.layers)}
            : reference::run_reference_batch(options.model, interpreter, input_files, reference_dir,
                                             options.layers);
    bool all_match = true;
    for (size_t k = 0; k < invokes; ++k) {
      const reference::ReferenceRun& run = runs.at(k);
      if (run.outputs.size() != outputs[k].size()) {
        throw Error("the PC reference produced {} outputs, the model has {}", run.outputs.size(),
                    outputs[k].size());
      }
      const std::string invoke = invokes == 1 ? "" : fmt::format("invoke {} ", k);
      for (size_t i = 0; i < outputs[k].size(); ++i) {
        const model::Tensor& tensor = engine.output_tensor(i);
        const validate::Comparison c =
            validate::compare(outputs[k][i], tensors::read_npy(run.outputs[i]), tensor);
        all_match = all_match && c.matches();
        out << fmt::format("{} {}output {} {}\n", c.matches() ? "match   " : "MISMATCH", invoke, i,
                           validate::describe(c, tensor));
      }
      if (options.layers) {
        all_match = compare_layers(graph, run, captured[k], invoke, out) && all_match;
      }
    }
    out << (all_match ? "PASS: matches " : "FAIL: differs from ") << options.reference
        << (invokes == 1 ? "" : fmt::format(" over {} invokes", invokes)) << "\n";
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
