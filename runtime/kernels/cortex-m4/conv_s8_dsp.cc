#include "tinydeploy/runtime/cortex-m4/conv_s8_dsp.h"

#include <string.h>

#include "tinydeploy/runtime/fixed_point.h"
#include "tinydeploy/runtime/im2col.h"

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

// Four output bytes written by one store: int8 stores may alias any object, so after each
// single byte the compiler would load the next channel's multiplier and shift again.
inline void store_four(int8_t* out, int8_t b0, int8_t b1, int8_t b2, int8_t b3) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const uint32_t word = static_cast<uint32_t>(static_cast<uint8_t>(b0)) |
                        (static_cast<uint32_t>(static_cast<uint8_t>(b1)) << 8) |
                        (static_cast<uint32_t>(static_cast<uint8_t>(b2)) << 16) |
                        (static_cast<uint32_t>(static_cast<uint8_t>(b3)) << 24);
  memcpy(out, &word, sizeof word);
#else
  out[0] = b0;
  out[1] = b1;
  out[2] = b2;
  out[3] = b3;
#endif
}

// Makes `pointer` a value the optimizer cannot derive from earlier ones (an empty assembly
// statement that may have changed it): addresses computed from it stay computed from it.
template <typename T>
inline void hide_from_optimizer(T*& pointer) {
  __asm__("" : "+r"(pointer));
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

// Bytes 0 and 2 of the word, sign-extended, added to the two 16-bit halves of `pair` (SXTAB16).
inline int32_t even_bytes_plus(int32_t pair, uint32_t word) {
  return __sxtab16(pair, static_cast<int32_t>(word));
}

// Bytes 1 and 3 the same way (SXTAB16 with its rotation).
inline int32_t odd_bytes_plus(int32_t pair, uint32_t word) {
  int32_t result;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(result) : "r"(pair), "r"(word));
  return result;
}

