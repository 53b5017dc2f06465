#include "tinydeploy/model/resource_variables.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "tinydeploy/common/text.h"

namespace tinydeploy::model {
namespace {

// A resource variable as TensorFlow Lite Micro identifies it.
using ResourceKey = std::pair<std::string, std::string>;  // container, shared_name

bool uses_resources(const Operator& op) {
  return op.op == BuiltinOp::VAR_HANDLE || op.op == BuiltinOp::READ_VARIABLE ||
         op.op == BuiltinOp::ASSIGN_VARIABLE || op.op == BuiltinOp::CALL_ONCE;
}

bool refers_to_subgraphs(const Operator& op) {
  return std::holds_alternative<CallOptions>(op.options) ||
         std::holds_alternative<ControlFlowOptions>(op.options);
}

std::string resource_name(const ResourceKey& key) {
  return key.first.empty() ? key.second : key.first + "/" + key.second;
}

struct Resource {
  ResourceKey key;
  std::optional<Tensor> value;  // the first value assigned, in TFLite Micro's prepare order
  int32_t variable = -1;        // the variable tensor standing for it in the entry subgraph
};

// The rewrite, or why it cannot be done.
class Resolver {
 public:
  explicit Resolver(const Model& model) : model_(model) {}

  // The new entry subgraph and the subgraphs it inlined, or the reason it cannot be built.
  std::variant<std::pair<Subgraph, std::vector<int32_t>>, std::string> run() {
    if (auto reason = find_init_subgraphs()) return *reason;
    for (const int32_t g : relevant_) {
      if (auto reason = find_handles(g)) return *reason;
    }
    for (const int32_t g : relevant_) {
      if (auto reason = check_uses(g)) return *reason;
    }
    for (Resource& resource : resources_) {
      if (!resource.value) {
        return fmt::format(
            "resource variable '{}' is read but never assigned (TensorFlow Lite "
            "Micro allocates a resource at its first ASSIGN_VARIABLE)",
            printable(resource_name(resource.key)));
      }
      if (resource.value->bytes() <= 0) {
        return fmt::format("resource variable '{}' holds no bytes",
                           printable(resource_name(resource.key)));
      }
    }
    return std::pair{build(), init_subgraphs_};
  }

 private:
  const Subgraph& graph(int32_t g) const { return model_.subgraphs[static_cast<size_t>(g)]; }

  std::optional<std::string> find_init_subgraphs() {
    relevant_.push_back(0);
    for (size_t g = 0; g < model_.subgraphs.size(); ++g) {
      for (const Operator& op : model_.subgraphs[g].operators) {
        if (op.op != BuiltinOp::CALL_ONCE) continue;
        if (g != 0) {
          return fmt::format("CALL_ONCE in subgraph {}: only the entry subgraph's are supported",
                             g);
        }
        const auto* options = std::get_if<CallOptions>(&op.options);
        const int32_t init = options == nullptr ? 0 : static_cast<int32_t>(options->subgraph);
        if (init <= 0 || static_cast<size_t>(init) >= model_.subgraphs.size()) {
          return fmt::format(
              "CALL_ONCE names initialization subgraph {}, which is not one the "
              "entry subgraph can call",
              init);
        }
        if (!op.inputs.empty() || !op.outputs.empty() || !graph(init).inputs.empty() ||
            !graph(init).outputs.empty()) {
          return fmt::format(
              "CALL_ONCE of subgraph {}: an initialization subgraph takes and returns nothing",
              init);
        }
        for (const Operator& inner : graph(init).operators) {
          if (refers_to_subgraphs(inner) || inner.op == BuiltinOp::CALL_ONCE) {
            return fmt::format("initialization subgraph {} calls other subgraphs ({})", init,
                               inner.name());
          }
        }
        if (std::find(init_subgraphs_.begin(), init_subgraphs_.end(), init) ==
            init_subgraphs_.end()) {
          init_subgraphs_.push_back(init);
        }
      }
    }
    // TensorFlow Lite Micro prepares subgraphs in index order; the first ASSIGN_VARIABLE
    // prepared fixes a resource's fill.
    std::vector<int32_t> sorted = init_subgraphs_;
    std::sort(sorted.begin(), sorted.end());
    relevant_.insert(relevant_.end(), sorted.begin(), sorted.end());
    return std::nullopt;
  }

