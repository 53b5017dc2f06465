// `tinydeploy run`: one inference (or several, state carried) on the host with tinydeploy's
// runtime, optionally checked against the PC reference, output by output and layer by layer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "tinydeploy/engine/engine.h"

namespace tinydeploy::cli {

struct RunOptions {
  std::filesystem::path model;
  // .npy or .csv, one per model input and invoke (invoke 0's first); or one .npz
  std::vector<std::filesystem::path> inputs;
  std::optional<uint64_t> seed;  // random inputs (the default, with seed 0)
  std::optional<std::filesystem::path> output_dir;
  std::string reference;  // "", "litert" or "tflm"
  bool layers = false;    // compare every intermediate tensor with the reference
  // Consecutive invokes with state carried (variable tensors), each with its own inputs.
  size_t invokes = 1;
  bool csv = false;    // also write outputs as CSV
  bool force = false;  // -o may replace an existing directory tinydeploy did not write
  // Refuse, before allocating, a model whose arena is larger; also bounds the copies of every
  // operator output that --layers keeps.
  int64_t max_arena_bytes = engine::kDefaultMaxArenaBytes;
};

// Exit codes of `run`: 0 when everything ran (and matched the reference, if asked);
// kRunMismatch when the reference disagrees.
constexpr int kRunMismatch = 2;

int run_model(const RunOptions& options, std::ostream& out);

}  // namespace tinydeploy::cli
