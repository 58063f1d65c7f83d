#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "wink/webhooks/verify.h"

namespace wink::webhooks {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(SplitSecretListTest, SplitsOnLinesCommasAndSpacesAndSkipsComments) {
  EXPECT_THAT(SplitSecretList("# the PMS endpoint\nwhsec_a\r\n\n  whsec_b, whsec_c\twhsec_d\n"),
              ElementsAre("whsec_a", "whsec_b", "whsec_c", "whsec_d"));
  EXPECT_THAT(SplitSecretList(""), ElementsAre());
}

TEST(ReadSecretFileTest, NamesThePathNeverTheContents) {
  const absl::StatusOr<std::vector<std::string>> missing =
      ReadSecretFile("/nonexistent/wink-webhooks/secret");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()),
              StartsWith("cannot read '/nonexistent/wink-webhooks/secret': "));
}

TEST(GenerateSecretKeyTest, Returns32Bytes) {
  auto key = GenerateSecretKey();
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->size(), 32u);
  EXPECT_EQ(kSecretKeyBytes, 32);
}

TEST(GenerateSecretKeyTest, DiffersBetweenCalls) {
  // Two equal 256-bit draws would mean a broken generator, not bad luck.
  auto a = GenerateSecretKey();
  auto b = GenerateSecretKey();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST(FormatSecretTest, IsPrefixAndPaddedStandardBase64) {
  // 24 bytes encode to 32 base64 characters without padding; 32 need one '='.
  EXPECT_EQ(FormatSecret(std::string(24, '\0')), "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  const std::string formatted = FormatSecret(std::string(32, '\xff'));
  EXPECT_THAT(formatted, StartsWith("whsec_////"));
  EXPECT_EQ(formatted.back(), '=');
}

TEST(ParseSecretTest, RoundTripsGeneratedKeys) {
  for (int i = 0; i < 20; ++i) {
    auto key = GenerateSecretKey();
    ASSERT_TRUE(key.ok());
    auto parsed = ParseSecret(FormatSecret(*key));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, *key);
  }
}

TEST(ParseSecretTest, AcceptsKeysOf24To64Bytes) {
  for (size_t size : {24u, 25u, 32u, 63u, 64u}) {
    const std::string key(size, 'k');
    auto parsed = ParseSecret(FormatSecret(key));
    ASSERT_TRUE(parsed.ok()) << size << ": " << parsed.status();
    EXPECT_EQ(*parsed, key);
  }
}

TEST(ParseSecretTest, RejectsMissingOrWrongPrefix) {
  const std::string body = absl::Base64Escape(std::string(32, 'k'));
  for (const std::string& secret : {body, absl::StrCat("WHSEC_", body), absl::StrCat("whsec", body),
                                    absl::StrCat("whsk_", body), absl::StrCat(" whsec_", body)}) {
    auto parsed = ParseSecret(secret);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << secret;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("whsec_")) << secret;
  }
}

TEST(ParseSecretTest, RejectsInvalidBase64) {
  for (absl::string_view secret :
       {"whsec_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA_",  // base64url, not standard
        "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=A"}) {
    auto parsed = ParseSecret(secret);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << secret;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("base64")) << secret;
  }
}

// People paste secrets; only the exact spelling FormatSecret produces counts.
TEST(ParseSecretTest, RejectsWhitespaceAndMissingPadding) {
  const std::string body = absl::Base64Escape(std::string(32, 'k'));  // ends in "="
  for (const std::string& secret :
       {absl::StrCat("whsec_\n", body), absl::StrCat("whsec_", body, " "),
        absl::StrCat("whsec_", body.substr(0, 10), " ", body.substr(10)),
        absl::StrCat("whsec_", body.substr(0, body.size() - 1))}) {
    auto parsed = ParseSecret(secret);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << secret;
  }
}

TEST(ParseSecretTest, RejectsKeysShorterThan24Bytes) {
  for (size_t size : {0u, 1u, 16u, 23u}) {
    auto parsed = ParseSecret(FormatSecret(std::string(size, 'k')));
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << size;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("24-64 bytes")) << size;
  }
}

TEST(ParseSecretTest, RejectsKeysLongerThan64Bytes) {
  for (size_t size : {65u, 128u}) {
    auto parsed = ParseSecret(FormatSecret(std::string(size, 'k')));
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << size;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("24-64 bytes")) << size;
  }
}

TEST(ParseSecretTest, ErrorDoesNotEchoTheSecret) {
  // The secret is a credential: it must never reach logs via an error.
  const std::string secret = FormatSecret("short-but-secret-value");
  auto parsed = ParseSecret(secret);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()), ::testing::Not(HasSubstr(secret.substr(6))));
}

}  // namespace
}  // namespace wink::webhooks
