// An output directory filled artifact by artifact (`deploy`): what it accepts as its directory,
// and that each file or subdirectory is replaced whole, never through a link.
#include "tinydeploy/common/artifact_directory.h"
#include "support/files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tinydeploy/common/error.h"

namespace tinydeploy {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kMarker(kOutputMarker);

using test_files::names_in;
using test_files::read;
using test_files::write;

class ArtifactDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "artifact_test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = fs::canonical(pattern);
    model_ = root_ / "models" / "m.tflite";
    fs::create_directories(model_.parent_path());
    write(model_, "model bytes");
  }
  void TearDown() override { fs::remove_all(root_); }

  OutputRequest request(const fs::path& path, bool force = false) const {
    return {path, model_, {}, force, "deploy"};
  }
  // An artifact directory at root/out, with `staged` built holding `files`.
  ArtifactDirectory out() const { return ArtifactDirectory(request(root_ / "out")); }
  static void fill(const TemporaryDirectory& staged, const std::vector<std::string>& files) {
    for (const std::string& name : files) write(staged.path() / name, "staged " + name);
  }

  fs::path root_;
  fs::path model_;
};

TEST_F(ArtifactDirectoryTest, ANewPathBecomesADirectoryWithTheMarker) {
  const ArtifactDirectory dir(request(root_.string() + "/out/"));
  EXPECT_EQ(dir.path(), root_ / "out");
  ASSERT_TRUE(fs::is_directory(root_ / "out"));
  EXPECT_THAT(names_in(root_ / "out"), ElementsAre(kMarker));
  EXPECT_THAT(read(root_ / "out" / kMarker),
              StartsWith("tinydeploy output directory\nWritten by `tinydeploy deploy`."));
  // Nothing else appeared beside it (the staging directory is gone).
  EXPECT_THAT(names_in(root_), ElementsAre("models", "out"));
}

TEST_F(ArtifactDirectoryTest, AnEmptyDirectoryIsTakenOver) {
  fs::create_directory(root_ / "out");
  const ArtifactDirectory dir = out();
  EXPECT_THAT(names_in(dir.path()), ElementsAre(kMarker));
}

TEST_F(ArtifactDirectoryTest, AnEarlierOutputKeepsItsArtifacts) {
  {
    const ArtifactDirectory first = out();
    first.write_file("kws.meta.json", "{}\n");
    TemporaryDirectory staged = first.stage();
    fill(staged, {"libkws.a"});
    first.install_directory(staged, "library");
  }
  const std::string marker_before = read(root_ / "out" / kMarker);
  const ArtifactDirectory again = out();
  EXPECT_THAT(names_in(again.path()), ElementsAre(kMarker, "kws.meta.json", "library"));
  EXPECT_EQ(read(again.path() / "kws.meta.json"), "{}\n");
  EXPECT_EQ(read(again.path() / "library" / "libkws.a"), "staged libkws.a");
  EXPECT_EQ(read(again.path() / kMarker), marker_before);
  EXPECT_TRUE(again.contains("library"));
  EXPECT_FALSE(again.contains("report.html"));
}

TEST_F(ArtifactDirectoryTest, AForeignDirectoryIsRefusedWithoutForceAndLeftAlone) {
  fs::create_directories(root_ / "out" / "sub");
  write(root_ / "out" / "notes.txt", "mine");
  write(root_ / "out" / "sub" / "deeper.txt", "also mine");
  try {
    out();
    ADD_FAILURE() << "a directory tinydeploy did not write was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("already exists and was not written by tinydeploy (it holds 2 "
                                    "entries and no .tinydeploy-output marker): choose a new "
                                    "path, or add --force"));
  }
  EXPECT_THAT(names_in(root_ / "out"), ElementsAre("notes.txt", "sub"));
  EXPECT_EQ(read(root_ / "out" / "notes.txt"), "mine");
  EXPECT_EQ(read(root_ / "out" / "sub" / "deeper.txt"), "also mine");
  EXPECT_THAT(names_in(root_), ElementsAre("models", "out"));

  // With --force it becomes an empty output directory.
  const ArtifactDirectory forced(request(root_ / "out", true));
  EXPECT_THAT(names_in(forced.path()), ElementsAre(kMarker));
  EXPECT_THAT(names_in(root_), ElementsAre("models", "out"));
}

