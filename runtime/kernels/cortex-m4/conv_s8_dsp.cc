#include "tinydeploy/runtime/cortex-m4/conv_s8_dsp.h"

#include <string.h>

#include "tinydeploy/runtime/fixed_point.h"

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
#include <arm_acle.h>
#define TINYDEPLOY_HAS_DSP 1
#else
#define TINYDEPLOY_HAS_DSP 0
#endif

namespace tinydeploy::runtime {
namespace {

// Four consecutive int8 values as one word (any alignment: the M4 loads unaligned words).
inline uint32_t load_word(const int8_t* p) {
  uint32_t word;
  memcpy(&word, p, sizeof word);
  return word;
}

#if TINYDEPLOY_HAS_DSP

// Bytes 0 and 2 of the word, sign-extended into two 16-bit halves (SXTB16).
inline int32_t even_bytes(uint32_t word) { return __sxtb16(static_cast<int32_t>(word)); }

// Bytes 1 and 3, the same way: SXTB16 with its rotation, which the intrinsic does not offer
// (GCC emits a separate ROR for __sxtb16 of a rotated word).
inline int32_t odd_bytes(uint32_t word) {
  int32_t result;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(result) : "r"(word));
  return result;
}

// acc + low(a) * low(b) + high(a) * high(b) over signed 16-bit halves (SMLAD).
inline int32_t dual_multiply_accumulate(int32_t a, int32_t b, int32_t acc) {
  return __smlad(a, b, acc);
}

#else

// Exact emulations of the two instructions, for cores and hosts without them.
inline uint32_t sign_extended_byte(uint32_t byte) {
  return static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(byte & 0xFFu))) & 0xFFFFu;
}

inline int32_t even_bytes(uint32_t word) {
  return static_cast<int32_t>(sign_extended_byte(word) | (sign_extended_byte(word >> 16) << 16));
}

inline int32_t odd_bytes(uint32_t word) { return even_bytes((word >> 8) | (word << 24)); }

inline int32_t half(int32_t value, int which) {
  return static_cast<int16_t>(static_cast<uint32_t>(value) >> (16 * which));
}

// SMLAD wraps modulo 2^32 (it only sets the Q flag), as this does.
inline int32_t dual_multiply_accumulate(int32_t a, int32_t b, int32_t acc) {
  const int32_t low = half(a, 0) * half(b, 0);
  const int32_t high = half(a, 1) * half(b, 1);
  return static_cast<int32_t>(static_cast<uint32_t>(acc) + static_cast<uint32_t>(low) +
                              static_cast<uint32_t>(high));
}

#endif

inline int32_t wrapping_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

// The sums of one block: rows 0 and 1 by output channels 0 and 1.
struct BlockSums {
  int32_t r0u0;
  int32_t r0u1;
  int32_t r1u0;
  int32_t r1u1;
};

// Adds the dot products of input rows `in0` (and `in1` with kTwoRows) with weight rows `w0`
// (and `w1` with kTwoUnits) over `features` values to `sums`. Four features per step: each
// word loaded is split into its even and odd bytes once and used for two sums.
template <bool kTwoRows, bool kTwoUnits>
inline BlockSums dot_block(const int8_t* in0, const int8_t* in1, const int8_t* w0, const int8_t* w1,
                           int32_t features, BlockSums sums) {
  for (int32_t steps = features >> 2; steps > 0; --steps) {
    const uint32_t x0 = load_word(in0);
    in0 += 4;
    const int32_t x0_even = even_bytes(x0);
    const int32_t x0_odd = odd_bytes(x0);
    const uint32_t v0 = load_word(w0);
    w0 += 4;
    const int32_t v0_even = even_bytes(v0);
    const int32_t v0_odd = odd_bytes(v0);
    sums.r0u0 = dual_multiply_accumulate(x0_odd, v0_odd,
                                         dual_multiply_accumulate(x0_even, v0_even, sums.r0u0));
    if constexpr (kTwoUnits) {
      const uint32_t v1 = load_word(w1);
      w1 += 4;
      const int32_t v1_even = even_bytes(v1);
      const int32_t v1_odd = odd_bytes(v1);
      sums.r0u1 = dual_multiply_accumulate(x0_odd, v1_odd,
                                           dual_multiply_accumulate(x0_even, v1_even, sums.r0u1));
      if constexpr (kTwoRows) {
        const uint32_t x1 = load_word(in1);
        in1 += 4;
        const int32_t x1_even = even_bytes(x1);
        const int32_t x1_odd = odd_bytes(x1);
        sums.r1u0 = dual_multiply_accumulate(x1_odd, v0_odd,
                                             dual_multiply_accumulate(x1_even, v0_even, sums.r1u0));
        sums.r1u1 = dual_multiply_accumulate(x1_odd, v1_odd,
                                             dual_multiply_accumulate(x1_even, v1_even, sums.r1u1));
      }
    } else if constexpr (kTwoRows) {
      const uint32_t x1 = load_word(in1);
      in1 += 4;
      sums.r1u0 = dual_multiply_accumulate(
          odd_bytes(x1), v0_odd, dual_multiply_accumulate(even_bytes(x1), v0_even, sums.r1u0));
    }
  }
  for (int32_t k = 0; k < (features & 3); ++k) {
    const int32_t x0 = in0[k];
    sums.r0u0 = wrapping_add(sums.r0u0, x0 * w0[k]);
    if constexpr (kTwoUnits) sums.r0u1 = wrapping_add(sums.r0u1, x0 * w1[k]);
    if constexpr (kTwoRows) {
      const int32_t x1 = in1[k];
      sums.r1u0 = wrapping_add(sums.r1u0, x1 * w0[k]);
      if constexpr (kTwoUnits) sums.r1u1 = wrapping_add(sums.r1u1, x1 * w1[k]);
    }
  }
  return sums;
}

