// The input window of one convolution output pixel as one contiguous row ("im2col"), shared by
// the kernels that turn a convolution into a matrix product over such rows.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tinydeploy/runtime/conv.h"

namespace tinydeploy::runtime {

// `bytes` bytes from `from` to `to`: words, then single bytes. The windows' runs are often a few
// bytes (one input channel, or three), where a call of the C library's memcpy costs more than
// the copy; fixed-size memcpy calls compile to single loads and stores.
inline void copy_run(int8_t* to, const int8_t* from, size_t bytes) {
  if (bytes > 16) {
    memcpy(to, from, bytes);
    return;
  }
  for (; bytes >= 4; bytes -= 4, to += 4, from += 4) memcpy(to, from, 4);
  for (; bytes > 0; --bytes) *to++ = *from++;
}

// Copies the window of output pixel (batch, out_y, out_x) into `patch` in the filter's order
// (filter rows, then columns, then channels: filter.h * filter.w * input.c bytes). Positions
// outside the input get `pad`: the input zero point, so that x + input_offset is 0 there, as the
// portable kernels' skipped terms are.
inline void gather_window(const ConvGeometry& g, const Dims4& in, const Dims4& filter,
                          int32_t batch, int32_t out_y, int32_t out_x, const int8_t* input,
                          int8_t pad, int8_t* patch) {
  const int32_t x0 = out_x * g.stride_w - g.pad_left;
  const size_t channels = static_cast<size_t>(in.c);
  const size_t row_bytes = static_cast<size_t>(filter.w) * channels;
  // Without dilation, a window row inside the input is one contiguous run of bytes.
  const bool contiguous = g.dilation_w == 1 && x0 >= 0 && x0 + filter.w <= in.w;
  for (int32_t ky = 0; ky < filter.h; ++ky) {
    const int32_t y = out_y * g.stride_h - g.pad_top + ky * g.dilation_h;
    if (y < 0 || y >= in.h) {
      memset(patch, pad, row_bytes);
    } else {
      const int8_t* line = input + (static_cast<size_t>(batch) * static_cast<size_t>(in.h) +
                                    static_cast<size_t>(y)) *
                                       static_cast<size_t>(in.w) * channels;
      if (contiguous) {
        copy_run(patch, line + static_cast<size_t>(x0) * channels, row_bytes);
      } else {
        for (int32_t kx = 0; kx < filter.w; ++kx) {
          const int32_t x = x0 + kx * g.dilation_w;
          int8_t* to = patch + static_cast<size_t>(kx) * channels;
          if (x < 0 || x >= in.w) {
            memset(to, pad, channels);
          } else {
            copy_run(to, line + static_cast<size_t>(x) * channels, channels);
          }
        }
      }
    }
    patch += row_bytes;
  }
}

}  // namespace tinydeploy::runtime
