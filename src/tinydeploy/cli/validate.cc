#include "tinydeploy/cli/validate.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <ostream>

#include "tinydeploy/analysis/analysis.h"
#include "tinydeploy/board/board.h"
#include "tinydeploy/cli/package.h"
#include "tinydeploy/cli/progress.h"
#include "tinydeploy/cli/target_session.h"
#include "tinydeploy/codegen/firmware.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/common/sha256.h"
#include "tinydeploy/common/temporary_directory.h"
#include "tinydeploy/link/client.h"
#include "tinydeploy/model/reader.h"
#include "tinydeploy/reference/reference.h"
#include "tinydeploy/tensors/npz.h"
#include "tinydeploy/tensors/tensor_io.h"
#include "tinydeploy/validate/compare.h"

namespace tinydeploy::cli {
namespace {

namespace fs = std::filesystem;
using tensors::TensorData;

// Inputs of every run: seeded random data, or the arrays of an .npz file (each either one input
// as the model shapes it, or N runs of it stacked along a new first axis).
std::vector<std::vector<TensorData>> make_inputs(const ValidateOptions& options,
                                                 const model::Model& model,
                                                 const fs::path& scratch) {
  const model::Subgraph& graph = model.main();
  std::vector<std::vector<TensorData>> runs;
  if (!options.inputs) {
    for (uint32_t r = 0; r < options.runs; ++r) {
      std::vector<TensorData> inputs;
      for (size_t i = 0; i < graph.inputs.size(); ++i) {
        const model::Tensor& t = graph.tensors[static_cast<size_t>(graph.inputs[i])];
        inputs.push_back(tensors::random_tensor(t, options.seed + r * graph.inputs.size() + i));
      }
      runs.push_back(std::move(inputs));
    }
    return runs;
  }
  std::vector<const model::Tensor*> tensors;
  for (int32_t index : graph.inputs) tensors.push_back(&graph.tensors[static_cast<size_t>(index)]);
  return tensors::read_npz_runs(*options.inputs, tensors, scratch);
}

struct OutputSummary {
  double max_lsb = 0;
  double max_real = 0;
  int64_t differing = 0;
  int64_t elements = 0;
  int top1_agree = 0;
  bool classifier = false;
  bool shape_mismatch = false;
};

// Float tensors match within compare()'s relative tolerance; integer ones within `lsb`.
bool within_tolerance(const validate::Comparison& c, const model::Tensor& t, uint32_t lsb) {
  if (t.dtype == model::DType::Float32) return c.matches();
  return !c.shape_mismatch && c.max_abs_diff <= lsb;
}

// A classifier-like output: one row of at least two scores.
bool classifier_like(const model::Tensor& t) {
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < t.shape.size(); ++d) rows *= t.shape[d];
  return rows == 1 && !t.shape.empty() && t.shape.back() >= 2;
}

int64_t argmax(const TensorData& data) {
  int64_t best = 0;
  for (int64_t i = 1; i < data.elements(); ++i) {
    if (data.value(i) > data.value(best)) best = i;
  }
  return best;
}

std::string timing_line(const board::Board& board, const link::HelloInfo& hello,
                        std::vector<uint64_t> ticks) {
  if (ticks.empty() || hello.tick_hz == 0) return {};
  std::sort(ticks.begin(), ticks.end());
  const uint64_t median = ticks[ticks.size() / 2];
  const double seconds = static_cast<double>(median) / hello.tick_hz;
  switch (board.timing) {
    case board::Timing::EmulatedInstructions:
      // QEMU -icount shift=0: one instruction per nanosecond of virtual time.
      return fmt::format(
          "time per inference: {:.0f} instructions (emulated: QEMU counts instructions, not "
          "cycles; median of {})",
          seconds * 1e9, ticks.size());
    case board::Timing::WallClock:
      return fmt::format("time per inference: {:.3f} ms (host wall clock, median of {})",
                         seconds * 1e3, ticks.size());
    default:
      return fmt::format("time per inference: {} ticks at {} Hz = {:.3f} ms (median of {})", median,
                         hello.tick_hz, seconds * 1e3, ticks.size());
  }
}

}  // namespace

codegen::Package validator_package(const fs::path& model,
                                   const std::optional<fs::path>& package_dir,
                                   const board::Board& board) {
  if (package_dir) return read_package_directory(*package_dir);
  PackageCommandOptions package_options;
  package_options.model = model;
  package_options.target = std::string(board::core_name(board.core));
  return make_package(package_options);
}

std::vector<codegen::GeneratedFile> validator_firmware_tree(
    const fs::path& model, const std::optional<fs::path>& package_dir, const board::Board& board) {
  return codegen::firmware_files(validator_package(model, package_dir, board), board.port,
                                 board::toolchain_file(board.core));
}

