// A consistent report::Metadata for tests: `layers` layers of a small chain model, every
// placement within the arena and the layer range, counters that differ per layer, so that a
// figure on the page can be traced to one field. It passes parse_metadata after metadata_json.
#pragma once

#include <cstdint>
#include <string>

#include "tinydeploy/report/metadata.h"

namespace tinydeploy::report::testing {

inline size_t counter(std::string_view name) {
  for (size_t i = 0; i < kCounterCount; ++i) {
    if (name == kCounterNames[i]) return i;
  }
  return kCounterCount;
}

// Counters of layer `i`: est_cycles 1000 * (i + 1) + 7, instructions 700 * (i + 1), ...
// The board's fields are not measured, as under QEMU's plugin.
inline CounterValues layer_values(size_t i) {
  CounterValues v;
  v.fill(kNotMeasured);
  const uint64_t k = i + 1;
  v[counter("instructions")] = 700 * k;
  v[counter("loads")] = 200 * k;
  v[counter("stores")] = 50 * k;
  v[counter("branches")] = 90 * k;
  v[counter("taken_branches")] = 60 * k;
  v[counter("est_cycles")] = 1000 * k + 7;
  v[counter("iaccess")] = 700 * k;
  v[counter("itaglookup")] = 100 * k;
  v[counter("ihitslookup")] = 100 * k;
  v[counter("ihitsline")] = 600 * k;
  v[counter("daccess")] = 250 * k;
  v[counter("dtaglookup")] = 200 * k;
  v[counter("dhitslookup")] = 190 * k;
  v[counter("dhitsline")] = 50 * k;
  return v;
}

inline CounterAggregate same_aggregate(const CounterValues& v) { return {v, v, v}; }

// Layer i: CONV_2D for even i (MACs 5000 * (i + 1)), RESHAPE (no MACs) for odd i; tensor i + 1
// is its output (96 bytes), live from layer i to i + 1, at offset 0 or 96 alternately; the input
// (tensor 0) lives in layer 0; every fourth layer has 32 bytes of scratch at offset 192.
inline Metadata sample_metadata(size_t layers, bool profile = true, bool validation = true,
                                bool library = true) {
  Metadata m;
  m.tool = "tinydeploy 0.1.0";
  m.model_file = "chain.tflite";
  m.model_sha256 = std::string(64, 'a');
  m.model_bytes = 12345;
  m.name = "chain";
  m.package_sha256 = std::string(64, 'b');
  m.target = "qemu-m4";
  m.core = "cortex-m4";
  m.arena_bytes = layers == 0 ? 0 : 224;
  m.variable_bytes = 0;
  m.weight_bytes = 4096;
  TensorMeta input;
  input.index = 0;
  input.name = "input";
  input.dtype = "int8";
  input.shape = {1, 96};
  input.scales = {0.5};
  input.zero_points = {-3};
  input.bytes = 96;
  m.inputs = {input};
  TensorMeta output = input;
  output.index = static_cast<int32_t>(layers);
  output.name = "output";
  m.outputs = {output};
  for (size_t i = 0; i < layers; ++i) {
    LayerMeta l;
    const bool conv = i % 2 == 0;
    l.op = conv ? "CONV_2D" : "RESHAPE";
    l.tag = "layer_" + std::to_string(i) + "_out";
    l.kernel = conv ? "conv" : "copy_bytes";
    l.macs = conv ? static_cast<int64_t>(5000 * (i + 1)) : 0;
    l.output_bytes = 96;
    l.scratch_bytes = i % 4 == 0 ? 32 : 0;
    m.total_macs += l.macs;
    m.layers.push_back(l);
  }
  if (layers > 0) {
    m.plan.push_back({0, -1, "input", 96, 96, 0, 0});
    for (size_t i = 0; i < layers; ++i) {
      const auto layer = static_cast<int32_t>(i);
      const int32_t last = std::min(layer + 1, static_cast<int32_t>(layers) - 1);
      m.plan.push_back({layer + 1, -1, m.layers[i].tag, i % 2 == 0 ? 0 : 96, 96, layer, last});
      if (m.layers[i].scratch_bytes > 0) {
        m.plan.push_back({-1, layer, "scratch", 192, 32, layer, layer});
      }
    }
  }
  m.kernel_sources = {"conv", "layout"};
  if (profile) {
    ProfileMeta p;
    p.target = "qemu-m4";
    p.board = "mps2-an386";
    p.core = "cortex-m4";
    p.method = "qemu-plugin";
    p.plugin = "tinydeploy_profile 1 core=m4";
    p.icache = "32768:2:32";
    p.dcache = "32768:4:32";
    p.clock_hz = 25e6;
    p.runs = 3;
    CounterValues total = layer_values(0);
    for (size_t c = 0; c < kCounterCount; ++c) {
      if (total[c] != kNotMeasured) total[c] = 0;
    }
    for (size_t i = 0; i < layers; ++i) {
      const CounterValues v = layer_values(i);
      p.layers.push_back(same_aggregate(v));
      for (size_t c = 0; c < kCounterCount; ++c) {
        if (v[c] != kNotMeasured) total[c] += v[c];
      }
    }
    total[counter("instructions")] += 8;
    p.total = same_aggregate(total);
    CounterValues tail = total;
    for (size_t c = 0; c < kCounterCount; ++c) {
      if (tail[c] != kNotMeasured) tail[c] = 0;
    }
    tail[counter("instructions")] = 8;
    p.tail = same_aggregate(tail);
    p.systick_ticks = total[counter("instructions")] / 40;
    p.instructions_per_tick = 40;
    p.flash_bytes = 42000;
    m.profile = p;
  }
  if (validation) {
    ValidationMeta v;
    v.target = "qemu-m4";
    v.reference = "tflm";
    v.runs = 5;
    v.pass = true;
    v.outputs = {{"output", 0, 0, 0, 96, true, 5}};
    m.validation = v;
  }
  if (library) {
    LibraryMeta l;
    l.core = "cortex-m4";
    l.library_code = 3000;
    l.parameters = 500;
    l.weights = 4096;
    l.flash_total = 9000;
    l.arena = m.arena_bytes;
    l.ram_total = m.arena_bytes + 1000;
    l.archive_bytes = 100000;
    m.library = l;
  }
  return m;
}

}  // namespace tinydeploy::report::testing