// acc + low(a) * low(b) (SMLABB) and acc + high(a) * high(b) (SMLATT).
inline int32_t multiply_accumulate_low(int32_t a, int32_t b, int32_t acc) {
  return __smlabb(a, b, acc);
}
inline int32_t multiply_accumulate_high(int32_t a, int32_t b, int32_t acc) {
  return __smlatt(a, b, acc);
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

// SXTAB16: each 16-bit half of `pair` plus its sign-extended byte, modulo 2^16.
inline int32_t even_bytes_plus(int32_t pair, uint32_t word) {
  const uint32_t bytes = static_cast<uint32_t>(even_bytes(word));
  const uint32_t p = static_cast<uint32_t>(pair);
  const uint32_t low = (p + bytes) & 0xFFFFu;
  const uint32_t high = ((p >> 16) + (bytes >> 16)) & 0xFFFFu;
  return static_cast<int32_t>(low | (high << 16));
}

inline int32_t odd_bytes_plus(int32_t pair, uint32_t word) {
  return even_bytes_plus(pair, (word >> 8) | (word << 24));
}

// SMLABB and SMLATT, wrapping modulo 2^32 like the instructions.
inline int32_t multiply_accumulate_low(int32_t a, int32_t b, int32_t acc) {
  return static_cast<int32_t>(static_cast<uint32_t>(acc) +
                              static_cast<uint32_t>(half(a, 0) * half(b, 0)));
}
inline int32_t multiply_accumulate_high(int32_t a, int32_t b, int32_t acc) {
  return static_cast<int32_t>(static_cast<uint32_t>(acc) +
                              static_cast<uint32_t>(half(a, 1) * half(b, 1)));
}

#endif

inline int32_t wrapping_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

// `value` clamped to the int8 range: one SSAT on the DSP cores (GCC does not always find it).
inline int8_t saturate_to_int8(int32_t value) {
#if TINYDEPLOY_HAS_DSP
  int32_t result;
  __asm__("ssat %0, #8, %1" : "=r"(result) : "r"(value));
  return static_cast<int8_t>(result);
#else
  return static_cast<int8_t>(value < -128 ? -128 : (value > 127 ? 127 : value));
#endif
}

// The sums of one block: rows 0 and 1 by output channels 0 and 1.
struct BlockSums {
  int32_t r0u0;
  int32_t r0u1;
  int32_t r1u0;
  int32_t r1u1;
};

// Four features of dot_block's sums, from rows `in0`, `in1` and units `w0`, `w1` on.
template <bool kTwoRows, bool kTwoUnits>
inline void dot_step(const int8_t* in0, const int8_t* in1, const int8_t* w0, const int8_t* w1,
                     BlockSums& sums) {
  const uint32_t x0 = load_word(in0);
  const int32_t x0_even = even_bytes(x0);
  const int32_t x0_odd = odd_bytes(x0);
  const uint32_t v0 = load_word(w0);
  const int32_t v0_even = even_bytes(v0);
  const int32_t v0_odd = odd_bytes(v0);
  sums.r0u0 = dual_multiply_accumulate(x0_odd, v0_odd,
                                       dual_multiply_accumulate(x0_even, v0_even, sums.r0u0));
  if constexpr (kTwoUnits) {
    const uint32_t v1 = load_word(w1);
    const int32_t v1_even = even_bytes(v1);
    const int32_t v1_odd = odd_bytes(v1);
    sums.r0u1 = dual_multiply_accumulate(x0_odd, v1_odd,
                                         dual_multiply_accumulate(x0_even, v1_even, sums.r0u1));
    if constexpr (kTwoRows) {
      const uint32_t x1 = load_word(in1);
      const int32_t x1_even = even_bytes(x1);
      const int32_t x1_odd = odd_bytes(x1);
      sums.r1u0 = dual_multiply_accumulate(x1_odd, v0_odd,
                                           dual_multiply_accumulate(x1_even, v0_even, sums.r1u0));
      sums.r1u1 = dual_multiply_accumulate(x1_odd, v1_odd,
                                           dual_multiply_accumulate(x1_even, v1_even, sums.r1u1));
    }
  } else if constexpr (kTwoRows) {
    const uint32_t x1 = load_word(in1);
    sums.r1u0 = dual_multiply_accumulate(
        odd_bytes(x1), v0_odd, dual_multiply_accumulate(even_bytes(x1), v0_even, sums.r1u0));
  }
}

#if TINYDEPLOY_HAS_DSP

// Four features of a two-rows-by-two-units block (rows and units `next` bytes apart): the words
// of row 0 and unit 0 loaded with post-increment, those of row 1 and unit 1 at the offset; six
// registers for the halves, so the loop needs fourteen in all and GCC would spill some.
#define TINYDEPLOY_DOT_2X2_FOUR                    \
  "ldr %[x_odd], [%[in]], #4\n\t"                  \
  "ldr %[v_odd], [%[w]], #4\n\t"                   \
  "sxtb16 %[x_even], %[x_odd]\n\t"                 \
  "sxtb16 %[x_odd], %[x_odd], ror #8\n\t"          \
  "sxtb16 %[v_even], %[v_odd]\n\t"                 \
  "sxtb16 %[v_odd], %[v_odd], ror #8\n\t"          \
  "smlad %[s00], %[x_even], %[v_even], %[s00]\n\t" \
  "smlad %[s00], %[x_odd], %[v_odd], %[s00]\n\t"   \
  "ldr %[u_odd], [%[w], %[next_before]]\n\t"       \
  "sxtb16 %[u_even], %[u_odd]\n\t"                 \
  "sxtb16 %[u_odd], %[u_odd], ror #8\n\t"          \
  "smlad %[s01], %[x_even], %[u_even], %[s01]\n\t" \
  "smlad %[s01], %[x_odd], %[u_odd], %[s01]\n\t"   \
  "ldr %[x_odd], [%[in], %[next_before]]\n\t"      \
  "sxtb16 %[x_even], %[x_odd]\n\t"                 \
  "sxtb16 %[x_odd], %[x_odd], ror #8\n\t"          \
  "smlad %[s10], %[x_even], %[v_even], %[s10]\n\t" \
  "smlad %[s10], %[x_odd], %[v_odd], %[s10]\n\t"   \
  "smlad %[s11], %[x_even], %[u_even], %[s11]\n\t" \
  "smlad %[s11], %[x_odd], %[u_odd], %[s11]\n\t"

// `pairs` (at least 1) times eight features of the 2x2 block, advancing `in` and `w`.
inline void dot_2x2_by_eight(const int8_t*& in, const int8_t*& w, size_t next, int32_t pairs,
                             BlockSums& sums) {
  const int8_t* const end = in + 8 * static_cast<size_t>(pairs);
  // The post-incremented loads have moved `in` and `w` 4 bytes on when the offset loads run.
  const size_t next_before = next - 4;
  uint32_t x_even, x_odd, v_even, v_odd, u_even, u_odd;
  __asm__(
      "1:\n\t" TINYDEPLOY_DOT_2X2_FOUR TINYDEPLOY_DOT_2X2_FOUR
      "cmp %[in], %[end]\n\t"
      "bne 1b\n\t"
      : [s00] "+r"(sums.r0u0), [s01] "+r"(sums.r0u1), [s10] "+r"(sums.r1u0), [s11] "+r"(sums.r1u1),
        [in] "+r"(in), [w] "+r"(w), [x_even] "=&r"(x_even), [x_odd] "=&r"(x_odd),
        [v_even] "=&r"(v_even), [v_odd] "=&r"(v_odd), [u_even] "=&r"(u_even), [u_odd] "=&r"(u_odd)
      : [next_before] "r"(next_before), [end] "r"(end)
      : "cc", "memory");
}

#undef TINYDEPLOY_DOT_2X2_FOUR

// Four features of the 2x2 block with the two input rows already widened (widen_two_rows):
// one LDRD per row instead of a load and two SXTB16. The weights of unit 1 (at the offset) are
// loaded before those of unit 0 move the pointer on.
#define TINYDEPLOY_DOT_2X2_WIDE_FOUR               \
  "ldr %[u_odd], [%[w], %[next]]\n\t"              \
  "sxtb16 %[u_even], %[u_odd]\n\t"                 \
  "sxtb16 %[u_odd], %[u_odd], ror #8\n\t"          \
  "ldr %[v_odd], [%[w]], #4\n\t"                   \
  "sxtb16 %[v_even], %[v_odd]\n\t"                 \
  "sxtb16 %[v_odd], %[v_odd], ror #8\n\t"          \
  "ldrd %[x_even], %[x_odd], [%[in]], #8\n\t"      \
  "smlad %[s00], %[x_even], %[v_even], %[s00]\n\t" \
  "smlad %[s00], %[x_odd], %[v_odd], %[s00]\n\t"   \
  "smlad %[s01], %[x_even], %[u_even], %[s01]\n\t" \
  "smlad %[s01], %[x_odd], %[u_odd], %[s01]\n\t"   \
  "ldrd %[x_even], %[x_odd], [%[in]], #8\n\t"      \
  "smlad %[s10], %[x_even], %[v_even], %[s10]\n\t" \
  "smlad %[s10], %[x_odd], %[v_odd], %[s10]\n\t"   \
  "smlad %[s11], %[x_even], %[u_even], %[s11]\n\t" \
  "smlad %[s11], %[x_odd], %[u_odd], %[s11]\n\t"

// `pairs` (at least 1) times eight features of the 2x2 block from the widened rows at `wide`
// (16 bytes per four features), advancing `wide` and `w`.
inline void dot_2x2_widened_by_eight(const int32_t*& wide, const int8_t*& w, size_t next,
                                     int32_t pairs, BlockSums& sums) {
  const int32_t* const end = wide + 8 * static_cast<size_t>(pairs);
  uint32_t x_even, x_odd, v_even, v_odd, u_even, u_odd;
  __asm__(
      "1:\n\t" TINYDEPLOY_DOT_2X2_WIDE_FOUR TINYDEPLOY_DOT_2X2_WIDE_FOUR
      "cmp %[in], %[end]\n\t"
      "bne 1b\n\t"
      : [s00] "+r"(sums.r0u0), [s01] "+r"(sums.r0u1), [s10] "+r"(sums.r1u0), [s11] "+r"(sums.r1u1),
        [in] "+r"(wide), [w] "+r"(w), [x_even] "=&r"(x_even), [x_odd] "=&r"(x_odd),
        [v_even] "=&r"(v_even), [v_odd] "=&r"(v_odd), [u_even] "=&r"(u_even), [u_odd] "=&r"(u_odd)
      : [next] "r"(next), [end] "r"(end)
      : "cc", "memory");
}

// The state of blocks_2x2_widened between blocks, kept in memory: the block's values take
// every register but two.
struct WidenedBlocks {
  const int32_t* bias;      // folded bias of the next pair of units
  const int32_t* table;     // prepared output stage of the next pair of units
  int8_t* out0;             // row 0's output of the next unit
  int8_t* out1;             // row 1's
  const int32_t* wide;      // the two rows widened (widen_two_rows)
  const int32_t* wide_end;  // after them
  int32_t pairs;            // pairs of units left, at least 1
};

// One output of a block in place of its sum: scale_prepared with the channel's constants in
// x_even (multiplier), x_odd (high word) and v_even (shift), the 64-bit value in u_even:u_odd,
// then SSAT (the clamp is the whole int8 range).
#define TINYDEPLOY_STORE_PREPARED(sum)        \
  "and %[u_even], %[" sum                     \
  "], #0x80000000\n\t"                        \
  "orr %[u_even], %[u_even], #0x40000000\n\t" \
  "add %[u_odd], %[x_odd], %[" sum            \
  "], asr #31\n\t"                            \
  "smlal %[u_even], %[u_odd], %[" sum         \
  "], %[x_even]\n\t"                          \
  "asr %[u_odd], %[u_odd], %[v_even]\n\t"     \
  "ssat %[" sum "], #8, %[u_odd]\n\t"

// Two widened rows against `pairs` pairs of units (features a multiple of 8, `w` at the first
// unit's weights, `next` = features), each block stored through the prepared output stage: the
// whole loop in assembly, its state in memory, because around the dot product alone GCC spills
// and reloads so much that the stores and the set-up of a block cost more than 8 features of
// products. Per block: the bias, 8 features per iteration, four outputs of 6 instructions each.
// kSixteen: the features a multiple of 16, 16 per iteration of the inner loop (its end test
// reads memory: no register is left for the end).
template <bool kSixteen>
inline void blocks_2x2_widened(WidenedBlocks& state, const int8_t* w, size_t next) {
  int32_t s00, s01, s10, s11;
  uint32_t x_even, x_odd, v_even, v_odd, u_even, u_odd;
  const int32_t* in;
  __asm__ volatile(
      "1:\n\t"
      "ldr %[x_even], %[bias]\n\t"
      "ldrd %[s00], %[s01], [%[x_even]], #8\n\t"
      "str %[x_even], %[bias]\n\t"
      "mov %[s10], %[s00]\n\t"
      "mov %[s11], %[s01]\n\t"
      "ldr %[in], %[wide]\n\t"
      "2:\n\t" TINYDEPLOY_DOT_2X2_WIDE_FOUR TINYDEPLOY_DOT_2X2_WIDE_FOUR
      ".if %c[sixteen]\n\t" TINYDEPLOY_DOT_2X2_WIDE_FOUR TINYDEPLOY_DOT_2X2_WIDE_FOUR
      ".endif\n\t"
      "ldr %[x_even], %[wide_end]\n\t"
      "cmp %[in], %[x_even]\n\t"
      "bne 2b\n\t"
      // w has moved over unit 0's weights: over unit 1's too.
      "add %[w], %[w], %[next]\n\t"
      "ldr %[in], %[table]\n\t"
      "ldrd %[x_even], %[x_odd], [%[in]]\n\t"
      "ldr %[v_even], [%[in], #8]\n\t" TINYDEPLOY_STORE_PREPARED("s00")
          TINYDEPLOY_STORE_PREPARED("s10")
      "ldrd %[x_even], %[x_odd], [%[in], #12]\n\t"
      "ldr %[v_even], [%[in], #20]\n\t"
      "add %[in], %[in], #24\n\t"
      "str %[in], %[table]\n\t" TINYDEPLOY_STORE_PREPARED("s01")
          TINYDEPLOY_STORE_PREPARED("s11")
      "ldr %[in], %[out0]\n\t"
      "strb %[s00], [%[in]]\n\t"
      "strb %[s01], [%[in], #1]\n\t"
      "add %[in], %[in], #2\n\t"
      "str %[in], %[out0]\n\t"
      "ldr %[in], %[out1]\n\t"
      "strb %[s10], [%[in]]\n\t"
      "strb %[s11], [%[in], #1]\n\t"
      "add %[in], %[in], #2\n\t"
      "str %[in], %[out1]\n\t"
      "ldr %[in], %[pairs]\n\t"
      "subs %[in], %[in], #1\n\t"
      "str %[in], %[pairs]\n\t"
      "bne 1b\n\t"
      : [s00] "=&r"(s00), [s01] "=&r"(s01), [s10] "=&r"(s10), [s11] "=&r"(s11), [in] "=&r"(in),
        [w] "+r"(w), [x_even] "=&r"(x_even), [x_odd] "=&r"(x_odd), [v_even] "=&r"(v_even),
        [v_odd] "=&r"(v_odd), [u_even] "=&r"(u_even), [u_odd] "=&r"(u_odd),
        [bias] "+m"(state.bias), [table] "+m"(state.table), [out0] "+m"(state.out0),
        [out1] "+m"(state.out1), [pairs] "+m"(state.pairs)
      : [next] "r"(next), [wide] "m"(state.wide), [wide_end] "m"(state.wide_end),
        [sixteen] "i"(kSixteen ? 1 : 0)
      : "cc", "memory");
}

#undef TINYDEPLOY_STORE_PREPARED
#undef TINYDEPLOY_DOT_2X2_WIDE_FOUR

// The sums of one input row by four consecutive units.
struct UnitSums {
  int32_t u0;
  int32_t u1;
  int32_t u2;
  int32_t u3;
};

// Four features of one row by four units (`next` bytes apart; `w01` at unit 0, `w23` at unit
// 2): the input word is widened once for the four. The units at the offset are read before
// the post-incremented loads of their pointers.
#define TINYDEPLOY_DOT_1X4_UNIT(sum, at)      \
  "ldr %[v_odd], " at                         \
  "\n\t"                                      \
  "sxtb16 %[v_even], %[v_odd]\n\t"            \
  "sxtb16 %[v_odd], %[v_odd], ror #8\n\t"     \
  "smlad " sum ", %[x_even], %[v_even], " sum \
  "\n\t"                                      \
  "smlad " sum ", %[x_odd], %[v_odd], " sum "\n\t"
#define TINYDEPLOY_DOT_1X4_FOUR                                                                 \
  "ldr %[x_odd], [%[in]], #4\n\t"                                                               \
  "sxtb16 %[x_even], %[x_odd]\n\t"                                                              \
  "sxtb16 %[x_odd], %[x_odd], ror #8\n\t" TINYDEPLOY_DOT_1X4_UNIT("%[s3]", "[%[w23], %[next]]") \
      TINYDEPLOY_DOT_1X4_UNIT("%[s2]", "[%[w23]], #4")                                          \
          TINYDEPLOY_DOT_1X4_UNIT("%[s1]", "[%[w01], %[next]]")                                 \
              TINYDEPLOY_DOT_1X4_UNIT("%[s0]", "[%[w01]], #4")

// One row by four units over `features` values: eight features per step in assembly (13
// registers), the rest in C. 48 instructions per 32 MACs where the C pairs of units take 16
// per 8.
inline UnitSums dot_1x4(const int8_t* in, const int8_t* w, int32_t features, UnitSums sums) {
  const size_t next = static_cast<size_t>(features);
  const int8_t* w01 = w;
  const int8_t* w23 = w + 2 * next;
  const int32_t steps = features >> 3;
  if (steps > 0) {
    const int8_t* const end = in + 8 * static_cast<size_t>(steps);
    uint32_t x_even, x_odd, v_even, v_odd;
    __asm__("1:\n\t" TINYDEPLOY_DOT_1X4_FOUR TINYDEPLOY_DOT_1X4_FOUR
            "cmp %[in], %[end]\n\t"
            "bne 1b\n\t"
            : [s0] "+r"(sums.u0), [s1] "+r"(sums.u1), [s2] "+r"(sums.u2), [s3] "+r"(sums.u3),
              [in] "+r"(in), [w01] "+r"(w01), [w23] "+r"(w23), [x_even] "=&r"(x_even),
              [x_odd] "=&r"(x_odd), [v_even] "=&r"(v_even), [v_odd] "=&r"(v_odd)
            : [next] "r"(next), [end] "r"(end)
            : "cc", "memory");
  }
  for (size_t k = 0; k < static_cast<size_t>(features & 7); ++k) {
    const int32_t x = in[k];
    sums.u0 = wrapping_add(sums.u0, x * w01[k]);
    sums.u1 = wrapping_add(sums.u1, x * w01[next + k]);
    sums.u2 = wrapping_add(sums.u2, x * w23[k]);
    sums.u3 = wrapping_add(sums.u3, x * w23[next + k]);
  }
  return sums;
}

#undef TINYDEPLOY_DOT_1X4_FOUR
#undef TINYDEPLOY_DOT_1X4_UNIT

#endif

// Adds the dot products of input row `in0` (and the next row, `features` bytes on, with
// kTwoRows) with weight row `w0` (and the next one with kTwoUnits) over `features` values to
// `sums`. Four features per step: each word loaded is split into its even and odd bytes once
// and used for two sums. On the DSP cores the 2x2 block (the hot one) takes eight features per
// step in assembly, reading the input rows from `widened` where the caller widened them.
template <bool kTwoRows, bool kTwoUnits>
inline BlockSums dot_block(const int8_t* in0, const int8_t* w0, int32_t features, BlockSums sums,
                           const int32_t* widened) {
  const size_t next = static_cast<size_t>(features);
  int32_t steps = features >> 2;
#if TINYDEPLOY_HAS_DSP
  if constexpr (kTwoRows && kTwoUnits) {
    if (steps >= 2) {
      if (widened != nullptr) {
        dot_2x2_widened_by_eight(widened, w0, next, steps >> 1, sums);
        in0 += 8 * (steps >> 1);
      } else {
        dot_2x2_by_eight(in0, w0, next, steps >> 1, sums);
      }
      steps &= 1;
    }
  }
#else
  static_cast<void>(widened);
#endif
  const int8_t* in1 = in0 + next;
  const int8_t* w1 = w0 + next;
  for (; steps > 0; --steps) {
    dot_step<kTwoRows, kTwoUnits>(in0, in1, w0, w1, sums);
    in0 += 4;
    w0 += 4;
    if constexpr (kTwoRows) in1 += 4;
    if constexpr (kTwoUnits) w1 += 4;
  }
  for (size_t k = 0; k < static_cast<size_t>(features & 3); ++k) {
    const int32_t x0 = in0[k];
    sums.r0u0 = wrapping_add(sums.r0u0, x0 * w0[k]);
    if constexpr (kTwoUnits) sums.r0u1 = wrapping_add(sums.r0u1, x0 * w0[next + k]);
    if constexpr (kTwoRows) {
      const int32_t x1 = in0[next + k];
      sums.r1u0 = wrapping_add(sums.r1u0, x1 * w0[k]);
      if constexpr (kTwoUnits) sums.r1u1 = wrapping_add(sums.r1u1, x1 * w0[next + k]);
    }
  }
  return sums;
}

// A sum of output channel `unit` to its int8 output, as the portable kernels store theirs. Kept
// by value and copied into locals by the loops: int8 stores may alias any object, so fields
// read through a reference would be loaded again after every output.
struct Requantizer {
  [[maybe_unused]] static constexpr bool kAssemblyBlocks = false;

  const int32_t* multiplier;
  const int32_t* shift;
  int32_t channel_step;  // 1 per channel, 0 for one per-tensor scale
  int32_t output_offset;
  int32_t min;
  int32_t max;

  Requantizer(const QuantizedActivation& activation, const PerChannelScale& scale, bool per_channel)
      : multiplier(scale.multiplier),
        shift(scale.shift),
        channel_step(per_channel ? 1 : 0),
        output_offset(activation.output_offset),
        min(activation.min),
        max(activation.max) {}

  // Right shifts (every layer of the shared models) take the folded form, whose result is at
  // most 2^30 in magnitude, so the offset is added without a saturation test; others the
  // definition.
  int8_t operator()(int32_t sum, int32_t unit) const {
    const int32_t c = unit * channel_step;
    return apply(sum, multiplier[c], shift[c]);
  }

  // The same with the unit's multiplier and shift given: a caller storing several outputs of a
  // unit reads them once (after an int8 store the compiler would read them again).
  int8_t apply(int32_t sum, int32_t unit_multiplier, int32_t unit_shift) const {
    if (unit_shift < 0) return apply_right(sum, unit_multiplier, unit_shift);
    const int32_t scaled = multiply_by_quantized_multiplier(sum, unit_multiplier, unit_shift);
    return static_cast<int8_t>(clamp_with_offset(scaled, output_offset, min, max));
  }

  // apply for a right shift (unit_shift < 0), without the test.
  int8_t apply_right(int32_t sum, int32_t unit_multiplier, int32_t unit_shift) const {
    const int32_t value =
        multiply_by_quantized_multiplier_right(sum, unit_multiplier, unit_shift) + output_offset;
    return static_cast<int8_t>(value < min ? min : (value > max ? max : value));
  }

  // The outputs of a block of units `unit` and `unit + 1` (row 1's with kTwoRows).
  template <bool kTwoRows>
  __attribute__((always_inline)) void block(int8_t* out0, int8_t* out1, int32_t unit,
                                            const BlockSums& sums) const {
    const int32_t c0 = unit * channel_step;
    const int32_t c1 = (unit + 1) * channel_step;
    const int32_t m0 = multiplier[c0];
    const int32_t s0 = shift[c0];
    const int32_t m1 = multiplier[c1];
    const int32_t s1 = shift[c1];
    if (s0 < 0 && s1 < 0) {  // one test for the block's outputs in the usual case
      out0[unit] = apply_right(sums.r0u0, m0, s0);
      out0[unit + 1] = apply_right(sums.r0u1, m1, s1);
      if constexpr (kTwoRows) {
        out1[unit] = apply_right(sums.r1u0, m0, s0);
        out1[unit + 1] = apply_right(sums.r1u1, m1, s1);
      }
    } else {
      out0[unit] = apply(sums.r0u0, m0, s0);
      out0[unit + 1] = apply(sums.r0u1, m1, s1);
      if constexpr (kTwoRows) {
        out1[unit] = apply(sums.r1u0, m0, s0);
        out1[unit + 1] = apply(sums.r1u1, m1, s1);
      }
    }
  }
};

// The sums of four channels (depthwise) or of one row by four units.
struct FourSums {
  int32_t s0;
  int32_t s1;
  int32_t s2;
  int32_t s3;
};

#if TINYDEPLOY_HAS_DSP
// A sum replaced by its output (scale_prepared, then SSAT: the clamp is the whole int8 range),
// the channel's constants in m, h and shift, the 64-bit value in lo:hi.
#define TINYDEPLOY_OUTPUT_IN_PLACE(sum) \
  "and %[lo], %[" sum                   \
  "], #0x80000000\n\t"                  \
  "orr %[lo], %[lo], #0x40000000\n\t"   \
  "add %[hi], %[h], %[" sum             \
  "], asr #31\n\t"                      \
  "smlal %[lo], %[hi], %[" sum          \
  "], %[m]\n\t"                         \
  "asr %[hi], %[hi], %[shift]\n\t"      \
  "ssat %[" sum "], #8, %[hi]\n\t"
#define TINYDEPLOY_CHANNEL_CONSTANTS(offset) \
  "ldrd %[m], %[h], [%[k], #" offset         \
  "]\n\t"                                    \
  "ldr %[shift], [%[k], #" offset "+8]\n\t"

// Four channels' outputs of one pixel through the prepared stage at `k` (three words per
// channel) with the int8 clamp: 8 instructions per output, where GCC's code takes about 12.
// Volatile, here and in the other blocks that store: their register outputs are not used
// afterwards, and GCC may drop a non-volatile block whose outputs are unused.
inline void store_four_prepared(int8_t* out, FourSums sums, const int32_t* k) {
  int32_t m, h, shift, lo, hi;
  __asm__ volatile(TINYDEPLOY_CHANNEL_CONSTANTS("0") TINYDEPLOY_OUTPUT_IN_PLACE("s0")
              TINYDEPLOY_CHANNEL_CONSTANTS("12") TINYDEPLOY_OUTPUT_IN_PLACE("s1")
                  TINYDEPLOY_CHANNEL_CONSTANTS("24") TINYDEPLOY_OUTPUT_IN_PLACE("s2")
                      TINYDEPLOY_CHANNEL_CONSTANTS("36") TINYDEPLOY_OUTPUT_IN_PLACE("s3")
          "strb %[s0], [%[out]]\n\t"
          "strb %[s1], [%[out], #1]\n\t"
          "strb %[s2], [%[out], #2]\n\t"
          "strb %[s3], [%[out], #3]\n\t"
          : [s0] "+r"(sums.s0), [s1] "+r"(sums.s1), [s2] "+r"(sums.s2), [s3] "+r"(sums.s3),
            [m] "=&r"(m), [h] "=&r"(h), [shift] "=&r"(shift), [lo] "=&r"(lo), [hi] "=&r"(hi)
          : [k] "r"(k), [out] "r"(out)
          : "memory");
}

// The same for two pixels' four channels, each channel's constants read once for both (the
// address of the constants from memory: thirteen registers hold the rest).
#define TINYDEPLOY_CHANNEL_CONSTANTS_AT(offset) \
  "ldr %[lo], %[k]\n\t"                         \
  "ldrd %[m], %[h], [%[lo], #" offset           \
  "]\n\t"                                       \
  "ldr %[shift], [%[lo], #" offset "+8]\n\t"
inline void store_two_fours_prepared(int8_t* out, int8_t* next_out, FourSums a, FourSums b,
                                     const int32_t* k) {
  int32_t m, h, shift, lo, hi;
  __asm__ volatile(
      TINYDEPLOY_CHANNEL_CONSTANTS_AT("0") TINYDEPLOY_OUTPUT_IN_PLACE("a0")
          TINYDEPLOY_OUTPUT_IN_PLACE("b0") TINYDEPLOY_CHANNEL_CONSTANTS_AT("12")
              TINYDEPLOY_OUTPUT_IN_PLACE("a1") TINYDEPLOY_OUTPUT_IN_PLACE("b1")
                  TINYDEPLOY_CHANNEL_CONSTANTS_AT("24") TINYDEPLOY_OUTPUT_IN_PLACE("a2")
                      TINYDEPLOY_OUTPUT_IN_PLACE("b2") TINYDEPLOY_CHANNEL_CONSTANTS_AT("36")
                          TINYDEPLOY_OUTPUT_IN_PLACE("a3") TINYDEPLOY_OUTPUT_IN_PLACE("b3")
      "ldr %[m], %[out]\n\t"
      "strb %[a0], [%[m]]\n\t"
      "strb %[a1], [%[m], #1]\n\t"
      "strb %[a2], [%[m], #2]\n\t"
      "strb %[a3], [%[m], #3]\n\t"
      "ldr %[m], %[next_out]\n\t"
      "strb %[b0], [%[m]]\n\t"
      "strb %[b1], [%[m], #1]\n\t"
      "strb %[b2], [%[m], #2]\n\t"
      "strb %[b3], [%[m], #3]\n\t"
      : [a0] "+r"(a.s0), [a1] "+r"(a.s1), [a2] "+r"(a.s2), [a3] "+r"(a.s3), [b0] "+r"(b.s0),
        [b1] "+r"(b.s1), [b2] "+r"(b.s2), [b3] "+r"(b.s3), [m] "=&r"(m), [h] "=&r"(h),
        [shift] "=&r"(shift), [lo] "=&r"(lo), [hi] "=&r"(hi)
      : [k] "m"(k), [out] "m"(out), [next_out] "m"(next_out)
      : "memory");
}

#undef TINYDEPLOY_CHANNEL_CONSTANTS_AT
#undef TINYDEPLOY_CHANNEL_CONSTANTS
#undef TINYDEPLOY_OUTPUT_IN_PLACE
#endif

// The output stage of a channel prepared in lowering (three words per channel: multiplier,
// prepared_output_high, -shift - 1; see scale_prepared): one SMLAL and one shift per output,
// the output zero point included. kInt8Range: the activation clamps to the whole int8 range
// (no fused activation, or one the output scale already covers), which GCC turns into SSAT.
template <bool kInt8Range>
struct PreparedOutput {
  // Whether MatrixProduct may store its 2x2 blocks in assembly (SSAT: the whole int8 range).
  [[maybe_unused]] static constexpr bool kAssemblyBlocks = kInt8Range;

  const int32_t* table;
  int32_t min;
  int32_t max;
  int32_t step = 3;  // words per channel: 3, or 0 for one per-tensor stage

  int8_t operator()(int32_t sum, int32_t channel) const {
    return apply(sum, table + step * channel);
  }

  int8_t apply(int32_t sum, const int32_t* k) const {
    const int32_t value = scale_prepared(sum, k[0], k[1], k[2]);
    if constexpr (kInt8Range) return saturate_to_int8(value);
    return static_cast<int8_t>(value < min ? min : (value > max ? max : value));
  }

  // Four channels from `channel` on: all four computed before the first store (an int8 store
  // may alias the table, so a store in between would make the compiler load it again), then
  // stored one byte each (packing them into a word would take more instructions).
  void four(int8_t* out, const FourSums& sums, int32_t channel) const {
#if TINYDEPLOY_HAS_DSP
    if constexpr (kInt8Range) {
      if (step == 3) {
        store_four_prepared(out, sums, table + 3 * channel);
        return;
      }
    }
#endif
    const int8_t o0 = (*this)(sums.s0, channel);
    const int8_t o1 = (*this)(sums.s1, channel + 1);
    const int8_t o2 = (*this)(sums.s2, channel + 2);
    const int8_t o3 = (*this)(sums.s3, channel + 3);
    out[0] = o0;
    out[1] = o1;
    out[2] = o2;
    out[3] = o3;
  }

  // Four channels of two pixels: each channel's constants read once for both.
  void two_fours(int8_t* out, int8_t* next_out, const FourSums& sums, const FourSums& next,
                 int32_t channel) const {
#if TINYDEPLOY_HAS_DSP
    if constexpr (kInt8Range) {
      if (step == 3) {
        store_two_fours_prepared(out, next_out, sums, next, table + 3 * channel);
        return;
      }
    }
#endif
    const int32_t* k = table + step * channel;
    const int8_t a0 = apply(sums.s0, k);
    const int8_t b0 = apply(next.s0, k);
    const int8_t a1 = apply(sums.s1, k + step);
    const int8_t b1 = apply(next.s1, k + step);
    const int8_t a2 = apply(sums.s2, k + 2 * step);
    const int8_t b2 = apply(next.s2, k + 2 * step);
    const int8_t a3 = apply(sums.s3, k + 3 * step);
    const int8_t b3 = apply(next.s3, k + 3 * step);
    out[0] = a0;
    out[1] = a1;
    out[2] = a2;
    out[3] = a3;
    next_out[0] = b0;
    next_out[1] = b1;
    next_out[2] = b2;
    next_out[3] = b3;
  }

  // The outputs of a block of units `unit` and `unit + 1` (row 1's with kTwoRows), all
  // computed before the first store.
  template <bool kTwoRows>
  void block(int8_t* out0, int8_t* out1, int32_t unit, const BlockSums& sums) const {
    const int32_t* k0 = table + step * unit;
    const int32_t* k1 = k0 + step;
    const int8_t o00 = apply(sums.r0u0, k0);
    const int8_t o01 = apply(sums.r0u1, k1);
    if constexpr (kTwoRows) {
      const int8_t o10 = apply(sums.r1u0, k0);
      const int8_t o11 = apply(sums.r1u1, k1);
      out1[unit] = o10;
      out1[unit + 1] = o11;
    }
    out0[unit] = o00;
    out0[unit + 1] = o01;
  }
};

// rows x features input times [units, features] weights, each sum stored by `Output` (a
// Requantizer, or a PreparedOutput), as the portable kernels store their sums.
template <typename Output>
class MatrixProduct {
 public:
  MatrixProduct(const Output& output, int32_t features, int32_t units, const int8_t* weights,
                const int32_t* folded_bias)
      : output_(output),
        features_(features),
        units_(units),
        weights_(weights),
        folded_bias_(folded_bias) {}

  // `widened`, when given (with rows == 2), holds the two rows as widen_two_rows writes them.
  void run(int32_t rows, const int8_t* input, int8_t* output,
           const int32_t* widened = nullptr) const {
    int32_t row = 0;
#if TINYDEPLOY_HAS_DSP
    if (widened != nullptr && rows == 2 && (features_ & 7) == 0) {
      two_rows_widened(input, output, widened);
      return;
    }
#endif
    for (; row + 2 <= rows; row += 2) {
      two_rows<true>(input + row * features_, output + row * units_, widened);
    }
    if (row < rows) two_rows<false>(input + row * features_, output + row * units_, nullptr);
  }

 private:
#if TINYDEPLOY_HAS_DSP
  // Two rows, widened, against every unit, the features a multiple of 8: the common case of
  // the convolutions, with no tails in the loop over pairs of units and only pointers carried
  // from one pair to the next, so that GCC keeps them in registers around the assembly.
  __attribute__((noinline)) void two_rows_widened(const int8_t* in0, int8_t* out0,
                                                  const int32_t* widened) const {
    const Output store = output_;
    const size_t next = static_cast<size_t>(features_);
    const int32_t eights = features_ >> 3;
    const int32_t units = units_;
    const int8_t* w = weights_;
    const int32_t* bias = folded_bias_;
    int8_t* out1 = out0 + units;
    int32_t unit = 0;
    if constexpr (Output::kAssemblyBlocks) {
      if (store.step == 3 && units >= 2) {
        const int32_t pairs = units >> 1;
        WidenedBlocks state{bias, store.table, out0, out1, widened, widened + features_, pairs};
        if ((features_ & 15) == 0) {
          blocks_2x2_widened<true>(state, w, next);
        } else {
          blocks_2x2_widened<false>(state, w, next);
        }
        unit = 2 * pairs;
        w += 2 * next * static_cast<size_t>(pairs);
        bias += unit;
      }
    }
    for (; unit + 2 <= units; unit += 2, bias += 2) {
      BlockSums sums{bias[0], bias[1], bias[0], bias[1]};
      const int32_t* wide = widened;
      dot_2x2_widened_by_eight(wide, w, next, eights, sums);  // moves w to unit + 1
      w += next;
      store.template block<true>(out0, out1, unit, sums);
    }
    if (unit < units) {
      const BlockSums sums =
          dot_block<true, false>(in0, w, features_, {bias[0], 0, bias[0], 0}, nullptr);
      out0[unit] = store(sums.r0u0, unit);
      out1[unit] = store(sums.r1u0, unit);
    }
  }
#endif

  // One row, or two consecutive rows with kTwoRows, against every unit.
  template <bool kTwoRows>
  __attribute__((noinline)) void two_rows(const int8_t* in0, int8_t* out0,
                                          const int32_t* widened) const {
    const Output store = output_;
    const int32_t features = features_;
    const int32_t units = units_;
    const int8_t* const weights = weights_;
    const int32_t* const folded_bias = folded_bias_;
    int8_t* out1 = out0 + units;
    int32_t unit = 0;
#if TINYDEPLOY_HAS_DSP
    if constexpr (!kTwoRows) {
      // One row (FULLY_CONNECTED without a batch): four units share each widened input word.
      for (; unit + 4 <= units; unit += 4) {
        const UnitSums sums = dot_1x4(in0, weights + unit * features, features,
                                      {folded_bias[unit], folded_bias[unit + 1],
                                       folded_bias[unit + 2], folded_bias[unit + 3]});
        out0[unit] = store(sums.u0, unit);
        out0[unit + 1] = store(sums.u1, unit + 1);
        out0[unit + 2] = store(sums.u2, unit + 2);
        out0[unit + 3] = store(sums.u3, unit + 3);
      }
    }
#endif
    for (; unit + 2 <= units; unit += 2) {
      const int8_t* w0 = weights + unit * features;
      const int32_t b0 = folded_bias[unit];
      const int32_t b1 = folded_bias[unit + 1];
      const BlockSums sums =
          dot_block<kTwoRows, true>(in0, w0, features, {b0, b1, b0, b1}, widened);
      store.template block<kTwoRows>(out0, out1, unit, sums);
    }
    if (unit < units) {
      const int32_t b0 = folded_bias[unit];
      const BlockSums sums = dot_block<kTwoRows, false>(in0, weights + unit * features, features,
                                                        {b0, 0, b0, 0}, nullptr);
      out0[unit] = store(sums.r0u0, unit);
      if constexpr (kTwoRows) out1[unit] = store(sums.r1u0, unit);
    }
  }

  Output output_;
  int32_t features_;
  int32_t units_;
  const int8_t* weights_;
  const int32_t* folded_bias_;
};

// The four channels' outputs from `c` (a per-channel Requantizer), as one word; one test of
// the four shifts in the usual case of right shifts only.
__attribute__((always_inline)) inline void store_channels(int8_t* out, const Requantizer& store,
                                                          const FourSums& sums, int32_t c) {
  const int32_t* m = store.multiplier + c;
  const int32_t* s = store.shift + c;
  if ((s[0] & s[1] & s[2] & s[3]) < 0) {
    store_four(out, store.apply_right(sums.s0, m[0], s[0]), store.apply_right(sums.s1, m[1], s[1]),
               store.apply_right(sums.s2, m[2], s[2]), store.apply_right(sums.s3, m[3], s[3]));
  } else {
    store_four(out, store.apply(sums.s0, m[0], s[0]), store.apply(sums.s1, m[1], s[1]),
               store.apply(sums.s2, m[2], s[2]), store.apply(sums.s3, m[3], s[3]));
  }
}

inline void depthwise_tap(const int8_t* in, const int8_t* w, int32_t offset_pair, FourSums& sums) {
  const uint32_t x = load_word(in);
  const uint32_t v = load_word(w);
  const int32_t x_even = even_bytes_plus(offset_pair, x);
  const int32_t x_odd = odd_bytes_plus(offset_pair, x);
  const int32_t w_even = even_bytes(v);
  const int32_t w_odd = odd_bytes(v);
  sums.s0 = multiply_accumulate_low(x_even, w_even, sums.s0);
  sums.s2 = multiply_accumulate_high(x_even, w_even, sums.s2);
  sums.s1 = multiply_accumulate_low(x_odd, w_odd, sums.s1);
  sums.s3 = multiply_accumulate_high(x_odd, w_odd, sums.s3);
}

#if TINYDEPLOY_HAS_DSP
// One tap of four channels in assembly (what depthwise_tap does): the input word at `at_x` and
// the weight word at `at_w`, widened (the input with the offset added), multiplied per channel.
#define TINYDEPLOY_DEPTHWISE_TAP(at_x, at_w)      \
  "ldr %[x], " at_x                               \
  "\n\t"                                          \
  "ldr %[v], " at_w                               \
  "\n\t"                                          \
  "sxtab16 %[x_even], %[pair], %[x]\n\t"          \
  "sxtab16 %[x], %[pair], %[x], ror #8\n\t"       \
  "sxtb16 %[v_even], %[v]\n\t"                    \
  "sxtb16 %[v], %[v], ror #8\n\t"                 \
  "smlabb %[s0], %[x_even], %[v_even], %[s0]\n\t" \
  "smlatt %[s2], %[x_even], %[v_even], %[s2]\n\t" \
  "smlabb %[s1], %[x], %[v], %[s1]\n\t"           \
  "smlatt %[s3], %[x], %[v], %[s3]\n\t"
#define TINYDEPLOY_DEPTHWISE_ROW                                \
  TINYDEPLOY_DEPTHWISE_TAP("[%[in]]", "[%[w]]")                 \
  TINYDEPLOY_DEPTHWISE_TAP("[%[in], %[tap]]", "[%[w], %[tap]]") \
  TINYDEPLOY_DEPTHWISE_TAP("[%[in], %[tap], lsl #1]", "[%[w], %[tap], lsl #1]")
#define TINYDEPLOY_DEPTHWISE_NEXT_ROW \
  "ldr %[x], %[row]\n\t"              \
  "add %[in], %[in], %[x]\n\t"        \
  "add %[w], %[w], %[tap]\n\t"        \
  "add %[w], %[w], %[tap], lsl #1\n\t"
#endif

// A whole 3x3 window without dilation, every tap inside the input: the nine taps unrolled, so
// no loop state competes with the sums for registers.
inline void depthwise_3x3(const int8_t* in, const int8_t* w, size_t row_stride, size_t tap_stride,
                          int32_t offset_pair, FourSums& sums) {
#if TINYDEPLOY_HAS_DSP
  // In assembly: GCC keeps the tap addresses as induction variables of the channel loop, most
  // of them on the stack, and hoists the loads into more registers than the core has. Here
  // twelve registers suffice: the taps of a row at `in`, `in + tap_stride` and
  // `in + 2 * tap_stride` (a shifted register offset), the same for the weights; the row
  // stride is read from memory once per row.
  uint32_t x, x_even, v, v_even;
  __asm__(TINYDEPLOY_DEPTHWISE_ROW TINYDEPLOY_DEPTHWISE_NEXT_ROW TINYDEPLOY_DEPTHWISE_ROW
              TINYDEPLOY_DEPTHWISE_NEXT_ROW TINYDEPLOY_DEPTHWISE_ROW
          : [s0] "+r"(sums.s0), [s1] "+r"(sums.s1), [s2] "+r"(sums.s2), [s3] "+r"(sums.s3),
            [in] "+r"(in), [w] "+r"(w), [x] "=&r"(x), [x_even] "=&r"(x_even), [v] "=&r"(v),
            [v_even] "=&r"(v_even)
          : [pair] "r"(offset_pair), [tap] "r"(tap_stride), [row] "m"(row_stride)
          : "memory");
#else
  hide_from_optimizer(in);
  hide_from_optimizer(w);
  const size_t two_taps = 2 * tap_stride;
#pragma GCC unroll 3
  for (int ky = 0; ky < 3; ++ky) {
    depthwise_tap(in, w, offset_pair, sums);
    depthwise_tap(in + tap_stride, w + tap_stride, offset_pair, sums);
    depthwise_tap(in + two_taps, w + two_taps, offset_pair, sums);
    in += row_stride;
    w += 3 * tap_stride;
  }
#endif
}

// A 3x3 window without dilation at an edge of the input: kColumns adjacent taps per row
// unrolled, `rows` rows looped. `in` and `w` point at the first row's first tap inside the input.
template <int kColumns>
inline void depthwise_3x3_part(const int8_t* in, const int8_t* w, int32_t rows, size_t row_stride,
                               size_t tap_stride, int32_t offset_pair, FourSums& sums) {
#if TINYDEPLOY_HAS_DSP
  // As depthwise_3x3, with the rows counted down in memory: no fourteenth register is free.
  uint32_t x, x_even, v, v_even;
  if constexpr (kColumns == 3) {
    __asm__("1:\n\t" TINYDEPLOY_DEPTHWISE_ROW TINYDEPLOY_DEPTHWISE_NEXT_ROW
            "ldr %[x], %[rows]\n\t"
            "subs %[x], %[x], #1\n\t"
            "str %[x], %[rows]\n\t"
            "bne 1b\n\t"
            : [s0] "+r"(sums.s0), [s1] "+r"(sums.s1), [s2] "+r"(sums.s2), [s3] "+r"(sums.s3),
              [in] "+r"(in), [w] "+r"(w), [rows] "+m"(rows), [x] "=&r"(x), [x_even] "=&r"(x_even),
              [v] "=&r"(v), [v_even] "=&r"(v_even)
            : [pair] "r"(offset_pair), [tap] "r"(tap_stride), [row] "m"(row_stride)
            : "cc", "memory");
  } else {
    static_assert(kColumns == 2);
    __asm__("1:\n\t" TINYDEPLOY_DEPTHWISE_TAP("[%[in]]", "[%[w]]") TINYDEPLOY_DEPTHWISE_TAP(
                "[%[in], %[tap]]", "[%[w], %[tap]]") TINYDEPLOY_DEPTHWISE_NEXT_ROW
            "ldr %[x], %[rows]\n\t"
            "subs %[x], %[x], #1\n\t"
            "str %[x], %[rows]\n\t"
            "bne 1b\n\t"
            : [s0] "+r"(sums.s0), [s1] "+r"(sums.s1), [s2] "+r"(sums.s2), [s3] "+r"(sums.s3),
              [in] "+r"(in), [w] "+r"(w), [rows] "+m"(rows), [x] "=&r"(x), [x_even] "=&r"(x_even),
              [v] "=&r"(v), [v_even] "=&r"(v_even)
            : [pair] "r"(offset_pair), [tap] "r"(tap_stride), [row] "m"(row_stride)
            : "cc", "memory");
  }
#else
  for (int32_t row = 0; row < rows; ++row) {
#pragma GCC unroll 3
    for (int kx = 0; kx < kColumns; ++kx) {
      const size_t step = static_cast<size_t>(kx) * tap_stride;
      depthwise_tap(in + step, w + step, offset_pair, sums);
    }
    in += row_stride;
    w += 3 * tap_stride;
  }
#endif
}

// --- depthwise_conv_3x3_s8_dsp: weights packed ahead of time, output stage prepared ---------

// One tap of four channels with the weights packed: the weight word read at `w`, which then
// moves to the next tap.
inline void packed_tap(const int8_t* in, const int8_t*& w, int32_t offset_pair, FourSums& sums) {
  depthwise_tap(in, w, offset_pair, sums);
  w += 4;
}

#if TINYDEPLOY_HAS_DSP
// A row of taps (three, or two) of four channels, the weights read with post-increment.
#define TINYDEPLOY_PACKED_ROW3                              \
  TINYDEPLOY_DEPTHWISE_TAP("[%[in]]", "[%[w]], #4")         \
  TINYDEPLOY_DEPTHWISE_TAP("[%[in], %[tap]]", "[%[w]], #4") \
  TINYDEPLOY_DEPTHWISE_TAP("[%[in], %[tap], lsl #1]", "[%[w]], #4")
#define TINYDEPLOY_PACKED_ROW2                      \
  TINYDEPLOY_DEPTHWISE_TAP("[%[in]]", "[%[w]], #4") \
  TINYDEPLOY_DEPTHWISE_TAP("[%[in], %[tap]]", "[%[w]], #4")
#endif

// A whole window of four channels: `in` at its first tap, `w` at the group's nine packed
// weight words (tap by tap, row by row), so the weights need no address arithmetic.
__attribute__((always_inline)) inline void packed_3x3(const int8_t* in, const int8_t* w,
                                                      size_t row_stride, size_t tap_stride,
                                                      int32_t offset_pair, FourSums& sums) {
#if TINYDEPLOY_HAS_DSP
  // Twelve registers; the row stride is read from memory (with a thirteenth register GCC
  // finds no allocation at -O3).
  uint32_t x, x_even, v, v_even;
  __asm__(TINYDEPLOY_PACKED_ROW3
          "ldr %[x], %[row]\n\t"
          "add %[in], %[in], %[x]\n\t" TINYDEPLOY_PACKED_ROW3
          "ldr %[x], %[row]\n\t"
          "add %[in], %[in], %[x]\n\t" TINYDEPLOY_PACKED_ROW3
          : [s0] "+r"(sums.s0), [s1] "+r"(sums.s1), [s2] "+r"(sums.s2), [s3] "+r"(sums.s3),
            [in] "+r"(in), [w] "+r"(w), [x] "=&r"(x), [x_even] "=&r"(x_even), [v] "=&r"(v),
            [v_even] "=&r"(v_even)
          : [pair] "r"(offset_pair), [tap] "r"(tap_stride), [row] "m"(row_stride)
          : "memory");
#else
  for (int ky = 0; ky < 3; ++ky) {
    packed_tap(in, w, offset_pair, sums);
    packed_tap(in + tap_stride, w, offset_pair, sums);
    packed_tap(in + 2 * tap_stride, w, offset_pair, sums);
    in += row_stride;
  }
#endif
}

// One row of a window at an edge: kColumns (3 or 2) taps from `in`, the weights from `w` on,
// which moves past the row's three words.
template <int kColumns>
inline void packed_row(const int8_t* in, const int8_t*& w, size_t tap_stride, int32_t offset_pair,
                       FourSums& sums) {
#if TINYDEPLOY_HAS_DSP
  uint32_t x, x_even, v, v_even;
  if constexpr (kColumns == 3) {
    __asm__(
        TINYDEPLOY_PACKED_ROW3
        : [s0] "+r"(sums.s0), [s1] "+r"(sums.s1), [s2] "+r"(sums.s2), [s3] "+r"(sums.s3),
          [w] "+r"(w), [x] "=&r"(x), [x_even] "=&r"(x_even), [v] "=&r"(v), [v_even] "=&r"(v_even)
        : [in] "r"(in), [pair] "r"(offset_pair), [tap] "r"(tap_stride)
        : "memory");
  } else {
    static_assert(kColumns == 2);
    __asm__(
        TINYDEPLOY_PACKED_ROW2 "add %[w], %[w], #4\n\t"
        : [s0] "+r"(sums.s0), [s1] "+r"(sums.s1), [s2] "+r"(sums.s2), [s3] "+r"(sums.s3),
          [w] "+r"(w), [x] "=&r"(x), [x_even] "=&r"(x_even), [v] "=&r"(v), [v_even] "=&r"(v_even)
        : [in] "r"(in), [pair] "r"(offset_pair), [tap] "r"(tap_stride)
        : "memory");
  }
#else
  for (int kx = 0; kx < kColumns; ++kx) {
    packed_tap(in + static_cast<size_t>(kx) * tap_stride, w, offset_pair, sums);
  }
  w += 4 * (3 - kColumns);
#endif
}

#if TINYDEPLOY_HAS_DSP
#undef TINYDEPLOY_PACKED_ROW2
#undef TINYDEPLOY_PACKED_ROW3
#endif

// A group's nine weight words widened once per layer call (on the stack): per tap the even
// channels' pair (SXTB16) then the odd channels' pair, so each tap takes one LDRD of weights
// where it took a load and two SXTB16, for every pixel.
struct WidenedTaps {
  int32_t halves[18];
};

inline void widen_group_taps(const int8_t* packed_group, WidenedTaps& taps) {
  for (int32_t tap = 0; tap < 9; ++tap) {
    const uint32_t word = load_word(packed_group + 4 * tap);
    taps.halves[2 * tap] = even_bytes(word);
    taps.halves[2 * tap + 1] = odd_bytes(word);
  }
}

// One tap of four channels with widened weights at `w` (two words), which then moves on.
inline void widened_tap(const int8_t* in, const int32_t*& w, int32_t offset_pair, FourSums& sums) {
  const uint32_t x = load_word(in);
  const int32_t x_even = even_bytes_plus(offset_pair, x);
  const int32_t x_odd = odd_bytes_plus(offset_pair, x);
  sums.s0 = multiply_accumulate_low(x_even, w[0], sums.s0);
  sums.s2 = multiply_accumulate_high(x_even, w[0], sums.s2);
  sums.s1 = multiply_accumulate_low(x_odd, w[1], sums.s1);
  sums.s3 = multiply_accumulate_high(x_odd, w[1], sums.s3);
  w += 2;
}

#if TINYDEPLOY_HAS_DSP
#define TINYDEPLOY_WIDE_TAP(at_x)                 \
  "ldr %[x], " at_x                               \
  "\n\t"                                          \
  "ldrd %[v_even], %[v_odd], [%[w]], #8\n\t"      \
  "sxtab16 %[x_even], %[pair], %[x]\n\t"          \
  "sxtab16 %[x], %[pair], %[x], ror #8\n\t"       \
  "smlabb %[s0], %[x_even], %[v_even], %[s0]\n\t" \
  "smlatt %[s2], %[x_even], %[v_even], %[s2]\n\t" \
  "smlabb %[s1], %[x], %[v_odd], %[s1]\n\t"       \
  "smlatt %[s3], %[x], %[v_odd], %[s3]\n\t"
#define TINYDEPLOY_WIDE_ROW3     \
  TINYDEPLOY_WIDE_TAP("[%[in]]") \
  TINYDEPLOY_WIDE_TAP("[%[in], %[tap]]") TINYDEPLOY_WIDE_TAP("[%[in], %[tap], lsl #1]")
#endif

// A whole window of four channels with widened weights (`w` at the group's 18 words).
__attribute__((always_inline)) inline void widened_3x3(const int8_t* in, const int32_t* w,
                                                       size_t row_stride, size_t tap_stride,
                                                       int32_t offset_pair, FourSums& sums) {
#if TINYDEPLOY_HAS_DSP
  // Twelve registers, the row stride read from memory, as packed_3x3.
  uint32_t x, x_even, v_even, v_odd;
  __asm__(TINYDEPLOY_WIDE_ROW3
          "ldr %[x], %[row]\n\t"
          "add %[in], %[in], %[x]\n\t" TINYDEPLOY_WIDE_ROW3
          "ldr %[x], %[row]\n\t"
          "add %[in], %[in], %[x]\n\t" TINYDEPLOY_WIDE_ROW3
          : [s0] "+r"(sums.s0), [s1] "+r"(sums.s1), [s2] "+r"(sums.s2), [s3] "+r"(sums.s3),
            [in] "+r"(in), [w] "+r"(w), [x] "=&r"(x), [x_even] "=&r"(x_even),
            [v_even] "=&r"(v_even), [v_odd] "=&r"(v_odd)
          : [pair] "r"(offset_pair), [tap] "r"(tap_stride), [row] "m"(row_stride)
          : "memory");
#else
  for (int ky = 0; ky < 3; ++ky) {
    widened_tap(in, w, offset_pair, sums);
    widened_tap(in + tap_stride, w, offset_pair, sums);
    widened_tap(in + 2 * tap_stride, w, offset_pair, sums);
    in += row_stride;
  }
#endif
}

// One row of a window at an edge with widened weights: kColumns (3 or 2) taps from `in`, the
// weights from `w` on, which moves past the row's six words.
template <int kColumns>
inline void widened_row(const int8_t* in, const int32_t*& w, size_t tap_stride, int32_t offset_pair,
                        FourSums& sums) {
#if TINYDEPLOY_HAS_DSP
  uint32_t x, x_even, v_even, v_odd;
  if constexpr (kColumns == 3) {
    __asm__(TINYDEPLOY_WIDE_ROW3
            : [s0] "+r"(sums.s0), [s1] "+r"(sums.s1), [s2] "+r"(sums.s2), [s3] "+r"(sums.s3),
              [w] "+r"(w), [x] "=&r"(x), [x_even] "=&r"(x_even), [v_even] "=&r"(v_even),
              [v_odd] "=&r"(v_odd)
            : [in] "r"(in), [pair] "r"(offset_pair), [tap] "r"(tap_stride)
            : "memory");
  } else {
    static_assert(kColumns == 2);
    __asm__(TINYDEPLOY_WIDE_TAP("[%[in]]")
                TINYDEPLOY_WIDE_TAP("[%[in], %[tap]]") "add %[w], %[w], #8\n\t"
            : [s0] "+r"(sums.s0), [s1] "+r"(sums.s1), [s2] "+r"(sums.s2), [s3] "+r"(sums.s3),
              [w] "+r"(w), [x] "=&r"(x), [x_even] "=&r"(x_even), [v_even] "=&r"(v_even),
              [v_odd] "=&r"(v_odd)
            : [in] "r"(in), [pair] "r"(offset_pair), [tap] "r"(tap_stride)
            : "memory");
  }
#else
  for (int kx = 0; kx < kColumns; ++kx) {
    widened_tap(in + static_cast<size_t>(kx) * tap_stride, w, offset_pair, sums);
  }
  w += 2 * (3 - kColumns);
#endif
}

#if TINYDEPLOY_HAS_DSP
#undef TINYDEPLOY_WIDE_ROW3
#undef TINYDEPLOY_WIDE_TAP
#endif

#if TINYDEPLOY_HAS_DSP
// The first 8 * (features / 8) values of rows `row0` and `row1` widened to 16 bits for
// dot_2x2_widened_by_eight: per four values x0..x3 of a row, the words (x0, x2) and (x1, x3),
// row 0's pair then row 1's. Done once per pair of rows, read by every pair of units.
inline void widen_two_rows(const int8_t* row0, const int8_t* row1, int32_t features,
                           int32_t* wide) {
  for (int32_t groups = (features >> 3) * 2; groups > 0; --groups) {
    const uint32_t x0 = load_word(row0);
    const uint32_t x1 = load_word(row1);
    row0 += 4;
    row1 += 4;
    wide[0] = even_bytes(x0);
    wide[1] = odd_bytes(x0);
    wide[2] = even_bytes(x1);
    wide[3] = odd_bytes(x1);
    wide += 4;
  }
}
#endif

#if TINYDEPLOY_HAS_DSP
#undef TINYDEPLOY_DEPTHWISE_NEXT_ROW
#undef TINYDEPLOY_DEPTHWISE_ROW
#undef TINYDEPLOY_DEPTHWISE_TAP
#endif

}  // namespace

