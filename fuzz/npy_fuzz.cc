// libFuzzer target for the .npy reader (tensors/tensor_io.h): any file either reads or is
// refused with tinydeploy::Error. What reads must also survive the rest of what the tool does
// with an input file: the element accessor, the check against an input tensor of the same type,
// and a write/read round trip that gives back the same type, shape and bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "tensor_file.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/tensors/tensor_io.h"

namespace {

using tinydeploy::tensors::TensorData;

void check_round_trip(const TensorData& data) {
  static tinydeploy::fuzz::ScratchFile copy(".copy.npy");
  tinydeploy::tensors::write_npy(copy.path(), data);
  const TensorData back = tinydeploy::tensors::read_npy(copy.path());
  if (back.dtype != data.dtype || back.shape != data.shape || back.bytes != data.bytes) {
    std::abort();  // the reader does not read what the writer wrote
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  static tinydeploy::fuzz::ScratchFile file(".npy");
  const auto& path = file.write(bytes, size);
  try {
    const TensorData data = tinydeploy::tensors::read_npy(path);
    double sum = 0;
    for (int64_t i = 0; i < data.elements() && i < 4096; ++i) sum += data.value(i);
    (void)sum;
    tinydeploy::model::Tensor tensor;
    tensor.name = "input";
    tensor.dtype = data.dtype;
    tensor.shape = data.shape;
    (void)tinydeploy::tensors::read_tensor_file(path, tensor);
    check_round_trip(data);
  } catch (const tinydeploy::Error&) {
  }
  return 0;
}
