// Structure-aware mutation of TFLite models for the model fuzz target: the model is unpacked
// with the FlatBuffers object API, ONE field is changed (a dimension, a quantization parameter,
// constant data, an operator option, an operator's tensor index, a tensor type, an opcode, a
// graph input or output), and the model is packed again. A repair step then makes the rest of
// the file agree with the change where that is mechanical (constant buffer sizes, per-channel
// parameter counts, stored output shapes re-derived by the analysis), so the mutated model gets
// past the reader's and the analysis's consistency checks and reaches lowering, the kernels and
// code generation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tinydeploy::fuzz {

// Mutates `size` bytes at `data` in place, using at most `max_size` bytes; returns the new size
// (libFuzzer's LLVMFuzzerMutate). Used for the bytes of constant buffers.
using ByteMutator = size_t (*)(uint8_t* data, size_t size, size_t max_size);

struct Mutation {
  std::vector<uint8_t> model;  // the mutated, repaired and packed model
  std::string description;     // what was changed, for humans reading a reproducer
};

// One mutation of the model in `data`, chosen by `seed`. With TINYDEPLOY_FUZZ_MUTATOR_DUMP set
// to a path, the mutated model is written there before the repair (which runs the reader and
// the analysis on it): if those crash inside the mutator, libFuzzer saves no input, that file
// is the model to look at. Returns nullopt when `data` is not a
// well-formed FlatBuffer model (the caller falls back to byte-level mutation). `byte_mutator`
// may be null (then constant bytes are changed with simple flips).
std::optional<Mutation> mutate_model(const uint8_t* data, size_t size, uint32_t seed,
                                     ByteMutator byte_mutator);

}  // namespace tinydeploy::fuzz