namespace {

// The staged kernels store through SSAT, the int8 range; a fused activation that clamps
// tighter (ReLU with another zero point, ReLU6) clamps the stored outputs once more, which
// gives the same bytes (the clamp's range lies within int8) and keeps one instantiation of
// each kernel's loops instead of two (about 6 KB of code less).
void clamp_outputs(const QuantizedActivation& activation, int8_t* output, size_t count) {
  if (activation.min <= -128 && activation.max >= 127) return;
  const auto low = static_cast<int8_t>(activation.min);
  const auto high = static_cast<int8_t>(activation.max);
  for (size_t i = 0; i < count; ++i) {
    const int8_t value = output[i];
    output[i] = value < low ? low : (value > high ? high : value);
  }
}

inline size_t elements(const Dims4& dims) {
  return static_cast<size_t>(dims.n) * static_cast<size_t>(dims.h) * static_cast<size_t>(dims.w) *
         static_cast<size_t>(dims.c);
}

// `bytes` bytes from `from` to `to` a word at a time (the M4 loads and stores unaligned
// words), then single bytes: windows' rows are a few bytes, where a library call costs more.
inline void copy_bytes(int8_t* to, const int8_t* from, size_t bytes) {
  for (; bytes >= 4; bytes -= 4, to += 4, from += 4) {
    const uint32_t word = load_word(from);
    memcpy(to, &word, sizeof word);
  }
  // The last 0-3 bytes as a halfword and a byte: no loop (GCC would make it a memcpy call).
  if ((bytes & 2u) != 0) {
    uint16_t half;
    memcpy(&half, from, sizeof half);
    memcpy(to, &half, sizeof half);
    to += 2;
    from += 2;
  }
  if ((bytes & 1u) != 0) *to = *from;
}

inline void fill_bytes(int8_t* to, uint32_t pad_word, size_t bytes) {
  for (; bytes >= 4; bytes -= 4, to += 4) memcpy(to, &pad_word, sizeof pad_word);
  if ((bytes & 2u) != 0) {
    const auto half = static_cast<uint16_t>(pad_word);
    memcpy(to, &half, sizeof half);
    to += 2;
  }
  if ((bytes & 1u) != 0) *to = static_cast<int8_t>(pad_word);
}

// gather_window (im2col.h) for this kernel's loop: the image's address and the window's
// origin computed by the caller, rows copied a word at a time, padding filled a word at a
// time. `pad_word` holds the pad byte four times.
__attribute__((noinline)) void gather_patch(const ConvGeometry& g, const Dims4& in,
                                            const Dims4& filter, const int8_t* image, int32_t y0,
                                            int32_t x0, uint32_t pad_word, int8_t* patch) {
  const size_t channels = static_cast<size_t>(in.c);
  const size_t row_bytes = static_cast<size_t>(filter.w) * channels;
  const size_t line_bytes = static_cast<size_t>(in.w) * channels;
  const bool contiguous = g.dilation_w == 1 && x0 >= 0 && x0 + filter.w <= in.w;
  const int32_t y_last = y0 + (filter.h - 1) * g.dilation_h;
  if (contiguous && y0 >= 0 && y_last < in.h) {
    // The whole window inside the input (most windows): each row as whole words, up to 3
    // bytes past its end. Those land in the next row's place (written next), in the patch's
    // zero-weight padding, or in the next patch or the widened pair (written after); the
    // input is read past a row only where the image has 3 more bytes (else the last row takes
    // the exact copy).
    const size_t words = (row_bytes + 3) / 4;
    const int8_t* from =
        image + static_cast<size_t>(y0) * line_bytes + static_cast<size_t>(x0) * channels;
    const size_t row_step = static_cast<size_t>(g.dilation_h) * line_bytes;
    const size_t after_last_row = (static_cast<size_t>(in.h - y_last) * line_bytes) -
                                  static_cast<size_t>(x0) * channels - row_bytes;
    const bool last_row_exact = after_last_row < 3;
    for (int32_t ky = 0; ky < filter.h; ++ky, patch += row_bytes, from += row_step) {
      if (last_row_exact && ky == filter.h - 1) {
        copy_bytes(patch, from, row_bytes);
        break;
      }
      for (size_t i = 0; i < words; ++i) {
        const uint32_t word = load_word(from + 4 * i);
        memcpy(patch + 4 * i, &word, sizeof word);
      }
    }
    return;
  }
  for (int32_t ky = 0; ky < filter.h; ++ky, patch += row_bytes) {
    const int32_t y = y0 + ky * g.dilation_h;
    if (y < 0 || y >= in.h) {
      fill_bytes(patch, pad_word, row_bytes);
      continue;
    }
    const int8_t* line = image + static_cast<size_t>(y) * line_bytes;
    if (contiguous) {
      copy_bytes(patch, line + static_cast<size_t>(x0) * channels, row_bytes);
      continue;
    }
    if (g.dilation_w == 1) {
      // A row across an edge: the columns before the input, those inside (one run), those after.
      const int32_t before = x0 < 0 ? (-x0 < filter.w ? -x0 : filter.w) : 0;
      const int32_t end = in.w - x0 < filter.w ? in.w - x0 : filter.w;  // columns up to the edge
      const int32_t inside = end > before ? end - before : 0;
      fill_bytes(patch, pad_word, static_cast<size_t>(before) * channels);
      if (inside > 0) {
        copy_bytes(patch + static_cast<size_t>(before) * channels,
                   line + static_cast<size_t>(x0 + before) * channels,
                   static_cast<size_t>(inside) * channels);
      }
      const int32_t after = filter.w - before - inside;
      fill_bytes(patch + static_cast<size_t>(before + inside) * channels, pad_word,
                 static_cast<size_t>(after) * channels);
      continue;
    }
    for (int32_t kx = 0; kx < filter.w; ++kx) {
      const int32_t x = x0 + kx * g.dilation_w;
      int8_t* to = patch + static_cast<size_t>(kx) * channels;
      if (x < 0 || x >= in.w) {
        fill_bytes(to, pad_word, channels);
      } else {
        copy_bytes(to, line + static_cast<size_t>(x) * channels, channels);
      }
    }
  }
}

// conv_s8_dsp's body with the output stage `store`. `stride` is the weights' row length (and
// the patches' in scratch): the window's size, or that rounded up with zero weights, whose
// patch bytes are kept 0.
template <typename Output>
void conv_im2col(const ConvGeometry& geometry, const QuantizedActivation& activation,
                 const Output& store, const Dims4& input_dims, const int8_t* input,
                 const Dims4& filter_dims, const int8_t* filter, int32_t stride,
                 const int32_t* folded_bias, const Dims4& output_dims, int8_t* output,
                 int8_t* scratch) {
  const int32_t window = filter_dims.h * filter_dims.w * filter_dims.c;
  const int32_t patch = stride;
  const MatrixProduct<Output> product(store, patch, output_dims.c, filter, folded_bias);
  // x + input_offset == 0 at a padded position, as the portable kernel's skipped terms.
  const auto pad = static_cast<int8_t>(-activation.input_offset);
  if (patch > window) {
    memset(scratch + window, 0, static_cast<size_t>(patch - window));
    memset(scratch + patch + window, 0, static_cast<size_t>(patch - window));
  }
#if TINYDEPLOY_HAS_DSP
  // After the two patches, word-aligned (LDRD needs it): the pair widened to 16 bits.
  const uintptr_t after_patches = reinterpret_cast<uintptr_t>(scratch + 2 * patch);
  auto* const wide = reinterpret_cast<int32_t*>((after_patches + 3u) & ~uintptr_t{3});
#endif
  int8_t* out = output;
  int32_t pending = 0;  // patches gathered in scratch, not yet multiplied
  const ConvGeometry g = geometry;
  const Dims4 in = input_dims;
  const Dims4 window_dims = filter_dims;
  const uint32_t pad_word = static_cast<uint32_t>(static_cast<uint8_t>(pad)) * 0x01010101u;
  const size_t image_bytes =
      static_cast<size_t>(in.h) * static_cast<size_t>(in.w) * static_cast<size_t>(in.c);
  for (int32_t n = 0; n < output_dims.n; ++n) {
    const int8_t* image = input + static_cast<size_t>(n) * image_bytes;
    for (int32_t y = 0; y < output_dims.h; ++y) {
      const int32_t y0 = y * g.stride_h - g.pad_top;
      for (int32_t x = 0; x < output_dims.w; ++x) {
        gather_patch(g, in, window_dims, image, y0, x * g.stride_w - g.pad_left, pad_word,
                     scratch + pending * patch);
        if (++pending == 2) {
#if TINYDEPLOY_HAS_DSP
          widen_two_rows(scratch, scratch + patch, patch, wide);
          product.run(2, scratch, out, wide);
#else
          product.run(2, scratch, out);
#endif
          out += 2 * output_dims.c;
          pending = 0;
        }
      }
    }
  }
  if (pending != 0) product.run(1, scratch, out);
}

// conv_1x1_s8_dsp's body with the output stage `store`.
template <typename Output>
void conv_1x1(const Output& store, const Dims4& input_dims, const int8_t* input,
              const Dims4& filter_dims, const int8_t* filter, const int32_t* folded_bias,
              const Dims4& output_dims, int8_t* output, int8_t* scratch) {
  // Every pixel is a row of input channels; the filter is a [out_c, in_c] matrix.
  const int32_t features = filter_dims.c;
  const int32_t units = output_dims.c;
  const int32_t rows = input_dims.n * input_dims.h * input_dims.w;
  const MatrixProduct<Output> product(store, features, units, filter, folded_bias);
#if TINYDEPLOY_HAS_DSP
  const uintptr_t start = reinterpret_cast<uintptr_t>(scratch);
  auto* const wide = reinterpret_cast<int32_t*>((start + 3u) & ~uintptr_t{3});  // for LDRD
  int32_t row = 0;
  for (; row + 2 <= rows; row += 2) {
    const int8_t* pair = input + static_cast<size_t>(row) * static_cast<size_t>(features);
    widen_two_rows(pair, pair + features, features, wide);
    product.run(2, pair, output + static_cast<size_t>(row) * static_cast<size_t>(units), wide);
  }
  if (row < rows) {
    product.run(1, input + static_cast<size_t>(row) * static_cast<size_t>(features),
                output + static_cast<size_t>(row) * static_cast<size_t>(units));
  }
#else
  static_cast<void>(scratch);
  product.run(rows, input, output);
#endif
}

}  // namespace

