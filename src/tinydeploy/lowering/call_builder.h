// Builds a KernelCall from the typed arguments of one runtime kernel call, so that the recorded
// description and the host binding come from the same values. Internal to the lowering module.
#pragma once

#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "tinydeploy/lowering/kernel_call.h"

namespace tinydeploy::lowering::detail {

// The runtime kernel `function` as its name and a callable over its whole overload set.
#define TINYDEPLOY_RUNTIME_KERNEL(function) \
#function, [](const auto&... args) { ::tinydeploy::runtime::function(args...); }

// Where a pointer argument points: a tensor (model::kNoTensor for none) or the op's scratch.
struct Slot {
  int32_t tensor = -1;
  bool writable = false;
  bool scratch = false;
};

// A pointer argument of element type T (void for the byte-moving kernels).
template <typename T>
struct Pointer {
  Slot slot;
};

template <typename T>
Pointer<T> typed(const Slot& slot) {
  return {slot};
}

// The data pointers of several outputs of the operator, passed as `void* const*`.
struct OutputList {
  std::vector<int32_t> tensors;
};

// Constant data passed as a pointer to its first element; `weights` as in ConstantArray.
template <typename T>
struct Constants {
  std::string role;
  std::vector<T> values;
  bool weights = false;
};

template <typename T>
constexpr CType c_type_of() {
  if constexpr (std::is_same_v<T, int8_t>) return CType::Int8;
  if constexpr (std::is_same_v<T, uint8_t>) return CType::UInt8;
  if constexpr (std::is_same_v<T, int16_t>) return CType::Int16;
  if constexpr (std::is_same_v<T, int32_t>) return CType::Int32;
  if constexpr (std::is_same_v<T, int64_t>) return CType::Int64;
  if constexpr (std::is_same_v<T, float>) return CType::Float32;
  if constexpr (std::is_void_v<T>) return CType::Void;
}

template <typename T>
Argument describe(const T& value) {
  return Argument{value};
}
template <typename T>
Argument describe(const Pointer<T>& pointer) {
  if (pointer.slot.scratch) return ScratchPointer{c_type_of<T>()};
  return TensorPointer{pointer.slot.tensor, c_type_of<T>(), pointer.slot.writable};
}
inline Argument describe(const OutputList& list) { return TensorPointerList{list.tensors, true}; }
template <typename T>
Argument describe(const Constants<T>& constants) {
  return ConstantArray{constants.role, constants.values, constants.weights};
}

// Host values of the arguments, read back from the recorded description.
template <typename T>
struct Resolve {
  static T from(const Argument& argument, const HostStorage&) { return std::get<T>(argument); }
};
template <typename T>
struct Resolve<Pointer<T>> {
  static T* from(const Argument& argument, const HostStorage& storage) {
    if (std::holds_alternative<ScratchPointer>(argument)) return static_cast<T*>(storage.scratch);
    const int32_t tensor = std::get<TensorPointer>(argument).tensor;
    return tensor < 0 ? nullptr : static_cast<T*>(storage.tensor(tensor));
  }
};
template <typename T>
struct Resolve<Constants<T>> {
  static const T* from(const Argument& argument, const HostStorage&) {
    return std::get<std::vector<T>>(std::get<ConstantArray>(argument).values).data();
  }
};
template <>
struct Resolve<ChannelScales> {
  static rt::PerChannelScale from(const Argument& argument, const HostStorage&) {
    const auto& scales = std::get<ChannelScales>(argument);
    return {scales.multiplier.data(), scales.shift.data()};
  }
};
template <>
struct Resolve<SoftmaxInt16Tables> {
  static rt::SoftmaxInt16Params from(const Argument& argument, const HostStorage&) {
    const auto& tables = std::get<SoftmaxInt16Tables>(argument);
    return {tables.input_beta, tables.exp_table.data(), tables.reciprocal_table.data()};
  }
};
// Owns the pointer array that CONCATENATION reads.
struct PointerArray {
  std::vector<const void*> pointers;
  operator const void* const*() const { return pointers.data(); }  // NOLINT: implicit by design
};
template <>
struct Resolve<TensorPointerList> {
  static PointerArray from(const Argument& argument, const HostStorage& storage) {
    PointerArray array;
    for (int32_t tensor : std::get<TensorPointerList>(argument).tensors) {
      array.pointers.push_back(storage.tensor(tensor));
    }
    return array;
  }
};

// Owns the pointer array that SPLIT writes through.
struct WritablePointerArray {
  std::vector<void*> pointers;
  operator void* const*() const { return pointers.data(); }  // NOLINT: implicit by design
};
template <>
struct Resolve<OutputList> {
  static WritablePointerArray from(const Argument& argument, const HostStorage& storage) {
    WritablePointerArray array;
    for (int32_t tensor : std::get<TensorPointerList>(argument).tensors) {
      array.pointers.push_back(storage.tensor(tensor));
    }
    return array;
  }
};

template <typename... Args, typename Kernel, size_t... I>
std::function<void()> bind_arguments(const Kernel& kernel, const std::vector<Argument>& arguments,
                                     const HostStorage& storage, std::index_sequence<I...>) {
  return [kernel, bound = std::make_tuple(Resolve<Args>::from(arguments[I], storage)...)] {
    std::apply(kernel, bound);
  };
}

// The description of `kernel(args...)` for operator `op_index`, with its host binding.
template <typename Kernel, typename... Args>
KernelCall make_call(int32_t op_index, const char* name, Kernel kernel, const Args&... args) {
  KernelCall call;
  call.op_index = op_index;
  call.kernel = name;
  (call.arguments.push_back(describe(args)), ...);
  call.bind = [kernel](const KernelCall& self, const HostStorage& storage) {
    return bind_arguments<Args...>(kernel, self.arguments, storage,
                                   std::index_sequence_for<Args...>{});
  };
  return call;
}

}  // namespace tinydeploy::lowering::detail
