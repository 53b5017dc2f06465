#include "tinydeploy/model/builtin_op.h"

namespace tinydeploy::model {

std::string_view builtin_op_name(BuiltinOp op) {
  switch (op) {
#define TINYDEPLOY_NAME_CASE(name, value) \
  case BuiltinOp::name:                   \
    return #name;
    TINYDEPLOY_BUILTIN_OPS(TINYDEPLOY_NAME_CASE)
#undef TINYDEPLOY_NAME_CASE
  }
  return {};
}

}  // namespace tinydeploy::model
