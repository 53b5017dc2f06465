// The firmware cache's bound: the least recently used entries of a board go, and nothing that is
// not an entry (a build in progress, a file or directory someone else put there) is touched.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "support/files.h"
#include "tinydeploy/build/firmware_image.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/common/temporary_directory.h"

namespace tinydeploy::build {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// An entry named like build_firmware's, last used `minutes_ago`.
fs::path make_entry(const fs::path& board, const std::string& name, int minutes_ago) {
  const fs::path entry = board / name;
  fs::create_directories(entry / "build");
  test_files::write(entry / "build" / "validator", "image");
  fs::last_write_time(entry, fs::file_time_type::clock::now() - std::chrono::minutes(minutes_ago));
  return entry;
}

class FirmwareCacheTest : public ::testing::Test {
 protected:
  FirmwareCacheTest()
      : directory_(fs::temp_directory_path()), board_(directory_.path() / "qemu-m4") {
    fs::create_directories(board_);
  }

  TemporaryDirectory directory_;
  fs::path board_;
};

TEST_F(FirmwareCacheTest, TheLeastRecentlyUsedEntriesGoAndTheNewOneStays) {
  make_entry(board_, "aaaaaaaaaaaaaaaaaaaaaaaa", 50);
  make_entry(board_, "bbbbbbbbbbbbbbbbbbbbbbbb", 10);
  make_entry(board_, "cccccccccccccccccccccccc", 40);
  make_entry(board_, "dddddddddddddddddddddddd", 20);
  // The entry just stored is the oldest by its time stamp, and stays all the same.
  const fs::path stored = make_entry(board_, "0123456789abcdef01234567", 90);
  EXPECT_EQ(prune_cache_entries(board_, 3, stored), 2u);
  EXPECT_THAT(test_files::names_in(board_),
              ElementsAre("0123456789abcdef01234567", "bbbbbbbbbbbbbbbbbbbbbbbb",
                          "dddddddddddddddddddddddd"));
  EXPECT_EQ(prune_cache_entries(board_, 3, stored), 0u);
  EXPECT_EQ(prune_cache_entries(board_, 1, stored), 2u);
  EXPECT_THAT(test_files::names_in(board_), ElementsAre("0123456789abcdef01234567"));
}

TEST_F(FirmwareCacheTest, WhatIsNotAnEntryIsLeftAlone) {
  make_entry(board_, "aaaaaaaaaaaaaaaaaaaaaaaa", 50);
  make_entry(board_, "tinydeploy-Xy12Zq", 100);          // a build in progress
  make_entry(board_, "AAAAAAAAAAAAAAAAAAAAAAAA", 100);   // not lower-case hexadecimal
  make_entry(board_, "aaaaaaaaaaaaaaaaaaaaaaa", 100);    // 23 digits
  make_entry(board_, "aaaaaaaaaaaaaaaaaaaaaaaaa", 100);  // 25 digits
  test_files::write(board_ / "eeeeeeeeeeeeeeeeeeeeeeee", "a file, not an entry");
  fs::create_directory_symlink(board_ / "aaaaaaaaaaaaaaaaaaaaaaaa",
                               board_ / "ffffffffffffffffffffffff");
  const fs::path stored = make_entry(board_, "bbbbbbbbbbbbbbbbbbbbbbbb", 0);
  EXPECT_EQ(prune_cache_entries(board_, 1, stored), 1u);
  EXPECT_THAT(
      test_files::names_in(board_),
      ElementsAre("AAAAAAAAAAAAAAAAAAAAAAAA", "aaaaaaaaaaaaaaaaaaaaaaa",
                  "aaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbb",
                  "eeeeeeeeeeeeeeeeeeeeeeee", "ffffffffffffffffffffffff", "tinydeploy-Xy12Zq"));
  EXPECT_EQ(prune_cache_entries(directory_.path() / "no-such-board", 1, {}), 0u);
}

TEST(FirmwareCacheLimit, ComesFromTheEnvironmentAndIsChecked) {
  unsetenv("TINYDEPLOY_CACHE_MAX_ENTRIES");
  EXPECT_EQ(max_cache_entries(), kDefaultMaxCacheEntries);
  setenv("TINYDEPLOY_CACHE_MAX_ENTRIES", "300", 1);
  EXPECT_EQ(max_cache_entries(), 300u);
  for (const char* bad : {"0", "-1", "12x", "100001", " 5", "1e3"}) {
    setenv("TINYDEPLOY_CACHE_MAX_ENTRIES", bad, 1);
    try {
      (void)max_cache_entries();
      ADD_FAILURE() << bad << " accepted";
    } catch (const Error& error) {
      EXPECT_THAT(error.what(), HasSubstr("is not a number of entries from 1 to 100000")) << bad;
    }
  }
  unsetenv("TINYDEPLOY_CACHE_MAX_ENTRIES");
}

}  // namespace
}  // namespace tinydeploy::build
