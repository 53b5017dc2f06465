// Weights stored as 4-bit integers, turned into what the rest of tinydeploy already runs.
#pragma once

#include "tinydeploy/model/graph.h"

namespace tinydeploy::model {

// TensorFlow Lite Micro runs CONV_2D and DEPTHWISE_CONV_2D with int8 activations and int4 weights,
// and FULLY_CONNECTED with int8 activations and per-tensor int4 weights, by unpacking the weights
// into int8 before its int8 kernels (its 16x8 and float kernels refuse int4). This does the same
// ahead of time: each constant int4 tensor of a subgraph that only such operators read, and only
// as their weights (input 1), becomes an int8 tensor whose data are the sign-extended nibbles
// read from the start of its buffer, two per byte, the low nibble first (as TensorFlow Lite Micro
// reads them whatever the buffer's length); Model::unpacked holds them, the file is left as it
// is. Its quantization stays as it was. An int4 tensor read in any other way is left as it is,
// and lowering refuses it with its reason. Each unpacked tensor adds a reader note.
void unpack_int4_weights(Model& model);

}  // namespace tinydeploy::model
