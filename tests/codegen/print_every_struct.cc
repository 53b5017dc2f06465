// Prints a C++ file that defines one constant of every runtime parameter struct from the code
// generator's initializers; the test suite compiles it for the host and for Cortex-M to prove the
// initializers are valid, warning-free C++ for the runtime's headers.
#include <cstdio>
#include <limits>

#include "tinydeploy/codegen/initializers.h"

namespace cg = tinydeploy::codegen;
namespace rt = tinydeploy::runtime;

int main() {
  std::printf(
      "#include <limits>\n"
      "#include \"tinydeploy/runtime/activation.h\"\n"
      "#include \"tinydeploy/runtime/conv.h\"\n"
      "#include \"tinydeploy/runtime/elementwise.h\"\n"
      "#include \"tinydeploy/runtime/layout.h\"\n"
      "#include \"tinydeploy/runtime/lstm.h\"\n"
      "#include \"tinydeploy/runtime/pooling.h\"\n"
      "#include \"tinydeploy/runtime/reduce.h\"\n"
      "#include \"tinydeploy/runtime/svdf.h\"\n"
      "namespace rt = tinydeploy::runtime;\n");
  std::printf("%s", cg::array_definition("int32_t", "multipliers", {1073741824, -2}).c_str());
  std::printf("%s", cg::array_definition("int32_t", "shifts", {-1, 3}).c_str());
  std::printf("%s", cg::array_definition("int16_t", "table", {-32768, 32767}).c_str());
#define PRINT(T)                                                                      \
  std::printf("extern const rt::" #T " v_" #T ";\nconst rt::" #T " v_" #T " = %s;\n", \
              cg::initializer(rt::T{}).c_str());
  PRINT(Dims4)
  PRINT(QuantizedActivation)
  PRINT(FloatActivation)
  PRINT(Requantization)
  PRINT(ConvGeometry)
  PRINT(FullyConnectedShape)
  PRINT(PoolGeometry)
  PRINT(PoolClamp)
  PRINT(BroadcastShape)
  PRINT(AddParams)
  PRINT(MulParams)
  PRINT(RequantizeParams)
  PRINT(LeakyReluParams)
  PRINT(HardSwishParams)
  PRINT(SigmoidParams)
  PRINT(SigmoidInt16Params)
  PRINT(SoftmaxParams)
  PRINT(AffineQuantization)
  PRINT(StridedView)
  PRINT(PadShape)
  PRINT(ReduceShape)
  PRINT(MeanParams)
  PRINT(SvdfShape)
  PRINT(SvdfQuantization)
  PRINT(LstmFloatParams)
  PRINT(LstmQuantizedParams)
#undef PRINT
  std::printf("extern const rt::PerChannelScale scale;\nconst rt::PerChannelScale scale = %s;\n",
              cg::initializer(rt::PerChannelScale{}, "multipliers", "shifts").c_str());
  std::printf(
      "extern const rt::SoftmaxInt16Params softmax;\nconst rt::SoftmaxInt16Params softmax = %s;\n",
      cg::initializer(rt::SoftmaxInt16Params{}, "table", "table").c_str());
  std::printf("extern const float lowest;\nconst float lowest = %s;\n",
              cg::float_literal(-std::numeric_limits<float>::infinity()).c_str());
  return 0;
}
