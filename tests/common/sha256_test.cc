#include "tinydeploy/common/sha256.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace tinydeploy {
namespace {

std::string hash_of(std::string_view text) {
  const std::vector<uint8_t> bytes(text.begin(), text.end());
  return sha256_hex(bytes);
}

// FIPS 180-4 example messages (one block, two blocks) and the empty message.
TEST(Sha256, MatchesTheStandardsExamples) {
  EXPECT_EQ(hash_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hash_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

// Lengths around the padding boundary (55, 56, 63, 64 bytes) and a million 'a's.
TEST(Sha256, HandlesEveryPaddingCase) {
  EXPECT_EQ(hash_of(std::string(55, 'a')),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(hash_of(std::string(56, 'a')),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(hash_of(std::string(64, 'a')),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
  EXPECT_EQ(hash_of(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace tinydeploy