void conv_s8_dsp(const ConvGeometry& geometry, const QuantizedActivation& activation,
                 const PerChannelScale& scale, const Dims4& input_dims, const int8_t* input,
                 const Dims4& filter_dims, const int8_t* filter, const int32_t* folded_bias,
                 const Dims4& output_dims, int8_t* output, int8_t* scratch) {
  conv_im2col(geometry, activation, Requantizer(activation, scale, true), input_dims, input,
              filter_dims, filter, filter_dims.h * filter_dims.w * filter_dims.c, folded_bias,
              output_dims, output, scratch);
}

void conv_s8_dsp_staged(const ConvGeometry& geometry, const QuantizedActivation& activation,
                        const int32_t* output_stage, const Dims4& input_dims, const int8_t* input,
                        const Dims4& filter_dims, const int8_t* padded_filter,
                        const int32_t* folded_bias, const Dims4& output_dims, int8_t* output,
                        int8_t* scratch) {
  const int32_t stride = conv_s8_dsp_staged_row(filter_dims);
  conv_im2col(geometry, activation, PreparedOutput<true>{output_stage, -128, 127}, input_dims,
              input, filter_dims, padded_filter, stride, folded_bias, output_dims, output, scratch);
  clamp_outputs(activation, output, elements(output_dims));
}

