#include "service/api/page_token.h"

#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wink::webhooks::api {
namespace {

using ::testing::MatchesRegex;
using ::testing::StartsWith;

constexpr absl::string_view kParent = "accounts/acme";
constexpr absl::string_view kLastId = "wh_01jdq3v8k2m7x9c4t6y1b5n0ra";

TEST(PageTokenTest, RoundTripsTheLastId) {
  const std::string token = EncodePageToken(kParent, kLastId);

  auto last_id = DecodePageToken(token, kParent);

  ASSERT_TRUE(last_id.ok()) << last_id.status();
  EXPECT_EQ(*last_id, kLastId);
}

TEST(PageTokenTest, TokenIsUrlSafeWithoutPadding) {
  // Tokens travel in URLs and grpcurl command lines.
  EXPECT_THAT(EncodePageToken(kParent, kLastId), MatchesRegex("[A-Za-z0-9_-]+"));
}

TEST(PageTokenTest, EmptyTokenMeansTheFirstPage) {
  auto last_id = DecodePageToken("", kParent);
  ASSERT_TRUE(last_id.ok()) << last_id.status();
  EXPECT_EQ(*last_id, "");
}

TEST(PageTokenTest, OtherSpellingsOfAnIssuedTokenAreInvalidArgument) {
  // Found by fuzz/page_token_fuzz: the base64 decoder accepted these too.
  const std::string token = EncodePageToken("p", "ab");
  ASSERT_EQ(token, "djEAcABhYg");
  for (const std::string& spelling :
       {token + "==", token + "\n", std::string("djEA cABhYg"), std::string("djEAcABhYh")}) {
    auto last_id = DecodePageToken(spelling, "p");
    EXPECT_EQ(last_id.status().code(), absl::StatusCode::kInvalidArgument) << spelling;
    EXPECT_THAT(std::string(last_id.status().message()), StartsWith("page_token: ")) << spelling;
  }
}

TEST(PageTokenTest, TokenOfAnotherParentIsInvalidArgument) {
  const std::string token = EncodePageToken("accounts/a", kLastId);

  for (absl::string_view parent : {"accounts/b", "accounts/ab", "accounts/", ""}) {
    auto last_id = DecodePageToken(token, parent);
    EXPECT_EQ(last_id.status().code(), absl::StatusCode::kInvalidArgument) << parent;
    EXPECT_THAT(std::string(last_id.status().message()), StartsWith("page_token: ")) << parent;
  }
}

TEST(PageTokenTest, GarbageIsInvalidArgument) {
  const std::string no_separators = absl::WebSafeBase64Escape("v1accounts/acme");
  const std::string wrong_version = absl::WebSafeBase64Escape(
      absl::StrCat("v2", std::string(1, '\0'), kParent, std::string(1, '\0'), kLastId));
  const std::string no_last_id = absl::WebSafeBase64Escape(
      absl::StrCat("v1", std::string(1, '\0'), kParent, std::string(1, '\0')));
  const std::string one_separator =
      absl::WebSafeBase64Escape(absl::StrCat("v1", std::string(1, '\0'), kParent));
  for (const std::string& token : {std::string("!!!"), std::string("not a token"), std::string("A"),
                                   no_separators, wrong_version, no_last_id, one_separator}) {
    auto last_id = DecodePageToken(token, kParent);
    EXPECT_EQ(last_id.status().code(), absl::StatusCode::kInvalidArgument) << token;
    EXPECT_THAT(std::string(last_id.status().message()), StartsWith("page_token: ")) << token;
  }
}

TEST(PageTokenTest, TruncatedTokenIsInvalidArgument) {
  const std::string token = EncodePageToken(kParent, kLastId);
  // Cutting inside the parent loses the second separator.
  auto last_id = DecodePageToken(token.substr(0, 8), kParent);
  EXPECT_EQ(last_id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(last_id.status().message()), StartsWith("page_token: "));
}

TEST(EffectivePageSizeTest, ZeroMeansTheDefault) {
  auto size = EffectivePageSize(0);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 50);
  EXPECT_EQ(*size, kDefaultPageSize);
}

TEST(EffectivePageSizeTest, KeepsSizesUpToTheMaximum) {
  EXPECT_EQ(*EffectivePageSize(1), 1);
  EXPECT_EQ(*EffectivePageSize(5), 5);
  EXPECT_EQ(*EffectivePageSize(1000), 1000);
}

TEST(EffectivePageSizeTest, CapsLargeSizesAtTheMaximum) {
  EXPECT_EQ(*EffectivePageSize(1001), kMaxPageSize);
  EXPECT_EQ(*EffectivePageSize(5000), 1000);
  EXPECT_EQ(*EffectivePageSize(std::numeric_limits<int>::max()), 1000);
}

TEST(EffectivePageSizeTest, NegativeIsInvalidArgument) {
  for (int page_size : {-1, std::numeric_limits<int>::min()}) {
    auto size = EffectivePageSize(page_size);
    EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument) << page_size;
    EXPECT_THAT(std::string(size.status().message()), StartsWith("page_size: ")) << page_size;
  }
}

}  // namespace
}  // namespace wink::webhooks::api
