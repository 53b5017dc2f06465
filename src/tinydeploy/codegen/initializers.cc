#include "tinydeploy/codegen/initializers.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace tinydeploy::codegen {
namespace {

template <size_t N>
std::string list(const int32_t (&values)[N]) {
  std::string out = "{";
  for (size_t i = 0; i < N; ++i) out += (i ? ", " : "") + integer_literal(values[i]);
  return out + "}";
}

// Builds `{/*a=*/1, /*b=*/2}` field by field, in declaration order.
class Fields {
 public:
  Fields& add(std::string_view name, const std::string& value) {
    text_ += fmt::format("{}/*{}=*/{}", text_.empty() ? "" : ", ", name, value);
    return *this;
  }
  Fields& add(std::string_view name, int64_t value) { return add(name, integer_literal(value)); }
  Fields& add_flag(std::string_view name, bool value) {
    return add(name, std::string(value ? "true" : "false"));
  }
  std::string str() const { return "{" + text_ + "}"; }

 private:
  std::string text_;
};

}  // namespace

std::string integer_literal(int64_t value) {
  if (value == std::numeric_limits<int64_t>::min()) return "(-9223372036854775807LL - 1)";
  if (value == std::numeric_limits<int32_t>::min()) return "(-2147483647 - 1)";
  return fmt::format("{}", value);
}

std::string float_literal(float value) {
  if (std::isnan(value)) return "std::numeric_limits<float>::quiet_NaN()";
  if (std::isinf(value)) {
    return value > 0 ? "std::numeric_limits<float>::infinity()"
                     : "-std::numeric_limits<float>::infinity()";
  }
  std::string text = fmt::format("{}", value);  // shortest text that reads back as `value`
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text + "f";
}

std::string initializer(const rt::Dims4& v) {
  return Fields().add("n", v.n).add("h", v.h).add("w", v.w).add("c", v.c).str();
}
std::string initializer(const rt::QuantizedActivation& v) {
  return Fields()
      .add("input_offset", v.input_offset)
      .add("output_offset", v.output_offset)
      .add("min", v.min)
      .add("max", v.max)
      .str();
}
std::string initializer(const rt::FloatActivation& v) {
  return Fields().add("min", float_literal(v.min)).add("max", float_literal(v.max)).str();
}
std::string initializer(const rt::Requantization& v) {
  return Fields().add("multiplier", v.multiplier).add("shift", v.shift).str();
}
std::string initializer(const rt::ConvGeometry& v) {
  return Fields()
      .add("stride_h", v.stride_h)
      .add("stride_w", v.stride_w)
      .add("dilation_h", v.dilation_h)
      .add("dilation_w", v.dilation_w)
      .add("pad_top", v.pad_top)
      .add("pad_left", v.pad_left)
      .str();
}
std::string initializer(const rt::FullyConnectedShape& v) {
  return Fields().add("rows", v.rows).add("features", v.features).add("units", v.units).str();
}
std::string initializer(const rt::PoolGeometry& v) {
  return Fields()
      .add("stride_h", v.stride_h)
      .add("stride_w", v.stride_w)
      .add("filter_h", v.filter_h)
      .add("filter_w", v.filter_w)
      .add("pad_top", v.pad_top)
      .add("pad_left", v.pad_left)
      .str();
}
std::string initializer(const rt::PoolClamp& v) {
  return Fields().add("min", v.min).add("max", v.max).str();
}
std::string initializer(const rt::BroadcastShape& v) {
  return Fields()
      .add("dims", list(v.dims))
      .add("stride1", list(v.stride1))
      .add("stride2", list(v.stride2))
      .str();
}
std::string initializer(const rt::AddParams& v) {
  return Fields()
      .add("input1_offset", v.input1_offset)
      .add("input2_offset", v.input2_offset)
      .add("output_offset", v.output_offset)
      .add("left_shift", v.left_shift)
      .add("input1", initializer(v.input1))
      .add("input2", initializer(v.input2))
      .add("output", initializer(v.output))
      .add("min", v.min)
      .add("max", v.max)
      .str();
}
std::string initializer(const rt::MulParams& v) {
  return Fields()
      .add("input1_offset", v.input1_offset)
      .add("input2_offset", v.input2_offset)
      .add("output_offset", v.output_offset)
      .add("output", initializer(v.output))
      .add("min", v.min)
      .add("max", v.max)
      .str();
}
std::string initializer(const rt::RequantizeParams& v) {
  return Fields()
      .add("input_zero_point", v.input_zero_point)
      .add("output_zero_point", v.output_zero_point)
      .add("scale", initializer(v.scale))
      .add("min", v.min)
      .add("max", v.max)
      .str();
}
std::string initializer(const rt::LeakyReluParams& v) {
  return Fields()
      .add("input_zero_point", v.input_zero_point)
      .add("output_zero_point", v.output_zero_point)
      .add("identity", initializer(v.identity))
      .add("alpha", initializer(v.alpha))
      .add_flag("alpha_negative", v.alpha_negative)
      .str();
}
std::string initializer(const rt::HardSwishParams& v) {
  return Fields()
      .add("input_zero_point", v.input_zero_point)
      .add("output_zero_point", v.output_zero_point)
      .add("reluish_multiplier", v.reluish_multiplier)
      .add("reluish_exponent", v.reluish_exponent)
      .add("output_multiplier", v.output_multiplier)
      .add("output_exponent", v.output_exponent)
      .str();
}
std::string initializer(const rt::SigmoidParams& v) {
  return Fields()
      .add("input_zero_point", v.input_zero_point)
      .add("input_radius", v.input_radius)
      .add("input_scale", initializer(v.input_scale))
      .str();
}
std::string initializer(const rt::SigmoidInt16Params& v) {
  return Fields()
      .add("input_multiplier", v.input_multiplier)
      .add("input_shift", v.input_shift)
      .str();
}
std::string initializer(const rt::SoftmaxParams& v) {
  return Fields().add("input_beta", initializer(v.input_beta)).add("diff_min", v.diff_min).str();
}
std::string initializer(const rt::AffineQuantization& v) {
  return Fields().add("scale", float_literal(v.scale)).add("zero_point", v.zero_point).str();
}
std::string initializer(const rt::StridedView& v) {
  return Fields()
      .add("count", list(v.count))
      .add("stride", list(v.stride))
      .add("offset", v.offset)
      .str();
}
std::string initializer(const rt::PadShape& v) {
  return Fields()
      .add("input_dims", list(v.input_dims))
      .add("before", list(v.before))
      .add("after", list(v.after))
      .str();
}
std::string initializer(const rt::ReduceShape& v) {
  return Fields()
      .add("input_dims", list(v.input_dims))
      .add("output_stride", list(v.output_stride))
      .add("output_elements", v.output_elements)
      .add("reduced_elements", v.reduced_elements)
      .str();
}
std::string initializer(const rt::MeanParams& v) {
  return Fields()
      .add("input_zero_point", v.input_zero_point)
      .add("output_zero_point", v.output_zero_point)
      .add("scale", initializer(v.scale))
      .str();
}
std::string initializer(const rt::SvdfShape& v) {
  return Fields()
      .add("batches", v.batches)
      .add("input_size", v.input_size)
      .add("filters", v.filters)
      .add("rank", v.rank)
      .add("memory", v.memory)
      .str();
}
std::string initializer(const rt::SvdfQuantization& v) {
  return Fields()
      .add("input_offset", v.input_offset)
      .add("state_zero_point", v.state_zero_point)
      .add("output_zero_point", v.output_zero_point)
      .add("feature", initializer(v.feature))
      .add("time", initializer(v.time))
      .str();
}
std::string initializer(const rt::LstmShape& v) {
  return Fields()
      .add("batches", v.batches)
      .add("time_steps", v.time_steps)
      .add("input_size", v.input_size)
      .add("state_size", v.state_size)
      .add_flag("time_major", v.time_major)
      .str();
}
std::string initializer(const rt::LstmFloatParams& v) {
  return Fields()
      .add("shape", initializer(v.shape))
      .add("cell_clip", float_literal(v.cell_clip))
      .str();
}
std::string initializer(const rt::LstmGateScales& v) {
  return Fields()
      .add("input", initializer(v.input))
      .add("recurrent", initializer(v.recurrent))
      .str();
}
std::string initializer(const rt::LstmQuantizedParams& v) {
  return Fields()
      .add("shape", initializer(v.shape))
      .add("input_zero_point", v.input_zero_point)
      .add("state_zero_point", v.state_zero_point)
      .add("input_gate", initializer(v.input_gate))
      .add("forget_gate", initializer(v.forget_gate))
      .add("cell_gate", initializer(v.cell_gate))
      .add("output_gate", initializer(v.output_gate))
      .add("forget_times_cell", initializer(v.forget_times_cell))
      .add("input_times_cell", initializer(v.input_times_cell))
      .add("output_times_tanh", initializer(v.output_times_tanh))
      .add("cell_tanh", initializer(v.cell_tanh))
      .add("cell_clip", v.cell_clip)
      .add("state_min", v.state_min)
      .add("state_max", v.state_max)
      .str();
}

