// C++ source text for the runtime's kernel parameters, for generated code: every parameter struct
// as an aggregate initializer (fields in declaration order, each named in a comment), constant
// arrays, and float literals that read back as the same float. Output is deterministic.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tinydeploy/runtime/activation.h"
#include "tinydeploy/runtime/common.h"
#include "tinydeploy/runtime/conv.h"
#include "tinydeploy/runtime/elementwise.h"
#include "tinydeploy/runtime/layout.h"
#include "tinydeploy/runtime/lstm.h"
#include "tinydeploy/runtime/pooling.h"
#include "tinydeploy/runtime/reduce.h"
#include "tinydeploy/runtime/svdf.h"

namespace tinydeploy::codegen {

namespace rt = tinydeploy::runtime;

// A float literal that parses back to exactly `value` (infinities and NaN spelled via <limits>).
std::string float_literal(float value);

// An integer literal of `value`; the most negative int32 and int64 values, which have no literal
// of their own, are spelled as expressions.
std::string integer_literal(int64_t value);

std::string initializer(const rt::Dims4& v);
std::string initializer(const rt::QuantizedActivation& v);
std::string initializer(const rt::FloatActivation& v);
std::string initializer(const rt::Requantization& v);
std::string initializer(const rt::ConvGeometry& v);
std::string initializer(const rt::FullyConnectedShape& v);
std::string initializer(const rt::PoolGeometry& v);
std::string initializer(const rt::PoolClamp& v);
std::string initializer(const rt::BroadcastShape& v);
std::string initializer(const rt::AddParams& v);
std::string initializer(const rt::MulParams& v);
std::string initializer(const rt::RequantizeParams& v);
std::string initializer(const rt::LeakyReluParams& v);
std::string initializer(const rt::HardSwishParams& v);
std::string initializer(const rt::SigmoidParams& v);
std::string initializer(const rt::SigmoidInt16Params& v);
std::string initializer(const rt::SoftmaxParams& v);
std::string initializer(const rt::AffineQuantization& v);
std::string initializer(const rt::StridedView& v);
std::string initializer(const rt::PadShape& v);
std::string initializer(const rt::ReduceShape& v);
std::string initializer(const rt::MeanParams& v);
std::string initializer(const rt::SvdfShape& v);
std::string initializer(const rt::SvdfQuantization& v);
std::string initializer(const rt::LstmShape& v);
std::string initializer(const rt::LstmFloatParams& v);
std::string initializer(const rt::LstmGateScales& v);
std::string initializer(const rt::LstmQuantizedParams& v);

// Structs that point at constant tables: the tables are emitted separately under these names.
std::string initializer(const rt::PerChannelScale& v, std::string_view multiplier_array,
                        std::string_view shift_array);
std::string initializer(const rt::SoftmaxInt16Params& v, std::string_view exp_table,
                        std::string_view reciprocal_table);

// `alignas(16) const TYPE NAME[N] = {...};` with at most `per_line` values a line.
std::string array_definition(std::string_view type, std::string_view name,
                             const std::vector<int64_t>& values, int per_line = 12);
// The same from values already spelled as C++ literals (floats, suffixed integers).
std::string literal_array_definition(std::string_view type, std::string_view name,
                                     const std::vector<std::string>& literals, int per_line = 12);
// The same for `count` values spelled one at a time by `literal(i)`: a large array (weights)
// costs its text, not a string per value.
std::string literal_array_definition(std::string_view type, std::string_view name, size_t count,
                                     const std::function<std::string(size_t)>& literal,
                                     int per_line = 12);

}  // namespace tinydeploy::codegen