// rows x features input times [units, features] weights, requantized per unit (or with one
// scale when !per_channel), as the portable kernels store their sums.
class MatrixProduct {
 public:
  MatrixProduct(const QuantizedActivation& activation, const PerChannelScale& scale,
                bool per_channel, int32_t features, int32_t units, const int8_t* weights,
                const int32_t* folded_bias)
      : activation_(activation),
        scale_(scale),
        per_channel_(per_channel),
        features_(features),
        units_(units),
        weights_(weights),
        folded_bias_(folded_bias) {}

  void run(int32_t rows, const int8_t* input, int8_t* output) const {
    int32_t row = 0;
    for (; row + 2 <= rows; row += 2) {
      two_rows<true>(input + row * features_, output + row * units_);
    }
    if (row < rows) two_rows<false>(input + row * features_, output + row * units_);
  }

 private:
  int8_t store(int32_t sum, int32_t unit) const {
    const int32_t c = per_channel_ ? unit : 0;
    const int32_t scaled =
        multiply_by_quantized_multiplier(sum, scale_.multiplier[c], scale_.shift[c]);
    return static_cast<int8_t>(
        clamp_with_offset(scaled, activation_.output_offset, activation_.min, activation_.max));
  }

  // One row, or two consecutive rows with kTwoRows, against every unit.
  template <bool kTwoRows>
  void two_rows(const int8_t* in0, int8_t* out0) const {
    const int8_t* in1 = in0 + features_;
    int8_t* out1 = out0 + units_;
    int32_t unit = 0;
    for (; unit + 2 <= units_; unit += 2) {
      const int8_t* w0 = weights_ + unit * features_;
      const int32_t b0 = folded_bias_[unit];
      const int32_t b1 = folded_bias_[unit + 1];
      const BlockSums sums =
          dot_block<kTwoRows, true>(in0, in1, w0, w0 + features_, features_, {b0, b1, b0, b1});
      out0[unit] = store(sums.r0u0, unit);
      out0[unit + 1] = store(sums.r0u1, unit + 1);
      if constexpr (kTwoRows) {
        out1[unit] = store(sums.r1u0, unit);
        out1[unit + 1] = store(sums.r1u1, unit + 1);
      }
    }
    if (unit < units_) {
      const int32_t b0 = folded_bias_[unit];
      const BlockSums sums = dot_block<kTwoRows, false>(in0, in1, weights_ + unit * features_,
                                                        nullptr, features_, {b0, 0, b0, 0});
      out0[unit] = store(sums.r0u0, unit);
      if constexpr (kTwoRows) out1[unit] = store(sums.r1u0, unit);
    }
  }

  const QuantizedActivation& activation_;
  const PerChannelScale& scale_;
  bool per_channel_;
  int32_t features_;
  int32_t units_;
  const int8_t* weights_;
  const int32_t* folded_bias_;
};

}  // namespace

void fully_connected_s8_dsp(const QuantizedActivation& activation, const PerChannelScale& scale,
                            bool per_channel, const FullyConnectedShape& shape, const int8_t* input,
                            const int8_t* weights, const int32_t* folded_bias, int8_t* output) {
  MatrixProduct(activation, scale, per_channel, shape.features, shape.units, weights, folded_bias)
      .run(shape.rows, input, output);
}

void conv_1x1_s8_dsp(const QuantizedActivation& activation, const PerChannelScale& scale,
                     const Dims4& input_dims, const int8_t* input, const Dims4& filter_dims,
                     const int8_t* filter, const int32_t* folded_bias, const Dims4& output_dims,
                     int8_t* output) {
  // Every pixel is a row of input channels; the filter is a [out_c, in_c] matrix.
  MatrixProduct(activation, scale, true, filter_dims.c, output_dims.c, filter, folded_bias)
      .run(input_dims.n * input_dims.h * input_dims.w, input, output);
}

}  // namespace tinydeploy::runtime
