// NAME.meta.json (report/metadata.h): every field survives writing and reading, and a document
// that is wrong anywhere is refused with a message naming the field's path.
#include "tinydeploy/report/metadata.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "tinydeploy/common/error.h"

namespace tinydeploy::report {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kWhere[] = "kws.meta.json";
const std::string kModelSha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kPackageSha = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

// Counter values that differ field by field and between aggregates, so that a field written
// under another field's name shows.
CounterValues counters(uint64_t base) {
  CounterValues values{};
  for (size_t i = 0; i < kCounterCount; ++i) values[i] = base + 7 * i;
  return values;
}

CounterAggregate aggregate(uint64_t base) {
  return {counters(base), counters(base + 1000), counters(base + 2000)};
}

// A document with every field set to something other than its default.
Metadata full_metadata() {
  Metadata m;
  m.tool = "tinydeploy 0.1.0";
  m.model_file = "kws_ref_model.tflite";
  m.model_sha256 = kModelSha;
  m.model_bytes = 53'936;
  m.name = "kws_ref_model";
  m.package_sha256 = kPackageSha;
  m.target = "qemu-m4";
  m.core = "cortex-m4";
  m.arena_bytes = 1024;
  m.variable_bytes = 48;
  m.weight_bytes = 49'792;
  m.total_macs = 2'656'768;

  TensorMeta input;
  input.index = 0;
  input.name = "input_1";
  input.dtype = "int8";
  input.shape = {1, 49, 10, 1};
  input.scales = {0.5847029089927673};
  input.zero_points = {83};
  input.quantized_dimension = 0;
  input.bytes = 490;
  m.inputs = {input};
  TensorMeta logits;
  logits.index = 7;
  logits.name = "Identity";
  logits.dtype = "int8";
  logits.shape = {1, 12};
  logits.scales = {0.00390625, 1.0 / 3.0};
  logits.zero_points = {-128, 5};
  logits.quantized_dimension = 1;
  logits.bytes = 12;
  TensorMeta plain;
  plain.index = 9;
  plain.name = "float_out";
  plain.dtype = "float32";
  plain.shape = {2, 3};
  plain.bytes = 24;
  m.outputs = {logits, plain};

  m.layers = {{"CONV_2D", "conv1", "conv_s8", 1'000'000, 512, 64},
              {"DEPTHWISE_CONV_2D", "dw1", "depthwise_conv_s8", 250'000, 256, 0},
              {"FULLY_CONNECTED", "Identity", "", 768, 12, 0}};
  m.plan = {{0, -1, "input_1", 0, 490, 0, 0},
            {3, -1, "conv1", 512, 512, 0, 1},
            {-1, 0, "scratch of layer 0", 496, 16, 0, 0},
            {7, -1, "Identity", 0, 12, 2, 2}};
  m.kernel_sources = {"runtime/kernels/conv.cc", "runtime/kernels/fully_connected.cc"};
  m.example_inputs = {{"input_1", "int8", {1, 4}, {-128, 0, 5, 127}}};
  m.example_outputs = {{"Identity", "int8", {1, 2}, {-3, 120}},
                       {"float_out", "float32", {2, 1}, {1e-300, -2.718281828459045}}};

  ProfileMeta p;
  p.target = "qemu-m4";
  p.board = "mps2-an386";
  p.core = "cortex-m4";
  p.method = "qemu-plugin";
  p.plugin = "tinydeploy-profile core=cortex-m4 icache=8192:2:32 dcache=4096:4:32";
  p.icache = "8192:2:32";
  p.dcache = "4096:4:32";
  p.clock_hz = 25e6;
  // Every counter there is (no method gives all of them: the document does not mind), one of
  // them not measured in one layer.
  p.counters = (CounterMask{1} << kCounterCount) - 1;
  p.tick_hz = 1e9;
  p.runs = 3;
  p.seed = std::numeric_limits<uint64_t>::max() - 1;  // above int64: stored unsigned
  p.layers = {aggregate(100), std::nullopt, aggregate(300)};
  p.layers[2]->median[kCounterCount - 1] = kNotMeasured;
  p.total = aggregate(10'000'000'000);  // above 32 bits
  p.tail = aggregate(40);
  p.systick_ticks = 123'456;
  p.instructions_per_tick = 40.0;
  p.flash_bytes = 81'234;
  m.profile = p;

  ValidationMeta v;
  v.target = "qemu-m4";
  v.reference = "tflm";
  v.runs = 20;
  v.seed = 42;
  v.tolerance = 1;
  v.pass = true;
  v.outputs = {{"Identity", 1, 0.00390625, 2, 12, true, 19},
               {"float_out", 0, 1.5e-7, 0, 6, false, 0}};
  v.first_divergence = "layer 1 DEPTHWISE_CONV_2D 'dw1'";
  v.timing = "12.5 ms per inference (SysTick)";
  m.validation = v;

  LibraryMeta l;
  l.core = "cortex-m4";
  l.library_code = 9'000;
  l.parameters = 1'200;
  l.weights = 49'792;
  l.flash_total = 59'992;
  l.arena = 1024;
  l.variables = 48;
  l.ram_total = 1072;
  l.archive_bytes = 70'000;
  m.library = l;
  return m;
}

void expect_same_tensors(const std::vector<TensorMeta>& a, const std::vector<TensorMeta>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE("tensor " + std::to_string(i));
    EXPECT_EQ(a[i].index, b[i].index);
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].dtype, b[i].dtype);
    EXPECT_EQ(a[i].shape, b[i].shape);
    EXPECT_EQ(a[i].scales, b[i].scales);
    EXPECT_EQ(a[i].zero_points, b[i].zero_points);
    EXPECT_EQ(a[i].quantized_dimension, b[i].quantized_dimension);
    EXPECT_EQ(a[i].bytes, b[i].bytes);
  }
}