void depthwise_conv_s8_dsp(const ConvGeometry& geometry, const QuantizedActivation& activation,
                           const PerChannelScale& scale, const Dims4& input_dims,
                           const int8_t* input, const Dims4& filter_dims, const int8_t* weights,
                           const int32_t* bias, const Dims4& output_dims, int8_t* output) {
  // Local copies: int8 stores may alias any object, so fields read through the references
  // would be loaded again after every output.
  const ConvGeometry g = geometry;
  const Dims4 in = input_dims;
  const Dims4 filter = filter_dims;
  const Dims4 out_shape = output_dims;
  const int32_t channels = in.c;
  const int32_t offset = activation.input_offset;
  // The input offset in both 16-bit halves: x + offset lies in [-255, 255] for every int8 x and
  // valid zero point, so the halfword additions never wrap.
  const int32_t offset_pair =
      static_cast<int32_t>((static_cast<uint32_t>(offset) & 0xFFFFu) * 0x10001u);
  const Requantizer store(activation, scale, true);
  const size_t row_stride = static_cast<size_t>(in.w) * static_cast<size_t>(channels);
  const size_t tap_stride = static_cast<size_t>(channels);
  int8_t* out = output;
  for (int32_t n = 0; n < out_shape.n; ++n) {
    const int8_t* image = input + static_cast<size_t>(n) * static_cast<size_t>(in.h) * row_stride;
    for (int32_t oy = 0; oy < out_shape.h; ++oy) {
      const int32_t y0 = oy * g.stride_h - g.pad_top;
      // The filter rows that land inside the input, found once per output row.
      int32_t ky_begin = 0;
      while (ky_begin < filter.h && y0 + ky_begin * g.dilation_h < 0) ++ky_begin;
      int32_t ky_end = filter.h;
      while (ky_end > ky_begin && y0 + (ky_end - 1) * g.dilation_h >= in.h) {
        --ky_end;
      }
      for (int32_t ox = 0; ox < out_shape.w; ++ox) {
        const int32_t x0 = ox * g.stride_w - g.pad_left;
        int32_t kx_begin = 0;
        while (kx_begin < filter.w && x0 + kx_begin * g.dilation_w < 0) ++kx_begin;
        int32_t kx_end = filter.w;
        while (kx_end > kx_begin && x0 + (kx_end - 1) * g.dilation_w >= in.w) {
          --kx_end;
        }
        int32_t c = 0;
        const bool whole_3x3 = filter.h == 3 && filter.w == 3 && g.dilation_h == 1 &&
                               g.dilation_w == 1 && ky_begin == 0 && ky_end == 3 && kx_begin == 0 &&
                               kx_end == 3;
        if (whole_3x3) {
          const int8_t* window =
              image + static_cast<size_t>(y0) * row_stride + static_cast<size_t>(x0) * tap_stride;
          for (; c + 4 <= channels; c += 4) {
            FourSums sums{0, 0, 0, 0};
            if (bias != nullptr) sums = {bias[c], bias[c + 1], bias[c + 2], bias[c + 3]};
            depthwise_3x3(window + c, weights + c, row_stride, tap_stride, offset_pair, sums);
            store_channels(out + c, store, sums, c);
          }
        } else if (filter.h == 3 && filter.w == 3 && g.dilation_h == 1 && g.dilation_w == 1 &&
                   ky_end > ky_begin && kx_end - kx_begin >= 2) {
          // The window at an edge: two or three of its columns inside the input, some rows.
          const int32_t rows = ky_end - ky_begin;
          const size_t first_tap = static_cast<size_t>(y0 + ky_begin) * row_stride +
                                   static_cast<size_t>(x0 + kx_begin) * tap_stride;
          const int8_t* window = image + first_tap;
          const int8_t* w_first =
              weights + static_cast<size_t>(3 * ky_begin + kx_begin) * tap_stride;
          for (; c + 4 <= channels; c += 4) {
            FourSums sums{0, 0, 0, 0};
            if (bias != nullptr) sums = {bias[c], bias[c + 1], bias[c + 2], bias[c + 3]};
            if (kx_end - kx_begin == 3) {
              depthwise_3x3_part<3>(window + c, w_first + c, rows, row_stride, tap_stride,
                                    offset_pair, sums);
            } else {
              depthwise_3x3_part<2>(window + c, w_first + c, rows, row_stride, tap_stride,
                                    offset_pair, sums);
            }
            store_channels(out + c, store, sums, c);
          }
        }
        // Four channels per pass: one word of input and one of weights per tap, split into
        // even and odd channels, each half multiplied on its own.
        for (; c + 4 <= channels; c += 4) {
          int32_t sum0 = bias != nullptr ? bias[c] : 0;
          int32_t sum1 = bias != nullptr ? bias[c + 1] : 0;
          int32_t sum2 = bias != nullptr ? bias[c + 2] : 0;
          int32_t sum3 = bias != nullptr ? bias[c + 3] : 0;
          for (int32_t ky = ky_begin; ky < ky_end; ++ky) {
            const int8_t* in_row = image +
                                   static_cast<size_t>(y0 + ky * g.dilation_h) * row_stride +
                                   static_cast<size_t>(c);
            const int8_t* w_row =
                weights + static_cast<size_t>(ky * filter.w) * tap_stride + static_cast<size_t>(c);
            for (int32_t kx = kx_begin; kx < kx_end; ++kx) {
              const uint32_t x =
                  load_word(in_row + static_cast<size_t>(x0 + kx * g.dilation_w) * tap_stride);
              const uint32_t w = load_word(w_row + static_cast<size_t>(kx) * tap_stride);
              const int32_t x_even = even_bytes_plus(offset_pair, x);
              const int32_t x_odd = odd_bytes_plus(offset_pair, x);
              const int32_t w_even = even_bytes(w);
              const int32_t w_odd = odd_bytes(w);
              sum0 = multiply_accumulate_low(x_even, w_even, sum0);
              sum2 = multiply_accumulate_high(x_even, w_even, sum2);
              sum1 = multiply_accumulate_low(x_odd, w_odd, sum1);
              sum3 = multiply_accumulate_high(x_odd, w_odd, sum3);
            }
          }
          store_four(out + c, store(sum0, c), store(sum1, c + 1), store(sum2, c + 2),
                     store(sum3, c + 3));
        }
        for (; c < channels; ++c) {
          int32_t sum = bias != nullptr ? bias[c] : 0;
          for (int32_t ky = ky_begin; ky < ky_end; ++ky) {
            const int8_t* in_row = image +
                                   static_cast<size_t>(y0 + ky * g.dilation_h) * row_stride +
                                   static_cast<size_t>(c);
            const int8_t* w_row =
                weights + static_cast<size_t>(ky * filter.w) * tap_stride + static_cast<size_t>(c);
            for (int32_t kx = kx_begin; kx < kx_end; ++kx) {
              const int32_t x = in_row[static_cast<size_t>(x0 + kx * g.dilation_w) * tap_stride];
              sum = wrapping_add(sum, (x + offset) * w_row[static_cast<size_t>(kx) * tap_stride]);
            }
          }
          out[c] = store(sum, c);
        }
        out += channels;
      }
    }
  }
}

