// Helium (MVE) variant of int8 AVERAGE_POOL_2D for the Cortex-M55, with the semantics of the
// portable average_pool (pooling.h), bit for bit. Where the compiler does not target MVE (the
// host tool, which records and binds the calls lowering makes for a Cortex-M55) it is the
// portable kernel.
#pragma once

#include "tinydeploy/runtime/pooling.h"

namespace tinydeploy::runtime {

// As the int8 average_pool: sixteen channels at a time, each window's values summed in 16-bit
// lanes (up to 256 values of an int8 window fit: 256 x -128 is -32768), widened to int32 every
// 256 window positions; then the portable rounded division per channel.
// Requires: as average_pool.
void average_pool_s8_mve(const PoolGeometry& geometry, const PoolClamp& clamp,
                         const Dims4& input_dims, const int8_t* input, const Dims4& output_dims,
                         int8_t* output);

}  // namespace tinydeploy::runtime