void expect_same_examples(const std::vector<ExampleTensorMeta>& a,
                          const std::vector<ExampleTensorMeta>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE("example tensor " + std::to_string(i));
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].dtype, b[i].dtype);
    EXPECT_EQ(a[i].shape, b[i].shape);
    EXPECT_EQ(a[i].values, b[i].values);
  }
}

void expect_same_aggregate(const CounterAggregate& a, const CounterAggregate& b) {
  EXPECT_EQ(a.cold, b.cold);
  EXPECT_EQ(a.min, b.min);
  EXPECT_EQ(a.median, b.median);
}

// Field by field, so that a failure names the field.
void expect_same(const Metadata& a, const Metadata& b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.tool, b.tool);
  EXPECT_EQ(a.model_file, b.model_file);
  EXPECT_EQ(a.model_sha256, b.model_sha256);
  EXPECT_EQ(a.model_bytes, b.model_bytes);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.package_sha256, b.package_sha256);
  EXPECT_EQ(a.target, b.target);
  EXPECT_EQ(a.core, b.core);
  EXPECT_EQ(a.arena_bytes, b.arena_bytes);
  EXPECT_EQ(a.variable_bytes, b.variable_bytes);
  EXPECT_EQ(a.weight_bytes, b.weight_bytes);
  EXPECT_EQ(a.total_macs, b.total_macs);
  expect_same_tensors(a.inputs, b.inputs);
  expect_same_tensors(a.outputs, b.outputs);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    SCOPED_TRACE("layer " + std::to_string(i));
    EXPECT_EQ(a.layers[i].op, b.layers[i].op);
    EXPECT_EQ(a.layers[i].tag, b.layers[i].tag);
    EXPECT_EQ(a.layers[i].kernel, b.layers[i].kernel);
    EXPECT_EQ(a.layers[i].macs, b.layers[i].macs);
    EXPECT_EQ(a.layers[i].output_bytes, b.layers[i].output_bytes);
    EXPECT_EQ(a.layers[i].scratch_bytes, b.layers[i].scratch_bytes);
  }
  ASSERT_EQ(a.plan.size(), b.plan.size());
  for (size_t i = 0; i < a.plan.size(); ++i) {
    SCOPED_TRACE("placement " + std::to_string(i));
    EXPECT_EQ(a.plan[i].tensor, b.plan[i].tensor);
    EXPECT_EQ(a.plan[i].scratch_of_layer, b.plan[i].scratch_of_layer);
    EXPECT_EQ(a.plan[i].name, b.plan[i].name);
    EXPECT_EQ(a.plan[i].offset, b.plan[i].offset);
    EXPECT_EQ(a.plan[i].bytes, b.plan[i].bytes);
    EXPECT_EQ(a.plan[i].first_layer, b.plan[i].first_layer);
    EXPECT_EQ(a.plan[i].last_layer, b.plan[i].last_layer);
  }
  EXPECT_EQ(a.kernel_sources, b.kernel_sources);
  expect_same_examples(a.example_inputs, b.example_inputs);
  expect_same_examples(a.example_outputs, b.example_outputs);

  ASSERT_EQ(a.profile.has_value(), b.profile.has_value());
  if (a.profile) {
    const ProfileMeta& p = *a.profile;
    const ProfileMeta& q = *b.profile;
    EXPECT_EQ(p.target, q.target);
    EXPECT_EQ(p.board, q.board);
    EXPECT_EQ(p.core, q.core);
    EXPECT_EQ(p.method, q.method);
    EXPECT_EQ(p.plugin, q.plugin);
    EXPECT_EQ(p.icache, q.icache);
    EXPECT_EQ(p.dcache, q.dcache);
    EXPECT_EQ(p.clock_hz, q.clock_hz);
    EXPECT_EQ(p.runs, q.runs);
    EXPECT_EQ(p.seed, q.seed);
    ASSERT_EQ(p.layers.size(), q.layers.size());
    for (size_t i = 0; i < p.layers.size(); ++i) {
      SCOPED_TRACE("profiled layer " + std::to_string(i));
      ASSERT_EQ(p.layers[i].has_value(), q.layers[i].has_value());
      if (p.layers[i]) expect_same_aggregate(*p.layers[i], *q.layers[i]);
    }
    expect_same_aggregate(p.total, q.total);
    expect_same_aggregate(p.tail, q.tail);
    EXPECT_EQ(p.systick_ticks, q.systick_ticks);
    EXPECT_EQ(p.instructions_per_tick, q.instructions_per_tick);
    EXPECT_EQ(p.flash_bytes, q.flash_bytes);
  }
  ASSERT_EQ(a.validation.has_value(), b.validation.has_value());
  if (a.validation) {
    const ValidationMeta& v = *a.validation;
    const ValidationMeta& w = *b.validation;
    EXPECT_EQ(v.target, w.target);
    EXPECT_EQ(v.reference, w.reference);
    EXPECT_EQ(v.runs, w.runs);
    EXPECT_EQ(v.seed, w.seed);
    EXPECT_EQ(v.tolerance, w.tolerance);
    EXPECT_EQ(v.pass, w.pass);
    ASSERT_EQ(v.outputs.size(), w.outputs.size());
    for (size_t i = 0; i < v.outputs.size(); ++i) {
      SCOPED_TRACE("validated output " + std::to_string(i));
      EXPECT_EQ(v.outputs[i].name, w.outputs[i].name);
      EXPECT_EQ(v.outputs[i].max_lsb, w.outputs[i].max_lsb);
      EXPECT_EQ(v.outputs[i].max_real, w.outputs[i].max_real);
      EXPECT_EQ(v.outputs[i].differing, w.outputs[i].differing);
      EXPECT_EQ(v.outputs[i].elements, w.outputs[i].elements);
      EXPECT_EQ(v.outputs[i].classifier, w.outputs[i].classifier);
      EXPECT_EQ(v.outputs[i].top1_agree, w.outputs[i].top1_agree);
    }
    EXPECT_EQ(v.first_divergence, w.first_divergence);
    EXPECT_EQ(v.timing, w.timing);
  }
  ASSERT_EQ(a.library.has_value(), b.library.has_value());
  if (a.library) {
    const LibraryMeta& l = *a.library;
    const LibraryMeta& k = *b.library;
    EXPECT_EQ(l.core, k.core);
    EXPECT_EQ(l.library_code, k.library_code);
    EXPECT_EQ(l.parameters, k.parameters);
    EXPECT_EQ(l.weights, k.weights);
    EXPECT_EQ(l.flash_total, k.flash_total);
    EXPECT_EQ(l.arena, k.arena);
    EXPECT_EQ(l.variables, k.variables);
    EXPECT_EQ(l.ram_total, k.ram_total);
    EXPECT_EQ(l.archive_bytes, k.archive_bytes);
  }
}