TEST_F(ArtifactDirectoryTest, WriteFileReplacesAtomically) {
  const ArtifactDirectory dir = out();
  dir.write_file("summary.txt", "first version\n");
  EXPECT_EQ(read(dir.path() / "summary.txt"), "first version\n");
  // A reader holding the old file keeps reading it whole: the new one is another file moved
  // over the name, not the old one truncated and rewritten.
  std::ifstream reader(dir.path() / "summary.txt", std::ios::binary);
  ASSERT_TRUE(reader.is_open());
  dir.write_file("summary.txt", "second\n");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(reader), std::istreambuf_iterator<char>()),
            "first version\n");
  EXPECT_EQ(read(dir.path() / "summary.txt"), "second\n");
  dir.write_file("empty.txt", "");
  EXPECT_EQ(fs::file_size(dir.path() / "empty.txt"), 0u);
  EXPECT_THAT(names_in(dir.path()), ElementsAre(kMarker, "empty.txt", "summary.txt"));
}

TEST_F(ArtifactDirectoryTest, WriteFileReplacesALinkWithoutFollowingIt) {
  const ArtifactDirectory dir = out();
  write(root_ / "precious.txt", "keep");
  fs::create_symlink(root_ / "precious.txt", dir.path() / "report.html");
  dir.write_file("report.html", "<html>");
  EXPECT_FALSE(fs::is_symlink(dir.path() / "report.html"));
  EXPECT_EQ(read(dir.path() / "report.html"), "<html>");
  EXPECT_EQ(read(root_ / "precious.txt"), "keep");
}

