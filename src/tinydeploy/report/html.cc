#include "tinydeploy/report/html.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tinydeploy/report/html_text.h"
#include "tinydeploy/report/svg_charts.h"

namespace tinydeploy::report {
namespace {

std::string join_shape(const std::vector<int32_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += fmt::format("{}{}", i ? ", " : "", shape[i]);
  return out + "]";
}

// ---- the counters ----

size_t field(std::string_view name) {
  for (size_t i = 0; i < kCounterCount; ++i) {
    if (name == kCounterNames[i]) return i;
  }
  throw std::logic_error(fmt::format("no counter named {}", name));
}

struct Fields {
  size_t instructions = field("instructions");
  size_t loads = field("loads");
  size_t stores = field("stores");
  size_t est_cycles = field("est_cycles");
  size_t iaccess = field("iaccess");
  size_t ihitslookup = field("ihitslookup");
  size_t ihitsline = field("ihitsline");
  size_t daccess = field("daccess");
  size_t dhitslookup = field("dhitslookup");
  size_t dhitsline = field("dhitsline");
};

double as_double(uint64_t value) { return static_cast<double>(value); }

// A count for people; "-" for one that was not measured.
std::string count_text(uint64_t value) {
  return value == kNotMeasured ? std::string("-") : grouped(value);
}

// ---- colours ----

// The palette: one colour per operator type, in order of first appearance.
constexpr std::array<const char*, 10> kPalette = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                                  "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
                                                  "#9c755f", "#8c8c8c"};

class Page {
 public:
  explicit Page(const Metadata& m) : m_(m) {
    if (m_.profile) time_ = time_counter(*m_.profile);
    for (const LayerMeta& layer : m_.layers) {
      if (!colours_.count(layer.op)) {
        colours_.emplace(layer.op, kPalette[colours_.size() % kPalette.size()]);
        op_order_.push_back(layer.op);
      }
    }
  }

  std::string render() {
    head();
    out_ += "<main>\n";
    header();
    summary();
    model_section();
    time_section();
    memory_section();
    validation_section();
    layer_table();
    library_section();
    footer();
    out_ += "</main>\n";
    // Not needed by anything on the page: it tells a test that the page ran to its end.
    out_ +=
        "<script>document.body.dataset.rendered = "
        "String(document.querySelectorAll('svg[data-chart]').length);</script>\n"
        "</body>\n</html>\n";
    return std::move(out_);
  }

 private:
  template <typename... Args>
  void add(fmt::format_string<Args...> format, Args&&... args) {
    fmt::format_to(std::back_inserter(out_), format, std::forward<Args>(args)...);
  }

  // The median run's counters of layer `i`, or null when the profile has none for it.
  const CounterValues* layer_counters(size_t i) const {
    if (!m_.profile || i >= m_.profile->layers.size() || !m_.profile->layers[i]) return nullptr;
    return &m_.profile->layers[i]->median;
  }

  double clock_hz() const {
    return m_.profile && std::isfinite(m_.profile->clock_hz) && m_.profile->clock_hz > 0
               ? m_.profile->clock_hz
               : 0;
  }

  // A value of the profile's time counter (estimated or measured cycles, or ticks) as seconds;
  // not a number when the profile has no rate for it.
  double seconds_of(double value) const {
    const double hz = !m_.profile              ? 0.0
                      : time_ == kTicksCounter ? m_.profile->tick_hz
                                               : m_.profile->clock_hz;
    return std::isfinite(hz) && hz > 0 ? value / hz : std::numeric_limits<double>::quiet_NaN();
  }

  // Whether the profile holds counter `field` at all.
  bool has(size_t field) const {
    return m_.profile && (m_.profile->counters & (CounterMask{1} << field)) != 0;
  }

  // How the time counter's figures came about, one word: estimated, measured.
  std::string time_kind() const { return time_ == kEstCyclesCounter ? "estimated" : "measured"; }
  // The time counter's unit: cycles, or ticks of a board without a cycle counter.
  std::string time_unit() const { return time_ == kTicksCounter ? "ticks" : "cycles"; }
  // "Estimated cycles", "Measured cycles", "Measured ticks".
  std::string time_title() const {
    std::string title = time_kind() + " " + time_unit();
    title[0] = static_cast<char>(title[0] - 'a' + 'A');
    return title;
  }