Metadata round_trip(const Metadata& m) { return parse_metadata(metadata_json(m), kWhere); }

// The full document as JSON, changed by `edit`, then read: the message it is refused with, or
// "" when it is accepted.
std::string refusal(const std::function<void(json&)>& edit) {
  json doc = json::parse(metadata_json(full_metadata()));
  edit(doc);
  try {
    parse_metadata(doc.dump(), kWhere);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string refusal_of_text(const std::string& text) {
  try {
    parse_metadata(text, kWhere);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(MetadataTest, EveryFieldSurvivesTheRoundTrip) {
  const Metadata m = full_metadata();
  const Metadata back = round_trip(m);
  expect_same(m, back);
  // Written again, the document is the same text.
  EXPECT_EQ(metadata_json(back), metadata_json(m));
}

TEST(MetadataTest, TheDocumentSpellsTheFormatAndItsVersion) {
  const json doc = json::parse(metadata_json(full_metadata()));
  EXPECT_EQ(doc.at("format"), "tinydeploy-metadata");
  EXPECT_EQ(doc.at("version"), kMetadataVersion);
  EXPECT_EQ(doc.at("profile").at("layers").at(1), nullptr);
  // Counters by name, in the plugin's order.
  const json& cold = doc.at("profile").at("layers").at(0).at("cold");
  ASSERT_EQ(cold.size(), kCounterCount);
  EXPECT_EQ(cold.at("instructions"), 100u);
  EXPECT_EQ(cold.at("est_cycles"), 100u + 7 * 5);
  EXPECT_EQ(cold.at("dhitsline"), 100u + 7 * 13);
  // An unquantized tensor has no quantization entry.
  EXPECT_FALSE(doc.at("outputs").at(1).contains("quantization"));
  EXPECT_EQ(doc.at("outputs").at(0).at("quantization").at("zero_points"), json({-128, 5}));
}

TEST(MetadataTest, OptionalPartsAreNullAndStayAbsent) {
  Metadata m = full_metadata();
  m.profile.reset();
  m.validation.reset();
  m.library.reset();
  const std::string text = metadata_json(m);
  const json doc = json::parse(text);
  EXPECT_TRUE(doc.at("profile").is_null());
  EXPECT_TRUE(doc.at("validation").is_null());
  EXPECT_TRUE(doc.at("library").is_null());
  expect_same(m, round_trip(m));
  // A quantization of null is no quantization.
  json unquantized = doc;
  unquantized["inputs"][0]["quantization"] = nullptr;
  const Metadata plain = parse_metadata(unquantized.dump(), kWhere);
  EXPECT_TRUE(plain.inputs[0].scales.empty());
  EXPECT_TRUE(plain.inputs[0].zero_points.empty());
  // A document without the keys at all reads the same.
  json without = doc;
  without.erase("profile");
  without.erase("validation");
  without.erase("library");
  const Metadata back = parse_metadata(without.dump(), kWhere);
  EXPECT_FALSE(back.profile.has_value());
  EXPECT_FALSE(back.validation.has_value());
  EXPECT_FALSE(back.library.has_value());
}

TEST(MetadataTest, EmptyListsAndALayerlessModelRoundTrip) {
  Metadata m = full_metadata();
  m.layers.clear();
  m.plan.clear();
  m.profile->layers.clear();
  m.kernel_sources.clear();
  m.example_inputs.clear();
  m.example_outputs = {{"Identity", "int8", {1, 5000}, {}}};  // left out: too large
  expect_same(m, round_trip(m));
}

TEST(MetadataTest, WritesAndReadsAFileAtomically) {
  std::string pattern = (fs::temp_directory_path() / "metadata_test-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const fs::path dir = pattern;
  const fs::path file = dir / "kws.meta.json";
  Metadata m = full_metadata();
  write_metadata(file, m);
  expect_same(m, read_metadata(file));
  m.name = "second";
  write_metadata(file, m);
  EXPECT_EQ(read_metadata(file).name, "second");
  // Nothing but the file: no temporary left behind.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1u);
  fs::remove_all(dir);
}

TEST(MetadataTest, RefusesAnotherVersion) {
  EXPECT_EQ(refusal([](json& d) { d["version"] = 2; }),
            "kws.meta.json is metadata version 2; this tinydeploy reads version 1");
  EXPECT_EQ(refusal([](json& d) { d["version"] = 0; }),
            "kws.meta.json is metadata version 0; this tinydeploy reads version 1");
  EXPECT_EQ(refusal([](json& d) { d["version"] = -1; }),
            "kws.meta.json: version is -1, outside [0, 1048576]");
  EXPECT_EQ(refusal([](json& d) { d["version"] = "1"; }),
            "kws.meta.json: version is not an integer");
  EXPECT_EQ(refusal([](json& d) { d["version"] = 1.0; }),
            "kws.meta.json: version is not an integer");
  EXPECT_EQ(refusal([](json& d) { d.erase("version"); }), "kws.meta.json: version is missing");
}

TEST(MetadataTest, RefusesADocumentWithoutTheFormat) {
  const std::string expected =
      "kws.meta.json is not a tinydeploy metadata file (no \"format\": \"tinydeploy-metadata\")";
  EXPECT_EQ(refusal([](json& d) { d.erase("format"); }), expected);
  EXPECT_EQ(refusal([](json& d) { d["format"] = "tinydeploy-metadata-2"; }), expected);
  EXPECT_EQ(refusal([](json& d) { d["format"] = 1; }), expected);
  EXPECT_EQ(refusal_of_text("[1, 2]"), expected);
  EXPECT_EQ(refusal_of_text("\"tinydeploy-metadata\""), expected);
  EXPECT_EQ(refusal_of_text("null"), expected);
}

TEST(MetadataTest, RefusesInvalidJson) {
  for (const std::string text : {"", "{", "{\"format\": \"tinydeploy-metadata\",}", "nul",
                                 "{\"a\": 1} trailing", "{\"a\": NaN}"}) {
    SCOPED_TRACE(text);
    EXPECT_THAT(refusal_of_text(text), StartsWith("kws.meta.json is not valid JSON: "));
  }
  // Truncated anywhere, the full document is refused (never read as a partial one).
  const std::string full = metadata_json(full_metadata());
  for (size_t cut : {size_t{1}, full.size() / 3, full.size() / 2, full.size() - 3}) {
    SCOPED_TRACE(cut);
    EXPECT_THAT(refusal_of_text(full.substr(0, cut)),
                StartsWith("kws.meta.json is not valid JSON"));
  }
}

TEST(MetadataTest, NamesAMissingOrMistypedField) {
  EXPECT_EQ(refusal([](json& d) { d.erase("layers"); }), "kws.meta.json: layers is missing");
  EXPECT_EQ(refusal([](json& d) { d["profile"].erase("tail"); }),
            "kws.meta.json: profile.tail is missing");
  EXPECT_EQ(refusal([](json& d) { d["layers"][2].erase("kernel"); }),
            "kws.meta.json: layers[2].kernel is missing");
  EXPECT_EQ(refusal([](json& d) { d["model"] = 5; }), "kws.meta.json: model is not an object");
  EXPECT_EQ(refusal([](json& d) { d["inputs"] = json::object(); }),
            "kws.meta.json: inputs is not a list");
  EXPECT_EQ(refusal([](json& d) { d["name"] = 3; }), "kws.meta.json: name is not a string");
  EXPECT_EQ(refusal([](json& d) { d["validation"]["pass"] = "yes"; }),
            "kws.meta.json: validation.pass is not true or false");
  EXPECT_EQ(refusal([](json& d) { d["profile"]["layers"][0]["min"].erase("dtaglookup"); }),
            "kws.meta.json: profile.layers[0].min.dtaglookup is missing");
}

TEST(MetadataTest, RefusesANegativeSize) {
  EXPECT_EQ(refusal([](json& d) { d["memory"]["arena_bytes"] = -1; }),
            "kws.meta.json: memory.arena_bytes is -1, outside [0, 9223372036854775807]");
  EXPECT_EQ(refusal([](json& d) { d["layers"][1]["macs"] = -5; }),
            "kws.meta.json: layers[1].macs is -5, outside [0, 9223372036854775807]");
  EXPECT_EQ(refusal([](json& d) { d["library"]["archive_bytes"] = -70000; }),
            "kws.meta.json: library.archive_bytes is -70000, outside [0, 9223372036854775807]");
  EXPECT_EQ(refusal([](json& d) { d["inputs"][0]["shape"][2] = -1; }),
            "kws.meta.json: inputs[0].shape[2] is -1, outside [0, 1073741824]");
  // Above int64 (stored unsigned by the parser).
  EXPECT_EQ(refusal([](json& d) { d["model"]["bytes"] = uint64_t{1} << 63; }),
            "kws.meta.json: model.bytes is 9223372036854775808, above 9223372036854775807");
}

TEST(MetadataTest, RefusesACountThatIsNotANonNegativeInteger) {
  const std::string expected =
      "kws.meta.json: profile.total.median.est_cycles is not a count (an integer of at least 0)";
  EXPECT_EQ(refusal([](json& d) { d["profile"]["total"]["median"]["est_cycles"] = 1.5; }),
            expected);
  EXPECT_EQ(refusal([](json& d) { d["profile"]["total"]["median"]["est_cycles"] = 2.0; }),
            expected);
  EXPECT_EQ(refusal([](json& d) { d["profile"]["total"]["median"]["est_cycles"] = -1; }), expected);
  EXPECT_EQ(refusal([](json& d) { d["profile"]["total"]["median"]["est_cycles"] = true; }),
            expected);
  EXPECT_EQ(refusal([](json& d) { d["profile"]["layers"][2]["cold"]["loads"] = "12"; }),
            "kws.meta.json: profile.layers[2].cold.loads is not a count (an integer of at least "
            "0)");
  EXPECT_EQ(refusal([](json& d) { d["validation"]["seed"] = -42; }),
            "kws.meta.json: validation.seed is not a count (an integer of at least 0)");
  // Zero is a count.
  EXPECT_EQ(refusal([](json& d) { d["profile"]["total"]["median"]["est_cycles"] = 0; }), "");
}

TEST(MetadataTest, RefusesAStringWhereANumberGoes) {
  EXPECT_EQ(refusal([](json& d) { d["model"]["bytes"] = "53936"; }),
            "kws.meta.json: model.bytes is not an integer");
  EXPECT_EQ(refusal([](json& d) { d["outputs"][0]["quantization"]["scales"][1] = "0.5"; }),
            "kws.meta.json: outputs[0].quantization.scales[1] is not a number");
  // Results may also be the strings of NaN and the infinities (see NonFiniteResultsRoundTrip),
  // but no other string.
  EXPECT_EQ(refusal([](json& d) { d["validation"]["outputs"][1]["max_real"] = "1e-7"; }),
            "kws.meta.json: validation.outputs[1].max_real is neither a number nor \"NaN\", "
            "\"Infinity\" or \"-Infinity\"");
  EXPECT_EQ(refusal([](json& d) { d["example"]["outputs"][1]["values"][0] = "inf"; }),
            "kws.meta.json: example.outputs[1].values[0] is neither a number nor \"NaN\", "
            "\"Infinity\" or \"-Infinity\"");
  EXPECT_EQ(refusal([](json& d) { d["example"]["outputs"][1]["values"][0] = nullptr; }),
            "kws.meta.json: example.outputs[1].values[0] is not a number");
  EXPECT_EQ(refusal([](json& d) { d["inputs"][0]["quantization"]["scales"][0] = "NaN"; }),
            "kws.meta.json: inputs[0].quantization.scales[0] is not a number");
  EXPECT_EQ(refusal([](json& d) { d["profile"]["clock_hz"] = "25 MHz"; }),
            "kws.meta.json: profile.clock_hz is not a number");
  EXPECT_EQ(refusal([](json& d) { d["profile"]["clock_hz"] = 0; }),
            "kws.meta.json: profile.clock_hz is not positive");
  // Read from text, 0 is an unsigned number: the lower bound holds for it too.
  EXPECT_EQ(refusal([](json& d) { d["profile"]["runs"] = 0; }),
            "kws.meta.json: profile.runs is 0, outside [1, 4294967295]");
  EXPECT_EQ(refusal([](json& d) { d["validation"]["runs"] = 0; }),
            "kws.meta.json: validation.runs is 0, outside [1, 4294967295]");
  EXPECT_EQ(refusal([](json& d) { d["profile"]["runs"] = 1; }), "");
}

TEST(MetadataTest, RefusesANumberBeyondADouble) {
  std::string text = metadata_json(full_metadata());
  const std::string clock = "\"clock_hz\": 25000000.0";
  const size_t at = text.find(clock);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, clock.size(), "\"clock_hz\": 1e999");
  // The parser itself refuses it, and says where.
  EXPECT_THAT(refusal_of_text(text), AllOf(StartsWith("kws.meta.json is not valid JSON: "),
                                           HasSubstr("number overflow parsing '1e999'")));
}

TEST(MetadataTest, RefusesAHashThatIsNotLowercaseHexSha256) {
  const std::string expected = "kws.meta.json: model.sha256 is not a SHA-256 in lowercase hex";
  const std::string upper = "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef";
  for (const std::string& bad :
       {upper, kModelSha.substr(0, 63), kModelSha + "0", std::string(64, 'g'), std::string(),
        kModelSha.substr(0, 62) + " 0"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(refusal([&](json& d) { d["model"]["sha256"] = bad; }), expected);
  }
  EXPECT_EQ(refusal([](json& d) { d["model"]["sha256"] = 7; }),
            "kws.meta.json: model.sha256 is not a string");
}

TEST(MetadataTest, RefusesAPlacementOutsideTheArenaOrTheLayers) {
  // The arena is 1024 bytes and there are 3 layers.
  EXPECT_EQ(refusal([](json& d) { d["plan"][0]["offset"] = 1000; }),
            "kws.meta.json: plan[0] ends at byte 1490, beyond the 1024-byte arena");
  EXPECT_EQ(refusal([](json& d) { d["plan"][3]["bytes"] = 1025; }),
            "kws.meta.json: plan[3] ends at byte 1025, beyond the 1024-byte arena");
  // Offset and size that would overflow when added.
  EXPECT_THAT(
      refusal([](json& d) { d["plan"][1]["offset"] = std::numeric_limits<int64_t>::max(); }),
      AllOf(StartsWith("kws.meta.json: plan[1] ends at byte 9.223372036854"),
            HasSubstr("beyond the 1024-byte arena")));
  // Ending exactly at the arena's end is inside.
  EXPECT_EQ(refusal([](json& d) { d["plan"][1]["offset"] = 512; }), "");
  EXPECT_EQ(refusal([](json& d) {
              d["plan"][1]["first_layer"] = 2;
              d["plan"][1]["last_layer"] = 1;
            }),
            "kws.meta.json: plan[1] lives from layer 2 to layer 1, not within the 3 layers");
  EXPECT_EQ(refusal([](json& d) { d["plan"][3]["last_layer"] = 3; }),
            "kws.meta.json: plan[3] lives from layer 2 to layer 3, not within the 3 layers");
  EXPECT_EQ(refusal([](json& d) { d["plan"][0]["first_layer"] = -1; }),
            "kws.meta.json: plan[0].first_layer is -1, outside [0, 2147483647]");
  EXPECT_EQ(refusal([](json& d) { d["plan"][2]["scratch_of_layer"] = 3; }),
            "kws.meta.json: plan[2].scratch_of_layer is no layer");
  EXPECT_EQ(refusal([](json& d) { d["plan"][2]["scratch_of_layer"] = -2; }),
            "kws.meta.json: plan[2].scratch_of_layer is -2, outside [-1, 2147483647]");
  // With no layers, no placement can live anywhere.
  EXPECT_EQ(refusal([](json& d) {
              d["layers"] = json::array();
              d["profile"]["layers"] = json::array();
            }),
            "kws.meta.json: plan[0] lives from layer 0 to layer 0, not within the 0 layers");
}

TEST(MetadataTest, RefusesAProfileWithAnotherLayerCount) {
  EXPECT_EQ(refusal([](json& d) { d["profile"]["layers"].erase(2); }),
            "kws.meta.json: profile.layers has 2 entries for 3 layers");
  EXPECT_EQ(refusal([](json& d) { d["profile"]["layers"].push_back(nullptr); }),
            "kws.meta.json: profile.layers has 4 entries for 3 layers");
  // A layer entry that is neither null nor an aggregate.
  EXPECT_EQ(refusal([](json& d) { d["profile"]["layers"][1] = 5; }),
            "kws.meta.json: profile.layers[1] is not an object");
}

TEST(MetadataTest, RefusesMoreExampleValuesThanAreKept) {
  const auto with_values = [](size_t n) {
    return [n](json& d) {
      d["example"]["inputs"][0]["values"] = std::vector<double>(n, 1.0);
      d["example"]["inputs"][0]["shape"] = {static_cast<int64_t>(n)};
    };
  };
  EXPECT_EQ(refusal(with_values(kMaxExampleElements)), "");
  EXPECT_EQ(refusal(with_values(kMaxExampleElements + 1)),
            "kws.meta.json: example.inputs[0].values holds more than 4096 values");
}

// A float model's outputs, and the difference between the target's and the reference's, can be
// NaN or infinite; JSON has no such numbers, and the document must still read back.
TEST(MetadataTest, NonFiniteResultsRoundTrip) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Metadata m = full_metadata();
  m.example_outputs[1].values = {kInf, std::nan(""), -kInf, 1.5};
  m.validation->outputs[1].max_real = kInf;
  m.validation->outputs[1].max_lsb = std::nan("");
  m.validation->pass = false;
  const std::string text = metadata_json(m);
  const json doc = json::parse(text);
  EXPECT_EQ(doc["example"]["outputs"][1]["values"], json({"Infinity", "NaN", "-Infinity", 1.5}));
  EXPECT_EQ(doc["validation"]["outputs"][1]["max_real"], "Infinity");
  const Metadata back = parse_metadata(text, kWhere);
  const std::vector<double>& values = back.example_outputs[1].values;
  ASSERT_EQ(values.size(), 4u);
  EXPECT_EQ(values[0], kInf);
  EXPECT_TRUE(std::isnan(values[1]));
  EXPECT_EQ(values[2], -kInf);
  EXPECT_EQ(values[3], 1.5);
  EXPECT_EQ(back.validation->outputs[1].max_real, kInf);
  EXPECT_TRUE(std::isnan(back.validation->outputs[1].max_lsb));
  EXPECT_EQ(metadata_json(back), text);
}

TEST(MetadataTest, InvalidUtf8InNamesIsReplacedWhenWritten) {
  Metadata m = full_metadata();
  m.inputs[0].name =
      "in\xff"
      "put";
  m.layers[0].tag = "conv\xc3";  // a sequence cut short
  m.plan[1].name = "\x80";
  std::string text;
  ASSERT_NO_THROW(text = metadata_json(m));
  const Metadata back = parse_metadata(text, kWhere);
  const std::string replacement = "\xef\xbf\xbd";  // U+FFFD
  EXPECT_EQ(back.inputs[0].name, "in" + replacement + "put");
  EXPECT_EQ(back.layers[0].tag, "conv" + replacement);
  EXPECT_EQ(back.plan[1].name, replacement);
  EXPECT_EQ(back.inputs[0].shape, m.inputs[0].shape);
}

class MetadataFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "metadata_test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string read_refusal(const fs::path& file) {
    try {
      read_metadata(file);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_;
};

TEST_F(MetadataFileTest, RefusesAFileOverSixtyFourMebibytes) {
  const fs::path big = dir_ / "big.meta.json";
  std::ofstream(big, std::ios::binary) << "{}";
  fs::resize_file(big, uintmax_t{65} << 20);  // sparse: nothing is read before the size check
  EXPECT_EQ(read_refusal(big),
            big.string() + " is 68157440 bytes, more than a metadata file can be (64 MiB)");
}

TEST_F(MetadataFileTest, RefusesADirectoryOrAMissingFile) {
  EXPECT_EQ(read_refusal(dir_), dir_.string() + " is not a file");
  EXPECT_EQ(read_refusal(dir_ / "missing.meta.json"),
            (dir_ / "missing.meta.json").string() + ": no such file");
}

TEST_F(MetadataFileTest, NamesTheFileInAnError) {
  const fs::path file = dir_ / "old.meta.json";
  json doc = json::parse(metadata_json(full_metadata()));
  doc["plan"][0]["offset"] = 4096;
  std::ofstream(file, std::ios::binary) << doc.dump();
  EXPECT_EQ(read_refusal(file),
            file.string() + ": plan[0] ends at byte 4586, beyond the 1024-byte arena");
}

}  // namespace
}  // namespace tinydeploy::report

namespace tinydeploy::report {
namespace {

TEST(MetadataTest, TheProfilesCounterListIsChecked) {
  EXPECT_EQ(refusal([](json& d) {
              d["profile"]["counters"] = {"ticks", "watts"};
            }),
            "kws.meta.json: profile.counters names an unknown counter 'watts'");
  EXPECT_EQ(refusal([](json& d) {
              d["profile"]["counters"] = {"ticks", "ticks"};
            }),
            "kws.meta.json: profile.counters names 'ticks' twice");
  EXPECT_EQ(refusal([](json& d) { d["profile"]["counters"] = json::array(); }),
            "kws.meta.json: profile.counters is empty");
  // A listed counter must be in every aggregate (null where it was not measured).
  EXPECT_EQ(refusal([](json& d) { d["profile"]["total"]["cold"].erase("fold"); }),
            "kws.meta.json: profile.total.cold.fold is missing");
  EXPECT_EQ(refusal([](json& d) { d["profile"]["tick_hz"] = 0; }),
            "kws.meta.json: profile.tick_hz is not positive");
}

TEST(MetadataTest, AProfileWrittenBeforeTheCounterListHoldsThePluginsCounters) {
  Metadata m = full_metadata();
  m.profile->counters = kPluginCounters;
  m.profile->tick_hz = 0;
  m.profile->layers[2]->median[kCounterCount - 1] = 0;
  json doc = json::parse(metadata_json(m));
  doc["profile"].erase("counters");
  doc["profile"].erase("tick_hz");
  const Metadata read = parse_metadata(doc.dump(), kWhere);
  EXPECT_EQ(read.profile->counters, kPluginCounters);
  EXPECT_EQ(read.profile->total.median[kInstructionsCounter],
            m.profile->total.median[kInstructionsCounter]);
  EXPECT_EQ(read.profile->total.median[kTicksCounter], kNotMeasured);
  EXPECT_EQ(time_counter(*read.profile), kEstCyclesCounter);
}

}  // namespace
}  // namespace tinydeploy::report