TEST_F(ArtifactDirectoryTest, InstallsADirectoryUnderANewName) {
  const ArtifactDirectory dir = out();
  TemporaryDirectory staged = dir.stage();
  EXPECT_EQ(staged.path().parent_path(), dir.path());  // same file system: a rename moves it
  fill(staged, {"a.h", "b.cc"});
  const fs::path staged_path = staged.path();
  dir.install_directory(staged, "package");
  EXPECT_THAT(names_in(dir.path() / "package"), ElementsAre("a.h", "b.cc"));
  EXPECT_EQ(read(dir.path() / "package" / "b.cc"), "staged b.cc");
  EXPECT_FALSE(fs::exists(staged_path));
  EXPECT_THAT(names_in(dir.path()), ElementsAre(kMarker, "package"));
  // Permissions of a new directory, not mkdtemp's private 0700.
  const mode_t mask = umask(0);
  umask(mask);
  struct stat status {};
  ASSERT_EQ(stat((dir.path() / "package").c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 0777, 0777 & ~mask);
}

TEST_F(ArtifactDirectoryTest, InstallsADirectoryOverAnExistingOne) {
  const ArtifactDirectory dir = out();
  {
    TemporaryDirectory staged = dir.stage();
    fill(staged, {"old.a", "shared.h"});
    fs::create_directory(staged.path() / "nested");
    write(staged.path() / "nested" / "old.txt", "old");
    dir.install_directory(staged, "library");
  }
  TemporaryDirectory staged = dir.stage();
  fill(staged, {"new.a", "shared.h"});
  dir.install_directory(staged, "library");
  EXPECT_THAT(names_in(dir.path() / "library"), ElementsAre("new.a", "shared.h"));
  EXPECT_EQ(read(dir.path() / "library" / "shared.h"), "staged shared.h");
  // The previous directory is gone, not parked beside it.
  EXPECT_THAT(names_in(dir.path()), ElementsAre(kMarker, "library"));
}

TEST_F(ArtifactDirectoryTest, InstallsADirectoryOverAFile) {
  const ArtifactDirectory dir = out();
  dir.write_file("library", "a file where the directory goes");
  TemporaryDirectory staged = dir.stage();
  fill(staged, {"libm.a"});
  dir.install_directory(staged, "library");
  ASSERT_TRUE(fs::is_directory(fs::symlink_status(dir.path() / "library")));
  EXPECT_THAT(names_in(dir.path() / "library"), ElementsAre("libm.a"));
  EXPECT_THAT(names_in(dir.path()), ElementsAre(kMarker, "library"));
}

TEST_F(ArtifactDirectoryTest, ALinkWhereADirectoryGoesIsReplacedNeverFollowed) {
  const ArtifactDirectory dir = out();
  fs::create_directory(root_ / "elsewhere");
  write(root_ / "elsewhere" / "keep.txt", "untouched");
  fs::create_directory_symlink(root_ / "elsewhere", dir.path() / "library");
  write(root_ / "file.txt", "also untouched");
  fs::create_symlink(root_ / "file.txt", dir.path() / "package");
  fs::create_symlink(root_ / "missing", dir.path() / "report");  // dangling

  for (const char* name : {"library", "package", "report"}) {
    SCOPED_TRACE(name);
    TemporaryDirectory staged = dir.stage();
    fill(staged, {"new.txt"});
    dir.install_directory(staged, name);
    EXPECT_FALSE(fs::is_symlink(dir.path() / name));
    ASSERT_TRUE(fs::is_directory(dir.path() / name));
    EXPECT_THAT(names_in(dir.path() / name), ElementsAre("new.txt"));
  }
  EXPECT_THAT(names_in(root_ / "elsewhere"), ElementsAre("keep.txt"));
  EXPECT_EQ(read(root_ / "elsewhere" / "keep.txt"), "untouched");
  EXPECT_EQ(read(root_ / "file.txt"), "also untouched");
  EXPECT_FALSE(fs::exists(root_ / "missing"));
  EXPECT_THAT(names_in(dir.path()), ElementsAre(kMarker, "library", "package", "report"));
}

TEST_F(ArtifactDirectoryTest, RemovesAFileADirectoryOrNothing) {
  const ArtifactDirectory dir = out();
  dir.write_file("report.html", "<html>");
  TemporaryDirectory staged = dir.stage();
  fill(staged, {"libm.a"});
  fs::create_directories(staged.path() / "include" / "deeper");
  write(staged.path() / "include" / "deeper" / "m.h", "header");
  dir.install_directory(staged, "library");

  dir.remove("report.html");
  EXPECT_FALSE(dir.contains("report.html"));
  dir.remove("library");
  EXPECT_FALSE(dir.contains("library"));
  EXPECT_NO_THROW(dir.remove("never-written"));
  EXPECT_THAT(names_in(dir.path()), ElementsAre(kMarker));
}

TEST_F(ArtifactDirectoryTest, RemovingALinkLeavesItsTarget) {
  const ArtifactDirectory dir = out();
  fs::create_directory(root_ / "elsewhere");
  write(root_ / "elsewhere" / "keep.txt", "untouched");
  fs::create_directory_symlink(root_ / "elsewhere", dir.path() / "library");
  dir.remove("library");
  EXPECT_FALSE(dir.contains("library"));
  EXPECT_EQ(read(root_ / "elsewhere" / "keep.txt"), "untouched");
}

TEST_F(ArtifactDirectoryTest, RefusesNamesThatAreNotOneArtifact) {
  const ArtifactDirectory dir = out();
  fs::create_directory(root_ / "sibling");
  write(root_ / "sibling" / "x", "sibling's");
  const std::vector<std::string> names = {"",    ".",    "..",   "../sibling",
                                          "a/b", "/etc", "sub/", kMarker};
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const std::string expected = "'" + name + "' is not an artifact name";
    try {
      dir.write_file(name, "x");
      ADD_FAILURE() << "write_file accepted it";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), expected);
    }
    try {
      dir.remove(name);
      ADD_FAILURE() << "remove accepted it";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), expected);
    }
    TemporaryDirectory staged = dir.stage();
    fill(staged, {"x"});
    try {
      dir.install_directory(staged, name);
      ADD_FAILURE() << "install_directory accepted it";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), expected);
    }
  }
  // Nothing was written, moved or removed.
  EXPECT_THAT(names_in(dir.path()), ElementsAre(kMarker));
  EXPECT_THAT(read(dir.path() / kMarker), StartsWith("tinydeploy output directory\n"));
  EXPECT_THAT(names_in(root_ / "sibling"), ElementsAre("x"));
  EXPECT_EQ(read(root_ / "sibling" / "x"), "sibling's");
}

}  // namespace
}  // namespace tinydeploy
