#include "tinydeploy/report/svg_charts.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>
#include <map>
#include <utility>

#include "tinydeploy/report/html_text.h"

namespace tinydeploy::report {
namespace {

constexpr double kChartWidth = 960;  // the viewBox's; the page scales the chart to its width

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

// An SVG document being written.
class Svg {
 public:
  Svg(std::string_view id, std::string_view description, double height) {
    add("<svg class=\"chart\" data-chart=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" "
        "aria-label=\"{}\">\n",
        id, svg_number(kChartWidth), svg_number(height), description);
  }

  template <typename... Args>
  void add(fmt::format_string<Args...> format, Args&&... args) {
    fmt::format_to(std::back_inserter(out_), format, std::forward<Args>(args)...);
  }

  std::string finish() {
    out_ += "</svg>\n";
    return std::move(out_);
  }

 private:
  std::string out_;
};

}  // namespace

std::string bar_chart(const BarChart& chart) {
  const std::vector<Bar>& bars = chart.bars;
  const size_t n = bars.size();
  const double row = n <= 40 ? 22 : n <= 150 ? 15 : 11;
  const double font = n <= 40 ? 12 : n <= 150 ? 10.5 : 8.5;
  const double label_width = 340;
  const double value_width = 140;
  const double plot_width = kChartWidth - label_width - value_width;
  const double top = chart.reference ? 22 : 8;  // room for the reference line's label
  const double bottom = top + static_cast<double>(n) * row;
  double max = chart.reference.value_or(0);
  for (const Bar& b : bars) {
    if (b.value) max = std::max(max, *b.value);
  }
  const std::vector<double> marks = ticks(max, 6, false);
  const double domain = marks.back();
  const auto x_of = [&](double v) { return label_width + plot_width * ratio(v, domain); };
  const auto px = svg_number;

  Svg svg(chart.id, chart.description, bottom + 44);
  for (const double mark : marks) {
    svg.add(
        "<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>"
        "<text x=\"{0}\" y=\"{3}\" font-size=\"11\" text-anchor=\"middle\" class=\"muted\">"
        "{4}</text>\n",
        px(x_of(mark)), px(top), px(bottom), px(bottom + 15), compact(mark));
  }
  svg.add("<line class=\"axis\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>\n", px(label_width),
          px(top), px(bottom));
  for (size_t i = 0; i < n; ++i) {
    const Bar& b = bars[i];
    const double y = top + static_cast<double>(i) * row;
    const double baseline = y + row * 0.5 + font * 0.35;
    svg.add("<g><title>{}</title>", b.title_html);
    svg.add("<text x=\"{}\" y=\"{}\" font-size=\"{}\" text-anchor=\"end\">{}</text>",
            px(label_width - 8), px(baseline), px(font), b.label_html);
    if (b.value) {
      const double w = x_of(*b.value) - label_width;
      svg.add("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" rx=\"1.5\"/>",
              px(label_width), px(y + row * 0.15), px(w), px(row * 0.7), b.colour);
      svg.add("<text x=\"{}\" y=\"{}\" font-size=\"{}\">{}</text>", px(label_width + w + 5),
              px(baseline), px(font), b.value_html);
    } else {
      svg.add("<text x=\"{}\" y=\"{}\" font-size=\"{}\" class=\"muted\">{}</text>",
              px(label_width + 6), px(baseline), px(font), b.value_html);
    }
    svg.add("</g>\n");
  }
  if (chart.reference) {
    svg.add(
        "<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#1f2933\" "
        "stroke-dasharray=\"4 3\"/><text x=\"{0}\" y=\"{3}\" font-size=\"11\" "
        "text-anchor=\"middle\">{4}</text>\n",
        px(x_of(*chart.reference)), px(top - 2), px(bottom), px(top - 7),
        chart.reference_label_html);
  }
  svg.add("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{}</text>\n",
          px(label_width + plot_width / 2), px(bottom + 31), chart.axis_title_html);
  return svg.finish();
}

std::string scatter_chart(const ScatterChart& chart) {
  std::vector<double> xs;
  std::vector<double> ys;
  for (const Point& p : chart.points) {
    xs.push_back(p.x);
    ys.push_back(p.y);
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
  const auto px = svg_number;

  Svg svg(chart.id, chart.description, bottom + 52);
  double last_label = -1e9;
  for (const double mark : x_axis.marks) {
    const double x = x_of(mark);
    svg.add("<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>", px(x), px(top),
            px(bottom));
    if (x - last_label >= 34) {  // tick labels never overlap
      svg.add(
          "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" class=\"muted\">{}"
          "</text>",
          px(x), px(bottom + 15), compact(mark));
      last_label = x;
    }
    svg.add("\n");
  }
  last_label = 1e9;
  for (const double mark : y_axis.marks) {
    const double y = y_of(mark);
    svg.add("<line class=\"grid\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>", px(left),
            px(left + plot_width), px(y));
    if (last_label - y >= 14) {
      svg.add(
          "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\" class=\"muted\">{}"
          "</text>",
          px(left - 6), px(y + 4), compact(mark));
      last_label = y;
    }
    svg.add("\n");
  }
  svg.add(
      "<line class=\"axis\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>"
      "<line class=\"axis\" x1=\"{0}\" x2=\"{3}\" y1=\"{2}\" y2=\"{2}\"/>\n",
      px(left), px(top), px(bottom), px(left + plot_width));
  // Points that land on the same spot share one label.
  std::map<std::pair<long, long>, std::string> labels;
  for (const Point& p : chart.points) {
    svg.add(
        "<g><title>{}</title><circle cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"{}\" "
        "fill-opacity=\"0.85\" stroke=\"#fff\" stroke-width=\"1\"/></g>\n",
        p.title_html, px(x_of(p.x)), px(y_of(p.y)), p.colour);
    std::string& label = labels[{std::lround(x_of(p.x)), std::lround(y_of(p.y))}];
    if (!label.empty()) label += ' ';
    label += p.label_html;
  }
  if (chart.points.size() <= 40) {
    for (const auto& [at, label] : labels) {
      svg.add("<text x=\"{}\" y=\"{}\" font-size=\"10\" class=\"muted\">{}</text>\n",
              px(static_cast<double>(at.first) + 8), px(static_cast<double>(at.second) + 3.5),
              label);
    }
  }
  svg.add("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{}{}</text>\n",
          px(left + plot_width / 2), px(bottom + 36), chart.x_title_html,
          x_axis.log ? ", log scale" : "");
  svg.add(
      "<text transform=\"translate({} {}) rotate(-90)\" font-size=\"12\" "
      "text-anchor=\"middle\">{}{}</text>\n",
      px(18), px(top + plot_height / 2), chart.y_title_html, y_axis.log ? ", log scale" : "");
  return svg.finish();
}

std::string memory_plan_chart(std::string_view id, const std::vector<PlacementMeta>& plan,
                              size_t layer_count, int64_t arena_bytes) {
  if (layer_count == 0 || arena_bytes <= 0) return {};
  const auto layers = static_cast<int64_t>(layer_count);
  const auto arena = static_cast<double>(arena_bytes);
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
  const auto px = svg_number;

  Svg svg(id, "Arena byte offsets of each tensor and scratch buffer per layer", bottom + 76);
  for (const double mark : ticks(arena, 6, true)) {
    if (mark > arena) break;
    svg.add(
        "<line class=\"grid\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>"
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
    svg.add(
        "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" class=\"muted\">{}"
        "</text>\n",
        px(x), px(bottom + 15), static_cast<int64_t>(mark));
    last_label = x;
  }
  // A thin white outline separates neighbours, unless the columns are too narrow to show more.
  const char* outline = column >= 4 ? " stroke=\"#fff\" stroke-width=\"0.5\"" : "";
  for (const PlacementMeta& p : plan) {
    const int64_t first = std::clamp<int64_t>(p.first_layer, 0, layers - 1);
    const int64_t last = std::clamp<int64_t>(p.last_layer, first, layers - 1);
    const double offset = std::clamp(static_cast<double>(non_negative(p.offset)), 0.0, arena);
    const double end =
        std::clamp(offset + static_cast<double>(non_negative(p.bytes)), offset, arena);
    const bool scratch = p.tensor < 0;
    const char* colour =
        scratch ? kScratchColour
                : kTensorColours[static_cast<size_t>(p.tensor) % kTensorColours.size()];
    const double y = y_of(end);
    const double height = std::max(y_of(offset) - y, 0.75);  // a 0-byte placement stays visible
    const std::string what = scratch ? fmt::format("scratch of layer {}", p.scratch_of_layer)
                                     : fmt::format("tensor {}", p.tensor);
    const std::string live = first == last
                                 ? fmt::format("layer {}", p.first_layer)
                                 : fmt::format("layers {}\u2013{}", p.first_layer, p.last_layer);
    svg.add(
        "<g><title>{} ({})\n{} bytes at offsets {}\u2013{}\nlive in {}</title>"
        "<rect class=\"placement\" data-kind=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" "
        "height=\"{}\" fill=\"{}\"{}/></g>\n",
        html_text(p.name), what, grouped(p.bytes), grouped(p.offset),
        grouped(non_negative(p.offset) + std::max<uint64_t>(non_negative(p.bytes), 1) - 1), live,
        scratch ? "scratch" : "tensor", px(left + column * static_cast<double>(first)), px(y),
        px(column * static_cast<double>(last - first + 1)), px(height), colour, outline);
  }
  svg.add(
      "<line class=\"axis\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>"
      "<line class=\"axis\" x1=\"{0}\" x2=\"{3}\" y1=\"{2}\" y2=\"{2}\"/>"
      "<line x1=\"{0}\" x2=\"{3}\" y1=\"{1}\" y2=\"{1}\" stroke=\"#c62828\" "
      "stroke-dasharray=\"5 3\"/>"
      "<text x=\"{3}\" y=\"{4}\" font-size=\"11\" text-anchor=\"end\" fill=\"#c62828\">arena "
      "end: {5} bytes</text>\n",
      px(left), px(top), px(bottom), px(left + plot_width), px(top - 4), grouped(arena_bytes));
  svg.add(
      "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">layer (operator "
      "index, in execution order)</text>\n",
      px(left + plot_width / 2), px(bottom + 36));
  svg.add(
      "<text transform=\"translate({} {}) rotate(-90)\" font-size=\"12\" "
      "text-anchor=\"middle\">arena byte offset</text>\n",
      px(16), px(top + plot_height / 2));
  const double legend_y = bottom + 58;
  svg.add(
      "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" "
      "y=\"{}\" font-size=\"11\">tensor</text><rect x=\"{}\" y=\"{}\" width=\"12\" "
      "height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"11\">layer "
      "scratch</text>\n",
      px(left), px(legend_y - 10), kTensorColours[0], px(left + 17), px(legend_y), px(left + 80),
      px(legend_y - 10), kScratchColour, px(left + 97), px(legend_y));
  return svg.finish();
}

}  // namespace tinydeploy::report