namespace {

// One of the last channels % 4 channels over `rows` x `columns` taps inside the input: `in` at
// its first tap, `w` at that tap's weight (taps `tail` bytes apart in the packed weights).
inline int32_t tail_sum(const int8_t* in, const int8_t* w, int32_t tail, int32_t rows,
                        int32_t columns, size_t row_stride, size_t tap_stride, int32_t offset,
                        int32_t sum) {
  for (int32_t row = 0; row < rows; ++row, in += row_stride, w += 3 * tail) {
    for (int32_t column = 0; column < columns; ++column) {
      const int32_t x = in[static_cast<size_t>(column) * tap_stride];
      sum = wrapping_add(sum, (x + offset) * w[column * tail]);
    }
  }
  return sum;
}

// The body of depthwise_conv_3x3_s8_dsp for one kind of output clamp. Group by group (four
// channels), its weights widened once on the stack, then every pixel: whole windows two at a
// time where they lie side by side, the windows at the input's edges row by row over the taps
// inside; the last channels % 4 channels after, one at a time.
template <bool kInt8Range>
void depthwise_3x3_by_group(const ConvGeometry& geometry, const QuantizedActivation& activation,
                            const Dims4& input_dims, const int8_t* input,
                            const int8_t* packed_weights, const int32_t* bias,
                            const int32_t* output_scale, const Dims4& output_dims, int8_t* output) {
  // Local copies: int8 stores may alias any object, so fields read through the references
  // would be loaded again after every output.
  const ConvGeometry g = geometry;
  const Dims4 in = input_dims;
  const Dims4 out_shape = output_dims;
  const int32_t channels = in.c;
  const int32_t groups = channels >> 2;
  const int32_t tail = channels & 3;
  const int8_t* const tail_weights = packed_weights + 36 * groups;
  const int32_t offset = activation.input_offset;
  // The input offset in both 16-bit halves: x + offset lies in [-255, 255] for every int8 x and
  // valid zero point, so the halfword additions never wrap.
  const int32_t offset_pair =
      static_cast<int32_t>((static_cast<uint32_t>(offset) & 0xFFFFu) * 0x10001u);
  const PreparedOutput<kInt8Range> store{output_scale, activation.min, activation.max};
  const size_t row_stride = static_cast<size_t>(in.w) * static_cast<size_t>(channels);
  const size_t tap_stride = static_cast<size_t>(channels);
  const size_t image_bytes = static_cast<size_t>(in.h) * row_stride;
  const size_t pixel_step = static_cast<size_t>(g.stride_w) * tap_stride;
  // The output columns whose windows lie wholly inside the input's width: [whole_begin,
  // whole_end).
  int32_t whole_begin = (g.pad_left + g.stride_w - 1) / g.stride_w;
  int32_t whole_end = in.w - 3 + g.pad_left >= 0 ? (in.w - 3 + g.pad_left) / g.stride_w + 1 : 0;
  if (whole_end > out_shape.w) whole_end = out_shape.w;
  if (whole_begin > whole_end) whole_begin = whole_end;
  for (int32_t group = 0; group < groups; ++group) {
    const int32_t c = 4 * group;
    WidenedTaps taps;
    widen_group_taps(packed_weights + 36 * group, taps);
    FourSums start{0, 0, 0, 0};
    if (bias != nullptr) start = {bias[c], bias[c + 1], bias[c + 2], bias[c + 3]};
    int8_t* out = output + c;
    for (int32_t n = 0; n < out_shape.n; ++n) {
      const int8_t* image = input + static_cast<size_t>(n) * image_bytes + c;
      for (int32_t oy = 0; oy < out_shape.h; ++oy) {
        const int32_t y0 = oy * g.stride_h - g.pad_top;
        const int32_t ky_begin = y0 < 0 ? -y0 : 0;
        const int32_t ky_end = in.h - y0 < 3 ? in.h - y0 : 3;
        const int32_t rows = ky_end - ky_begin;
        // An edge pixel: the taps inside the input, row by row.
        auto edge = [&](int32_t ox, int8_t* to) {
          const int32_t x0 = ox * g.stride_w - g.pad_left;
          const int32_t kx_begin = x0 < 0 ? -x0 : 0;
          const int32_t kx_end = in.w - x0 < 3 ? in.w - x0 : 3;
          const int32_t columns = kx_end - kx_begin;
          FourSums sums = start;
          if (rows > 0 && columns > 0) {
            const int8_t* at = image + static_cast<size_t>(y0 + ky_begin) * row_stride +
                               static_cast<size_t>(x0 + kx_begin) * tap_stride;
            const int32_t* w = taps.halves + 2 * (3 * ky_begin + kx_begin);
            for (int32_t row = 0; row < rows; ++row, at += row_stride) {
              if (columns == 3) {
                widened_row<3>(at, w, tap_stride, offset_pair, sums);
              } else if (columns == 2) {
                widened_row<2>(at, w, tap_stride, offset_pair, sums);
              } else {
                const int32_t* tap_weights = w;
                widened_tap(at, tap_weights, offset_pair, sums);
                w += 6;
              }
            }
          }
          store.four(to, sums, c);
        };
        int32_t ox = 0;
        if (rows == 3) {
          for (; ox < whole_begin; ++ox, out += channels) edge(ox, out);
          const int8_t* window = image + static_cast<size_t>(y0) * row_stride +
                                 static_cast<size_t>(ox * g.stride_w - g.pad_left) * tap_stride;
          // Two whole windows side by side: the output constants serve both pixels.
          for (; ox + 2 <= whole_end; ox += 2, out += 2 * channels, window += 2 * pixel_step) {
            FourSums sums = start;
            FourSums next = start;
            widened_3x3(window, taps.halves, row_stride, tap_stride, offset_pair, sums);
            widened_3x3(window + pixel_step, taps.halves, row_stride, tap_stride, offset_pair,
                        next);
            store.two_fours(out, out + channels, sums, next, c);
          }
          if (ox < whole_end) {
            FourSums sums = start;
            widened_3x3(window, taps.halves, row_stride, tap_stride, offset_pair, sums);
            store.four(out, sums, c);
            ++ox;
            out += channels;
          }
        }
        for (; ox < out_shape.w; ++ox, out += channels) edge(ox, out);
      }
    }
  }
  if (tail == 0) return;
  // The last channels one at a time, their weights after the groups' (tap by tap).
  int8_t* out = output;
  for (int32_t n = 0; n < out_shape.n; ++n) {
    const int8_t* image = input + static_cast<size_t>(n) * image_bytes;
    for (int32_t oy = 0; oy < out_shape.h; ++oy) {
      const int32_t y0 = oy * g.stride_h - g.pad_top;
      const int32_t ky_begin = y0 < 0 ? -y0 : 0;
      const int32_t ky_end = in.h - y0 < 3 ? in.h - y0 : 3;
      const int32_t rows = ky_end - ky_begin;
      for (int32_t ox = 0; ox < out_shape.w; ++ox, out += channels) {
        const int32_t x0 = ox * g.stride_w - g.pad_left;
        const int32_t kx_begin = x0 < 0 ? -x0 : 0;
        const int32_t kx_end = in.w - x0 < 3 ? in.w - x0 : 3;
        const int32_t columns = kx_end - kx_begin;
        for (int32_t j = 0; j < tail; ++j) {
          const int32_t c = 4 * groups + j;
          int32_t sum = bias != nullptr ? bias[c] : 0;
          if (rows > 0 && columns > 0) {
            const int8_t* window = image + static_cast<size_t>(y0 + ky_begin) * row_stride +
                                   static_cast<size_t>(x0 + kx_begin) * tap_stride;
            sum = tail_sum(window + c, tail_weights + (3 * ky_begin + kx_begin) * tail + j, tail,
                           rows, columns, row_stride, tap_stride, offset, sum);
          }
          out[c] = store(sum, c);
        }
      }
    }
  }
}

// depthwise_3x3_by_group's work pixel by pixel, every group of a pixel before the next pixel,
// the weights read packed: for narrow outputs (kws's 5 columns), where most windows are at an
// edge and the per-row set-up of the group loop would be repeated for every group.
template <bool kInt8Range>
void depthwise_3x3_by_pixel(const ConvGeometry& geometry, const QuantizedActivation& activation,
                            const Dims4& input_dims, const int8_t* input,
                            const int8_t* packed_weights, const int32_t* bias,
                            const int32_t* output_scale, const Dims4& output_dims, int8_t* output) {
  // Local copies: int8 stores may alias any object, so fields read through the references
  // would be loaded again after every output.
  const ConvGeometry g = geometry;
  const Dims4 in = input_dims;
  const Dims4 out_shape = output_dims;
  const int32_t channels = in.c;
  const int32_t groups = channels >> 2;
  const int32_t tail = channels & 3;
  const int8_t* const tail_weights = packed_weights + 36 * groups;
  const int32_t offset = activation.input_offset;
  // The input offset in both 16-bit halves: x + offset lies in [-255, 255] for every int8 x and
  // valid zero point, so the halfword additions never wrap.
  const int32_t offset_pair =
      static_cast<int32_t>((static_cast<uint32_t>(offset) & 0xFFFFu) * 0x10001u);
  const PreparedOutput<kInt8Range> store{output_scale, activation.min, activation.max};
  const size_t row_stride = static_cast<size_t>(in.w) * static_cast<size_t>(channels);
  const size_t tap_stride = static_cast<size_t>(channels);
  int8_t* out = output;
  for (int32_t n = 0; n < out_shape.n; ++n) {
    const int8_t* image = input + static_cast<size_t>(n) * static_cast<size_t>(in.h) * row_stride;
    for (int32_t oy = 0; oy < out_shape.h; ++oy) {
      const int32_t y0 = oy * g.stride_h - g.pad_top;
      // The filter rows inside the input.
      const int32_t ky_begin = y0 < 0 ? -y0 : 0;
      const int32_t ky_end = in.h - y0 < 3 ? in.h - y0 : 3;
      const int32_t rows = ky_end - ky_begin;
      for (int32_t ox = 0; ox < out_shape.w; ++ox, out += channels) {
        const int32_t x0 = ox * g.stride_w - g.pad_left;
        const int32_t kx_begin = x0 < 0 ? -x0 : 0;
        const int32_t kx_end = in.w - x0 < 3 ? in.w - x0 : 3;
        const int32_t columns = kx_end - kx_begin;
        if (rows <= 0 || columns <= 0) {
          // The whole window in the padding: the bias alone, as the portable kernel computes.
          for (int32_t c = 0; c < channels; ++c) out[c] = store(bias != nullptr ? bias[c] : 0, c);
          continue;
        }
        // The window's first tap inside the input and its weight word.
        const int8_t* window = image + static_cast<size_t>(y0 + ky_begin) * row_stride +
                               static_cast<size_t>(x0 + kx_begin) * tap_stride;
        const int32_t first_tap = 3 * ky_begin + kx_begin;
        const bool whole = rows == 3 && columns == 3;
        if (whole && ox + 1 < out_shape.w && x0 + g.stride_w + 3 <= in.w) {
          // Two whole windows side by side: each group's bias, output constants and loop work
          // serve both pixels.
          const int8_t* next_window = window + static_cast<size_t>(g.stride_w) * tap_stride;
          int8_t* next_out = out + channels;
          for (int32_t group = 0; group < groups; ++group) {
            const int32_t c = 4 * group;
            FourSums sums{0, 0, 0, 0};
            if (bias != nullptr) sums = {bias[c], bias[c + 1], bias[c + 2], bias[c + 3]};
            FourSums next = sums;
            const int8_t* w = packed_weights + 36 * group;
            packed_3x3(window + c, w, row_stride, tap_stride, offset_pair, sums);
            packed_3x3(next_window + c, w, row_stride, tap_stride, offset_pair, next);
            store.two_fours(out + c, next_out + c, sums, next, c);
          }
          for (int32_t j = 0; j < tail; ++j) {
            const int32_t c = 4 * groups + j;
            out[c] = store(tail_sum(window + c, tail_weights + j, tail, 3, 3, row_stride,
                                    tap_stride, offset, bias != nullptr ? bias[c] : 0),
                           c);
            next_out[c] = store(tail_sum(next_window + c, tail_weights + j, tail, 3, 3, row_stride,
                                         tap_stride, offset, bias != nullptr ? bias[c] : 0),
                                c);
          }
          ++ox;
          out += channels;
          continue;
        }
        for (int32_t group = 0; group < groups; ++group) {
          const int32_t c = 4 * group;
          FourSums sums{0, 0, 0, 0};
          if (bias != nullptr) sums = {bias[c], bias[c + 1], bias[c + 2], bias[c + 3]};
          const int8_t* w = packed_weights + 36 * group;
          if (whole) {
            packed_3x3(window + c, w, row_stride, tap_stride, offset_pair, sums);
          } else {
            w += 4 * first_tap;
            const int8_t* at = window + c;
            for (int32_t row = 0; row < rows; ++row, at += row_stride) {
              if (columns == 3) {
                packed_row<3>(at, w, tap_stride, offset_pair, sums);
              } else if (columns == 2) {
                packed_row<2>(at, w, tap_stride, offset_pair, sums);
              } else {
                const int8_t* tap_weights = w;
                packed_tap(at, tap_weights, offset_pair, sums);
                w += 12;
              }
            }
          }
          store.four(out + c, sums, c);
        }
        // The last channels one at a time, their weights after the groups' (tap by tap).
        for (int32_t j = 0; j < tail; ++j) {
          const int32_t c = 4 * groups + j;
          out[c] =
              store(tail_sum(window + c, tail_weights + first_tap * tail + j, tail, rows, columns,
                             row_stride, tap_stride, offset, bias != nullptr ? bias[c] : 0),
                    c);
        }
      }
    }
  }
}

// The output columns from which the group-by-group loop pays: below, its per-row set-up,
// repeated for every group, costs more than widening the weights saves (measured on QEMU: kws's
// 25x5x64 takes 5% more instructions by group, vww's 48x48x8 20% fewer).
constexpr int32_t kDepthwiseByGroupMinWidth = 8;

template <bool kInt8Range>
void depthwise_3x3_packed(const ConvGeometry& geometry, const QuantizedActivation& activation,
                          const Dims4& input_dims, const int8_t* input,
                          const int8_t* packed_weights, const int32_t* bias,
                          const int32_t* output_scale, const Dims4& output_dims, int8_t* output) {
  if (output_dims.w >= kDepthwiseByGroupMinWidth) {
    depthwise_3x3_by_group<kInt8Range>(geometry, activation, input_dims, input, packed_weights,
                                       bias, output_scale, output_dims, output);
  } else {
    depthwise_3x3_by_pixel<kInt8Range>(geometry, activation, input_dims, input, packed_weights,
                                       bias, output_scale, output_dims, output);
  }
}

}  // namespace