ValidationOutcome validate_on_target(const ValidateOptions& options,
                                     const codegen::Package* package, const Progress& progress) {
  if (options.reference != "tflm" && options.reference != "litert") {
    throw Error("--reference must be tflm or litert");
  }
  if (options.runs == 0) throw Error("--runs must be at least 1");
  const board::Target target = board::parse_target(options.target);
  if (target.board.runner == board::Runner::None) {
    throw Error("target {} only builds code: validate runs it, so choose one of {}",
                target.board.name, board::target_names());
  }
  const model::Model model = model::read_model(options.model);
  const std::string model_hash = sha256_hex(model.file);
  const model::Subgraph& graph = model.main();

  TemporaryDirectory work(fs::temp_directory_path());
  const std::vector<std::vector<TensorData>> runs = make_inputs(options, model, work.path());

  // The firmware: built (or found in the cache) for emulated and host targets; a real board
  // runs what the user flashed, and the hello exchange checks it is this model.
  fs::path image;
  if (target.board.runner != board::Runner::Serial) {
    std::optional<codegen::Package> own;
    if (package == nullptr) own = validator_package(options.model, options.package, target.board);
    image = build_validator(package != nullptr ? *package : *own, target.board, progress).image;
  }

  const TargetSession session = open_target(target, image, work.path() / "target.log",
                                            options.timeout_seconds, model_hash, progress);
  const std::unique_ptr<link::Transport>& transport = session.transport;
  link::Client& client = *session.client;
  const link::HelloInfo& hello = session.hello;
  if (hello.inputs != graph.inputs.size() || hello.outputs != graph.outputs.size()) {
    throw Error("{} reports {} inputs and {} outputs; the model has {} and {}",
                transport->describe(), hello.inputs, hello.outputs, graph.inputs.size(),
                graph.outputs.size());
  }

  auto tensor = [&](int32_t index) -> const model::Tensor& {
    return graph.tensors[static_cast<size_t>(index)];
  };
  auto run_on_target = [&](const std::vector<TensorData>& inputs, bool trace,
                           std::vector<TensorData>& outputs) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      client.write_input(static_cast<uint16_t>(i), inputs[i].bytes);
    }
    link::InvokeResult result =
        client.invoke(trace ? link::InvokeMode::Trace : link::InvokeMode::Plain);
    outputs.clear();
    for (size_t o = 0; o < graph.outputs.size(); ++o) {
      const model::Tensor& t = tensor(graph.outputs[o]);
      TensorData data{t.dtype, t.shape,
                      client.read_output(static_cast<uint16_t>(o), static_cast<size_t>(t.bytes()))};
      outputs.push_back(std::move(data));
    }
    return result;
  };

  progress.step(fmt::format("running {} inference(s) on {}", runs.size(), target.board.name));
  std::vector<std::vector<TensorData>> target_outputs(runs.size());
  std::vector<uint64_t> ticks;
  for (size_t r = 0; r < runs.size(); ++r) {
    ticks.push_back(run_on_target(runs[r], false, target_outputs[r]).ticks);
  }

  progress.step(fmt::format("running the PC reference ({})", options.reference));
  const auto interpreter =
      options.reference == "tflm" ? reference::Interpreter::TFLM : reference::Interpreter::LiteRT;
  std::vector<std::vector<fs::path>> input_files(runs.size());
  for (size_t r = 0; r < runs.size(); ++r) {
    for (size_t i = 0; i < runs[r].size(); ++i) {
      input_files[r].push_back(work.path() / fmt::format("input_{}_{}.npy", r, i));
      tensors::write_npy(input_files[r].back(), runs[r][i]);
    }
  }
  const std::vector<reference::ReferenceRun> references =
      reference::run_reference_batch(options.model, interpreter, input_files, work.path() / "ref");

  std::vector<OutputSummary> summaries(graph.outputs.size());
  std::vector<bool> run_passed(runs.size(), true);
  for (size_t r = 0; r < runs.size(); ++r) {
    if (references[r].outputs.size() != graph.outputs.size()) {
      throw Error("the PC reference produced {} outputs, the model has {}",
                  references[r].outputs.size(), graph.outputs.size());
    }
    for (size_t o = 0; o < graph.outputs.size(); ++o) {
      const model::Tensor& t = tensor(graph.outputs[o]);
      const TensorData expected = tensors::read_npy(references[r].outputs[o]);
      const validate::Comparison c = validate::compare(target_outputs[r][o], expected, t);
      OutputSummary& s = summaries[o];
      s.shape_mismatch = s.shape_mismatch || c.shape_mismatch;
      s.max_lsb = std::max(s.max_lsb, c.max_abs_diff);
      s.max_real = std::max(s.max_real, c.max_real_diff);
      s.differing += c.differing;
      s.elements += c.elements;
      run_passed[r] = run_passed[r] && within_tolerance(c, t, options.tolerance);
      s.classifier = classifier_like(t);
      if (s.classifier && !c.shape_mismatch && argmax(target_outputs[r][o]) == argmax(expected)) {
        ++s.top1_agree;
      }
    }
  }

  ValidationOutcome outcome;
  std::string& out = outcome.text;
  out += fmt::format("validate {} on {} ({}) against {}, {} run(s)\n", options.model.string(),
                     target.board.name, hello.board, options.reference, runs.size());
  out += fmt::format("{:<8} {:<24} {:>9} {:>12} {:>16} {:>8}\n", "output", "name", "max LSB",
                     "max real", "differing", "top-1");
  for (size_t o = 0; o < graph.outputs.size(); ++o) {
    const model::Tensor& t = tensor(graph.outputs[o]);
    const OutputSummary& s = summaries[o];
    const std::string top1 =
        s.classifier ? fmt::format("{}/{}", s.top1_agree, runs.size()) : std::string("-");
    const std::string lsb =
        t.dtype == model::DType::Float32 ? std::string("-") : fmt::format("{:.0f}", s.max_lsb);
    out += fmt::format("{:<8} {:<24} {:>9} {:>12.6g} {:>16} {:>8}\n", o, t.name.substr(0, 24), lsb,
                       s.max_real, fmt::format("{}/{}", s.differing, s.elements), top1);
    if (s.shape_mismatch) out += "         (the reference's output has another shape or type)\n";
  }
  const std::string timing = timing_line(target.board, hello, ticks);
  if (!timing.empty()) out += timing + "\n";

  std::string first_divergence;
  const auto failed = std::find(run_passed.begin(), run_passed.end(), false);
  const bool pass = failed == run_passed.end();
  if (!pass || options.trace) {
    const size_t r = pass ? 0 : static_cast<size_t>(failed - run_passed.begin());
    progress.step(fmt::format("tracing run {} layer by layer", r));
    std::vector<TensorData> ignored;
    const link::InvokeResult traced = run_on_target(runs[r], true, ignored);
    const reference::ReferenceRun layers = reference::run_reference(
        options.model, interpreter, input_files[r], work.path() / "trace", true);
    std::map<int32_t, fs::path> expected = layers.intermediates;
    for (size_t o = 0; o < graph.outputs.size() && o < layers.outputs.size(); ++o) {
      expected.emplace(graph.outputs[o], layers.outputs[o]);
    }
    size_t compared = 0;
    bool diverged = false;
    for (size_t op = 0; op < graph.operators.size() && !diverged; ++op) {
      const model::Operator& oper = graph.operators[op];
      for (size_t k = 0; k < oper.outputs.size() && !diverged; ++k) {
        const int32_t index = oper.outputs[k];
        const auto ours = traced.layers.find({static_cast<uint32_t>(op), static_cast<uint32_t>(k)});
        const auto theirs = expected.find(index);
        if (index < 0 || ours == traced.layers.end() || theirs == expected.end()) continue;
        const model::Tensor& t = tensor(index);
        const TensorData data{t.dtype, t.shape, ours->second};
        const validate::Comparison c =
            validate::compare(data, tensors::read_npy(theirs->second), t);
        ++compared;
        if (!within_tolerance(c, t, options.tolerance)) {
          first_divergence = fmt::format("layer {} ({}) output '{}' [{}] {}: {}", op, oper.name(),
                                         t.name, fmt::join(t.shape, ","),
                                         model::dtype_name(t.dtype), validate::describe(c, t));
          out += "first divergence: " + first_divergence + "\n";
          diverged = true;
        }
      }
    }
    if (!diverged) {
      out += fmt::format("trace of run {}: all {} layer outputs match\n", r, compared);
    }
  }
  out +=
      fmt::format("{}: {} on {} {} {}\n", pass ? "PASS" : "FAIL", options.model.filename().string(),
                  target.board.name, pass ? "matches" : "differs from", options.reference);

  report::ValidationMeta& meta = outcome.meta;
  meta.target = options.target;
  meta.reference = options.reference;
  meta.runs = static_cast<uint32_t>(runs.size());
  meta.seed = options.seed;
  meta.tolerance = options.tolerance;
  meta.pass = pass;
  meta.first_divergence = first_divergence;
  meta.timing = timing;
  for (size_t o = 0; o < graph.outputs.size(); ++o) {
    const OutputSummary& s = summaries[o];
    const bool is_float = tensor(graph.outputs[o]).dtype == model::DType::Float32;
    meta.outputs.push_back({tensor(graph.outputs[o]).name, is_float ? 0.0 : s.max_lsb, s.max_real,
                            s.differing, s.elements, s.classifier, s.top1_agree});
  }
  return outcome;
}

int run_validate(const ValidateOptions& options, std::ostream& out) {
  const Progress progress(out, options.quiet);
  const ValidationOutcome outcome = validate_on_target(options, nullptr, progress);
  out << outcome.text;
  return outcome.meta.pass ? 0 : kValidateFail;
}

}  // namespace tinydeploy::cli
