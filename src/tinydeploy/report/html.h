// report.html: one self-contained page drawn from a model's metadata (NAME.meta.json): the
// summary, where the time goes per layer, MACs against time, cycles per MAC, the arena plan as a
// picture, the validation result, a per-layer table and the library's footprint.
//
// The page needs nothing but itself: no network, no fonts, no scripts for its charts (inline SVG
// drawn here; a few lines of script only record errors for the tests). Every string taken from
// the metadata is escaped, so a tensor named "<script>" shows as text.
#pragma once

#include <string>
#include <string_view>

#include "tinydeploy/report/metadata.h"

namespace tinydeploy::report {

// The first line of every report: how `tinydeploy report` recognises a file it may replace.
inline constexpr std::string_view kReportMarker = "<!-- tinydeploy report -->";

// The ids of the charts, as each chart's root <svg> carries them in data-chart="...".
inline constexpr std::string_view kChartLayerTime = "layer-time";
inline constexpr std::string_view kChartMacsVsTime = "macs-vs-time";
inline constexpr std::string_view kChartCyclesPerMac = "cycles-per-mac";
inline constexpr std::string_view kChartMemoryPlan = "memory-plan";

// The whole page. Works on any Metadata, also one not checked by parse_metadata (a profile with
// fewer layers than the model, a placement beyond the arena): what does not fit is left out of
// the pictures, never drawn at a coordinate that is not a finite number.
std::string render_report(const Metadata& metadata);

}  // namespace tinydeploy::report
