#include "tinydeploy/report/metadata.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tinydeploy/common/atomic_file.h"
#include "tinydeploy/common/error.h"

namespace tinydeploy::report {

const std::array<const char*, kCounterCount> kCounterNames = {
    "instructions", "loads",      "stores",      "branches",    "taken_branches",
    "est_cycles",   "iaccess",    "itaglookup",  "ihitslookup", "ihitsline",
    "daccess",      "dtaglookup", "dhitslookup", "dhitsline",   "ticks",
    "cycles",       "cpi",        "exc",         "sleep",       "lsu",
    "fold"};

size_t time_counter(const ProfileMeta& profile) {
  if (profile.counters & (CounterMask{1} << kCyclesCounter)) return kCyclesCounter;
  if (profile.counters & (CounterMask{1} << kEstCyclesCounter)) return kEstCyclesCounter;
  return kTicksCounter;
}

std::string time_counter_label(const ProfileMeta& profile) {
  switch (time_counter(profile)) {
    case kCyclesCounter:
      return "measured cycles";
    case kEstCyclesCounter:
      return "estimated cycles";
    default:
      return "ticks";
  }
}

double counter_seconds(const ProfileMeta& profile, uint64_t value) {
  const size_t counter = time_counter(profile);
  const double hz = counter == kTicksCounter ? profile.tick_hz : profile.clock_hz;
  if (value == kNotMeasured || !(hz > 0)) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(value) / hz;
}

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr uintmax_t kMaxMetadataBytes = uintmax_t{64} << 20;

// ---- writing ----

// The counters a profile holds, by name; null for one not measured here (a DWT event count that
// may have wrapped).
json counters_json(const CounterValues& values, CounterMask mask) {
  json out = json::object();
  for (size_t i = 0; i < kCounterCount; ++i) {
    if ((mask & (CounterMask{1} << i)) == 0) continue;
    out[kCounterNames[i]] = values[i] == kNotMeasured ? json(nullptr) : json(values[i]);
  }
  return out;
}

json aggregate_json(const CounterAggregate& a, CounterMask mask) {
  return {{"cold", counters_json(a.cold, mask)},
          {"min", counters_json(a.min, mask)},
          {"median", counters_json(a.median, mask)}};
}

json tensor_json(const TensorMeta& t) {
  json out = {{"index", t.index},
              {"name", t.name},
              {"dtype", t.dtype},
              {"shape", t.shape},
              {"bytes", t.bytes}};
  if (!t.scales.empty()) {
    out["quantization"] = {{"scales", t.scales},
                           {"zero_points", t.zero_points},
                           {"quantized_dimension", t.quantized_dimension}};
  }
  return out;
}

// JSON has no NaN or infinity (a writer would put null there): a value that was computed, an
// output or a difference, is spelled "NaN", "Infinity" or "-Infinity" then, and read back.
json result_json(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

json example_json(const ExampleTensorMeta& t) {
  json values = json::array();
  for (double v : t.values) values.push_back(result_json(v));
  return {{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}, {"values", values}};
}

// ---- reading: every field checked, errors name the field's path ----

class Reader {
 public:
  Reader(const json& value, std::string path, const std::string& where)
      : value_(value), path_(std::move(path)), where_(where) {}

  [[noreturn]] void fail(std::string_view what) const {
    throw Error("{}: {} {}", where_, path_.empty() ? std::string("the document") : path_, what);
  }

  bool has(const char* key) const { return value_.contains(key) && !value_[key].is_null(); }

  Reader at(const char* key) const {
    if (!value_.is_object()) fail("is not an object");
    if (!value_.contains(key)) {
      Reader(value_, path_.empty() ? key : path_ + "." + key, where_).fail("is missing");
    }
    return Reader(value_[key], path_.empty() ? key : path_ + "." + key, where_);
  }

  Reader item(size_t i) const { return Reader(value_[i], fmt::format("{}[{}]", path_, i), where_); }

  size_t size() const {
    if (!value_.is_array()) fail("is not a list");
    return value_.size();
  }

  std::string text() const {
    if (!value_.is_string()) fail("is not a string");
    return value_.get<std::string>();
  }

  bool boolean() const {
    if (!value_.is_boolean()) fail("is not true or false");
    return value_.get<bool>();
  }

  double number() const {
    if (!value_.is_number()) fail("is not a number");
    const double v = value_.get<double>();
    if (!std::isfinite(v)) fail("is not finite");
    return v;
  }

  // A number, or one of the spellings of result_json for NaN and the infinities.
  double result() const {
    if (value_.is_string()) {
      const auto& text = value_.get_ref<const std::string&>();
      if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
      if (text == "Infinity") return std::numeric_limits<double>::infinity();
      if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
      fail("is neither a number nor \"NaN\", \"Infinity\" or \"-Infinity\"");
    }
    if (!value_.is_number()) fail("is not a number");
    return value_.get<double>();
  }

  int64_t integer(int64_t min, int64_t max) const {
    int64_t v = 0;
    // The parser stores every non-negative integer unsigned: those are checked against `min`
    // too (a `runs` of 0).
    if (value_.is_number_unsigned()) {
      const uint64_t u = value_.get<uint64_t>();
      if (u > static_cast<uint64_t>(max)) fail(fmt::format("is {}, above {}", u, max));
      v = static_cast<int64_t>(u);
    } else if (value_.is_number_integer()) {
      v = value_.get<int64_t>();
    } else {
      fail("is not an integer");
    }
    if (v < min || v > max) fail(fmt::format("is {}, outside [{}, {}]", v, min, max));
    return v;
  }

  uint64_t count() const {
    if (!value_.is_number_unsigned() &&
        !(value_.is_number_integer() && value_.get<int64_t>() == 0)) {
      fail("is not a count (an integer of at least 0)");
    }
    return value_.get<uint64_t>();
  }

  int64_t size_value() const { return integer(0, std::numeric_limits<int64_t>::max()); }
  int32_t index(int32_t min = -1) const {
    return static_cast<int32_t>(integer(min, std::numeric_limits<int32_t>::max()));
  }

  template <typename F>
  auto list(F&& read_item) const {
    std::vector<decltype(read_item(item(0)))> out;
    const size_t n = size();
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) out.push_back(read_item(item(i)));
    return out;
  }

  const json& value() const { return value_; }

 private:
  const json& value_;
  std::string path_;
  const std::string& where_;
};

std::string read_sha256(const Reader& r) {
  std::string hash = r.text();
  if (hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != std::string::npos) {
    r.fail("is not a SHA-256 in lowercase hex");
  }
  return hash;
}

std::vector<int32_t> read_shape(const Reader& r) {
  return r.list([](const Reader& d) { return static_cast<int32_t>(d.integer(0, 1 << 30)); });
}

CounterValues read_counters(const Reader& r, CounterMask mask) {
  CounterValues values;
  values.fill(kNotMeasured);
  for (size_t i = 0; i < kCounterCount; ++i) {
    if ((mask & (CounterMask{1} << i)) == 0) continue;
    const Reader value = r.at(kCounterNames[i]);
    if (value.value().is_null()) continue;  // not measured here
    values[i] = value.count();
    // All ones is how memory spells "not measured"; no counter gets there.
    if (values[i] == kNotMeasured) value.fail("is out of range");
  }
  return values;
}

CounterAggregate read_aggregate(const Reader& r, CounterMask mask) {
  CounterAggregate a;
  a.cold = read_counters(r.at("cold"), mask);
  a.min = read_counters(r.at("min"), mask);
  a.median = read_counters(r.at("median"), mask);
  return a;
}

// The profile's "counters": names of known counters, each once. A file written before the list
// existed holds the plugin's.
CounterMask read_counter_mask(const Reader& r) {
  if (!r.has("counters")) return kPluginCounters;
  const Reader list = r.at("counters");
  CounterMask mask = 0;
  const std::vector<std::string> names = list.list([](const Reader& n) { return n.text(); });
  for (const std::string& name : names) {
    const auto* at = std::find_if(kCounterNames.begin(), kCounterNames.end(),
                                  [&](const char* known) { return name == known; });
    if (at == kCounterNames.end()) list.fail(fmt::format("names an unknown counter '{}'", name));
    const CounterMask bit = CounterMask{1} << (at - kCounterNames.begin());
    if (mask & bit) list.fail(fmt::format("names '{}' twice", name));
    mask |= bit;
  }
  if (mask == 0) list.fail("is empty");
  return mask;
}

TensorMeta read_tensor(const Reader& r) {
  TensorMeta t;
  t.index = r.at("index").index(0);
  t.name = r.at("name").text();
  t.dtype = r.at("dtype").text();
  t.shape = read_shape(r.at("shape"));
  t.bytes = r.at("bytes").size_value();
  if (r.has("quantization")) {
    const Reader q = r.at("quantization");
    t.scales = q.at("scales").list([](const Reader& s) { return s.number(); });
    t.zero_points = q.at("zero_points").list([](const Reader& z) {
      return z.integer(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
    });
    t.quantized_dimension = q.at("quantized_dimension").index(0);
  }
  return t;
}

ExampleTensorMeta read_example(const Reader& r) {
  ExampleTensorMeta t;
  t.name = r.at("name").text();
  t.dtype = r.at("dtype").text();
  t.shape = read_shape(r.at("shape"));
  t.values = r.at("values").list([](const Reader& v) { return v.result(); });
  if (static_cast<int64_t>(t.values.size()) > kMaxExampleElements) {
    r.at("values").fail(fmt::format("holds more than {} values", kMaxExampleElements));
  }
  return t;
}

ProfileMeta read_profile(const Reader& r, size_t layer_count) {
  ProfileMeta p;
  p.target = r.at("target").text();
  p.board = r.at("board").text();
  p.core = r.at("core").text();
  p.method = r.at("method").text();
  p.counters = read_counter_mask(r);
  const CounterMask mask = p.counters;
  p.plugin = r.at("plugin").text();
  p.icache = r.at("icache").text();
  p.dcache = r.at("dcache").text();
  p.clock_hz = r.at("clock_hz").number();
  if (!(p.clock_hz >= 0)) r.at("clock_hz").fail("is negative");
  if (p.counters & ((CounterMask{1} << kEstCyclesCounter) | (CounterMask{1} << kCyclesCounter))) {
    if (!(p.clock_hz > 0)) r.at("clock_hz").fail("is not positive");
  }
  if (r.has("tick_hz")) p.tick_hz = r.at("tick_hz").number();
  if (!(p.tick_hz >= 0)) r.at("tick_hz").fail("is negative");
  if ((p.counters & (CounterMask{1} << kTicksCounter)) && !(p.tick_hz > 0)) {
    r.at("tick_hz").fail("is not positive");
  }
  p.runs = static_cast<uint32_t>(r.at("runs").integer(1, std::numeric_limits<uint32_t>::max()));
  p.seed = r.at("seed").count();
  p.layers = r.at("layers").list([mask](const Reader& l) -> std::optional<CounterAggregate> {
    if (l.value().is_null()) return std::nullopt;
    return read_aggregate(l, mask);
  });
  if (p.layers.size() != layer_count) {
    r.at("layers").fail(fmt::format("has {} entries for {} layers", p.layers.size(), layer_count));
  }
  p.total = read_aggregate(r.at("total"), mask);
  p.tail = read_aggregate(r.at("tail"), mask);
  p.systick_ticks = r.at("systick_ticks").count();
  p.instructions_per_tick = r.at("instructions_per_tick").number();
  p.flash_bytes = r.at("flash_bytes").size_value();
  return p;
}

ValidationMeta read_validation(const Reader& r) {
  ValidationMeta v;
  v.target = r.at("target").text();
  v.reference = r.at("reference").text();
  v.runs = static_cast<uint32_t>(r.at("runs").integer(1, std::numeric_limits<uint32_t>::max()));
  v.seed = r.at("seed").count();
  v.tolerance = static_cast<uint32_t>(r.at("tolerance").integer(0, 1 << 16));
  v.pass = r.at("pass").boolean();
  v.outputs = r.at("outputs").list([](const Reader& o) {
    OutputValidationMeta out;
    out.name = o.at("name").text();
    out.max_lsb = o.at("max_lsb").result();
    out.max_real = o.at("max_real").result();
    out.differing = o.at("differing").size_value();
    out.elements = o.at("elements").size_value();
    out.classifier = o.at("classifier").boolean();
    out.top1_agree = o.at("top1_agree").size_value();
    return out;
  });
  v.first_divergence = r.at("first_divergence").text();
  v.timing = r.at("timing").text();
  return v;
}

LibraryMeta read_library(const Reader& r) {
  LibraryMeta l;
  l.core = r.at("core").text();
  l.library_code = r.at("library_code").size_value();
  l.parameters = r.at("parameters").size_value();
  l.weights = r.at("weights").size_value();
  l.flash_total = r.at("flash_total").size_value();
  l.arena = r.at("arena").size_value();
  l.variables = r.at("variables").size_value();
  l.ram_total = r.at("ram_total").size_value();
  l.archive_bytes = r.at("archive_bytes").size_value();
  return l;
}

}  // namespace

std::string metadata_json(const Metadata& m) {
  json doc;
  doc["format"] = "tinydeploy-metadata";
  doc["version"] = m.version;
  doc["tool"] = m.tool;
  doc["model"] = {{"file", m.model_file}, {"sha256", m.model_sha256}, {"bytes", m.model_bytes}};
  doc["name"] = m.name;
  doc["package"] = {{"sha256", m.package_sha256}};
  doc["target"] = m.target;
  doc["core"] = m.core;
  doc["memory"] = {{"arena_bytes", m.arena_bytes},
                   {"variable_bytes", m.variable_bytes},
                   {"weight_bytes", m.weight_bytes}};
  doc["total_macs"] = m.total_macs;
  json inputs = json::array();
  for (const TensorMeta& t : m.inputs) inputs.push_back(tensor_json(t));
  json outputs = json::array();
  for (const TensorMeta& t : m.outputs) outputs.push_back(tensor_json(t));
  doc["inputs"] = inputs;
  doc["outputs"] = outputs;
  json layers = json::array();
  for (const LayerMeta& l : m.layers) {
    layers.push_back({{"op", l.op},
                      {"tag", l.tag},
                      {"kernel", l.kernel},
                      {"macs", l.macs},
                      {"output_bytes", l.output_bytes},
                      {"scratch_bytes", l.scratch_bytes}});
  }
  doc["layers"] = layers;
  json plan = json::array();
  for (const PlacementMeta& p : m.plan) {
    plan.push_back({{"tensor", p.tensor},
                    {"scratch_of_layer", p.scratch_of_layer},
                    {"name", p.name},
                    {"offset", p.offset},
                    {"bytes", p.bytes},
                    {"first_layer", p.first_layer},
                    {"last_layer", p.last_layer}});
  }
  doc["plan"] = plan;
  doc["kernel_sources"] = m.kernel_sources;
  json example = {{"inputs", json::array()}, {"outputs", json::array()}};
  for (const ExampleTensorMeta& t : m.example_inputs) example["inputs"].push_back(example_json(t));
  for (const ExampleTensorMeta& t : m.example_outputs) {
    example["outputs"].push_back(example_json(t));
  }
  doc["example"] = example;

  if (m.profile) {
    const ProfileMeta& p = *m.profile;
    json layer_counters = json::array();
    for (const auto& l : p.layers) {
      layer_counters.push_back(l ? aggregate_json(*l, p.counters) : json(nullptr));
    }
    json counter_names = json::array();
    for (size_t i = 0; i < kCounterCount; ++i) {
      if (p.counters & (CounterMask{1} << i)) counter_names.push_back(kCounterNames[i]);
    }
    doc["profile"] = {{"target", p.target},
                      {"board", p.board},
                      {"core", p.core},
                      {"method", p.method},
                      {"counters", counter_names},
                      {"plugin", p.plugin},
                      {"icache", p.icache},
                      {"dcache", p.dcache},
                      {"clock_hz", p.clock_hz},
                      {"tick_hz", p.tick_hz},
                      {"runs", p.runs},
                      {"seed", p.seed},
                      {"layers", layer_counters},
                      {"total", aggregate_json(p.total, p.counters)},
                      {"tail", aggregate_json(p.tail, p.counters)},
                      {"systick_ticks", p.systick_ticks},
                      {"instructions_per_tick", p.instructions_per_tick},
                      {"flash_bytes", p.flash_bytes}};
  } else {
    doc["profile"] = nullptr;
  }
  if (m.validation) {
    const ValidationMeta& v = *m.validation;
    json out = json::array();
    for (const OutputValidationMeta& o : v.outputs) {
      out.push_back({{"name", o.name},
                     {"max_lsb", result_json(o.max_lsb)},
                     {"max_real", result_json(o.max_real)},
                     {"differing", o.differing},
                     {"elements", o.elements},
                     {"classifier", o.classifier},
                     {"top1_agree", o.top1_agree}});
    }
    doc["validation"] = {{"target", v.target},       {"reference", v.reference},
                         {"runs", v.runs},           {"seed", v.seed},
                         {"tolerance", v.tolerance}, {"pass", v.pass},
                         {"outputs", out},           {"first_divergence", v.first_divergence},
                         {"timing", v.timing}};
  } else {
    doc["validation"] = nullptr;
  }
  if (m.library) {
    const LibraryMeta& l = *m.library;
    doc["library"] = {{"core", l.core},
                      {"library_code", l.library_code},
                      {"parameters", l.parameters},
                      {"weights", l.weights},
                      {"flash_total", l.flash_total},
                      {"arena", l.arena},
                      {"variables", l.variables},
                      {"ram_total", l.ram_total},
                      {"archive_bytes", l.archive_bytes}};
  } else {
    doc["library"] = nullptr;
  }
  return doc.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

Metadata parse_metadata(std::string_view text, const std::string& where) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    throw Error("{} is not valid JSON: {}", where, e.what());
  }
  const Reader r(doc, "", where);
  if (!doc.is_object() || !doc.contains("format") || doc["format"] != "tinydeploy-metadata") {
    throw Error("{} is not a tinydeploy metadata file (no \"format\": \"tinydeploy-metadata\")",
                where);
  }
  Metadata m;
  m.version = static_cast<int>(r.at("version").integer(0, 1 << 20));
  if (m.version != kMetadataVersion) {
    throw Error("{} is metadata version {}; this tinydeploy reads version {}", where, m.version,
                kMetadataVersion);
  }
  m.tool = r.at("tool").text();
  const Reader model = r.at("model");
  m.model_file = model.at("file").text();
  m.model_sha256 = read_sha256(model.at("sha256"));
  m.model_bytes = model.at("bytes").size_value();
  m.name = r.at("name").text();
  m.package_sha256 = read_sha256(r.at("package").at("sha256"));
  m.target = r.at("target").text();
  m.core = r.at("core").text();
  const Reader memory = r.at("memory");
  m.arena_bytes = memory.at("arena_bytes").size_value();
  m.variable_bytes = memory.at("variable_bytes").size_value();
  m.weight_bytes = memory.at("weight_bytes").size_value();
  m.total_macs = r.at("total_macs").size_value();
  m.inputs = r.at("inputs").list(read_tensor);
  m.outputs = r.at("outputs").list(read_tensor);
  m.layers = r.at("layers").list([](const Reader& l) {
    LayerMeta layer;
    layer.op = l.at("op").text();
    layer.tag = l.at("tag").text();
    layer.kernel = l.at("kernel").text();
    layer.macs = l.at("macs").size_value();
    layer.output_bytes = l.at("output_bytes").size_value();
    layer.scratch_bytes = l.at("scratch_bytes").size_value();
    return layer;
  });
  const auto layer_count = static_cast<int32_t>(m.layers.size());
  m.plan = r.at("plan").list([&](const Reader& p) {
    PlacementMeta placement;
    placement.tensor = p.at("tensor").index();
    placement.scratch_of_layer = p.at("scratch_of_layer").index();
    placement.name = p.at("name").text();
    placement.offset = p.at("offset").size_value();
    placement.bytes = p.at("bytes").size_value();
    placement.first_layer = p.at("first_layer").index(0);
    placement.last_layer = p.at("last_layer").index(0);
    if (placement.last_layer < placement.first_layer || placement.last_layer >= layer_count) {
      p.fail(fmt::format("lives from layer {} to layer {}, not within the {} layers",
                         placement.first_layer, placement.last_layer, layer_count));
    }
    if (placement.scratch_of_layer >= layer_count) p.at("scratch_of_layer").fail("is no layer");
    if (placement.bytes > m.arena_bytes || placement.offset > m.arena_bytes - placement.bytes) {
      p.fail(
          fmt::format("ends at byte {}, beyond the {}-byte arena",
                      static_cast<double>(placement.offset) + static_cast<double>(placement.bytes),
                      m.arena_bytes));
    }
    return placement;
  });
  m.kernel_sources = r.at("kernel_sources").list([](const Reader& k) { return k.text(); });
  const Reader example = r.at("example");
  m.example_inputs = example.at("inputs").list(read_example);
  m.example_outputs = example.at("outputs").list(read_example);
  if (r.has("profile")) m.profile = read_profile(r.at("profile"), m.layers.size());
  if (r.has("validation")) m.validation = read_validation(r.at("validation"));
  if (r.has("library")) m.library = read_library(r.at("library"));
  return m;
}

void write_metadata(const fs::path& file, const Metadata& metadata) {
  write_file_atomically(file, metadata_json(metadata));
}

Metadata read_metadata(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(file, ec))) throw Error("{}: no such file", file.string());
  if (!fs::is_regular_file(file, ec)) throw Error("{} is not a file", file.string());
  const uintmax_t size = fs::file_size(file, ec);
  if (ec) throw Error("cannot read {}: {}", file.string(), ec.message());
  if (size > kMaxMetadataBytes) {
    throw Error("{} is {} bytes, more than a metadata file can be ({} MiB)", file.string(), size,
                kMaxMetadataBytes >> 20);
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) throw Error("cannot read {}", file.string());
  return parse_metadata(text.str(), file.string());
}

}  // namespace tinydeploy::report