  const char* colour_of(const std::string& op) const {
    const auto it = colours_.find(op);
    return it == colours_.end() ? kPalette.back() : it->second;
  }

  std::string layer_label(size_t i, size_t max_chars) const {
    const LayerMeta& layer = m_.layers[i];
    return fmt::format("#{} {}", i, html_text_shortened(layer.op + "  " + layer.tag, max_chars));
  }

  std::string runs_words() const {
    const uint32_t runs = m_.profile ? m_.profile->runs : 0;
    return runs == 1 ? std::string("one run") : fmt::format("median of {} runs", runs);
  }

  std::string core_words() const {
    return html_text(m_.profile && !m_.profile->core.empty() ? m_.profile->core : m_.core);
  }

  // ---- the page ----

  void head() {
    out_ += kReportMarker;
    out_ += "\n<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    out_ += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    // The page loads nothing: the policy makes sure of it.
    out_ +=
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n";
    add("<title>{} \u2014 tinydeploy report</title>\n", html_text(m_.name));
    // Errors are kept on the page (and still logged): how a test sees that the page ran clean.
    out_ +=
        "<script>window.onerror = function (message, source, line) {\n"
        "  var root = document.documentElement, seen = root.getAttribute('data-js-errors');\n"
        "  root.setAttribute('data-js-errors', (seen ? seen + '\\n' : '') + message + ' (line ' + "
        "line + ')');\n"
        "};</script>\n";
    out_ += R"(<style>
:root { --ink: #1f2933; --muted: #5f6b7a; --line: #dde2e8; --panel: #f5f7f9; --pass: #2e7d32;
  --fail: #c62828; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 28px 20px 48px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 40px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1rem; margin: 26px 0 2px; }
.sub, .caption, footer { color: var(--muted); font-size: .875rem; }
.caption { margin: 0 0 6px; }
.absent { color: var(--muted); font-style: italic; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .85em; }
dl.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 10px;
  margin: 12px 0 0; }
dl.summary div { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
  padding: 9px 12px; }
dl.summary dt { font-size: .72rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
dl.summary dd { margin: 2px 0 0; font-size: 1.15rem; font-weight: 600; font-variant-numeric: tabular-nums;
  overflow-wrap: anywhere; }
dl.summary dd.how { font-size: .75rem; font-weight: 400; color: var(--muted); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .8rem; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 5px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
td { white-space: nowrap; }
td.name { white-space: normal; overflow-wrap: anywhere; min-width: 8em; }
td.tag { max-width: 10em; overflow: hidden; text-overflow: ellipsis; }
i.swatch { display: inline-block; width: 8px; height: 8px; border-radius: 2px; margin-right: 5px; }
th { font-weight: 600; background: #fff; }
th.n, td.n { text-align: right; }
th small { display: block; font-weight: 400; color: var(--muted); }
tbody tr:nth-child(even) { background: var(--panel); }
tfoot td { font-weight: 600; border-top: 2px solid var(--line); }
.badge { display: inline-block; font-weight: 700; font-size: 1.5rem; padding: 2px 16px; border-radius: 6px;
  color: #fff; letter-spacing: .06em; margin-right: 12px; vertical-align: middle; }
.badge.pass { background: var(--pass); }
.badge.fail { background: var(--fail); }
ul.legend { display: flex; flex-wrap: wrap; gap: 2px 16px; list-style: none; padding: 0; margin: 6px 0;
  font-size: .8rem; color: var(--muted); }
ul.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; }
svg.chart { display: block; width: 100%; height: auto; margin: 6px 0 4px; }
svg.chart text { fill: var(--ink); font-family: inherit; }
svg.chart text.muted { fill: var(--muted); }
svg.chart .axis { stroke: #8a96a3; stroke-width: 1; }
svg.chart .grid { stroke: var(--line); stroke-width: 1; }
svg.chart g:hover > rect, svg.chart g:hover > circle { opacity: .75; }
</style>
</head>
<body>
)";
  }

  void header() {
    add("<header>\n<h1>{} <span class=\"sub\">tinydeploy report</span></h1>\n", html_text(m_.name));
    add("<p class=\"sub\">{} ({} bytes, sha256 <code>{}</code>) for {} ({})</p>\n</header>\n",
        html_text(m_.model_file), grouped(m_.model_bytes), html_text(m_.model_sha256),
        html_text(m_.target), html_text(m_.core));
  }

  void summary_item(std::string_view term, const std::string& value, const std::string& how) {
    add("<div><dt>{}</dt><dd>{}</dd>", term, value);
    if (!how.empty()) add("<dd class=\"how\">{}</dd>", how);
    out_ += "</div>\n";
  }

  void summary() {
    out_ += "<h2 id=\"summary\">Summary</h2>\n";
    const Fields f;
    const std::optional<ProfileMeta>& p = m_.profile;
    if (!p) {
      out_ +=
          "<p class=\"absent\">No profile in this metadata: times, cycles and instructions are "
          "unknown (run <code>tinydeploy profile</code>).</p>\n";
    }
    out_ += "<dl class=\"summary\">\n";
    summary_item("Model", html_text(m_.model_file), html_text(m_.name));
    if (p) {
      summary_item("Target", html_text(p->target),
                   fmt::format("{}, {}", html_text(p->board), html_text(p->core)));
    } else {
      summary_item("Target", html_text(m_.target), html_text(m_.core));
    }
    const double macs = as_double(non_negative(m_.total_macs));
    if (p) {
      const double cycles = as_double(p->total.median[time_]);
      const double seconds = seconds_of(cycles);
      if (time_ == kEstCyclesCounter) {
        summary_item("Inference time", duration(seconds),
                     fmt::format("estimated: cost-model cycles at {} MHz, {}; cold {}",
                                 decimal(clock_hz() / 1e6, 3), runs_words(),
                                 duration(seconds_of(as_double(p->total.cold[time_])))));
        summary_item("Total cycles", count_text(p->total.median[time_]),
                     fmt::format("estimated ({} cost model)", core_words()));
      } else {
        summary_item("Inference time", duration(seconds),
                     fmt::format("measured ({}), {}; cold {}", html_text(p->method), runs_words(),
                                 duration(seconds_of(as_double(p->total.cold[time_])))));
        summary_item(time_ == kCyclesCounter ? "Total cycles" : "Total ticks",
                     count_text(p->total.median[time_]),
                     time_ == kCyclesCounter
                         ? "measured (DWT CYCCNT)"
                         : fmt::format("measured, {} per second",
                                       grouped(static_cast<uint64_t>(std::max(0.0, p->tick_hz)))));
      }
      if (has(f.instructions)) {
        summary_item("Instructions", count_text(p->total.median[f.instructions]),
                     fmt::format("counted ({})", html_text(p->method)));
      }
      summary_item("Total MACs", grouped(non_negative(m_.total_macs)), "estimated from shapes");
      const CounterValues& t = p->total.median;
      if (has(f.iaccess)) {
        summary_item("Cache hits",
                     fmt::format("{} / {}",
                                 percent(as_double(t[f.ihitslookup]) + as_double(t[f.ihitsline]),
                                         as_double(t[f.iaccess]), 3),
                                 percent(as_double(t[f.dhitslookup]) + as_double(t[f.dhitsline]),
                                         as_double(t[f.daccess]), 3)),
                     fmt::format("simulated; instruction / data caches {} and {} (SIZE:WAYS:LINE)",
                                 html_text(p->icache), html_text(p->dcache)));
      }
      summary_item("MACs per second", seconds > 0 ? compact(macs / seconds) : "-",
                   fmt::format("{}: MACs / inference time", time_kind()));
      if (time_ != kTicksCounter) {
        std::string how = time_kind();
        if (has(f.instructions)) {
          how += fmt::format(
              "; {} instructions per MAC (counted)",
              macs > 0 ? decimal(ratio(as_double(p->total.median[f.instructions]), macs), 2) : "-");
        }
        summary_item("Cycles per MAC", macs > 0 ? decimal(ratio(cycles, macs), 2) : "-", how);
      }
    } else {
      summary_item("Total MACs", grouped(non_negative(m_.total_macs)), "estimated from shapes");
    }
    summary_item("Layers", grouped(static_cast<uint64_t>(m_.layers.size())), "operators");
    summary_item("Arena", fmt::format("{} B", grouped(m_.arena_bytes)), "statically planned");
    summary_item("Variable area", fmt::format("{} B", grouped(m_.variable_bytes)),
                 "state kept between inferences");
    if (m_.library) {
      summary_item("Flash", fmt::format("{} B", grouped(m_.library->flash_total)),
                   "the library: code, parameters and weights");
    } else if (p && p->flash_bytes > 0) {
      summary_item("Flash", fmt::format("{} B", grouped(p->flash_bytes)),
                   "the profiled validator image: package, link and start-up");
    } else {
      summary_item("Flash", "-",
                   fmt::format("unknown; weights alone {} B", grouped(m_.weight_bytes)));
    }
    out_ += "</dl>\n";
  }

  void tensor_rows(const std::vector<TensorMeta>& tensors, std::string_view role) {
    for (const TensorMeta& t : tensors) {
      std::string quantization = "-";
      if (t.scales.size() == 1) {
        quantization = fmt::format("scale {:.6g}, zero point {}", t.scales[0],
                                   t.zero_points.empty() ? 0 : t.zero_points[0]);
      } else if (!t.scales.empty()) {
        quantization =
            fmt::format("per channel ({} scales, axis {})", t.scales.size(), t.quantized_dimension);
      }
      add("<tr><td>{}</td><td class=\"name\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td>"
          "<td>{}</td></tr>\n",
          role, html_text(t.name), html_text(t.dtype), join_shape(t.shape), grouped(t.bytes),
          quantization);
    }
  }

  void model_section() {
    out_ += "<h2 id=\"model\">Inputs and outputs</h2>\n";
    if (m_.inputs.empty() && m_.outputs.empty()) {
      out_ += "<p class=\"absent\">The metadata names no inputs or outputs.</p>\n";
    } else {
      out_ +=
          "<div class=\"scroll\"><table>\n<thead><tr><th></th><th>tensor</th><th>type</th>"
          "<th>shape</th><th class=\"n\">bytes</th><th>quantization</th></tr></thead>\n<tbody>\n";
      tensor_rows(m_.inputs, "input");
      tensor_rows(m_.outputs, "output");
      out_ += "</tbody></table></div>\n";
    }
    if (!m_.kernel_sources.empty()) {
      std::string sources;
      for (const std::string& s : m_.kernel_sources) {
        sources += fmt::format("{}<code>{}</code>", sources.empty() ? "" : ", ", html_text(s));
      }
      add("<p class=\"caption\">Kernel sources in the package: {}.</p>\n", sources);
    }
  }

  void legend() {
    out_ += "<ul class=\"legend\">";
    for (const std::string& op : op_order_) {
      add("<li><i style=\"background:{}\"></i>{}</li>", colour_of(op), html_text(op));
    }
    out_ += "</ul>\n";
  }

  // ---- the charts of the profile ----

  void layer_time_chart() {
    const Fields f;
    const double total = as_double(m_.profile->total.median[time_]);
    std::vector<Bar> bars;
    for (size_t i = 0; i < m_.layers.size(); ++i) {
      const LayerMeta& layer = m_.layers[i];
      Bar b;
      b.label_html = layer_label(i, 40);
      b.colour = colour_of(layer.op);
      const CounterValues* c = layer_counters(i);
      if (c) {
        const double cycles = as_double((*c)[time_]);
        b.value = cycles;
        b.value_html = fmt::format("{} ({})", compact(cycles), percent(cycles, total));
        b.title_html =
            fmt::format("#{} {} {}\n{} {} {} ({} of the inference), {}", i, html_text(layer.op),
                        html_text(layer.tag), count_text((*c)[time_]), time_kind(), time_unit(),
                        percent(cycles, total), duration(seconds_of(cycles)));
        if (has(f.instructions)) {
          b.title_html +=
              fmt::format("\n{} instructions (counted)", count_text((*c)[f.instructions]));
        }
      } else {
        b.value_html = "not profiled";
        b.title_html = fmt::format("#{} {} {}: the profile has no figures for this layer", i,
                                   html_text(layer.op), html_text(layer.tag));
      }
      bars.push_back(std::move(b));
    }
    out_ += bar_chart({kChartLayerTime, time_title() + " per layer", std::move(bars),
                       time_ == kEstCyclesCounter
                           ? fmt::format("estimated cycles per layer ({} cost model, {})",
                                         core_words(), runs_words())
                           : fmt::format("measured {} per layer ({}, {})", time_unit(),
                                         html_text(m_.profile->method), runs_words()),
                       std::nullopt, ""});
  }

  void cycles_per_mac_chart() {
    const Fields f;
    const double macs = as_double(non_negative(m_.total_macs));
    const double whole = ratio(as_double(m_.profile->total.median[time_]), macs);
    std::vector<Bar> bars;
    for (size_t i = 0; i < m_.layers.size(); ++i) {
      const LayerMeta& layer = m_.layers[i];
      Bar b;
      b.label_html = layer_label(i, 40);
      b.colour = colour_of(layer.op);
      const CounterValues* c = layer_counters(i);
      const double layer_macs = as_double(non_negative(layer.macs));
      if (c && layer_macs > 0) {
        const double value = ratio(as_double((*c)[time_]), layer_macs);
        b.value = value;
        b.value_html = decimal(value, 2);
        b.title_html = fmt::format("#{} {} {}\n{} {} {} per MAC ({} MACs)", i, html_text(layer.op),
                                   html_text(layer.tag), decimal(value, 2), time_kind(),
                                   time_unit(), grouped(non_negative(layer.macs)));
      } else {
        b.value_html = c ? "-" : "not profiled";
        b.title_html = fmt::format("#{} {} {}: {}", i, html_text(layer.op), html_text(layer.tag),
                                   c ? "no MACs" : "the profile has no figures for this layer");
      }
      bars.push_back(std::move(b));
    }
    std::optional<double> reference;
    if (macs > 0) reference = whole;
    out_ +=
        bar_chart({kChartCyclesPerMac, time_title() + " per MAC per layer", std::move(bars),
                   fmt::format("{} {} per MAC (layers without MACs: -)", time_kind(), time_unit()),
                   reference, fmt::format("whole model {}", decimal(whole, 2))});
  }

  // ---- MACs against time ----

  void macs_vs_time_chart() {
    const Fields f;
    ScatterChart chart;
    chart.id = kChartMacsVsTime;
    const std::string description =
        "Estimated MACs against " + time_kind() + " " + time_unit() + " per layer";
    chart.description = description;  // a view: `description` outlives the chart
    chart.x_title_html = "estimated MACs per layer (from shapes)";
    chart.y_title_html = time_kind() + " " + time_unit() + " per layer";
    for (size_t i = 0; i < m_.layers.size(); ++i) {
      const CounterValues* c = layer_counters(i);
      if (!c) continue;
      const LayerMeta& layer = m_.layers[i];
      Point p;
      p.x = as_double(non_negative(layer.macs));
      p.y = as_double((*c)[time_]);
      p.title_html = fmt::format(
          "#{} {} {}\n{} MACs (estimated), {} {} ({}), {} {} per MAC", i, html_text(layer.op),
          html_text(layer.tag), grouped(non_negative(layer.macs)), count_text((*c)[time_]),
          time_unit(), time_kind(), p.x > 0 ? decimal(ratio(p.y, p.x), 2) : "-", time_unit());
      p.label_html = fmt::format("#{}", i);
      p.colour = colour_of(layer.op);
      chart.points.push_back(std::move(p));
    }
    out_ += scatter_chart(chart);
  }

  void time_section() {
    out_ += "<h2 id=\"time\">Where the time goes</h2>\n";
    if (!m_.profile) {
      out_ +=
          "<p class=\"absent\">No profile in this metadata: run <code>tinydeploy profile</code> "
          "to see the time per layer.</p>\n";
      return;
    }
    if (m_.layers.empty()) {
      out_ += "<p class=\"absent\">The model has no layers to chart.</p>\n";
      return;
    }
    const ProfileMeta& p = *m_.profile;
    if (time_ == kEstCyclesCounter) {
      add("<p class=\"caption\">Figures from {} on {} ({}); {}. Instructions, loads, stores and "
          "branches are counted; caches ({} instruction, {} data, SIZE:WAYS:LINE) are simulated; "
          "cycles are estimated from the {} instruction-cost model; times are estimated cycles at "
          "{} MHz.</p>\n",
          html_text(p.method), html_text(p.target), html_text(p.board), runs_words(),
          html_text(p.icache), html_text(p.dcache), core_words(), decimal(clock_hz() / 1e6, 3));
    } else {
      add("<p class=\"caption\">Figures measured on {} ({}) by {}; {}. {} The time of the link "
          "between layers is left out.</p>\n",
          html_text(p.target), html_text(p.board), html_text(p.method), runs_words(),
          time_ == kCyclesCounter ? "Cycles are the core's DWT cycle counter; times are its "
                                    "tick counter."
                                  : "Times are the board's tick counter; it has no cycle counter.");
    }
    legend();
    add("<h3>{} per layer</h3>\n", time_title());
    layer_time_chart();
    out_ += "<h3>MACs against time, per layer</h3>\n";
    out_ +=
        "<p class=\"caption\">Each point is one layer; points high above the others spend many "
        "cycles for their MACs.</p>\n";
    macs_vs_time_chart();
    add("<h3>{} per MAC, per layer</h3>\n", time_title());
    cycles_per_mac_chart();
  }

  // ---- the arena plan ----

  void memory_section() {
    out_ += "<h2 id=\"memory\">Memory plan</h2>\n";
    if (m_.layers.empty()) {
      out_ += "<p class=\"absent\">The model has no layers: there is no arena plan to draw.</p>\n";
    } else if (m_.arena_bytes <= 0) {
      out_ += "<p class=\"absent\">The arena is 0 bytes: no tensor lives in it.</p>\n";
    } else if (m_.plan.empty()) {
      out_ += "<p class=\"absent\">The metadata holds no arena plan.</p>\n";
    } else {
      out_ += memory_plan_chart(kChartMemoryPlan, m_.plan, m_.layers.size(), m_.arena_bytes);
      add("<p class=\"caption\">{} placements in a {}-byte arena over {} layers; a rectangle "
          "spans the layers in which its tensor or scratch buffer is live and the bytes it "
          "occupies.</p>\n",
          m_.plan.size(), grouped(m_.arena_bytes), m_.layers.size());
    }
    add("<p class=\"caption\">Arena {} bytes, variable area {} bytes, weights {} bytes (in "
        "flash).</p>\n",
        grouped(m_.arena_bytes), grouped(m_.variable_bytes), grouped(m_.weight_bytes));
  }

  // ---- validation ----

  void validation_section() {
    out_ += "<h2 id=\"validation\">Validation</h2>\n";
    if (!m_.validation) {
      out_ +=
          "<p class=\"absent\">Not validated: no validation result in this metadata (run "
          "<code>tinydeploy validate</code>).</p>\n";
      return;
    }
    const ValidationMeta& v = *m_.validation;
    add("<p><span class=\"badge {}\">{}</span>{} against the {} reference, {} run{}, seed {}, "
        "tolerance {} LSB</p>\n",
        v.pass ? "pass" : "fail", v.pass ? "PASS" : "FAIL", html_text(v.target),
        html_text(v.reference), v.runs, v.runs == 1 ? "" : "s", v.seed, v.tolerance);
    if (v.outputs.empty()) {
      out_ += "<p class=\"absent\">No outputs compared.</p>\n";
    } else {
      out_ +=
          "<div class=\"scroll\"><table>\n<thead><tr><th>output</th><th class=\"n\">largest "
          "difference<small>LSB</small></th><th class=\"n\">largest difference<small>real "
          "value</small></th><th class=\"n\">differing elements</th><th class=\"n\">top-1 "
          "agreement</th></tr></thead>\n<tbody>\n";
      for (const OutputValidationMeta& o : v.outputs) {
        add("<tr><td class=\"name\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
            "<td class=\"n\">{} of {}</td><td class=\"n\">{}</td></tr>\n",
            html_text(o.name), decimal(o.max_lsb, 0),
            std::isfinite(o.max_real) ? fmt::format("{:.6g}", o.max_real) : std::string("-"),
            grouped(o.differing), grouped(o.elements),
            o.classifier ? fmt::format("{} of {} run{}", grouped(o.top1_agree), v.runs,
                                       v.runs == 1 ? "" : "s")
                         : std::string("-"));
      }
      out_ += "</tbody></table></div>\n";
    }
    if (!v.first_divergence.empty()) {
      add("<p class=\"caption\">First divergence: {}</p>\n", html_text(v.first_divergence));
    }
    // As validate words it ("time per inference: ...").
    if (!v.timing.empty()) add("<p class=\"caption\">{}</p>\n", html_text(v.timing));
  }

  // ---- every layer ----

  void layer_table() {
    out_ += "<h2 id=\"layers\">Layers</h2>\n";
    if (m_.layers.empty()) {
      out_ += "<p class=\"absent\">The model has no layers.</p>\n";
      return;
    }
    const Fields f;
    const bool profiled = m_.profile.has_value();
    const bool scratch = std::any_of(m_.layers.begin(), m_.layers.end(),
                                     [](const LayerMeta& l) { return l.scratch_bytes != 0; });
    out_ +=
        "<div class=\"scroll\"><table>\n<thead><tr><th class=\"n\">#</th><th>op</th><th>tag</th>"
        "<th>kernel</th><th class=\"n\">MACs<small>estimated</small></th>";
    if (profiled) {
      add("<th class=\"n\">instructions<small>counted</small></th><th class=\"n\">{1}"
          "<small>{0}</small></th><th class=\"n\">share<small>of {1}</small></th>"
          "<th class=\"n\">{1}/MAC<small>{0}</small></th><th class=\"n\">loads"
          "<small>counted</small></th><th class=\"n\">stores<small>counted</small></th>"
          "<th class=\"n\">d-cache hits<small>simulated</small></th>",
          time_kind(), time_unit());
    }
    out_ += "<th class=\"n\">output<small>bytes</small></th>";
    if (scratch) out_ += "<th class=\"n\">scratch<small>bytes</small></th>";
    out_ += "</tr></thead>\n<tbody>\n";
    const double total_cycles = profiled ? as_double(m_.profile->total.median[time_]) : 0;
    const auto counter_cells = [&](const CounterValues* c, double macs) {
      if (!c) {
        out_ += "<td class=\"n\" colspan=\"7\">not profiled</td>";
        return;
      }
      const double cycles = as_double((*c)[time_]);
      add("<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
          "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
          "<td class=\"n\">{}</td>",
          count_text((*c)[f.instructions]), count_text((*c)[time_]), percent(cycles, total_cycles),
          macs > 0 ? decimal(ratio(cycles, macs), 2) : "-", count_text((*c)[f.loads]),
          count_text((*c)[f.stores]),
          has(f.daccess) ? percent(as_double((*c)[f.dhitslookup]) + as_double((*c)[f.dhitsline]),
                                   as_double((*c)[f.daccess]), 2)
                         : std::string("-"));
    };
    for (size_t i = 0; i < m_.layers.size(); ++i) {
      const LayerMeta& layer = m_.layers[i];
      add("<tr><td class=\"n\">{0}</td><td><i class=\"swatch\" style=\"background:{1}\"></i>{2}"
          "</td><td class=\"tag\" title=\"{3}\">{3}</td><td><code>{4}</code></td>"
          "<td class=\"n\">{5}</td>",
          i, colour_of(layer.op), html_text(layer.op), html_text(layer.tag),
          layer.kernel.empty() ? "-" : html_text(layer.kernel), grouped(layer.macs));
      if (profiled) counter_cells(layer_counters(i), as_double(non_negative(layer.macs)));
      add("<td class=\"n\">{}</td>", grouped(layer.output_bytes));
      if (scratch) add("<td class=\"n\">{}</td>", grouped(layer.scratch_bytes));
      out_ += "</tr>\n";
    }
    out_ += "</tbody>\n";
    if (profiled) {
      add("<tfoot><tr><td></td><td colspan=\"3\">whole inference ({})</td><td class=\"n\">{}</td>",
          runs_words(), grouped(m_.total_macs));
      counter_cells(&m_.profile->total.median, as_double(non_negative(m_.total_macs)));
      out_ += scratch ? "<td></td><td></td></tr></tfoot>\n" : "<td></td></tr></tfoot>\n";
    }
    out_ += "</table></div>\n";
    if (profiled && has(f.instructions)) {
      add("<p class=\"caption\">The layers add up to the whole inference but for {} instructions "
          "after the last layer (invoke's epilogue). D-cache hits: hits by tag lookup and by line "
          "buffer over accesses.</p>\n",
          count_text(m_.profile->tail.median[f.instructions]));
    } else if (profiled) {
      add("<p class=\"caption\">The layers add up to the whole inference but for {} {} after "
          "the last layer (invoke's epilogue). Columns the board does not measure show -.</p>\n",
          count_text(m_.profile->tail.median[time_]), time_unit());
    }
  }

  void library_section() {
    out_ += "<h2 id=\"library\">Library footprint</h2>\n";
    if (!m_.library) {
      out_ +=
          "<p class=\"absent\">No library in this metadata (run <code>tinydeploy library</code>)."
          "</p>\n";
      return;
    }
    const LibraryMeta& l = *m_.library;
    add("<p class=\"caption\">The static library built for {}, as its memory report counts "
        "it.</p>\n",
        html_text(l.core));
    out_ +=
        "<div class=\"scroll\"><table>\n<thead><tr><th>memory</th><th>part</th>"
        "<th class=\"n\">bytes</th></tr></thead>\n<tbody>\n";
    const auto row = [&](std::string_view memory, std::string_view part, int64_t bytes) {
      add("<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>\n", memory, part, grouped(bytes));
    };
    row("flash", "library code", l.library_code);
    row("flash", "kernel parameters", l.parameters);
    row("flash", "weights", l.weights);
    // What the total holds beyond the parts (the C library and start-up code).
    const auto rest = [](int64_t total, std::initializer_list<int64_t> parts) {
      int64_t sum = 0;
      for (const int64_t part : parts) sum += std::clamp<int64_t>(part, 0, int64_t{1} << 53);
      return total > sum ? total - sum : 0;
    };
    row("flash", "other (C library, start-up)",
        rest(l.flash_total, {l.library_code, l.parameters, l.weights}));
    row("flash", "<b>total</b>", l.flash_total);
    row("RAM", "tensor arena", l.arena);
    row("RAM", "variable area", l.variables);
    row("RAM", "other static (C library, start-up; stack not included)",
        rest(l.ram_total, {l.arena, l.variables}));
    row("RAM", "<b>total</b>", l.ram_total);
    row("file", "archive (libNAME.a)", l.archive_bytes);
    out_ += "</tbody></table></div>\n";
  }

  void footer() {
    const std::string package =
        m_.package_sha256.empty()
            ? std::string()
            : fmt::format("; package SHA-256 <code>{}</code>", html_text(m_.package_sha256));
    add("<footer>Written by {} from the metadata of {} (format version {}{}).</footer>\n",
        html_text(m_.tool.empty() ? std::string("tinydeploy") : m_.tool), html_text(m_.model_file),
        m_.version, package);
  }

  const Metadata& m_;
  std::map<std::string, const char*> colours_;
  std::vector<std::string> op_order_;
  std::string out_;
  size_t time_ = kEstCyclesCounter;  // the profile's time counter (time_counter)
};

}  // namespace

std::string render_report(const Metadata& metadata) { return Page(metadata).render(); }

}  // namespace tinydeploy::report
