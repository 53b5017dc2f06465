// The report's charts as inline SVG, drawn from plain values: horizontal bars (one row per
// layer), a scatter plot whose axes turn logarithmic when the values span more than two decades,
// and the arena plan (layers across, byte offsets up). Each root <svg> carries data-chart="ID";
// every coordinate is a finite number whatever the values. Internal to the report module.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tinydeploy/report/metadata.h"

namespace tinydeploy::report {

// Fields named "..._html" are inserted as they are: escape untrusted text (html_text) first.
struct Bar {
  std::string label_html;
  std::string title_html;  // the tooltip
  std::optional<double> value;
  std::string value_html;  // beside the bar, or in its place when there is no value
  std::string colour;
};

struct BarChart {
  std::string_view id;
  std::string_view description;  // aria-label
  std::vector<Bar> bars;
  std::string axis_title_html;
  std::optional<double> reference;  // a dashed line across the bars (e.g. the whole model)
  std::string reference_label_html;
};

struct Point {
  double x = 0;
  double y = 0;
  std::string title_html;
  std::string label_html;  // beside the point; points on the same spot share one label
  std::string colour;
};

struct ScatterChart {
  std::string_view id;
  std::string_view description;
  std::vector<Point> points;
  std::string x_title_html;  // ", log scale" is added when an axis is logarithmic
  std::string y_title_html;
};

std::string bar_chart(const BarChart& chart);
std::string scatter_chart(const ScatterChart& chart);
// One rectangle per placement (class "placement", data-kind "tensor" or "scratch") over
// `layers` columns and `arena_bytes` of height; placements beyond either are clipped to them.
// Empty when there are no layers or no arena bytes.
std::string memory_plan_chart(std::string_view id, const std::vector<PlacementMeta>& plan,
                              size_t layers, int64_t arena_bytes);

}  // namespace tinydeploy::report