void depthwise_conv_3x3_s8_dsp(const ConvGeometry& geometry, const QuantizedActivation& activation,
                               const Dims4& input_dims, const int8_t* input,
                               const int8_t* packed_weights, const int32_t* bias,
                               const int32_t* output_scale, const Dims4& output_dims,
                               int8_t* output) {
  depthwise_3x3_packed<true>(geometry, activation, input_dims, input, packed_weights, bias,
                             output_scale, output_dims, output);
  clamp_outputs(activation, output, elements(output_dims));
}

void fully_connected_s8_dsp(const QuantizedActivation& activation, const PerChannelScale& scale,
                            bool per_channel, const FullyConnectedShape& shape, const int8_t* input,
                            const int8_t* weights, const int32_t* folded_bias, int8_t* output) {
  MatrixProduct<Requantizer>(Requantizer(activation, scale, per_channel), shape.features,
                             shape.units, weights, folded_bias)
      .run(shape.rows, input, output);
}

void fully_connected_s8_dsp_staged(const QuantizedActivation& activation,
                                   const int32_t* output_stage, bool per_channel,
                                   const FullyConnectedShape& shape, const int8_t* input,
                                   const int8_t* weights, const int32_t* folded_bias,
                                   int8_t* output) {
  const int32_t step = per_channel ? 3 : 0;
  MatrixProduct<PreparedOutput<true>>({output_stage, -128, 127, step}, shape.features, shape.units,
                                      weights, folded_bias)
      .run(shape.rows, input, output);
  clamp_outputs(activation, output,
                static_cast<size_t>(shape.rows) * static_cast<size_t>(shape.units));
}