  std::optional<std::string> find_handles(int32_t g) {
    for (const Operator& op : graph(g).operators) {
      if (op.op != BuiltinOp::VAR_HANDLE) continue;
      if (!op.inputs.empty() || op.outputs.size() != 1) {
        return fmt::format("a VAR_HANDLE of subgraph {} does not have one output and no inputs", g);
      }
      const auto* options = std::get_if<VarHandleOptions>(&op.options);
      ResourceKey key = options == nullptr ? ResourceKey{}
                                           : ResourceKey{options->container, options->shared_name};
      auto found = std::find_if(resources_.begin(), resources_.end(),
                                [&key](const Resource& r) { return r.key == key; });
      if (found == resources_.end()) {
        resources_.push_back({std::move(key), std::nullopt, -1});
        found = resources_.end() - 1;
      }
      const auto index = static_cast<size_t>(found - resources_.begin());
      if (!handles_[g].emplace(op.outputs[0], index).second) {
        return fmt::format("two VAR_HANDLE operators of subgraph {} write tensor {}", g,
                           op.outputs[0]);
      }
    }
    return std::nullopt;
  }

  // Handles may only be input 0 of READ_VARIABLE and ASSIGN_VARIABLE; every resource keeps one
  // type and size.
  std::optional<std::string> check_uses(int32_t g) {
    const Subgraph& sub = graph(g);
    const auto& handles = handles_[g];
    const auto is_handle = [&handles](int32_t t) { return handles.count(t) > 0; };
    for (const int32_t t : sub.inputs) {
      if (is_handle(t)) return fmt::format("subgraph {} takes a resource as input", g);
    }
    for (const int32_t t : sub.outputs) {
      if (is_handle(t)) return fmt::format("subgraph {} returns a resource", g);
    }
    for (size_t index = 0; index < sub.operators.size(); ++index) {
      const Operator& op = sub.operators[index];
      const bool access = op.op == BuiltinOp::READ_VARIABLE || op.op == BuiltinOp::ASSIGN_VARIABLE;
      for (size_t i = 0; i < op.inputs.size(); ++i) {
        if (is_handle(op.inputs[i]) && !(access && i == 0)) {
          return fmt::format("operator {} ({}) of subgraph {} takes a resource as input {}", index,
                             op.name(), g, i);
        }
      }
      if (!access) continue;
      const bool read = op.op == BuiltinOp::READ_VARIABLE;
      if (op.inputs.size() != (read ? 1u : 2u) || op.outputs.size() != (read ? 1u : 0u) ||
          (!read && op.inputs[1] == kNoTensor)) {
        return fmt::format("operator {} ({}) of subgraph {} has {} inputs and {} outputs", index,
                           op.name(), g, op.inputs.size(), op.outputs.size());
      }
      const auto handle = handles.find(op.inputs[0]);
      if (handle == handles.end()) {
        return fmt::format(
            "operator {} ({}) of subgraph {} uses a resource no VAR_HANDLE of its subgraph names",
            index, op.name(), g);
      }
      Resource& resource = resources_[handle->second];
      const Tensor& value = sub.tensors[static_cast<size_t>(read ? op.outputs[0] : op.inputs[1])];
      if (!resource.value) {
        if (read) continue;  // checked against the first assigned value below
        resource.value = value;
        continue;
      }
      if (value.dtype != resource.value->dtype || value.bytes() != resource.value->bytes()) {
        return fmt::format("resource variable '{}' is used as {} ({} bytes) and as {} ({} bytes)",
                           printable(resource_name(resource.key)),
                           dtype_name(resource.value->dtype), resource.value->bytes(),
                           dtype_name(value.dtype), value.bytes());
      }
    }
    return std::nullopt;
  }