std::string initializer(const rt::PerChannelScale&, std::string_view multiplier_array,
                        std::string_view shift_array) {
  return Fields()
      .add("multiplier", std::string(multiplier_array))
      .add("shift", std::string(shift_array))
      .str();
}
std::string initializer(const rt::SoftmaxInt16Params& v, std::string_view exp_table,
                        std::string_view reciprocal_table) {
  return Fields()
      .add("input_beta", initializer(v.input_beta))
      .add("exp_table", std::string(exp_table))
      .add("reciprocal_table", std::string(reciprocal_table))
      .str();
}

std::string array_definition(std::string_view type, std::string_view name,
                             const std::vector<int64_t>& values, int per_line) {
  std::vector<std::string> literals;
  literals.reserve(values.size());
  for (int64_t value : values) literals.push_back(integer_literal(value));
  return literal_array_definition(type, name, literals, per_line);
}

std::string literal_array_definition(std::string_view type, std::string_view name,
                                     const std::vector<std::string>& literals, int per_line) {
  return literal_array_definition(
      type, name, literals.size(), [&](size_t i) { return literals[i]; }, per_line);
}

std::string literal_array_definition(std::string_view type, std::string_view name, size_t count,
                                     const std::function<std::string(size_t)>& literal,
                                     int per_line) {
  std::string out = fmt::format("alignas(16) const {} {}[{}] = {{", type, name, count);
  const size_t line = per_line > 0 ? static_cast<size_t>(per_line) : 1;
  for (size_t i = 0; i < count; ++i) {
    out += i % line == 0 ? "\n    " : " ";
    out += literal(i);
    if (i + 1 < count) out += ',';
  }
  return out + (count == 0 ? "};\n" : "\n};\n");
}

}  // namespace tinydeploy::codegen
