// libFuzzer target for the CSV tensor reader (tensors/tensor_io.h): any file either reads as
// data for an input tensor or is refused with tinydeploy::Error, for every element type an
// input can have.
#include <cstddef>
#include <cstdint>

#include "tensor_file.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/tensors/tensor_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  static tinydeploy::fuzz::ScratchFile file(".csv");
  const auto& path = file.write(bytes, size);
  using tinydeploy::model::DType;
  // The element count the tensor expects: the number of fields when they all parse, so that
  // inputs reach the end of the reader as well as its refusals.
  int32_t fields = 1;
  for (size_t i = 0; i < size; ++i) fields += bytes[i] == ',' ? 1 : 0;
  for (const DType dtype : {DType::Int8, DType::Int16, DType::Int32, DType::UInt8, DType::Float32,
                            DType::Int64, DType::Bool}) {
    tinydeploy::model::Tensor tensor;
    tensor.name = "input";
    tensor.dtype = dtype;
    tensor.shape = {1, fields};
    try {
      const auto data = tinydeploy::tensors::read_tensor_file(path, tensor);
      if (data.elements() != fields) __builtin_trap();  // accepted the wrong element count
    } catch (const tinydeploy::Error&) {
    }
  }
  return 0;
}