  Subgraph build() {
    Subgraph main = graph(0);
    for (Resource& resource : resources_) {
      Tensor variable = *resource.value;
      variable.name = resource_name(resource.key);
      variable.is_variable = true;
      variable.data.reset();
      variable.buffer = 0;
      variable.shape_signature.clear();
      const Quantization& q = resource.value->quantization;
      // TFLite Micro fills a quantized resource with its zero point's low byte, else zeros.
      variable.resource_fill = static_cast<uint8_t>(
          q.is_quantized() && !q.zero_point.empty() ? static_cast<uint64_t>(q.zero_point[0]) & 0xFFu
                                                    : 0u);
      resource.variable = static_cast<int32_t>(main.tensors.size());
      main.tensors.push_back(std::move(variable));
    }
    const auto rewrite_access = [this](int32_t g, Operator op) {
      op.inputs[0] = resources_[handles_[g].at(op.inputs[0])].variable;
      return op;
    };
    std::vector<Operator> operators;
    for (const Operator& op : graph(0).operators) {
      if (op.op == BuiltinOp::VAR_HANDLE) continue;
      if (op.op == BuiltinOp::READ_VARIABLE || op.op == BuiltinOp::ASSIGN_VARIABLE) {
        operators.push_back(rewrite_access(0, op));
        continue;
      }
      if (op.op != BuiltinOp::CALL_ONCE) {
        operators.push_back(op);
        continue;
      }
      const auto init = static_cast<int32_t>(std::get<CallOptions>(op.options).subgraph);
      const Subgraph& sub = graph(init);
      const auto& handles = handles_[init];
      // The subgraph's tensors, appended (handles stand for their resource's variable).
      std::vector<int32_t> mapped(sub.tensors.size(), kNoTensor);
      for (size_t t = 0; t < sub.tensors.size(); ++t) {
        const auto handle = handles.find(static_cast<int32_t>(t));
        if (handle != handles.end()) {
          mapped[t] = resources_[handle->second].variable;
          continue;
        }
        mapped[t] = static_cast<int32_t>(main.tensors.size());
        main.tensors.push_back(sub.tensors[t]);
      }
      const auto map = [&mapped](int32_t t) {
        return t == kNoTensor ? kNoTensor : mapped[static_cast<size_t>(t)];
      };
      for (const Operator& inner : sub.operators) {
        if (inner.op == BuiltinOp::VAR_HANDLE) continue;
        Operator copy = inner;
        std::transform(copy.inputs.begin(), copy.inputs.end(), copy.inputs.begin(), map);
        std::transform(copy.outputs.begin(), copy.outputs.end(), copy.outputs.begin(), map);
        std::transform(copy.intermediates.begin(), copy.intermediates.end(),
                       copy.intermediates.begin(), map);
        copy.run_once = true;
        operators.push_back(std::move(copy));
      }
    }
    main.operators = std::move(operators);
    return main;
  }

  const Model& model_;
  std::vector<int32_t> relevant_;        // the entry subgraph, then the initialization ones
  std::vector<int32_t> init_subgraphs_;  // in the order the entry subgraph calls them
  std::vector<Resource> resources_;
  std::map<int32_t, std::map<int32_t, size_t>> handles_;  // subgraph -> handle tensor -> resource
};

}  // namespace

void resolve_resource_variables(Model& model) {
  if (model.subgraphs.empty()) return;
  const bool any =
      std::any_of(model.subgraphs.begin(), model.subgraphs.end(), [](const Subgraph& g) {
        return std::any_of(g.operators.begin(), g.operators.end(), uses_resources);
      });
  if (!any) return;
  auto result = Resolver(model).run();
  if (auto* reason = std::get_if<std::string>(&result)) {
    model.unresolved_state = std::move(*reason);
    return;
  }
  auto& [main, inlined] = std::get<0>(result);
  model.subgraphs[0] = std::move(main);
  model.inlined_subgraphs = std::move(inlined);
}

}  // namespace tinydeploy::model
