// The profiler plugin's records read back, the median run, and NAME_stats.csv.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "tinydeploy/common/error.h"
#include "tinydeploy/common/temporary_directory.h"
#include "tinydeploy/profile/profile.h"

namespace tinydeploy::profile {
namespace {

namespace fs = std::filesystem;

// A record line: kind, inference, index ("-" for tail and total) and 14 fields, each field f
// holding base + f.
std::string record(const std::string& kind, int inference, const std::string& index,
                   uint64_t base) {
  std::ostringstream line;
  line << kind << ' ' << inference << ' ' << index;
  for (uint64_t f = 0; f < kFieldCount; ++f) line << ' ' << base + f;
  return line.str() + "\n";
}

fs::path write(const TemporaryDirectory& dir, const std::string& text) {
  const fs::path file = dir.path() / "records.txt";
  std::ofstream(file) << text;
  return file;
}

TEST(ProfileRecords, ReadsInferencesLayersTailAndTotal) {
  const TemporaryDirectory dir(fs::temp_directory_path());
  const std::string text = "# tinydeploy_profile 1 core=m4 layers=2\n# fields: instructions\n" +
                           record("layer", 0, "0", 100) + record("layer", 0, "1", 200) +
                           record("tail", 0, "-", 5) + record("total", 0, "-", 305) +
                           record("layer", 1, "1", 210) + record("tail", 1, "-", 6) +
                           record("total", 1, "-", 216);
  const PluginRecords records = read_plugin_records(write(dir, text), 2);
  EXPECT_EQ(records.header, "tinydeploy_profile 1 core=m4 layers=2");
  ASSERT_EQ(records.inferences.size(), 2u);
  ASSERT_TRUE(records.inferences[0].layers[0].has_value());
  EXPECT_EQ((*records.inferences[0].layers[0])[kInstructions], 100u);
  EXPECT_EQ((*records.inferences[0].layers[1])[kDHitsLine], 200u + kDHitsLine);
  EXPECT_EQ(records.inferences[0].tail[kLoads], 6u);
  EXPECT_EQ(records.inferences[0].total[kInstructions], 305u);
  // A layer the second inference did not mark stays empty.
  EXPECT_FALSE(records.inferences[1].layers[0].has_value());
  EXPECT_EQ((*records.inferences[1].layers[1])[kInstructions], 210u);
}

TEST(ProfileRecords, RefusesMalformedRecords) {
  const TemporaryDirectory dir(fs::temp_directory_path());
  for (const std::string& text : {record("layer", 0, "2", 1),           // past the model's layers
                                  record("layer", 0, "x", 1),           // not an index
                                  record("total", 1, "-", 1),           // inference out of order
                                  record("cycles", 0, "-", 1),          // unknown record
                                  std::string("layer 0 0 1 2 3\n")}) {  // truncated
    EXPECT_THROW(read_plugin_records(write(dir, text), 2), Error) << text;
  }
  EXPECT_THROW(read_plugin_records(dir.path() / "missing.txt", 2), Error);
}

TEST(ProfileRecords, MedianRunIsOneWholeInference) {
  std::vector<Inference> runs(3);
  runs[0].total[kInstructions] = 30;  // cold
  runs[1].total[kInstructions] = 10;
  runs[2].total[kInstructions] = 20;
  EXPECT_EQ(median_run(runs), 2u);
  runs.pop_back();  // even count: the lower of the two middle runs
  EXPECT_EQ(median_run(runs), 1u);

  std::vector<Counters> counters(3);
  counters[0][kInstructions] = 30;
  counters[0][kLoads] = 1;
  counters[1][kInstructions] = 10;
  counters[1][kLoads] = 7;
  counters[2][kInstructions] = 20;
  counters[2][kLoads] = 3;
  const Aggregate a = aggregate(counters, 2);
  EXPECT_EQ(a.cold[kInstructions], 30u);
  EXPECT_EQ(a.min[kInstructions], 10u);
  EXPECT_EQ(a.min[kLoads], 1u);  // minimum field by field
  EXPECT_EQ(a.median[kInstructions], 20u);
  EXPECT_EQ(a.median[kLoads], 3u);  // the median run's own value, not a per-field median
  EXPECT_THROW(aggregate(counters, 3), Error);
}

TEST(ProfileRecords, StatsCsvHasOneRowPerLayerAndLeavesUnmeasuredEmpty) {
  // Designated initialisers: GCC 12 at -O3 misreports -Wrestrict on `string = "literal"`.
  LayerRow conv{.event = "CONV_2D",
                .tag = "a,b",
                .macs = 1000,
                .output_bytes = 64,
                .counters = Aggregate{unmeasured(), unmeasured(), unmeasured()}};
  conv.counters->median[kInstructions] = 400;
  conv.counters->median[kEstCycles] = 500;
  const LayerRow unprofiled{
      .event = "RESHAPE", .tag = "r", .macs = 0, .output_bytes = 0, .counters = std::nullopt};
  std::istringstream in(stats_csv({conv, unprofiled}, CsvTiming{false, 25e6, 0}));
  std::string header;
  std::string first;
  std::string second;
  std::string extra;
  std::getline(in, header);
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_FALSE(std::getline(in, extra));
  EXPECT_EQ(header.rfind("Event,Tag,uSeconds,Est MACs,cycles,cpi,exc,sleep,lsu,fold,", 0), 0u);
  // 500 cycles at 25 MHz = 20 us; cpi 1.25; exc..fold empty.
  EXPECT_EQ(first.rfind("CONV_2D,\"a,b\",20.000,1000,500,1.250,,,,,", 0), 0u) << first;
  EXPECT_EQ(second.rfind("RESHAPE,r,,0,,,,,,,", 0), 0u) << second;
  const auto commas = [](const std::string& s) { return std::count(s.begin(), s.end(), ','); };
  EXPECT_EQ(commas(first), commas(header) + 1);  // + the comma inside the quoted tag
  EXPECT_EQ(commas(second), commas(header));
}

TEST(ProfileRecords, BoardCountsKeepEventCountersOnlyWhenTheyCannotHaveWrapped) {
  // Ticks, cycles and the five 8-bit DWT event counters of a 200-cycle layer: all exact.
  const BoardCount short_layer{1234, 0x3F, {200, 11, 0, 0, 40, 3}};
  EXPECT_TRUE(event_counts_exact(short_layer));
  const Counters a = board_counters(short_layer);
  EXPECT_EQ(a[kTicks], 1234u);
  EXPECT_EQ(a[kCycles], 200u);
  EXPECT_EQ(a[kCpi], 11u);
  EXPECT_EQ(a[kLsu], 40u);
  EXPECT_EQ(a[kFold], 3u);
  EXPECT_EQ(a[kInstructions], kNotMeasured);  // the plugin's fields are not a board's
  EXPECT_EQ(a[kEstCycles], kNotMeasured);

  // 256 cycles or more: an 8-bit counter may have wrapped, so its value says nothing.
  const BoardCount long_layer{99, 0x3F, {256, 11, 0, 0, 40, 3}};
  EXPECT_FALSE(event_counts_exact(long_layer));
  const Counters b = board_counters(long_layer);
  EXPECT_EQ(b[kCycles], 256u);
  for (Field f : {kCpi, kExc, kSleep, kLsu, kFold}) EXPECT_EQ(b[f], kNotMeasured) << f;

  // No cycle counter: the event counters cannot be bounded either; ticks alone.
  const BoardCount no_cycles{77, 0x3E, {0, 1, 2, 3, 4, 5}};
  EXPECT_FALSE(event_counts_exact(no_cycles));
  const Counters c = board_counters(no_cycles);
  EXPECT_EQ(c[kTicks], 77u);
  for (Field f : {kCycles, kCpi, kExc, kSleep, kLsu, kFold}) EXPECT_EQ(c[f], kNotMeasured) << f;
  // A port without counters (host, QEMU): ticks only.
  const Counters d = board_counters(BoardCount{5, 0, {}});
  EXPECT_EQ(d[kTicks], 5u);
  EXPECT_EQ(d[kCycles], kNotMeasured);
}

TEST(ProfileRecords, SumsAndMinimaOfBoardCountsStayUnknownWhereAnyPartIs) {
  const Counters a = board_counters({100, 0x3F, {100, 1, 2, 3, 4, 5}});
  const Counters b = board_counters({300, 0x3F, {300, 1, 2, 3, 4, 5}});  // events wrapped
  const Counters sum = add_counters({a, b});
  EXPECT_EQ(sum[kTicks], 400u);
  EXPECT_EQ(sum[kCycles], 400u);
  EXPECT_EQ(sum[kCpi], kNotMeasured);
  EXPECT_EQ(add_counters({a, a})[kCpi], 2u);
  const Aggregate agg = aggregate({a, b}, 1);
  EXPECT_EQ(agg.min[kTicks], 100u);
  EXPECT_EQ(agg.min[kCpi], kNotMeasured);
  EXPECT_EQ(agg.cold[kCpi], 1u);
  EXPECT_EQ(agg.median[kCpi], kNotMeasured);
}

TEST(ProfileRecords, CountsThatLieAreRefused) {
  // A board claiming "all ones" ticks, or layers whose ticks add up past a count.
  EXPECT_THROW(board_counters({~uint64_t{0}, 0, {}}), Error);
  const Counters half = board_counters({uint64_t{1} << 63, 0, {}});
  EXPECT_THROW(add_counters({half, half}), Error);
  const Counters almost = board_counters({~uint64_t{0} - 1, 0, {}});
  EXPECT_THROW(add_counters({almost, board_counters({1, 0, {}})}), Error);
  EXPECT_EQ(add_counters({almost})[kTicks], ~uint64_t{0} - 1);
}

TEST(ProfileRecords, StatsCsvOfABoardShowsMeasuredTimeCyclesAndEvents) {
  LayerRow conv{
      .event = "CONV_2D", .tag = "c", .macs = 100, .output_bytes = 8, .counters = Aggregate{}};
  conv.counters->median = board_counters({2000, 0x3F, {200, 11, 1, 2, 40, 3}});
  conv.counters->cold = board_counters({3000, 0x3F, {300, 11, 1, 2, 40, 3}});
  conv.counters->min = conv.counters->median;
  std::istringstream in(stats_csv({conv}, CsvTiming{true, 100e6, 1e9}));
  std::string header;
  std::string row;
  std::getline(in, header);
  std::getline(in, row);
  // 2000 ticks at 1 GHz = 2 us; 200 measured cycles; cpi, exc, sleep, lsu, fold; no simulated
  // cache, no counted instructions.
  EXPECT_EQ(
      row.rfind("CONV_2D,c,2.000,100,200,11,1,2,40,3,,,,,,,,,,,,,,8,measured,,300,200,,,2.000,"
                "3.000,2.000",
                0),
      0u)
      << row;
  const auto commas = [](const std::string& s) { return std::count(s.begin(), s.end(), ','); };
  EXPECT_EQ(commas(row), commas(header));
}

}  // namespace
}  // namespace tinydeploy::profile
