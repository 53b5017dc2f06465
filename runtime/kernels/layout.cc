#include "tinydeploy/runtime/layout.h"

namespace tinydeploy::runtime {
namespace {

template <typename Word>
void gather_words(const StridedView& view, const Word* input, Word* output) {
  int32_t index[kMaxRank] = {};
  int32_t offset = view.offset;
  int32_t total = 1;
  for (int d = 0; d < kMaxRank; ++d) total *= view.count[d];
  for (int32_t i = 0; i < total; ++i) {
    output[i] = input[offset];
    // The offset only ever holds indexes of elements the view reads.
    for (int d = kMaxRank - 1; d >= 0; --d) {
      if (++index[d] < view.count[d]) {
        offset += view.stride[d];
        break;
      }
      offset -= view.stride[d] * (view.count[d] - 1);
      index[d] = 0;
    }
  }
}

// Copies the input into its place in the output and fills everything else, one output row
// (the last dim) at a time.
template <typename Word>
void pad_words(const PadShape& shape, const Word* input, Word fill, Word* output) {
  int32_t output_dims[kMaxRank];
  int32_t rows = 1;
  for (int d = 0; d < kMaxRank; ++d) {
    output_dims[d] = shape.before[d] + shape.input_dims[d] + shape.after[d];
    if (d < kMaxRank - 1) rows *= output_dims[d];
  }
  const int32_t row_length = output_dims[kMaxRank - 1];
  const int32_t inner = shape.input_dims[kMaxRank - 1];
  int32_t index[kMaxRank - 1] = {};
  for (int32_t row = 0; row < rows; ++row) {
    Word* out = output + row * row_length;
    bool inside = true;
    int32_t in_row = 0;
    for (int d = 0; d < kMaxRank - 1 && inside; ++d) {
      const int32_t i = index[d] - shape.before[d];
      inside = i >= 0 && i < shape.input_dims[d];
      in_row = in_row * shape.input_dims[d] + i;
    }
    if (!inside) {
      for (int32_t x = 0; x < row_length; ++x) out[x] = fill;
    } else {
      const Word* in = input + in_row * inner;
      int32_t x = 0;
      for (; x < shape.before[kMaxRank - 1]; ++x) out[x] = fill;
      for (int32_t i = 0; i < inner; ++i) out[x++] = in[i];
      for (; x < row_length; ++x) out[x] = fill;
    }
    for (int d = kMaxRank - 2; d >= 0; --d) {
      if (++index[d] < output_dims[d]) break;
      index[d] = 0;
    }
  }
}

}  // namespace

void copy_bytes(int32_t bytes, const void* input, void* output) {
  if (input == output) return;
  const auto* in = static_cast<const uint8_t*>(input);
  auto* out = static_cast<uint8_t*>(output);
  for (int32_t i = 0; i < bytes; ++i) out[i] = in[i];
}

void gather(const StridedView& view, int32_t element_size, const void* input, void* output) {
  switch (element_size) {
    case 1:
      gather_words(view, static_cast<const uint8_t*>(input), static_cast<uint8_t*>(output));
      break;
    case 2:
      gather_words(view, static_cast<const uint16_t*>(input), static_cast<uint16_t*>(output));
      break;
    case 4:
      gather_words(view, static_cast<const uint32_t*>(input), static_cast<uint32_t*>(output));
      break;
    default:
      gather_words(view, static_cast<const uint64_t*>(input), static_cast<uint64_t*>(output));
      break;
  }
}

void pad(const PadShape& shape, int32_t element_size, const void* input, const void* pad_value,
         void* output) {
  switch (element_size) {
    case 1:
      pad_words(shape, static_cast<const uint8_t*>(input), *static_cast<const uint8_t*>(pad_value),
                static_cast<uint8_t*>(output));
      break;
    case 2:
      pad_words(shape, static_cast<const uint16_t*>(input),
                *static_cast<const uint16_t*>(pad_value), static_cast<uint16_t*>(output));
      break;
    case 4:
      pad_words(shape, static_cast<const uint32_t*>(input),
                *static_cast<const uint32_t*>(pad_value), static_cast<uint32_t*>(output));
      break;
    default:
      pad_words(shape, static_cast<const uint64_t*>(input),
                *static_cast<const uint64_t*>(pad_value), static_cast<uint64_t*>(output));
      break;
  }
}

void concatenate(int32_t outer, int32_t inputs, const void* const* input_data,
                 const int32_t* chunk_bytes, void* output) {
  auto* out = static_cast<uint8_t*>(output);
  for (int32_t o = 0; o < outer; ++o) {
    for (int32_t i = 0; i < inputs; ++i) {
      const auto* in = static_cast<const uint8_t*>(input_data[i]) + o * chunk_bytes[i];
      for (int32_t b = 0; b < chunk_bytes[i]; ++b) *out++ = in[b];
    }
  }
}

void split(int32_t outer, int32_t outputs, const void* input, const int32_t* chunk_bytes,
           void* const* output_data) {
  const auto* in = static_cast<const uint8_t*>(input);
  for (int32_t o = 0; o < outer; ++o) {
    for (int32_t i = 0; i < outputs; ++i) {
      const int32_t chunk = chunk_bytes[i];
      if (chunk == 0) continue;
      auto* out = static_cast<uint8_t*>(output_data[i]) + o * chunk;
      for (int32_t b = 0; b < chunk; ++b) out[b] = *in++;
    }
  }
}

void gather_indexed(int32_t batches, int32_t outer, int32_t axis_size, int32_t index_count,
                    int32_t slice_bytes, const int32_t* indices, const void* input, void* output) {
  const auto* in = static_cast<const uint8_t*>(input);
  auto* out = static_cast<uint8_t*>(output);
  for (int32_t batch = 0; batch < batches; ++batch) {
    const int32_t* batch_indices = indices + batch * index_count;
    for (int32_t o = 0; o < outer; ++o) {
      const uint8_t* block = in + (batch * outer + o) * axis_size * slice_bytes;
      for (int32_t j = 0; j < index_count; ++j) {
        const int32_t index = batch_indices[j];
        if (index >= 0 && index < axis_size) {
          const uint8_t* slice = block + index * slice_bytes;
          for (int32_t k = 0; k < slice_bytes; ++k) *out++ = slice[k];
        } else {
          for (int32_t k = 0; k < slice_bytes; ++k) *out++ = 0;
        }
      }
    }
  }
}

}  // namespace tinydeploy::runtime
