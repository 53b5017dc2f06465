// The sources the tool carries are the repository's files, byte for byte: also those longer than
// one string literal may be (embed_files.cmake writes them in pieces).
#include "tinydeploy/common/embedded_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace tinydeploy {
namespace {

namespace fs = std::filesystem;

// tests/data/.. is tests/, and its parent the repository.
const fs::path kRepository = fs::path(TINYDEPLOY_TEST_DATA_DIR).parent_path().parent_path();

TEST(EmbeddedFiles, EveryFileIsTheRepositorysFile) {
  size_t files = 0;
  size_t long_files = 0;
  for (const EmbeddedFile& file : embedded_files()) {
    std::ifstream in(kRepository / std::string(file.path), std::ios::binary);
    ASSERT_TRUE(in) << file.path;
    const std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    EXPECT_TRUE(content == file.content) << file.path << ": " << file.content.size()
                                         << " bytes embedded, " << content.size() << " in the file";
    EXPECT_EQ(embedded_file(file.path).data(), file.content.data());
    ++files;
    long_files += file.content.size() > 65536 ? 1u : 0u;
  }
  EXPECT_GT(files, 40u);
  // At least one file is past a single literal's 65,536 bytes, so the pieces are tested.
  EXPECT_GE(long_files, 1u);
}

}  // namespace
}  // namespace tinydeploy
