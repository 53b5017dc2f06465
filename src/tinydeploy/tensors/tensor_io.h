// Tensor data in and out of files: NumPy .npy (any of our element types, C order) and the
// single-line CSV of TFLite Micro's golden vectors. Files are untrusted: every read is
// validated against the tensor it is meant for.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "tinydeploy/model/graph.h"

namespace tinydeploy::tensors {

// Raw little-endian element bytes of one tensor, with the shape and type they have.
struct TensorData {
  model::DType dtype = model::DType::Float32;
  std::vector<int32_t> shape;
  std::vector<uint8_t> bytes;

  int64_t elements() const;
  // Element i widened to double (integers exactly).
  double value(int64_t i) const;
};

// Reads a .npy or .csv file (by extension) as data for `tensor`; throws tinydeploy::Error with
// the file name when the type, element count or syntax do not fit.
TensorData read_tensor_file(const std::filesystem::path& path, const model::Tensor& tensor);
TensorData read_npy(const std::filesystem::path& path);

void write_npy(const std::filesystem::path& path, const TensorData& data);
void write_csv(const std::filesystem::path& path, const TensorData& data);

// Seeded random data for `tensor`: the full integer range for integer types, [-1, 1) for
// float. The same seed and tensor give the same bytes on every machine.
TensorData random_tensor(const model::Tensor& tensor, uint64_t seed);

// The seed of invoke `invoke` (from 0) in a run of several invokes seeded with `seed`: `seed`
// itself for invoke 0 (so one invoke draws what it always drew), then a SplitMix64 mix of the
// two, so that neighbouring seeds do not share invokes. Input i of that invoke uses seed + i.
uint64_t invoke_seed(uint64_t seed, uint64_t invoke);

}  // namespace tinydeploy::tensors
