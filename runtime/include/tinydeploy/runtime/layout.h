// Operators that move elements without arithmetic: RESHAPE / SQUEEZE / EXPAND_DIMS (a copy),
// PAD / PADV2, CONCATENATION and PACK (concatenate), SPLIT, SPLIT_V and UNPACK (split),
// STRIDED_SLICE and TRANSPOSE. They work on any element type of `element_size` bytes (1, 2, 4
// or 8), or on plain bytes.
#pragma once

#include "tinydeploy/runtime/common.h"

namespace tinydeploy::runtime {

// Requires: both buffers hold `bytes` (< 2^31) bytes.
void copy_bytes(int32_t bytes, const void* input, void* output);

// A strided walk over the input that produces the output in row-major order: output element
// (i0, ..., i5) is input element offset + sum(i_d * stride_d). STRIDED_SLICE and TRANSPOSE
// both prepare one.
// Requires: every index the view visits (offset plus 0 .. count - 1 steps along each dim) lies
// inside the input, and the output holds the product of the counts (< 2^31) elements.
struct StridedView {
  int32_t count[kMaxRank] = {1, 1, 1, 1, 1, 1};
  int32_t stride[kMaxRank] = {};  // in elements; may be negative
  int32_t offset = 0;
};
void gather(const StridedView& view, int32_t element_size, const void* input, void* output);

// PAD: the input (dims right-aligned to kMaxRank) placed at `before` in the output; the rest
// is `pad_value` (element_size bytes).
// Requires: before/after >= 0, input and output (before + input + after per dim) each fewer
// than 2^31 elements.
struct PadShape {
  int32_t input_dims[kMaxRank] = {1, 1, 1, 1, 1, 1};
  int32_t before[kMaxRank] = {};
  int32_t after[kMaxRank] = {};
};
void pad(const PadShape& shape, int32_t element_size, const void* input, const void* pad_value,
         void* output);

// CONCATENATION along one axis: `outer` repetitions of each input's contiguous chunk, taken
// in input order.
// Requires: input i holds outer x chunk_bytes[i] bytes (< 2^31), the output the sum of them.
void concatenate(int32_t outer, int32_t inputs, const void* const* input_data,
                 const int32_t* chunk_bytes, void* output);

// The inverse of concatenate, for SPLIT / SPLIT_V (the parts along one axis) and UNPACK (equal
// parts whose axis is dropped): the input is read in order, each of the `outer` rows handing
// chunk_bytes[i] bytes to output i in turn.
// Requires: output i holds outer x chunk_bytes[i] bytes (< 2^31), the input the sum of them;
// an output with chunk_bytes[i] == 0 may be null; no output overlaps the input.
void split(int32_t outer, int32_t outputs, const void* input, const int32_t* chunk_bytes,
           void* const* output_data);

// GATHER: for each of `batches` x `outer` blocks of `axis_size` slices of `slice_bytes` bytes,
// output slice j is input slice indices[batch * index_count + j] of that block. An index
// outside [0, axis_size) (run-time indices can hold anything) writes a slice of zero bytes
// instead of reading outside the input.
// Requires: indices holds batches x index_count values, the input batches x outer x axis_size
// slices and the output batches x outer x index_count slices, each fewer than 2^31 bytes.
void gather_indexed(int32_t batches, int32_t outer, int32_t axis_size, int32_t index_count,
                    int32_t slice_bytes, const int32_t* indices, const void* input, void* output);

}  // namespace tinydeploy::runtime
