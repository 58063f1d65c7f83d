#include "service/common/sha256.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace wink::webhooks {
namespace {

std::string Hex(const Sha256Digest& digest) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

// FIPS 180-2's examples.
TEST(Sha256Test, MatchesThePublishedDigests) {
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, BytesAreTheDigestAsAString) {
  const std::string bytes = Sha256Bytes("abc");
  ASSERT_EQ(bytes.size(), kSha256Bytes);
  EXPECT_EQ(absl::BytesToHexString(bytes),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// The algorithm is looked up once and shared: threads hashing at once get
// the same digests as one alone.
TEST(Sha256Test, ThreadsHashingAtOnceGetTheSameDigests) {
  std::vector<std::thread> threads;
  std::vector<std::string> digests(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&digests, t] {
      std::string last;
      for (int i = 0; i < 1000; ++i) last = Hex(Sha256("abc"));
      digests[t] = last;
    });
  }
  for (auto& thread : threads) thread.join();
  for (const std::string& digest : digests) {
    EXPECT_EQ(digest, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }
}

}  // namespace
}  // namespace wink::webhooks
