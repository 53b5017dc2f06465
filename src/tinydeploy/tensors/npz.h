// NumPy .npz archives (np.savez, np.savez_compressed) as validation inputs. Untrusted: every
// offset and size in the archive is checked before use.
#pragma once

#include <filesystem>
#include <vector>

#include "tinydeploy/model/graph.h"
#include "tinydeploy/tensors/tensor_io.h"

namespace tinydeploy::tensors {

// Inputs of one or more runs from an .npz holding one array per model input, found by the
// input tensor's name, else by position as input_<i> or arr_<i> (np.savez's default names). Each
// array has the input's shape (one run) or a leading run axis, [N, ...] (N runs; the same N for
// every input). Returns runs[r][i]. `scratch` is a directory for the arrays' .npy files.
std::vector<std::vector<TensorData>> read_npz_runs(const std::filesystem::path& path,
                                                   const std::vector<const model::Tensor*>& inputs,
                                                   const std::filesystem::path& scratch);

}  // namespace tinydeploy::tensors