namespace {

// sums[0..3] += the dot products of the widened row (`words` words of four features, 8 bytes
// each) with four units' packed weights (16 bytes per word). The sums wrap as SMLAD's do.
#if TINYDEPLOY_HAS_DSP
// One assembly function (naked: every register r0-r12 and lr is its own): r0 the widened row,
// r1 the weights, r2 the word count (> 0), r3 the four sums; accumulators r3, r11, r12, lr;
// weights r4-r7; the input pair r8, r9; r10 the unpacked halves. Eight words per iteration, then
// one by one.
__attribute__((naked, noinline)) void ldm4_dot(const int16_t* /*row*/, const int8_t* /*weights*/,
                                               int32_t /*words*/, int32_t* /*sums*/) {
  __asm__ volatile(
      "push {r3-r11, lr}\n\t"
      "ldm r3, {r3, r11, r12, lr}\n\t"
#define TINYDEPLOY_LDM4_WORD    \
  "ldm r1!, {r4-r7}\n\t"        \
  "ldrd r8, r9, [r0], #8\n\t"   \
  "sxtb16 r10, r4\n\t"          \
  "smlad r3, r10, r8, r3\n\t"   \
  "sxtb16 r4, r4, ror #8\n\t"   \
  "smlad r3, r4, r9, r3\n\t"    \
  "sxtb16 r10, r5\n\t"          \
  "smlad r11, r10, r8, r11\n\t" \
  "sxtb16 r5, r5, ror #8\n\t"   \
  "smlad r11, r5, r9, r11\n\t"  \
  "sxtb16 r10, r6\n\t"          \
  "smlad r12, r10, r8, r12\n\t" \
  "sxtb16 r6, r6, ror #8\n\t"   \
  "smlad r12, r6, r9, r12\n\t"  \
  "sxtb16 r10, r7\n\t"          \
  "smlad lr, r10, r8, lr\n\t"   \
  "sxtb16 r7, r7, ror #8\n\t"   \
  "smlad lr, r7, r9, lr\n\t"
      "subs r2, r2, #8\n\t"
      "blt 2f\n"
      "1:\n\t" TINYDEPLOY_LDM4_WORD TINYDEPLOY_LDM4_WORD TINYDEPLOY_LDM4_WORD TINYDEPLOY_LDM4_WORD
          TINYDEPLOY_LDM4_WORD TINYDEPLOY_LDM4_WORD TINYDEPLOY_LDM4_WORD TINYDEPLOY_LDM4_WORD
      "subs r2, r2, #8\n\t"
      "bge 1b\n"
      "2:\n\t"
      "adds r2, r2, #8\n\t"
      "beq 4f\n"
      "3:\n\t" TINYDEPLOY_LDM4_WORD
      "subs r2, r2, #1\n\t"
      "bne 3b\n"
      "4:\n\t"
      "ldr r10, [sp]\n\t"
      "stm r10, {r3, r11, r12, lr}\n\t"
      "pop {r3-r11, pc}\n\t");
#undef TINYDEPLOY_LDM4_WORD
}
#else
void ldm4_dot(const int16_t* row, const int8_t* weights, int32_t words, int32_t* sums) {
  for (int32_t word = 0; word < words; ++word, row += 4) {
    for (int32_t unit = 0; unit < 4; ++unit, weights += 4) {
      sums[unit] +=
          weights[0] * row[0] + weights[2] * row[1] + weights[1] * row[2] + weights[3] * row[3];
    }
  }
}
#endif

// The row widened as ldm4_dot reads it: per word {x0, x2, x1, x3}, zeros past `features`.
void widen_row_ldm4(const int8_t* input, int32_t features, int16_t* row) {
  int32_t k = 0;
#if TINYDEPLOY_HAS_DSP
  int32_t* pairs = reinterpret_cast<int32_t*>(row);
  for (; k + 4 <= features; k += 4) {
    const uint32_t word = load_word(input + k);
    *pairs++ = even_bytes(word);
    *pairs++ = odd_bytes(word);
  }
  row += k;
#else
  for (; k + 4 <= features; k += 4, row += 4) {
    row[0] = input[k];
    row[1] = input[k + 2];
    row[2] = input[k + 1];
    row[3] = input[k + 3];
  }
#endif
  if (k < features) {
    const auto at = [&](int32_t i) -> int16_t { return k + i < features ? input[k + i] : 0; };
    row[0] = at(0);
    row[1] = at(2);
    row[2] = at(1);
    row[3] = at(3);
  }
}

}  // namespace

void fully_connected_s8_dsp_ldm4(const QuantizedActivation& activation, const int32_t* output_stage,
                                 bool per_channel, const FullyConnectedShape& shape,
                                 const int8_t* input, const int8_t* packed_weights,
                                 const int32_t* folded_bias, int8_t* output, int8_t* scratch) {
  const int32_t step = per_channel ? 3 : 0;
  const PreparedOutput<true> stage{output_stage, -128, 127, step};
  const int32_t words = fully_connected_ldm4_features(shape.features) / 4;
  const size_t group_bytes = 16 * static_cast<size_t>(words);
  int16_t* row = reinterpret_cast<int16_t*>((reinterpret_cast<uintptr_t>(scratch) + 3) &
                                            ~static_cast<uintptr_t>(3));
  int8_t* const first = output;
#if TINYDEPLOY_HAS_DSP
  // A per-tensor stage repeated for four channels, as store_four_prepared reads them.
  int32_t repeated[12];
  for (int32_t i = 0; i < 12; ++i) repeated[i] = output_stage[per_channel ? 0 : i % 3];
#endif
  for (int32_t r = 0; r < shape.rows; ++r) {
    widen_row_ldm4(input, shape.features, row);
    const int8_t* weights = packed_weights;
    for (int32_t unit = 0; unit < shape.units; unit += 4, weights += group_bytes) {
      FourSums sums;
      memcpy(&sums, folded_bias + unit, sizeof sums);
      ldm4_dot(row, weights, words, &sums.s0);
      if (shape.units - unit >= 4) {
#if TINYDEPLOY_HAS_DSP
        store_four_prepared(output + unit, sums, per_channel ? output_stage + 3 * unit : repeated);
#else
        stage.four(output + unit, sums, unit);
#endif
      } else {
        const int32_t last[3] = {sums.s0, sums.s1, sums.s2};
        for (int32_t j = 0; j < shape.units - unit; ++j)
          output[unit + j] = stage(last[j], unit + j);
      }
    }
    input += shape.features;
    output += shape.units;
  }
  clamp_outputs(activation, first,
                static_cast<size_t>(shape.rows) * static_cast<size_t>(shape.units));
}

void conv_1x1_s8_dsp(const QuantizedActivation& activation, const PerChannelScale& scale,
                     const Dims4& input_dims, const int8_t* input, const Dims4& filter_dims,
                     const int8_t* filter, const int32_t* folded_bias, const Dims4& output_dims,
                     int8_t* output, int8_t* scratch) {
  conv_1x1(Requantizer(activation, scale, true), input_dims, input, filter_dims, filter,
           folded_bias, output_dims, output, scratch);
}

void conv_1x1_s8_dsp_staged(const QuantizedActivation& activation, const int32_t* output_stage,
                            const Dims4& input_dims, const int8_t* input, const Dims4& filter_dims,
                            const int8_t* filter, const int32_t* folded_bias,
                            const Dims4& output_dims, int8_t* output, int8_t* scratch) {
  conv_1x1(PreparedOutput<true>{output_stage, -128, 127}, input_dims, input, filter_dims, filter,
           folded_bias, output_dims, output, scratch);
  clamp_outputs(activation, output, elements(output_dims));
}

}  // namespace tinydeploy::runtime
