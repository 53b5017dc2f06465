// Types shared by the runtime's kernels. Every kernel takes plain parameter structs prepared
// ahead of time (by the host tool, or as constants in generated code) and raw data pointers
// into the arena or constant memory; nothing is parsed or allocated at inference time.
#pragma once

#include <stdint.h>

namespace tinydeploy::runtime {

// The highest tensor rank the element-wise, layout and reduction kernels accept.
constexpr int kMaxRank = 6;

// NHWC activation shape / OHWI filter shape.
struct Dims4 {
  int32_t n = 1;
  int32_t h = 1;
  int32_t w = 1;
  int32_t c = 1;
};

// Zero points and the fused activation's clamp of a quantized operator, in integer units.
struct QuantizedActivation {
  int32_t input_offset = 0;   // minus the input zero point
  int32_t output_offset = 0;  // the output zero point
  int32_t min = -128;         // clamp of the fused activation, in output units
  int32_t max = 127;
};

// The fused activation's clamp of a float operator.
struct FloatActivation {
  float min = -3.40282347e+38f;
  float max = 3.40282347e+38f;
};

// A fixed-point multiplier per output channel (or one entry for per-tensor quantization).
struct PerChannelScale {
  const int32_t* multiplier = nullptr;
  const int32_t* shift = nullptr;
};

// A quantized real multiplier: multiplier (Q31) * 2^shift.
struct Requantization {
  int32_t multiplier = 0;
  int32_t shift = 0;
};

}  // namespace tinydeploy::runtime
