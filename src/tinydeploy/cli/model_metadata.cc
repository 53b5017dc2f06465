#include "tinydeploy/cli/model_metadata.h"

#include <filesystem>

#include "tinydeploy/common/error.h"
#include "tinydeploy/common/sha256.h"
#include "tinydeploy/tensors/tensor_io.h"

namespace tinydeploy::cli {
namespace {

report::TensorMeta tensor_meta(const model::Subgraph& graph, int32_t index) {
  const model::Tensor& t = graph.tensors[static_cast<size_t>(index)];
  report::TensorMeta meta;
  meta.index = index;
  meta.name = t.name;
  meta.dtype = std::string(model::dtype_name(t.dtype));
  meta.shape = t.shape;
  meta.bytes = t.bytes();
  for (float s : t.quantization.scale) meta.scales.push_back(s);
  meta.zero_points = t.quantization.zero_point;
  meta.quantized_dimension = t.quantization.quantized_dimension;
  return meta;
}

// The first invoke's tensors of the example, as numbers (left empty when too large to keep).
std::vector<report::ExampleTensorMeta> example_meta(const model::Subgraph& graph,
                                                    const std::vector<int32_t>& indices,
                                                    const std::vector<std::vector<uint8_t>>& data) {
  std::vector<report::ExampleTensorMeta> out;
  for (size_t i = 0; i < indices.size() && i < data.size(); ++i) {
    const model::Tensor& t = graph.tensors[static_cast<size_t>(indices[i])];
    report::ExampleTensorMeta meta;
    meta.name = t.name;
    meta.dtype = std::string(model::dtype_name(t.dtype));
    meta.shape = t.shape;
    const tensors::TensorData values{t.dtype, t.shape, data[i]};
    if (static_cast<int64_t>(data[i].size()) == t.bytes() &&
        t.elements() <= report::kMaxExampleElements) {
      for (int64_t e = 0; e < values.elements(); ++e) meta.values.push_back(values.value(e));
    }
    out.push_back(std::move(meta));
  }
  return out;
}

}  // namespace

std::string package_sha256(const codegen::Package& package) {
  std::vector<uint8_t> bytes;
  for (const codegen::GeneratedFile& file : package.files) {
    // Each path and content preceded by its length: no two trees hash the same bytes.
    for (const std::string* part : {&file.path, &file.content}) {
      const std::string length = fmt::format("{}:", part->size());
      bytes.insert(bytes.end(), length.begin(), length.end());
      bytes.insert(bytes.end(), part->begin(), part->end());
    }
  }
  return sha256_hex(bytes);
}

report::Metadata describe_package(const PreparedPackage& prepared, const std::string& target) {
  const model::Model& model = prepared.model;
  const model::Subgraph& graph = model.main();
  const analysis::ModelAnalysis& analysis = prepared.lowered.analysis;
  report::Metadata m;
  m.tool = std::string(kToolName);
  m.model_file = std::filesystem::path(model.path).filename().string();
  m.model_sha256 = sha256_hex(model.file);
  m.model_bytes = static_cast<int64_t>(model.file.size());
  m.name = prepared.package.name;
  m.package_sha256 = package_sha256(prepared.package);
  m.target = target;
  m.core = std::string(board::core_name(prepared.target.board.core));
  m.arena_bytes = prepared.package.arena_bytes;
  m.variable_bytes = prepared.package.variable_bytes;
  m.weight_bytes = prepared.package.weight_bytes;
  m.total_macs = analysis.total_macs;
  for (int32_t index : graph.inputs) m.inputs.push_back(tensor_meta(graph, index));
  for (int32_t index : graph.outputs) m.outputs.push_back(tensor_meta(graph, index));

  std::vector<std::string> kernels(graph.operators.size());
  for (const lowering::KernelCall& call : prepared.lowered.calls) {
    const auto op = static_cast<size_t>(call.op_index);
    if (op < kernels.size() && kernels[op].empty()) kernels[op] = call.kernel;
  }
  for (size_t op = 0; op < graph.operators.size(); ++op) {
    const model::Operator& oper = graph.operators[op];
    const analysis::LayerInfo& info = analysis.layers[op];
    report::LayerMeta layer;
    layer.op = info.op;
    if (!oper.outputs.empty() && oper.outputs[0] >= 0) {
      layer.tag = graph.tensors[static_cast<size_t>(oper.outputs[0])].name;
    }
    layer.kernel = kernels[op];
    layer.macs = info.macs;
    for (int32_t o : oper.outputs) {
      if (o >= 0) layer.output_bytes += graph.tensors[static_cast<size_t>(o)].bytes();
    }
    layer.scratch_bytes = info.scratch_bytes;
    m.layers.push_back(std::move(layer));
  }
  for (const analysis::Allocation& a : analysis.plan.allocations) {
    report::PlacementMeta p;
    p.tensor = a.tensor;
    p.scratch_of_layer = a.scratch_of_op;
    p.name = a.tensor >= 0 ? graph.tensors[static_cast<size_t>(a.tensor)].name
                           : fmt::format("scratch of layer {}", a.scratch_of_op);
    p.offset = a.offset;
    p.bytes = a.size;
    p.first_layer = a.first_op;
    p.last_layer = a.last_op;
    m.plan.push_back(std::move(p));
  }
  m.kernel_sources = prepared.package.kernel_sources;
  m.example_inputs = example_meta(graph, graph.inputs, prepared.example.inputs);
  m.example_outputs = example_meta(graph, graph.outputs, prepared.example.outputs);
  return m;
}

void require_same_model(const report::Metadata& metadata, const model::Model& model,
                        const std::string& metadata_file) {
  const std::string hash = sha256_hex(model.file);
  if (metadata.model_sha256 != hash) {
    throw Error(
        "{} describes another model ({}, SHA-256 {}...) than {} (SHA-256 {}...): profile and "
        "validate this model again, or give the metadata of this one",
        metadata_file, metadata.model_file, metadata.model_sha256.substr(0, 12), model.path,
        hash.substr(0, 12));
  }
}

}  // namespace tinydeploy::cli
