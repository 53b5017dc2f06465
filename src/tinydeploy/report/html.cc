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

#include "tinydeploy/common/text.h"

namespace tinydeploy::report {
namespace {

// ---- text and numbers ----

// Text that printable() has made well-formed, for HTML content and quoted attributes.
std::string html(std::string_view shown) {
  std::string out;
  out.reserve(shown.size());
  for (const char c : shown) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Untrusted text (names from the model or the metadata file).
std::string text(std::string_view untrusted) { return html(printable(untrusted)); }

// At most `max_chars` characters of untrusted text, cut at a character boundary with an ellipsis.
std::string shortened(std::string_view untrusted, size_t max_chars) {
  const std::string shown = printable(untrusted);
  const auto starts_character = [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  };
  const auto characters =
      static_cast<size_t>(std::count_if(shown.begin(), shown.end(), starts_character));
  if (characters <= max_chars || max_chars == 0) return html(shown);
  size_t kept = 0;
  size_t cut = 0;
  for (; cut < shown.size(); ++cut) {
    if (starts_character(shown[cut]) && kept++ == max_chars - 1) break;
  }
  return html(std::string_view(shown).substr(0, cut)) + "\u2026";
}

uint64_t non_negative(int64_t value) { return value < 0 ? 0 : static_cast<uint64_t>(value); }

// 1234567 -> "1,234,567".
std::string grouped(uint64_t value) {
  const std::string digits = fmt::format("{}", value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string grouped(int64_t value) {
  if (value >= 0) return grouped(static_cast<uint64_t>(value));
  // Built by appending (GCC 12's -Wrestrict misfires on "-" + string).
  std::string out = "-";
  out += grouped(static_cast<uint64_t>(-(value + 1)) + 1);
  return out;
}

// A fixed-point number with its integer part grouped; "-" for what is not a finite number.
std::string decimal(double value, int decimals) {
  if (!std::isfinite(value)) return "-";
  const std::string digits = fmt::format("{:.{}f}", std::fabs(value), decimals);
  const size_t point = std::min(digits.find('.'), digits.size());
  std::string out = value < 0 && digits.find_first_not_of("0.") != std::string::npos ? "-" : "";
  for (size_t i = 0; i < point; ++i) {
    if (i > 0 && (point - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out + digits.substr(point);
}

// Three significant digits and a metric prefix: 1.01M, 250k, 12.5.
std::string compact(double value) {
  if (!std::isfinite(value)) return "-";
  static constexpr std::array<const char*, 7> kPrefixes = {"", "k", "M", "G", "T", "P", "E"};
  double scaled = std::fabs(value);
  size_t prefix = 0;
  while (scaled >= 999.5 && prefix + 1 < kPrefixes.size()) {
    scaled /= 1000;
    ++prefix;
  }
  const int decimals = scaled >= 99.95 || scaled == std::floor(scaled) ? 0
                       : scaled >= 9.995                               ? 1
                                                                       : 2;
  std::string out = fmt::format("{:.{}f}", scaled, decimals);
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  return (value < 0 ? "-" : "") + out + kPrefixes[prefix];
}

// An SVG coordinate or length: never NaN or infinite, whatever the data.
std::string px(double value) {
  if (!std::isfinite(value)) return "0";
  const std::string out = fmt::format("{:.1f}", value);
  return out == "-0.0" ? "0.0" : out;
}

double ratio(double part, double whole) {
  const double r = whole > 0 ? part / whole : 0;
  return std::isfinite(r) ? r : 0;
}

std::string percent(double part, double whole, int decimals = 1) {
  if (!(whole > 0)) return "-";
  return decimal(100 * ratio(part, whole), decimals) + "%";
}

// A duration in the unit that reads best.
std::string duration(double seconds) {
  if (!std::isfinite(seconds)) return "-";
  if (seconds >= 1) return decimal(seconds, 3) + " s";
  if (seconds >= 1e-3) return decimal(seconds * 1e3, 3) + " ms";
  return decimal(seconds * 1e6, 3) + " \u00b5s";
}

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

// ---- chart helpers ----

constexpr double kChartWidth = 960;

// The palette: one colour per operator type, in order of first appearance.
constexpr std::array<const char*, 10> kPalette = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                                  "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
                                                  "#9c755f", "#8c8c8c"};
constexpr const char* kScratchColour = "#f28e2b";
constexpr std::array<const char*, 3> kTensorColours = {"#4e79a7", "#6f9fca", "#345d86"};

// Round steps (1, 2 or 5 times a power of ten) from 0 up to at least `max`, about `count`.
std::vector<double> ticks(double max, int count, bool integers) {
  if (!std::isfinite(max) || max <= 0) return {0, 1};
  const double rough = max / count;
  const double power = std::pow(10.0, std::floor(std::log10(rough)));
  double step = 10 * power;
  for (const double m : {1.0, 2.0, 5.0}) {
    if (m * power >= rough) {
      step = m * power;
      break;
    }
  }
  if (integers) step = std::max(step, 1.0);
  std::vector<double> out;
  const auto steps = static_cast<int>(std::ceil(max / step - 1e-9));
  for (int i = 0; i <= std::max(steps, 1); ++i) out.push_back(i * step);
  return out;
}

// A value axis from 0: linear, or logarithmic when the data spans more than two decades. A log
// axis runs from the decade below the smallest positive value; zeros, which it cannot place,
// get a lane of their own at the origin.
struct Axis {
  static constexpr double kZeroLane = 0.06;  // of the axis length
  bool log = false;
  bool zero_lane = false;
  double bottom = 1;  // the log axis's first decade
  double top = 1;
  std::vector<double> marks;

  static Axis over(const std::vector<double>& values) {
    double max = 0;
    double min_positive = 0;
    bool zeros = false;
    for (const double v : values) {
      if (!std::isfinite(v) || v <= 0) {
        zeros = true;
        continue;
      }
      max = std::max(max, v);
      min_positive = min_positive == 0 ? v : std::min(min_positive, v);
    }
    Axis axis;
    axis.log = min_positive > 0 && max / min_positive > 100;
    if (axis.log) {
      const int first = static_cast<int>(std::floor(std::log10(min_positive) + 1e-9));
      const int last = std::max(first + 1, static_cast<int>(std::ceil(std::log10(max) - 1e-9)));
      axis.bottom = std::pow(10.0, first);
      axis.top = std::pow(10.0, last);
      axis.zero_lane = zeros;
      if (zeros) axis.marks.push_back(0);
      for (int d = first; d <= last; ++d) axis.marks.push_back(std::pow(10.0, d));
    } else {
      axis.marks = ticks(max, 5, false);
      axis.top = axis.marks.back();
    }
    return axis;
  }

  // 0 at the origin, 1 at the top.
  double at(double value) const {
    if (!std::isfinite(value) || value <= 0) return 0;
    double r = value / top;
    if (log) {
      const double lane = zero_lane ? kZeroLane : 0;
      r = lane + (1 - lane) * std::log10(value / bottom) / std::log10(top / bottom);
    }
    return std::isfinite(r) ? std::clamp(r, 0.0, 1.0) : 0;
  }
};

class Page {
 public:
  explicit Page(const Metadata& m) : m_(m) {
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

  // Estimated cycles as time at the profile's clock; not a number when the clock is unknown.
  double seconds_of(double cycles) const {
    return clock_hz() > 0 ? cycles / clock_hz() : std::numeric_limits<double>::quiet_NaN();
  }

  const char* colour_of(const std::string& op) const {
    const auto it = colours_.find(op);
    return it == colours_.end() ? kPalette.back() : it->second;
  }

  std::string layer_label(size_t i, size_t max_chars) const {
    const LayerMeta& layer = m_.layers[i];
    return fmt::format("#{} {}", i, shortened(layer.op + "  " + layer.tag, max_chars));
  }

  std::string runs_words() const {
    const uint32_t runs = m_.profile ? m_.profile->runs : 0;
    return runs == 1 ? std::string("one run") : fmt::format("median of {} runs", runs);
  }

  std::string core_words() const {
    return text(m_.profile && !m_.profile->core.empty() ? m_.profile->core : m_.core);
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
    add("<title>{} \u2014 tinydeploy report</title>\n", text(m_.name));
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
dl.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 10px;
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
svg.chart rect.placement { stroke: #fff; stroke-width: .5; }
svg.chart g:hover > rect, svg.chart g:hover > circle { opacity: .75; }
</style>
</head>
<body>
)";
  }

  void header() {
    add("<header>\n<h1>{} <span class=\"sub\">tinydeploy report</span></h1>\n", text(m_.name));
    add("<p class=\"sub\">{} ({} bytes, sha256 <code>{}</code>) for {} ({})</p>\n</header>\n",
        text(m_.model_file), grouped(m_.model_bytes), text(m_.model_sha256), text(m_.target),
        text(m_.core));
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
    summary_item("Model", text(m_.model_file), text(m_.name));
    if (p) {
      summary_item("Target", text(p->target), fmt::format("{}, {}", text(p->board), text(p->core)));
    } else {
      summary_item("Target", text(m_.target), text(m_.core));
    }
    const double macs = as_double(non_negative(m_.total_macs));
    if (p) {
      const double cycles = as_double(p->total.median[f.est_cycles]);
      const double seconds = seconds_of(cycles);
      summary_item("Inference time", duration(seconds),
                   fmt::format("estimated: cost-model cycles at {} MHz, {}; cold {}",
                               decimal(clock_hz() / 1e6, 3), runs_words(),
                               duration(seconds_of(as_double(p->total.cold[f.est_cycles])))));
      summary_item("Total cycles", grouped(p->total.median[f.est_cycles]),
                   fmt::format("estimated ({} cost model)", core_words()));
      summary_item("Instructions", grouped(p->total.median[f.instructions]),
                   fmt::format("counted ({})", text(p->method)));
      summary_item("Total MACs", grouped(non_negative(m_.total_macs)), "estimated from shapes");
      summary_item("MACs per second", seconds > 0 ? compact(macs / seconds) : "-",
                   "estimated: MACs / inference time");
      summary_item(
          "Cycles per MAC", macs > 0 ? decimal(ratio(cycles, macs), 2) : "-",
          fmt::format("estimated; {} instructions per MAC (counted)",
                      macs > 0 ? decimal(ratio(as_double(p->total.median[f.instructions]), macs), 2)
                               : "-"));
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
          role, text(t.name), text(t.dtype), join_shape(t.shape), grouped(t.bytes), quantization);
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
        sources += fmt::format("{}<code>{}</code>", sources.empty() ? "" : ", ", text(s));
      }
      add("<p class=\"caption\">Kernel sources in the package: {}.</p>\n", sources);
    }
  }

  void legend() {
    out_ += "<ul class=\"legend\">";
    for (const std::string& op : op_order_) {
      add("<li><i style=\"background:{}\"></i>{}</li>", colour_of(op), text(op));
    }
    out_ += "</ul>\n";
  }

  // ---- horizontal bars, one row per layer ----

  struct Bar {
    std::string label;  // HTML
    std::string title;  // HTML
    std::optional<double> value;
    std::string value_text;  // HTML; shown instead of a bar when there is no value
    const char* colour = "";
  };

  void bar_chart(std::string_view id, std::string_view aria, const std::vector<Bar>& bars,
                 std::string_view axis_title, std::optional<double> reference,
                 const std::string& reference_label) {
    const size_t n = bars.size();
    const double row = n <= 40 ? 22 : n <= 150 ? 15 : 11;
    const double font = n <= 40 ? 12 : n <= 150 ? 10.5 : 8.5;
    const double label_width = 340;
    const double value_width = 140;
    const double plot_width = kChartWidth - label_width - value_width;
    const double top = reference ? 22 : 8;  // room for the reference line's label
    const double height = top + static_cast<double>(n) * row + 44;
    double max = reference.value_or(0);
    for (const Bar& b : bars) {
      if (b.value) max = std::max(max, *b.value);
    }
    const std::vector<double> marks = ticks(max, 6, false);
    const double domain = marks.back();
    const auto x_of = [&](double v) { return label_width + plot_width * ratio(v, domain); };
    const double bottom = top + static_cast<double>(n) * row;

    add("<svg class=\"chart\" data-chart=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" "
        "aria-label=\"{}\">\n",
        id, px(kChartWidth), px(height), aria);
    for (const double mark : marks) {
      add("<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>"
          "<text x=\"{0}\" y=\"{3}\" font-size=\"11\" text-anchor=\"middle\" class=\"muted\">"
          "{4}</text>\n",
          px(x_of(mark)), px(top), px(bottom), px(bottom + 15), compact(mark));
    }
    add("<line class=\"axis\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>\n", px(label_width),
        px(top), px(bottom));
    for (size_t i = 0; i < n; ++i) {
      const Bar& b = bars[i];
      const double y = top + static_cast<double>(i) * row;
      add("<g><title>{}</title>", b.title);
      add("<text x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"end\">{}</text>",
          px(label_width - 8), px(y + row * 0.5 + font * 0.35), px(font), b.label);
      if (b.value) {
        const double w = x_of(*b.value) - label_width;
        add("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" rx=\"1.5\"/>",
            px(label_width), px(y + row * 0.15), px(w), px(row * 0.7), b.colour);
        add("<text x=\"{}\" y=\"{}\" font-size=\"{}\">{}</text>", px(label_width + w + 5),
            px(y + row * 0.5 + font * 0.35), px(font), b.value_text);
      } else {
        add("<text x=\"{}\" y=\"{}\" font-size=\"{}\" class=\"muted\">{}</text>",
            px(label_width + 6), px(y + row * 0.5 + font * 0.35), px(font), b.value_text);
      }
      out_ += "</g>\n";
    }
    if (reference) {
      const double x = x_of(*reference);
      add("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#1f2933\" "
          "stroke-dasharray=\"4 3\"/><text x=\"{0}\" y=\"{3}\" font-size=\"11\" "
          "text-anchor=\"middle\">{4}</text>\n",
          px(x), px(top - 2), px(bottom), px(top - 7), reference_label);
    }
    add("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{}</text>\n",
        px(label_width + plot_width / 2), px(bottom + 31), axis_title);
    out_ += "</svg>\n";
  }

  void layer_time_chart() {
    const Fields f;
    const double total = as_double(m_.profile->total.median[f.est_cycles]);
    std::vector<Bar> bars;
    for (size_t i = 0; i < m_.layers.size(); ++i) {
      const LayerMeta& layer = m_.layers[i];
      Bar b;
      b.label = layer_label(i, 40);
      b.colour = colour_of(layer.op);
      const CounterValues* c = layer_counters(i);
      if (c) {
        const double cycles = as_double((*c)[f.est_cycles]);
        b.value = cycles;
        b.value_text = fmt::format("{} ({})", compact(cycles), percent(cycles, total));
        b.title = fmt::format(
            "#{} {} {}\n{} estimated cycles ({} of the inference), {} at {} MHz\n{} instructions "
            "(counted)",
            i, text(layer.op), text(layer.tag), grouped((*c)[f.est_cycles]), percent(cycles, total),
            duration(seconds_of(cycles)), decimal(clock_hz() / 1e6, 3),
            grouped((*c)[f.instructions]));
      } else {
        b.value_text = "not profiled";
        b.title = fmt::format("#{} {} {}: the profile has no figures for this layer", i,
                              text(layer.op), text(layer.tag));
      }
      bars.push_back(std::move(b));
    }
    bar_chart(
        kChartLayerTime, "Estimated cycles per layer", bars,
        fmt::format("estimated cycles per layer ({} cost model, {})", core_words(), runs_words()),
        std::nullopt, "");
  }

  void cycles_per_mac_chart() {
    const Fields f;
    const double macs = as_double(non_negative(m_.total_macs));
    const double whole = ratio(as_double(m_.profile->total.median[f.est_cycles]), macs);
    std::vector<Bar> bars;
    for (size_t i = 0; i < m_.layers.size(); ++i) {
      const LayerMeta& layer = m_.layers[i];
      Bar b;
      b.label = layer_label(i, 40);
      b.colour = colour_of(layer.op);
      const CounterValues* c = layer_counters(i);
      const double layer_macs = as_double(non_negative(layer.macs));
      if (c && layer_macs > 0) {
        const double value = ratio(as_double((*c)[f.est_cycles]), layer_macs);
        b.value = value;
        b.value_text = decimal(value, 2);
        b.title =
            fmt::format("#{} {} {}\n{} estimated cycles per MAC ({} MACs)", i, text(layer.op),
                        text(layer.tag), decimal(value, 2), grouped(non_negative(layer.macs)));
      } else {
        b.value_text = c ? "-" : "not profiled";
        b.title = fmt::format("#{} {} {}: {}", i, text(layer.op), text(layer.tag),
                              c ? "no MACs" : "the profile has no figures for this layer");
      }
      bars.push_back(std::move(b));
    }
    std::optional<double> reference;
    if (macs > 0) reference = whole;
    bar_chart(kChartCyclesPerMac, "Estimated cycles per MAC per layer", bars,
              "estimated cycles per MAC (layers without MACs: -)", reference,
              fmt::format("whole model {}", decimal(whole, 2)));
  }

  // ---- MACs against time ----

  void macs_vs_time_chart() {
    const Fields f;
    struct Point {
      double macs;
      double cycles;
      size_t layer;
    };
    std::vector<Point> points;
    for (size_t i = 0; i < m_.layers.size(); ++i) {
      if (const CounterValues* c = layer_counters(i)) {
        points.push_back(
            {as_double(non_negative(m_.layers[i].macs)), as_double((*c)[f.est_cycles]), i});
      }
    }
    std::vector<double> xs;
    std::vector<double> ys;
    for (const Point& p : points) {
      xs.push_back(p.macs);
      ys.push_back(p.cycles);
    }
    const Axis x_axis = Axis::over(xs);
    const Axis y_axis = Axis::over(ys);
    const double left = 90;
    const double right = 30;
    const double top = 16;
    const double plot_height = 380;
    const double plot_width = kChartWidth - left - right;
    const double bottom = top + plot_height;
    const auto x_of = [&](double v) { return left + plot_width * x_axis.at(v); };
    const auto y_of = [&](double v) { return bottom - plot_height * y_axis.at(v); };

    add("<svg class=\"chart\" data-chart=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" "
        "aria-label=\"Estimated MACs against estimated cycles per layer\">\n",
        kChartMacsVsTime, px(kChartWidth), px(bottom + 52));
    double last_label = -1e9;
    for (const double mark : x_axis.marks) {
      const double x = x_of(mark);
      add("<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>", px(x), px(top),
          px(bottom));
      if (x - last_label >= 34) {
        add("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" class=\"muted\">{}"
            "</text>",
            px(x), px(bottom + 15), compact(mark));
        last_label = x;
      }
      out_ += "\n";
    }
    last_label = 1e9;
    for (const double mark : y_axis.marks) {
      const double y = y_of(mark);
      add("<line class=\"grid\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>", px(left),
          px(left + plot_width), px(y));
      if (last_label - y >= 14) {
        add("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\" class=\"muted\">{}"
            "</text>",
            px(left - 6), px(y + 4), compact(mark));
        last_label = y;
      }
      out_ += "\n";
    }
    add("<line class=\"axis\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>"
        "<line class=\"axis\" x1=\"{0}\" x2=\"{3}\" y1=\"{2}\" y2=\"{2}\"/>\n",
        px(left), px(top), px(bottom), px(left + plot_width));
    // Layers that land on the same spot share one label.
    std::map<std::pair<long, long>, std::string> labels;
    for (const Point& p : points) {
      const LayerMeta& layer = m_.layers[p.layer];
      add("<g><title>#{} {} {}\n{} MACs (estimated), {} cycles (estimated), {} cycles per MAC"
          "</title><circle cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"{}\" fill-opacity=\"0.85\" "
          "stroke=\"#fff\" stroke-width=\"1\"/></g>\n",
          p.layer, text(layer.op), text(layer.tag), grouped(non_negative(layer.macs)),
          grouped(static_cast<uint64_t>(p.cycles)),
          p.macs > 0 ? decimal(ratio(p.cycles, p.macs), 2) : "-", px(x_of(p.macs)),
          px(y_of(p.cycles)), colour_of(layer.op));
      std::string& label = labels[{std::lround(x_of(p.macs)), std::lround(y_of(p.cycles))}];
      label += fmt::format("{}#{}", label.empty() ? "" : " ", p.layer);
    }
    if (points.size() <= 40) {
      for (const auto& [at, label] : labels) {
        add("<text x=\"{}\" y=\"{}\" font-size=\"10\" class=\"muted\">{}</text>\n",
            px(static_cast<double>(at.first) + 8), px(static_cast<double>(at.second) + 3.5), label);
      }
    }
    add("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">estimated MACs per "
        "layer (from shapes){}</text>\n",
        px(left + plot_width / 2), px(bottom + 36), x_axis.log ? ", log scale" : "");
    add("<text transform=\"translate({} {}) rotate(-90)\" font-size=\"12\" "
        "text-anchor=\"middle\">estimated cycles per layer{}</text>\n",
        px(18), px(top + plot_height / 2), y_axis.log ? ", log scale" : "");
    out_ += "</svg>\n";
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
    add("<p class=\"caption\">Figures from {} on {} ({}); {}. Instructions, loads, stores and "
        "branches are counted; caches ({} instruction, {} data, SIZE:WAYS:LINE) are simulated; "
        "cycles are estimated from the {} instruction-cost model; times are estimated cycles at "
        "{} MHz.</p>\n",
        text(p.method), text(p.target), text(p.board), runs_words(), text(p.icache), text(p.dcache),
        core_words(), decimal(clock_hz() / 1e6, 3));
    legend();
    out_ += "<h3>Estimated cycles per layer</h3>\n";
    layer_time_chart();
    out_ += "<h3>MACs against time, per layer</h3>\n";
    out_ +=
        "<p class=\"caption\">Each point is one layer; points high above the others spend many "
        "cycles for their MACs.</p>\n";
    macs_vs_time_chart();
    out_ += "<h3>Estimated cycles per MAC, per layer</h3>\n";
    cycles_per_mac_chart();
  }

  // ---- the arena plan ----

  void memory_plan_chart() {
    const auto layers = static_cast<int64_t>(m_.layers.size());
    const double arena = as_double(non_negative(m_.arena_bytes));
    const double left = 96;
    const double right = 24;
    const double top = 16;
    const double plot_height = 360;
    const double plot_width = kChartWidth - left - right;
    const double bottom = top + plot_height;
    const double column = plot_width / static_cast<double>(layers);
    const auto y_of = [&](double offset) {
      return bottom - plot_height * std::clamp(ratio(offset, arena), 0.0, 1.0);
    };

    add("<svg class=\"chart\" data-chart=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" "
        "aria-label=\"Arena byte offsets of each tensor and scratch buffer per layer\">\n",
        kChartMemoryPlan, px(kChartWidth), px(bottom + 76));
    for (const double mark : ticks(arena, 6, true)) {
      if (mark > arena) break;
      add("<line class=\"grid\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>"
          "<text x=\"{3}\" y=\"{4}\" font-size=\"11\" text-anchor=\"end\" "
          "class=\"muted\">{5}</text>\n",
          px(left), px(left + plot_width), px(y_of(mark)), px(left - 6), px(y_of(mark) + 4),
          grouped(static_cast<uint64_t>(mark)));
    }
    double last_label = -1e9;
    for (const double mark : ticks(static_cast<double>(layers - 1), 12, true)) {
      if (mark > static_cast<double>(layers - 1)) break;
      const double x = left + column * (mark + 0.5);
      if (x - last_label < 26) continue;
      add("<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" class=\"muted\">{}"
          "</text>\n",
          px(x), px(bottom + 15), static_cast<int64_t>(mark));
      last_label = x;
    }
    size_t drawn = 0;
    for (const PlacementMeta& p : m_.plan) {
      const int64_t first = std::clamp<int64_t>(p.first_layer, 0, layers - 1);
      const int64_t last = std::clamp<int64_t>(p.last_layer, first, layers - 1);
      const double offset = std::clamp(as_double(non_negative(p.offset)), 0.0, arena);
      const double end = std::clamp(offset + as_double(non_negative(p.bytes)), offset, arena);
      const bool scratch = p.tensor < 0;
      const char* colour =
          scratch ? kScratchColour
                  : kTensorColours[static_cast<size_t>(p.tensor) % kTensorColours.size()];
      const double y = y_of(end);
      const double h = std::max(y_of(offset) - y, 0.75);
      std::string what = scratch ? fmt::format("scratch of layer {}", p.scratch_of_layer)
                                 : fmt::format("tensor {}", p.tensor);
      std::string live = first == last
                             ? fmt::format("layer {}", p.first_layer)
                             : fmt::format("layers {}\u2013{}", p.first_layer, p.last_layer);
      add("<g><title>{} ({})\n{} bytes at offsets {}\u2013{}\nlive in {}</title>"
          "<rect class=\"placement\" data-kind=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
          "fill=\"{}\"/></g>\n",
          text(p.name), what, grouped(p.bytes), grouped(p.offset),
          grouped(non_negative(p.offset) + std::max<uint64_t>(non_negative(p.bytes), 1) - 1), live,
          scratch ? "scratch" : "tensor", px(left + column * static_cast<double>(first)), px(y),
          px(column * static_cast<double>(last - first + 1)), px(h), colour);
      ++drawn;
    }
    add("<line class=\"axis\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>"
        "<line class=\"axis\" x1=\"{0}\" x2=\"{3}\" y1=\"{2}\" y2=\"{2}\"/>"
        "<line x1=\"{0}\" x2=\"{3}\" y1=\"{1}\" y2=\"{1}\" stroke=\"#c62828\" "
        "stroke-dasharray=\"5 3\"/>"
        "<text x=\"{3}\" y=\"{4}\" font-size=\"11\" text-anchor=\"end\" fill=\"#c62828\">arena "
        "end: {5} bytes</text>\n",
        px(left), px(top), px(bottom), px(left + plot_width), px(top - 4), grouped(m_.arena_bytes));
    add("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">layer (operator "
        "index, in execution order)</text>\n",
        px(left + plot_width / 2), px(bottom + 36));
    add("<text transform=\"translate({} {}) rotate(-90)\" font-size=\"12\" "
        "text-anchor=\"middle\">arena byte offset</text>\n",
        px(16), px(top + plot_height / 2));
    const double legend_y = bottom + 58;
    add("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" "
        "font-size=\"11\">tensor</text><rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" "
        "fill=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"11\">layer scratch</text>\n",
        px(left), px(legend_y - 10), kTensorColours[0], px(left + 17), px(legend_y), px(left + 80),
        px(legend_y - 10), kScratchColour, px(left + 97), px(legend_y));
    out_ += "</svg>\n";
    add("<p class=\"caption\">{} placements in a {}-byte arena over {} layers; a rectangle spans "
        "the layers in which its tensor or scratch buffer is live and the bytes it occupies.</p>\n",
        drawn, grouped(m_.arena_bytes), layers);
  }

  void memory_section() {
    out_ += "<h2 id=\"memory\">Memory plan</h2>\n";
    if (m_.layers.empty()) {
      out_ += "<p class=\"absent\">The model has no layers: there is no arena plan to draw.</p>\n";
    } else if (m_.arena_bytes <= 0) {
      out_ += "<p class=\"absent\">The arena is 0 bytes: no tensor lives in it.</p>\n";
    } else if (m_.plan.empty()) {
      out_ += "<p class=\"absent\">The metadata holds no arena plan.</p>\n";
    } else {
      memory_plan_chart();
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
        v.pass ? "pass" : "fail", v.pass ? "PASS" : "FAIL", text(v.target), text(v.reference),
        v.runs, v.runs == 1 ? "" : "s", v.seed, v.tolerance);
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
            text(o.name), decimal(o.max_lsb, 0),
            std::isfinite(o.max_real) ? fmt::format("{:.6g}", o.max_real) : std::string("-"),
            grouped(o.differing), grouped(o.elements),
            o.classifier ? fmt::format("{} of {} runs", grouped(o.top1_agree), v.runs)
                         : std::string("-"));
      }
      out_ += "</tbody></table></div>\n";
    }
    if (!v.first_divergence.empty()) {
      add("<p class=\"caption\">First divergence: {}</p>\n", text(v.first_divergence));
    }
    if (!v.timing.empty()) add("<p class=\"caption\">Target timing: {}</p>\n", text(v.timing));
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
      out_ +=
          "<th class=\"n\">instructions<small>counted</small></th><th class=\"n\">cycles"
          "<small>estimated</small></th><th class=\"n\">share<small>of cycles</small></th>"
          "<th class=\"n\">cycles/MAC<small>estimated</small></th><th class=\"n\">loads"
          "<small>counted</small></th><th class=\"n\">stores<small>counted</small></th>"
          "<th class=\"n\">d-cache hits<small>simulated</small></th>";
    }
    out_ += "<th class=\"n\">output<small>bytes</small></th>";
    if (scratch) out_ += "<th class=\"n\">scratch<small>bytes</small></th>";
    out_ += "</tr></thead>\n<tbody>\n";
    const double total_cycles = profiled ? as_double(m_.profile->total.median[f.est_cycles]) : 0;
    const auto counter_cells = [&](const CounterValues* c, double macs) {
      if (!c) {
        out_ += "<td class=\"n\" colspan=\"7\">not profiled</td>";
        return;
      }
      const double cycles = as_double((*c)[f.est_cycles]);
      add("<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
          "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
          "<td class=\"n\">{}</td>",
          grouped((*c)[f.instructions]), grouped((*c)[f.est_cycles]), percent(cycles, total_cycles),
          macs > 0 ? decimal(ratio(cycles, macs), 2) : "-", grouped((*c)[f.loads]),
          grouped((*c)[f.stores]),
          percent(as_double((*c)[f.dhitslookup]) + as_double((*c)[f.dhitsline]),
                  as_double((*c)[f.daccess]), 2));
    };
    for (size_t i = 0; i < m_.layers.size(); ++i) {
      const LayerMeta& layer = m_.layers[i];
      add("<tr><td class=\"n\">{0}</td><td><i class=\"swatch\" style=\"background:{1}\"></i>{2}"
          "</td><td class=\"tag\" title=\"{3}\">{3}</td><td><code>{4}</code></td>"
          "<td class=\"n\">{5}</td>",
          i, colour_of(layer.op), text(layer.op), text(layer.tag),
          layer.kernel.empty() ? "-" : text(layer.kernel), grouped(layer.macs));
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
    if (profiled) {
      add("<p class=\"caption\">The layers add up to the whole inference but for {} instructions "
          "after the last layer (invoke's epilogue). D-cache hits: hits by tag lookup and by line "
          "buffer over accesses.</p>\n",
          grouped(m_.profile->tail.median[f.instructions]));
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
        text(l.core));
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
    add("<footer>Written by {} from the metadata of {} (format version {}). Counted and simulated "
        "figures come from the emulator, estimated ones from models; none is a measurement on "
        "silicon unless its label says so.</footer>\n",
        text(m_.tool.empty() ? std::string("tinydeploy") : m_.tool), text(m_.model_file),
        m_.version);
  }

  const Metadata& m_;
  std::map<std::string, const char*> colours_;
  std::vector<std::string> op_order_;
  std::string out_;
};

}  // namespace

std::string render_report(const Metadata& metadata) { return Page(metadata).render(); }

}  // namespace tinydeploy::report
