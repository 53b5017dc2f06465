#include "tinydeploy/cli/inspect.h"

#include <map>
#include <ostream>

#include <fmt/format.h>

#include "tinydeploy/common/text.h"
#include "tinydeploy/model/reader.h"

namespace tinydeploy::cli {
namespace {

using nlohmann::json;

std::string shape_text(const std::vector<int32_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

// Thousands separators make MAC and byte counts readable at a glance.
std::string grouped(int64_t value) {
  const std::string digits = std::to_string(value);
  const size_t sign = value < 0 ? 1 : 0;
  std::string result = digits.substr(0, sign);
  for (size_t i = sign; i < digits.size(); ++i) {
    if (i > sign && (digits.size() - i) % 3 == 0) result += ',';
    result += digits[i];
  }
  return result;
}

json tensor_json(const model::Subgraph& graph, int32_t index) {
  const model::Tensor& tensor = graph.tensors[static_cast<size_t>(index)];
  json entry = {{"tensor", index},
                {"name", tensor.name},
                {"shape", tensor.shape},
                {"dtype", model::dtype_name(tensor.dtype)},
                {"bytes", tensor.bytes()}};
  if (tensor.quantization.is_quantized()) {
    entry["scale"] = tensor.quantization.scale;
    entry["zero_point"] = tensor.quantization.zero_point;
    entry["quantized_dimension"] = tensor.quantization.quantized_dimension;
  }
  return entry;
}

std::string tensor_text(const model::Subgraph& graph, int32_t index) {
  const model::Tensor& tensor = graph.tensors[static_cast<size_t>(index)];
  std::string line = fmt::format("  {:<28} {:<18} {:<8}", printable(tensor.name),
                                 shape_text(tensor.shape), model::dtype_name(tensor.dtype));
  const model::Quantization& q = tensor.quantization;
  if (q.is_per_channel()) {
    line += fmt::format(" per-channel ({} scales, axis {})", q.scale.size(), q.quantized_dimension);
  } else if (q.is_quantized()) {
    line += fmt::format(" scale {:.9g} zero_point {}", q.scale[0], q.zero_point[0]);
  }
  return line + "\n";
}

std::map<std::string, int32_t> histogram(const model::Subgraph& graph) {
  std::map<std::string, int32_t> counts;
  for (const model::Operator& op : graph.operators) ++counts[op.name()];
  return counts;
}

}  // namespace

json inspect_json(const model::Model& model, const lowering::LoweredModel& lowered, bool layers) {
  const analysis::ModelAnalysis& analysis = lowered.analysis;
  const model::Subgraph& graph = model.main();
  json doc;
  doc["model"] = model.path;
  doc["schema_version"] = model.schema_version;
  doc["description"] = model.description;
  doc["subgraphs"] = model.subgraphs.size();
  doc["tensors"] = graph.tensors.size();
  doc["operator_count"] = graph.operators.size();
  doc["inputs"] = json::array();
  for (const int32_t input : graph.inputs) doc["inputs"].push_back(tensor_json(graph, input));
  doc["outputs"] = json::array();
  for (const int32_t output : graph.outputs) doc["outputs"].push_back(tensor_json(graph, output));
  doc["signatures"] = json::array();
  for (const model::SignatureDef& signature : model.signatures) {
    const auto entries = [](const std::vector<model::TensorMapEntry>& map) {
      json list = json::array();
      for (const auto& entry : map)
        list.push_back({{"name", entry.name}, {"tensor", entry.tensor}});
      return list;
    };
    doc["signatures"].push_back({{"key", signature.key},
                                 {"subgraph", signature.subgraph},
                                 {"inputs", entries(signature.inputs)},
                                 {"outputs", entries(signature.outputs)}});
  }
  doc["metadata"] = json::array();
  for (const model::Metadata& metadata : model.metadata) {
    doc["metadata"].push_back({{"name", metadata.name}, {"bytes", metadata.data.size}});
  }
  doc["reader_notes"] = model.reader_notes;
  doc["op_histogram"] = histogram(graph);
  doc["total_macs"] = analysis.total_macs;
  doc["parameter_bytes"] = analysis.parameter_bytes;
  doc["shape_checked_layers"] =
      analysis.layers.size() - static_cast<size_t>(analysis.unchecked_layers);
  const analysis::MemoryPlan& plan = analysis.plan;
  json variables = json::array();
  for (const auto& variable : plan.variables) {
    variables.push_back({{"name", variable.name},
                         {"tensor", variable.tensor},
                         {"offset", variable.offset},
                         {"bytes", variable.size}});
  }
  doc["memory"] = {{"arena_bytes", plan.arena_bytes},
                   {"lower_bound_bytes", plan.lower_bound_bytes},
                   {"ratio", plan.ratio()},
                   {"alignment", 16},
                   {"variable_arena_bytes", plan.variable_arena_bytes},
                   {"variables", variables}};
  doc["operators"] = json::array();
  doc["unsupported"] = json::array();
  for (const analysis::OpUsage& usage : analysis.inventory) {
    std::vector<std::string_view> in;
    std::vector<std::string_view> out;
    for (const auto type : usage.input_types) in.push_back(model::dtype_name(type));
    for (const auto type : usage.output_types) out.push_back(model::dtype_name(type));
    doc["operators"].push_back({{"op", usage.op},
                                {"input_types", in},
                                {"output_types", out},
                                {"count", usage.count},
                                {"supported", usage.supported}});
    if (!usage.supported) doc["unsupported"].push_back(usage.op);
  }
  doc["refusals"] = json::array();
  for (const lowering::Refusal& refusal : lowered.refusals) {
    doc["refusals"].push_back(
        {{"index", refusal.op_index}, {"op", refusal.op}, {"reason", refusal.reason}});
  }
  if (layers) {
    doc["layers"] = json::array();
    for (const analysis::LayerInfo& layer : analysis.layers) {
      json row = {{"index", layer.index},
                  {"op", layer.op},
                  {"output_shape", layer.output_shape},
                  {"output_dtype", model::dtype_name(layer.output_dtype)},
                  {"macs", layer.macs},
                  {"output_elements", layer.output_elements},
                  {"weight_bytes", layer.weight_bytes},
                  {"activation_read_bytes", layer.activation_read_bytes},
                  {"activation_write_bytes", layer.activation_write_bytes},
                  {"scratch_bytes", layer.scratch_bytes},
                  {"shape_checked", layer.shape_checked}};
      const model::Operator& op = graph.operators[static_cast<size_t>(layer.index)];
      const analysis::Allocation* placed =
          op.outputs.empty() ? nullptr : plan.find_tensor(op.outputs[0]);
      row["arena_offset"] = placed != nullptr ? json(placed->offset) : json(nullptr);
      row["arena_bytes"] = placed != nullptr ? json(placed->size) : json(nullptr);
      doc["layers"].push_back(std::move(row));
    }
  }
  return doc;
}

std::string inspect_text(const model::Model& model, const lowering::LoweredModel& lowered,
                         bool layers) {
  const analysis::ModelAnalysis& analysis = lowered.analysis;
  const model::Subgraph& graph = model.main();
  std::string text = fmt::format("model       {}\n", model.path);
  text += fmt::format("            schema v{}, {} subgraph(s), {} operators, {} tensors\n",
                      model.schema_version, model.subgraphs.size(), graph.operators.size(),
                      graph.tensors.size());
  if (!model.description.empty())
    text += fmt::format("            \"{}\"\n", printable(model.description));
  text += fmt::format("inputs ({})\n", graph.inputs.size());
  for (const int32_t input : graph.inputs) text += tensor_text(graph, input);
  text += fmt::format("outputs ({})\n", graph.outputs.size());
  for (const int32_t output : graph.outputs) text += tensor_text(graph, output);

  for (const model::SignatureDef& signature : model.signatures) {
    text += fmt::format("signature   '{}' (subgraph {}, {} inputs, {} outputs)\n",
                        printable(signature.key), signature.subgraph, signature.inputs.size(),
                        signature.outputs.size());
  }
  for (const std::string& note : model.reader_notes) {
    text += fmt::format("read as     {}\n", printable(note));
  }
  std::vector<std::string> ops;
  for (const auto& [name, count] : histogram(graph))
    ops.push_back(fmt::format("{} x{}", name, count));
  text += fmt::format("operators   {}\n", fmt::join(ops, ", "));
  text += fmt::format("MACs        {}\n", grouped(analysis.total_macs));
  text += fmt::format("parameters  {} bytes\n", grouped(analysis.parameter_bytes));
  const analysis::MemoryPlan& plan = analysis.plan;
  text += fmt::format("arena       {} bytes (lower bound {} bytes, ratio {:.3f})\n",
                      grouped(plan.arena_bytes), grouped(plan.lower_bound_bytes), plan.ratio());
  if (!plan.variables.empty()) {
    text += fmt::format("variables   {} bytes in {} variable(s)\n",
                        grouped(plan.variable_arena_bytes), plan.variables.size());
  }
  text += fmt::format("shapes      re-derived and checked for {} of {} operators\n",
                      analysis.layers.size() - static_cast<size_t>(analysis.unchecked_layers),
                      analysis.layers.size());
  if (analysis.extra_subgraphs > 0) {
    text += fmt::format("note        {} more subgraph(s) (control flow) are not analysed\n",
                        analysis.extra_subgraphs);
  }
  if (lowered.supported()) {
    text += "runtime     every operator is supported\n";
  } else {
    // Every refusal, not only the first: what a user must change before anything runs.
    text += fmt::format("unsupported {} of {} operators cannot run:\n", lowered.refusals.size(),
                        graph.operators.size());
    for (const lowering::Refusal& refusal : lowered.refusals) {
      text += fmt::format("            operator {} {}: {}\n", refusal.op_index,
                          analysis::signature_text(analysis::usage_of(
                              graph, graph.operators[static_cast<size_t>(refusal.op_index)])),
                          printable(refusal.reason));
    }
  }

  if (layers) {
    text += fmt::format("\n{:>4}  {:<22} {:<18} {:<8} {:>12} {:>10} {:>10} {:>10}\n", "#", "op",
                        "output", "dtype", "MACs", "weights", "offset", "bytes");
    for (const analysis::LayerInfo& layer : analysis.layers) {
      const model::Operator& op = graph.operators[static_cast<size_t>(layer.index)];
      const analysis::Allocation* placed =
          op.outputs.empty() ? nullptr : plan.find_tensor(op.outputs[0]);
      text += fmt::format("{:>4}  {:<22} {:<18} {:<8} {:>12} {:>10} {:>10} {:>10}\n", layer.index,
                          layer.op, shape_text(layer.output_shape),
                          model::dtype_name(layer.output_dtype), grouped(layer.macs),
                          grouped(layer.weight_bytes),
                          placed != nullptr ? std::to_string(placed->offset) : "-",
                          placed != nullptr ? std::to_string(placed->size) : "-");
    }
  }
  return text;
}

void run_inspect(const InspectOptions& options, std::ostream& out) {
  const model::Model model = model::read_model(options.model);
  const lowering::LoweredModel lowered = lowering::lower(model);
  if (options.json) {
    // Names in a model are arbitrary bytes; JSON carries only UTF-8: bytes that are not
    // well-formed UTF-8 become U+FFFD, so the document is always valid.
    out << inspect_json(model, lowered, options.layers)
               .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
  } else {
    out << inspect_text(model, lowered, options.layers);
  }
}

}  // namespace tinydeploy::cli
