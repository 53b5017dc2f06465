// Lowering of resource variables (runtime/kernels/layout.cc's byte copy). The reader has made
// each resource a variable tensor of the entry subgraph (model/resource_variables.h):
// READ_VARIABLE copies it out, ASSIGN_VARIABLE copies a value into it. VAR_HANDLE and CALL_ONCE
// are gone by then; one left over means the model could not be expressed so, and is refused
// with the reader's reason.
#include <fmt/format.h>

#include "tinydeploy/common/text.h"
#include "tinydeploy/lowering/families.h"
#include "tinydeploy/lowering/op_lowering.h"
#include "tinydeploy/runtime/layout.h"

namespace tinydeploy::lowering {

using model::BuiltinOp;
using model::Tensor;

namespace {

[[noreturn]] void unresolved_state(const OpBinding& b) {
  refuse(b, fmt::format("resource variables are not supported in this model: {}",
                        b.model.unresolved_state.empty()
                            ? "this operator is not part of the entry subgraph's resource "
                              "variables"
                            : b.model.unresolved_state));
}

KernelCall prepare_variable_copy(const OpBinding& b, bool read) {
  if (!b.has_input(0) || !b.input(0).is_variable) unresolved_state(b);
  require(b.op.inputs.size() == (read ? 1u : 2u) && b.op.outputs.size() == (read ? 1u : 0u) &&
              (read || b.has_input(1)),
          b,
          read ? "READ_VARIABLE takes one resource and gives one tensor"
               : "ASSIGN_VARIABLE takes a resource and a value and gives nothing");
  const Tensor& state = b.input(0);
  const Tensor& value = read ? b.output(0) : b.input(1);
  require(!value.is_constant() || !read, b, "the output of READ_VARIABLE is a constant");
  require(state.dtype == value.dtype && state.bytes() == value.bytes(), b,
          fmt::format("the variable '{}' is {} ({} bytes), the value '{}' {} ({} bytes)",
                      printable(state.name), model::dtype_name(state.dtype), state.bytes(),
                      printable(value.name), model::dtype_name(value.dtype), value.bytes()));
  const int32_t bytes = narrow(state.bytes(), b);
  if (read) {
    return call(b, TINYDEPLOY_RUNTIME_KERNEL(copy_bytes), bytes, typed<void>(b.input_slot(0)),
                typed<void>(b.output_slot(0)));
  }
  return call(b, TINYDEPLOY_RUNTIME_KERNEL(copy_bytes), bytes, typed<void>(b.input_slot(1)),
              typed<void>(b.state_slot(0)));
}

KernelCall refuse_unresolved(const OpBinding& b) { unresolved_state(b); }

constexpr OperatorLowering kOperators[] = {
    {BuiltinOp::READ_VARIABLE, [](const OpBinding& b) { return prepare_variable_copy(b, true); }},
    {BuiltinOp::ASSIGN_VARIABLE,
     [](const OpBinding& b) { return prepare_variable_copy(b, false); }},
    {BuiltinOp::VAR_HANDLE, refuse_unresolved},
    {BuiltinOp::CALL_ONCE, refuse_unresolved},
};

}  // namespace

Family variables_family() { return {"variables", "layout", kOperators}; }

}  // namespace tinydeploy::lowering
