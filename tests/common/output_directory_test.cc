// The output policy (-o), the atomic replacement, the tree removal and the temporary
// directories. The command-line paths that use them are tested in tests/cli/test_output_safety.py.
#include "tinydeploy/common/output_directory.h"
#include "support/files.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "tinydeploy/common/error.h"
#include "tinydeploy/common/remove_tree.h"
#include "tinydeploy/common/temporary_directory.h"

namespace tinydeploy {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using test_files::names_in;
using test_files::read;
using test_files::write;

class OutputDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "output_test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    model_ = root_ / "models" / "m.tflite";
    fs::create_directories(model_.parent_path());
    write(model_, "model bytes");
  }
  void TearDown() override {
    fs::current_path(initial_cwd_);
    fs::remove_all(root_);
  }

  OutputRequest request(const fs::path& path, bool force = false) const {
    return {path, model_, {}, force, "generate"};
  }
  // The message check_output_target throws, or "" when it accepts the path.
  std::string refusal(const fs::path& path, bool force = false) const {
    try {
      check_output_target(request(path, force));
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  fs::path initial_cwd_ = fs::current_path();
  fs::path root_;
  fs::path model_;
};

TEST_F(OutputDirectoryTest, RefusesPathsThatNameNoNewDirectory) {
  EXPECT_THAT(refusal(""), HasSubstr("is an empty path"));
  EXPECT_THAT(refusal("."), HasSubstr("output directory '.' is the current directory"));
  EXPECT_THAT(refusal("./"), HasSubstr("output directory '.' is the current directory"));
  EXPECT_THAT(refusal(".."), HasSubstr("is the parent of the current directory"));
  EXPECT_THAT(refusal("/"), HasSubstr("output directory '/' is the root directory"));
  EXPECT_THAT(refusal("//", true), HasSubstr("is the root directory"));
  EXPECT_THAT(refusal(root_ / "models" / "."), HasSubstr("ends in '.'"));
  EXPECT_THAT(refusal(root_ / "models" / ".."), HasSubstr("ends in '..'"));
}

TEST_F(OutputDirectoryTest, NewPathIsAcceptedAndTrailingSlashesIgnored) {
  const OutputTarget target = check_output_target(request(root_.string() + "/out//"));
  EXPECT_EQ(target.existing, OutputTarget::Existing::Nothing);
  EXPECT_EQ(target.shown, root_ / "out");
  EXPECT_EQ(target.name, "out");
  EXPECT_EQ(target.parent, fs::canonical(root_));
}

TEST_F(OutputDirectoryTest, ParentMustExistAndBeADirectory) {
  EXPECT_THAT(refusal(root_ / "missing" / "out"),
              HasSubstr("its parent directory '" + (root_ / "missing").string() +
                        "' does not exist: create it first"));
  write(root_ / "notes.txt", "x");
  EXPECT_THAT(refusal(root_ / "notes.txt" / "out"),
              HasSubstr("'" + (root_ / "notes.txt").string() + "' is a file, not a directory"));
  EXPECT_THAT(refusal(root_ / "notes.txt" / "deeper" / "out"),
              HasSubstr("'" + (root_ / "notes.txt").string() + "' is a file, not a directory"));
}

TEST_F(OutputDirectoryTest, NeverReplacesFilesDevicesFifosOrLinks) {
  write(root_ / "notes.txt", "keep me");
  EXPECT_THAT(refusal(root_ / "notes.txt", true),
              HasSubstr("is an existing file (7 bytes); tinydeploy writes a directory and never "
                        "replaces a file, even with --force"));
  EXPECT_THAT(refusal(root_ / "notes.txt/", true), HasSubstr("is an existing file"));
  EXPECT_THAT(refusal(model_, true), HasSubstr("is the input model itself"));
  EXPECT_THAT(refusal("/dev/null", true), HasSubstr("'/dev/null' is a character device"));
  ASSERT_EQ(mkfifo((root_ / "pipe").c_str(), 0600), 0);
  EXPECT_THAT(refusal(root_ / "pipe", true), HasSubstr("is a FIFO (named pipe)"));
  fs::create_directory(root_ / "target");
  fs::create_directory_symlink(root_ / "target", root_ / "link");
  EXPECT_THAT(refusal(root_ / "link", true),
              HasSubstr("is a symbolic link (to '" + (root_ / "target").string() + "')"));
  EXPECT_EQ(read(root_ / "notes.txt"), "keep me");
}

TEST_F(OutputDirectoryTest, OtherDirectoriesOnlyWithForce) {
  fs::create_directory(root_ / "notes");
  write(root_ / "notes" / "a.txt", "mine");
  EXPECT_THAT(refusal(root_ / "notes"),
              HasSubstr("already exists and was not written by tinydeploy (it holds 1 entry and "
                        "no .tinydeploy-output marker): choose a new path, or add --force"));
  EXPECT_EQ(check_output_target(request(root_ / "notes", true)).existing,
            OutputTarget::Existing::ForcedDirectory);
  fs::create_directory(root_ / "empty");
  EXPECT_EQ(check_output_target(request(root_ / "empty")).existing,
            OutputTarget::Existing::EmptyDirectory);
  fs::create_directory(root_ / "ours");
  write(root_ / "ours" / std::string(kOutputMarker), "tinydeploy output directory\nmore\n");
  write(root_ / "ours" / "a.txt", "generated");
  EXPECT_EQ(check_output_target(request(root_ / "ours")).existing,
            OutputTarget::Existing::TinydeployOutput);
  // A marker that is a link, or that says something else, is not tinydeploy's.
  fs::create_directory(root_ / "linked");
  fs::create_symlink(root_ / "ours" / std::string(kOutputMarker),
                     root_ / "linked" / std::string(kOutputMarker));
  EXPECT_THAT(refusal(root_ / "linked"), HasSubstr("was not written by tinydeploy"));
  fs::create_directory(root_ / "other");
  write(root_ / "other" / std::string(kOutputMarker), "something else\n");
  EXPECT_THAT(refusal(root_ / "other"), HasSubstr("was not written by tinydeploy"));
}

TEST_F(OutputDirectoryTest, NeverReplacesWhereTheInputsOrTheWorkingDirectoryAre) {
  EXPECT_THAT(refusal(root_ / "models", true),
              HasSubstr("contains the input model '" + model_.string() +
                        "'; tinydeploy never replaces it, even with --force"));
  EXPECT_THAT(refusal(root_, true), HasSubstr("contains the input model"));
  // The same when the model is named through a link to its folder.
  fs::create_directory_symlink(root_ / "models", root_ / "models_link");
  OutputRequest linked = request(root_ / "models", true);
  linked.model = root_ / "models_link" / "m.tflite";
  EXPECT_THROW(check_output_target(linked), Error);
  // Input files too, and the marker does not change that.
  fs::create_directory(root_ / "inputs");
  write(root_ / "inputs" / std::string(kOutputMarker), "tinydeploy output directory\n");
  write(root_ / "inputs" / "x.npy", "input");
  OutputRequest with_input = request(root_ / "inputs");
  with_input.input_files = {root_ / "inputs" / "x.npy"};
  try {
    check_output_target(with_input);
    ADD_FAILURE() << "a directory holding an input file was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("contains the input file"));
  }
  with_input.path = with_input.input_files[0];
  EXPECT_THROW(check_output_target(with_input), Error);

  fs::create_directories(root_ / "work" / "deeper");
  write(root_ / "work" / "deeper" / "a.txt", "x");
  fs::current_path(root_ / "work" / "deeper");
  EXPECT_THAT(refusal(root_ / "work", true), HasSubstr("contains the current directory"));
  EXPECT_THAT(refusal("../../work", true), HasSubstr("contains the current directory"));
  EXPECT_THAT(refusal(root_ / "work" / "deeper", true), HasSubstr("is the current directory"));
}

TEST_F(OutputDirectoryTest, NeverReplacesTopLevelHomeOrTemporaryDirectories) {
  // No model here: the fixture's lies in the temporary directory.
  const auto refused = [](const fs::path& path) {
    try {
      check_output_target({path, {}, {}, true, "generate"});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  // From the root, so that a checkout (the current directory) under /tmp or $HOME does not
  // make "contains the current directory" the reason.
  const fs::path saved = fs::current_path();
  fs::current_path("/");
  EXPECT_THAT(refused("/usr"), HasSubstr("is a top-level directory"));
  EXPECT_THAT(refused(fs::temp_directory_path()), HasSubstr("is the temporary directory"));
  if (const char* home = std::getenv("HOME"); home != nullptr && fs::is_directory(home)) {
    EXPECT_THAT(refused(home), HasSubstr("is your home directory"));
  }
  fs::current_path(saved);
}

TEST_F(OutputDirectoryTest, CommitCreatesThenReplacesItsOwnDirectory) {
  const fs::path out = root_ / "out";
  {
    OutputDirectory output(request(out.string() + "/"));
    EXPECT_EQ(output.staging().parent_path(), fs::canonical(root_));
    write(output.staging() / "first.txt", "1");
    output.commit();
  }
  EXPECT_EQ(names_in(out), (std::vector<std::string>{".tinydeploy-output", "first.txt"}));
  EXPECT_THAT(read(out / ".tinydeploy-output"), HasSubstr("`tinydeploy generate`"));
  struct stat status {};
  ASSERT_EQ(stat(out.c_str(), &status), 0);
  EXPECT_NE(status.st_mode & 0055, 0u) << "the output directory kept mkdtemp's 0700";
  {
    OutputDirectory output(request(out));
    write(output.staging() / "second.txt", "2");
    output.commit();
  }
  EXPECT_EQ(names_in(out), (std::vector<std::string>{".tinydeploy-output", "second.txt"}));
  EXPECT_EQ(names_in(root_), (std::vector<std::string>{"models", "out"}));
}

TEST_F(OutputDirectoryTest, CommitReplacesAForcedDirectoryAndAnEmptyOne) {
  fs::create_directories(root_ / "notes" / "sub");
  write(root_ / "notes" / "sub" / "a.txt", "old");
  fs::create_directory(root_ / "empty");
  for (const char* name : {"notes", "empty"}) {
    OutputDirectory output(request(root_ / name, true));
    write(output.staging() / "new.txt", "new");
    output.commit();
    EXPECT_EQ(names_in(root_ / name), (std::vector<std::string>{".tinydeploy-output", "new.txt"}));
  }
  EXPECT_EQ(names_in(root_), (std::vector<std::string>{"empty", "models", "notes"}));
}

TEST_F(OutputDirectoryTest, CommitChecksAgainAndRefusesWhatAppearedMeanwhile) {
  const fs::path out = root_ / "out";
  OutputDirectory output(request(out));
  write(output.staging() / "new.txt", "new");
  fs::create_directory(out);
  write(out / "user.txt", "written while tinydeploy worked");
  EXPECT_THROW(output.commit(), Error);
  EXPECT_EQ(names_in(out), std::vector<std::string>{"user.txt"});
}

TEST_F(OutputDirectoryTest, StagingIsRemovedWhenNothingIsCommitted) {
  {
    OutputDirectory output(request(root_ / "out"));
    write(output.staging() / "half.txt", "written");
  }
  EXPECT_EQ(names_in(root_), std::vector<std::string>{"models"});
}

TEST_F(OutputDirectoryTest, ReplaceDirectoryWithAndWithoutExchange) {
  for (const bool exchange : {true, false}) {
    fs::create_directory(root_ / "new");
    write(root_ / "new" / "n.txt", "new");
    fs::create_directory(root_ / "target");
    write(root_ / "target" / "o.txt", "old");
    const fs::path previous = replace_directory(root_ / "new", root_ / "target", exchange);
    EXPECT_EQ(read(root_ / "target" / "n.txt"), "new");
    EXPECT_EQ(read(previous / "o.txt"), "old");
    EXPECT_EQ(previous.parent_path(), root_);
    fs::remove_all(previous);
    fs::remove_all(root_ / "target");
    EXPECT_EQ(names_in(root_), std::vector<std::string>{"models"});
  }
}

TEST_F(OutputDirectoryTest, RemoveTreeNeverFollowsLinksAndChecksIdentity) {
  fs::create_directories(root_ / "tree" / "a" / "b");
  write(root_ / "tree" / "a" / "b" / "f.txt", "x");
  for (int i = 0; i < 300; ++i) write(root_ / "tree" / ("file" + std::to_string(i)), "y");
  fs::create_directory_symlink(root_ / "models", root_ / "tree" / "a" / "models_link");
  fs::create_symlink(model_, root_ / "tree" / "model_link");
  struct stat status {};
  ASSERT_EQ(lstat((root_ / "tree").c_str(), &status), 0);
  const DirectoryIdentity tree = identity_of(status);
  EXPECT_EQ(remove_tree(root_.c_str(), "models", tree), ESTALE);
  EXPECT_EQ(read(model_), "model bytes");
  EXPECT_EQ(remove_tree(root_.c_str(), "tree", tree), 0);
  EXPECT_FALSE(fs::exists(root_ / "tree"));
  EXPECT_EQ(read(model_), "model bytes");
  EXPECT_EQ(remove_tree(root_.c_str(), "tree", tree), 0) << "already gone";
}

TEST_F(OutputDirectoryTest, TemporaryDirectoryRemovesOnlyWhatItCreated) {
  fs::path created;
  {
    TemporaryDirectory scratch(root_);
    created = scratch.path();
    write(created / "x.txt", "x");
    EXPECT_EQ(created.filename().string().rfind("tinydeploy-", 0), 0u);
  }
  EXPECT_FALSE(fs::exists(created));
  {
    TemporaryDirectory scratch(root_);
    created = scratch.path();
    // Replaced by someone else's directory under the same name: left alone.
    fs::rename(created, root_ / "moved");
    fs::create_directory(created);
    write(created / "theirs.txt", "theirs");
  }
  EXPECT_EQ(read(created / "theirs.txt"), "theirs");
  fs::path kept;
  {
    TemporaryDirectory scratch(root_);
    kept = scratch.keep();
  }
  EXPECT_TRUE(fs::is_directory(kept));
}

}  // namespace
}  // namespace tinydeploy
