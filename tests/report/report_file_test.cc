// `tinydeploy report -o FILE`: what may be replaced (a report tinydeploy wrote; another regular
// file only with --force) and what never is (a directory, a link, a FIFO, the metadata itself),
// atomically and without leftovers.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "metadata_builder.h"
#include "support/files.h"
#include "tinydeploy/cli/report.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/report/html.h"
#include "tinydeploy/report/metadata.h"

namespace tinydeploy::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

using test_files::names_in;
using test_files::read;
using test_files::write;

// The message of the tinydeploy::Error that `f` throws ("" when it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const std::string kPage = std::string(report::kReportMarker) + "\n<!DOCTYPE html>\nnew page\n";

class ReportFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "report_file_test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_;
};

TEST_F(ReportFileTest, WritesANewFile) {
  const fs::path file = root_ / "report.html";
  write_report_file(file, kPage, false);
  EXPECT_EQ(read(file), kPage);
  EXPECT_EQ(names_in(root_), std::vector<std::string>{"report.html"});  // no staging left
  // Permissions like any file the user writes (the umask's), not private like a temporary one.
  const fs::path plain = root_ / "plain";
  write(plain, "x");
  EXPECT_EQ(fs::status(file).permissions(), fs::status(plain).permissions());
}

TEST_F(ReportFileTest, ReplacesAReportItWrote) {
  const fs::path file = root_ / "report.html";
  write(file, std::string(report::kReportMarker) + "\nold page\n");
  write_report_file(file, kPage, false);
  EXPECT_EQ(read(file), kPage);
  // Written on Windows and back: the marker line may end in CR LF.
  write(file, std::string(report::kReportMarker) + "\r\nold page\n");
  write_report_file(file, kPage, false);
  EXPECT_EQ(read(file), kPage);
  EXPECT_EQ(names_in(root_), std::vector<std::string>{"report.html"});
}

TEST_F(ReportFileTest, ReplacesAnotherFileOnlyWithForce) {
  const fs::path file = root_ / "notes.html";
  for (const std::string& other :
       {std::string("<html>my notes</html>\n"), std::string(""),
        std::string(report::kReportMarker),  // the marker without its line end: not ours
        "x" + std::string(report::kReportMarker) + "\n"}) {
    write(file, other);
    EXPECT_THAT(error_of([&] { write_report_file(file, kPage, false); }),
                HasSubstr("exists and is not a report tinydeploy wrote"));
    EXPECT_EQ(read(file), other);
  }
  EXPECT_THAT(error_of([&] { write_report_file(file, kPage, false); }), HasSubstr("--force"));
  write_report_file(file, kPage, true);
  EXPECT_EQ(read(file), kPage);
  EXPECT_EQ(names_in(root_), std::vector<std::string>{"notes.html"});
}

TEST_F(ReportFileTest, NeverADirectoryALinkOrAFifoEvenWithForce) {
  const fs::path dir = root_ / "out";
  fs::create_directory(dir);
  const fs::path target = root_ / "target.html";
  write(target, std::string(report::kReportMarker) + "\nlinked\n");
  const fs::path link = root_ / "link.html";
  fs::create_symlink(target, link);
  const fs::path dangling = root_ / "dangling.html";
  fs::create_symlink(root_ / "nowhere.html", dangling);
  const fs::path fifo = root_ / "fifo.html";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const bool force : {false, true}) {
    EXPECT_THAT(error_of([&] { write_report_file(dir, kPage, force); }),
                HasSubstr("is a directory"));
    EXPECT_THAT(error_of([&] { write_report_file(root_ / "out/", kPage, force); }),
                HasSubstr("names a directory"));
    EXPECT_THAT(error_of([&] { write_report_file(root_ / "out/..", kPage, force); }),
                HasSubstr("names a directory"));
    EXPECT_THAT(error_of([&] { write_report_file(link, kPage, force); }),
                HasSubstr("is a symbolic link"));
    EXPECT_THAT(error_of([&] { write_report_file(dangling, kPage, force); }),
                HasSubstr("is a symbolic link"));
    EXPECT_THAT(error_of([&] { write_report_file(fifo, kPage, force); }),
                HasSubstr("not a regular file"));
  }
  EXPECT_EQ(read(target), std::string(report::kReportMarker) + "\nlinked\n");
  EXPECT_TRUE(fs::is_empty(dir));
  EXPECT_FALSE(fs::exists(root_ / "nowhere.html"));
  EXPECT_EQ(names_in(root_), (std::vector<std::string>{"dangling.html", "fifo.html", "link.html",
                                                       "out", "target.html"}));
}

TEST_F(ReportFileTest, TheParentDirectoryMustExist) {
  EXPECT_THAT(error_of([&] { write_report_file(root_ / "missing" / "r.html", kPage, true); }),
              HasSubstr("does not exist; create it first"));
  write(root_ / "file", "x");
  EXPECT_THAT(error_of([&] { write_report_file(root_ / "file" / "r.html", kPage, true); }),
              HasSubstr("is not a directory"));
  EXPECT_THAT(error_of([&] { write_report_file("", kPage, true); }), HasSubstr("no file name"));
}

TEST_F(ReportFileTest, NeverTheMetadataItIsDrawnFrom) {
  const fs::path metadata = root_ / "m.meta.json";
  const std::string text = report::metadata_json(report::testing::sample_metadata(2));
  write(metadata, text);
  const fs::path hard_link = root_ / "same.html";
  fs::create_hard_link(metadata, hard_link);
  for (const fs::path& output : {metadata, hard_link}) {
    EXPECT_THAT(error_of([&] { write_report_file(output, kPage, true, {metadata}); }),
                HasSubstr("is the file the report is drawn from"));
  }
  EXPECT_EQ(read(metadata), text);
}

TEST_F(ReportFileTest, RunReportReadsTheMetadataAndWritesThePage) {
  const report::Metadata m = report::testing::sample_metadata(3);
  const fs::path metadata = root_ / "chain.meta.json";
  report::write_metadata(metadata, m);
  ReportOptions options;
  options.metadata = metadata;
  options.output = root_ / "chain.html";
  std::ostringstream out;
  run_report(options, out);
  EXPECT_EQ(read(options.output), report::render_report(m));
  EXPECT_THAT(out.str(), StartsWith(fmt::format("wrote {} (", options.output.string())));
  EXPECT_THAT(out.str(), HasSubstr("3 layers; profile yes, validation yes, library yes"));
  // Again: the page it wrote is replaced without --force.
  run_report(options, out);
  EXPECT_EQ(names_in(root_), (std::vector<std::string>{"chain.html", "chain.meta.json"}));

  // A file that is no metadata is refused with its name, and nothing is written.
  write(root_ / "bad.json", "{\"format\": \"something else\"}");
  options.metadata = root_ / "bad.json";
  options.output = root_ / "bad.html";
  EXPECT_THAT(error_of([&] { run_report(options, out); }),
              HasSubstr("is not a tinydeploy metadata file"));
  EXPECT_FALSE(fs::exists(options.output));
}

}  // namespace
}  // namespace tinydeploy::cli
