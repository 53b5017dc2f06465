// render_report: the page's sections and charts, escaping of every untrusted string, absent
// sections, and sizes from 0 to 500 layers without a NaN or an infinity anywhere. The page in a
// browser is tested in tests/report/test_report_chromium.py.
#include "tinydeploy/report/html.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <string>

#include "metadata_builder.h"
#include "tinydeploy/report/metadata.h"

namespace tinydeploy::report {
namespace {

using testing::counter;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::sample_metadata;

size_t occurrences(const std::string& text, const std::string& part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++count;
  }
  return count;
}

std::string chart_marker(std::string_view id) { return fmt::format("data-chart=\"{}\"", id); }

// The SVG of one chart, from its root element to its end.
std::string chart(const std::string& page, std::string_view id) {
  const size_t start = page.rfind("<svg", page.find(chart_marker(id)));
  const size_t end = page.find("</svg>", start);
  if (start == std::string::npos || end == std::string::npos) return {};
  return page.substr(start, end - start);
}

// No NaN or infinity as text, and every geometric attribute a finite number.
void expect_finite(const std::string& page) {
  static const std::regex not_a_number(R"(\b-?(nan|inf|infinity)\b)", std::regex::icase);
  EXPECT_FALSE(std::regex_search(page, not_a_number));
  static const std::regex geometry(R"re(\s(x|y|x1|x2|y1|y2|cx|cy|r|width|height)="([^"]*)")re");
  size_t checked = 0;
  for (auto it = std::sregex_iterator(page.begin(), page.end(), geometry);
       it != std::sregex_iterator(); ++it) {
    const std::string value = (*it)[2];
    size_t used = 0;
    double number = std::nan("");
    try {
      number = std::stod(value, &used);
    } catch (const std::exception&) {
    }
    EXPECT_TRUE(std::isfinite(number) && used == value.size())
        << (*it)[1] << "=\"" << value << "\"";
    ++checked;
  }
  EXPECT_GT(checked, 0u);
}

TEST(HtmlReport, StartsWithTheMarkerLineAndIsOneSelfContainedPage) {
  const std::string page = render_report(sample_metadata(6));
  EXPECT_EQ(page.substr(0, page.find('\n')), kReportMarker);
  EXPECT_THAT(page, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(page, HasSubstr("</html>\n"));
  EXPECT_THAT(page, HasSubstr("default-src 'none'"));
  // Nothing to fetch: no URL, no external resource of any kind.
  EXPECT_THAT(page, Not(HasSubstr("http://")));
  EXPECT_THAT(page, Not(HasSubstr("https://")));
  EXPECT_THAT(page, Not(HasSubstr("src=")));
  EXPECT_THAT(page, Not(HasSubstr("href=")));
  EXPECT_THAT(page, Not(HasSubstr("url(")));
  EXPECT_THAT(page, Not(HasSubstr("@import")));
  EXPECT_EQ(occurrences(page, "<script"), 2u);  // the error recorder and the rendered mark
}

TEST(HtmlReport, DrawsTheFourChartsWhenThereIsAProfile) {
  const Metadata m = sample_metadata(6);
  const std::string page = render_report(m);
  for (const std::string_view id :
       {kChartLayerTime, kChartMacsVsTime, kChartCyclesPerMac, kChartMemoryPlan}) {
    EXPECT_EQ(occurrences(page, chart_marker(id)), 1u) << id;
  }
  // One bar per layer, one point per layer, one rectangle per placement.
  EXPECT_EQ(occurrences(chart(page, kChartLayerTime), "<rect"), m.layers.size());
  EXPECT_EQ(occurrences(chart(page, kChartMacsVsTime), "<circle"), m.layers.size());
  const std::string plan = chart(page, kChartMemoryPlan);
  EXPECT_EQ(occurrences(plan, "class=\"placement\""), m.plan.size());
  EXPECT_EQ(occurrences(plan, "data-kind=\"scratch\""), 2u);  // layers 0 and 4
  EXPECT_THAT(plan, HasSubstr("layer (operator index"));
  EXPECT_THAT(plan, HasSubstr("arena byte offset"));
  // Layers without MACs get no cycles-per-MAC bar, a "-" instead.
  const std::string per_mac = chart(page, kChartCyclesPerMac);
  EXPECT_EQ(occurrences(per_mac, "<rect"), 3u);
  EXPECT_EQ(occurrences(per_mac, ">-</text>"), 3u);
  expect_finite(page);
}

TEST(HtmlReport, ShowsTheFiguresOfTheMetadata) {
  const Metadata m = sample_metadata(6);
  const std::string page = render_report(m);
  // Layer 2: 3,007 estimated cycles, 2,100 instructions, 15,000 MACs, 0.20 cycles per MAC.
  EXPECT_THAT(page, HasSubstr("<td class=\"n\">2,100</td><td class=\"n\">3,007</td>"));
  EXPECT_THAT(page, HasSubstr("3,007 estimated cycles"));
  EXPECT_THAT(page, HasSubstr(">15,000<"));
  // Totals: 21,042 cycles at 25 MHz is 841.680 us; MACs 5,000 + 15,000 + 25,000 = 45,000.
  const uint64_t cycles = m.profile->total.median[counter("est_cycles")];
  ASSERT_EQ(cycles, 21042u);
  EXPECT_THAT(page, HasSubstr("<dd>21,042</dd>"));
  EXPECT_THAT(page, HasSubstr("<dd>841.680 \u00b5s</dd>"));
  EXPECT_THAT(page, HasSubstr("<dd>45,000</dd>"));
  EXPECT_THAT(page, HasSubstr("<dd>0.47</dd>"));     // cycles per MAC
  EXPECT_THAT(page, HasSubstr("<dd>224 B</dd>"));    // arena
  EXPECT_THAT(page, HasSubstr("<dd>9,000 B</dd>"));  // flash, from the library
  // What each figure is.
  EXPECT_THAT(page, HasSubstr("estimated: cost-model cycles at 25.000 MHz, median of 3 runs"));
  EXPECT_THAT(page, HasSubstr("counted (qemu-plugin)"));
  EXPECT_THAT(page, HasSubstr("d-cache hits<small>simulated</small>"));
  // Simulated caches over the whole inference: every instruction fetch hits, (190 + 50) / 250 of
  // the data accesses do.
  EXPECT_THAT(page, HasSubstr("<dd>100.000% / 96.000%</dd>"));
  // D-cache of layer 0: (190 + 50) / 250 = 96.00%.
  EXPECT_THAT(page, HasSubstr(">96.00%<"));
  EXPECT_THAT(page, HasSubstr("<span class=\"badge pass\">PASS</span>"));
  EXPECT_THAT(page, HasSubstr("5 of 5 runs"));
  EXPECT_THAT(page, HasSubstr("other (C library, start-up)</td><td class=\"n\">1,404<"));
  EXPECT_THAT(page, HasSubstr("package SHA-256 <code>" + std::string(64, 'b') + "</code>"));
}

TEST(HtmlReport, FailIsAsProminentAsPass) {
  Metadata m = sample_metadata(2);
  m.validation->pass = false;
  m.validation->outputs[0].max_lsb = 3;
  m.validation->outputs[0].differing = 7;
  m.validation->first_divergence = "layer 1 (RESHAPE)";
  const std::string page = render_report(m);
  EXPECT_THAT(page, HasSubstr("<span class=\"badge fail\">FAIL</span>"));
  EXPECT_THAT(page, Not(HasSubstr(">PASS<")));
  EXPECT_THAT(page, HasSubstr("7 of 96"));
  EXPECT_THAT(page, HasSubstr("First divergence: layer 1 (RESHAPE)"));
}

TEST(HtmlReport, EscapesEveryStringFromTheMetadata) {
  const std::string hostile = "<script>alert(1)</script>\"'&";
  const std::string shown = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;";
  Metadata m = sample_metadata(3);
  m.name = hostile;
  m.model_file = hostile;
  m.target = hostile;
  m.core = hostile;
  m.tool = hostile;
  m.package_sha256 = hostile;
  m.inputs[0].name = hostile;
  m.inputs[0].dtype = hostile;
  m.outputs[0].name = hostile;
  m.kernel_sources = {hostile};
  for (LayerMeta& l : m.layers) {
    l.op = hostile;
    l.tag = hostile;
    l.kernel = hostile;
  }
  for (PlacementMeta& p : m.plan) p.name = hostile;
  m.profile->target = hostile;
  m.profile->board = hostile;
  m.profile->core = hostile;
  m.profile->method = hostile;
  m.profile->icache = hostile;
  m.profile->dcache = hostile;
  m.validation->target = hostile;
  m.validation->reference = hostile;
  m.validation->outputs[0].name = hostile;
  m.validation->first_divergence = hostile;
  m.validation->timing = hostile;
  m.library->core = hostile;
  const std::string page = render_report(m);
  EXPECT_THAT(page, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(page, Not(HasSubstr("\"'&")));
  EXPECT_EQ(occurrences(page, "<script"), 2u);
  // In text, in attributes (table cells' titles) and in SVG <title>s.
  EXPECT_GT(occurrences(page, shown), 20u);
  EXPECT_THAT(page, HasSubstr("title=\"" + shown + "\""));
  EXPECT_THAT(chart(page, kChartMemoryPlan), HasSubstr("<title>" + shown));
  // Control bytes and broken UTF-8 are shown escaped; well-formed UTF-8 is kept.
  m.layers[0].tag = std::string("a\x1b[2J\xff\nb");
  m.layers[1].tag = "conv_\u00e9t\u00e9";
  const std::string escaped = render_report(m);
  EXPECT_THAT(escaped, HasSubstr("a\\x1B[2J\\xFF\\x0Ab"));
  EXPECT_THAT(escaped, HasSubstr("conv_\u00e9t\u00e9"));
  expect_finite(escaped);
}

TEST(HtmlReport, SaysSoInOneLineWhenSectionsHaveNoData) {
  const std::string page = render_report(sample_metadata(4, false, false, false));
  EXPECT_THAT(page, Not(HasSubstr(chart_marker(kChartLayerTime))));
  EXPECT_THAT(page, Not(HasSubstr(chart_marker(kChartMacsVsTime))));
  EXPECT_THAT(page, Not(HasSubstr(chart_marker(kChartCyclesPerMac))));
  EXPECT_THAT(page, HasSubstr(chart_marker(kChartMemoryPlan)));  // needs no profile
  EXPECT_THAT(page, HasSubstr("No profile in this metadata: run <code>tinydeploy profile</code>"));
  EXPECT_THAT(page, HasSubstr("Not validated: no validation result in this metadata"));
  EXPECT_THAT(page, HasSubstr("No library in this metadata"));
  EXPECT_THAT(page, Not(HasSubstr("class=\"badge")));
  EXPECT_THAT(page, Not(HasSubstr("counted</small>")));  // no counter columns
  EXPECT_THAT(page, HasSubstr("<dd>-</dd><dd class=\"how\">unknown; weights alone 4,096 B</dd>"));
  expect_finite(page);
}

TEST(HtmlReport, ZeroLayers) {
  const Metadata m = sample_metadata(0);
  const std::string page = render_report(m);
  EXPECT_THAT(page, Not(HasSubstr("data-chart=")));
  EXPECT_THAT(page, HasSubstr("The model has no layers to chart."));
  EXPECT_THAT(page, HasSubstr("The model has no layers: there is no arena plan to draw."));
  EXPECT_THAT(page, HasSubstr("The model has no layers.</p>"));
  EXPECT_THAT(page, HasSubstr("<dd>0 B</dd>"));
  static const std::regex not_a_number(R"(\b-?(nan|inf)\b)", std::regex::icase);
  EXPECT_FALSE(std::regex_search(page, not_a_number));
  // It is a document parse_metadata accepts, and it renders the same after the round trip.
  EXPECT_EQ(render_report(parse_metadata(metadata_json(m), "zero")), page);
}

TEST(HtmlReport, OneLayer) {
  const Metadata m = sample_metadata(1);
  const std::string page = render_report(m);
  EXPECT_EQ(occurrences(page, "data-chart="), 4u);
  EXPECT_EQ(occurrences(chart(page, kChartMemoryPlan), "class=\"placement\""), 3u);
  EXPECT_THAT(page, HasSubstr("100.0%"));  // the one layer is all of the time
  expect_finite(page);
}

TEST(HtmlReport, FiveHundredLayers) {
  const Metadata m = sample_metadata(500);
  const std::string page = render_report(m);
  EXPECT_EQ(occurrences(page, "data-chart="), 4u);
  EXPECT_EQ(occurrences(chart(page, kChartLayerTime), "<rect"), 500u);
  EXPECT_EQ(occurrences(chart(page, kChartMemoryPlan), "class=\"placement\""), m.plan.size());
  EXPECT_THAT(page, HasSubstr(">499</td>"));
  EXPECT_LT(page.size(), size_t{3} << 20);
  expect_finite(page);
  EXPECT_EQ(render_report(parse_metadata(metadata_json(m), "big")), page);
}

TEST(HtmlReport, ZeroByteArena) {
  Metadata m = sample_metadata(3);
  m.arena_bytes = 0;
  for (PlacementMeta& p : m.plan) {
    p.offset = 0;
    p.bytes = 0;
  }
  const std::string page = render_report(m);
  EXPECT_THAT(page, Not(HasSubstr(chart_marker(kChartMemoryPlan))));
  EXPECT_THAT(page, HasSubstr("The arena is 0 bytes: no tensor lives in it."));
  expect_finite(page);
}

TEST(HtmlReport, AllZeroCounters) {
  Metadata m = sample_metadata(5);
  for (auto& layer : m.profile->layers) layer = testing::same_aggregate({});
  m.profile->total = testing::same_aggregate({});
  m.profile->tail = testing::same_aggregate({});
  for (LayerMeta& l : m.layers) l.macs = 0;
  m.total_macs = 0;
  const std::string page = render_report(m);
  EXPECT_EQ(occurrences(page, "data-chart="), 4u);
  EXPECT_THAT(page, HasSubstr("<dd>0</dd>"));  // total cycles
  EXPECT_THAT(page, HasSubstr("<dd>-</dd><dd class=\"how\">estimated: MACs / inference time"));
  EXPECT_EQ(occurrences(chart(page, kChartCyclesPerMac), "<rect"), 0u);
  expect_finite(page);
}

TEST(HtmlReport, HugeCountersStayFinite) {
  Metadata m = sample_metadata(4);
  const CounterValues huge = [] {
    CounterValues v;
    v.fill(~uint64_t{0} - 1);  // the largest count (all ones means "not measured")
    return v;
  }();
  m.profile->layers[1] = testing::same_aggregate(huge);
  m.profile->total = testing::same_aggregate(huge);
  m.layers[0].macs = 1;
  const std::string page = render_report(m);
  EXPECT_THAT(page, HasSubstr("18,446,744,073,709,551,614"));
  expect_finite(page);
}

TEST(HtmlReport, ToleratesMetadataThatParseMetadataWouldRefuse) {
  // Built in code, not read: a profile with fewer layers than the model, an unprofiled layer,
  // placements beyond the arena and the layers, negative sizes.
  Metadata m = sample_metadata(6);
  m.profile->layers.resize(4);
  m.profile->layers[2].reset();
  m.plan.push_back({99, -1, "beyond", 1000, 5000, 3, 40});
  m.plan.push_back({98, -1, "negative", -5, -7, -2, -1});
  m.layers[3].macs = -10;
  m.profile->clock_hz = std::nan("");
  const std::string page = render_report(m);
  EXPECT_EQ(occurrences(chart(page, kChartMemoryPlan), "class=\"placement\""), m.plan.size());
  EXPECT_THAT(page, HasSubstr("not profiled"));
  expect_finite(page);
}

}  // namespace
}  // namespace tinydeploy::report
