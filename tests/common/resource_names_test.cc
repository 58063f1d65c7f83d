#include "service/common/resource_names.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wink::webhooks {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr absl::string_view kWebhookId = "wh_01jdq3v8k2m7x9c4t6y1b5n0ra";
constexpr absl::string_view kEventId = "evt_01jdq3v8k2m7x9c4t6y1b5n0rb";
constexpr absl::string_view kRecoveryId = "rec_01jdq3v8k2m7x9c4t6y1b5n0rc";

TEST(IsValidAccountIdTest, AcceptsLettersDigitsDashAndUnderscore) {
  EXPECT_TRUE(IsValidAccountId("a"));
  EXPECT_TRUE(IsValidAccountId("7"));
  EXPECT_TRUE(IsValidAccountId("Hotel-Paris_01"));
  EXPECT_TRUE(IsValidAccountId("a-"));
  EXPECT_TRUE(IsValidAccountId("a_"));
}

TEST(IsValidAccountIdTest, AcceptsUpTo64Characters) {
  EXPECT_TRUE(IsValidAccountId(std::string(kMaxAccountIdLength, 'a')));
  EXPECT_FALSE(IsValidAccountId(std::string(kMaxAccountIdLength + 1, 'a')));
}

TEST(IsValidAccountIdTest, RejectsEmptyBadFirstCharacterAndSeparators) {
  EXPECT_FALSE(IsValidAccountId(""));
  EXPECT_FALSE(IsValidAccountId("-abc"));
  EXPECT_FALSE(IsValidAccountId("_abc"));
  EXPECT_FALSE(IsValidAccountId("a/b"));
  EXPECT_FALSE(IsValidAccountId("a b"));
  EXPECT_FALSE(IsValidAccountId("a.b"));
  EXPECT_FALSE(IsValidAccountId("caf\xc3\xa9"));
  EXPECT_FALSE(IsValidAccountId(absl::string_view("a\0b", 3)));
}

TEST(ParseAccountNameTest, ReturnsTheAccountId) {
  auto account = ParseAccountName("accounts/hotel-42", "parent");
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(*account, "hotel-42");
}

TEST(ParseAccountNameTest, RoundTripsWithAccountName) {
  auto account = ParseAccountName(AccountName("acme_1"), "parent");
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(*account, "acme_1");
}

TEST(ParseAccountNameTest, EmptyNameIsRequiredError) {
  auto account = ParseAccountName("", "parent");
  EXPECT_EQ(account.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(account.status().message(), "parent: required");
}

TEST(ParseAccountNameTest, RejectsMalformedNamesNamingTheField) {
  for (absl::string_view name :
       {"accounts", "accounts/", "account/a", "Accounts/a", "accounts/-a", "accounts/a/",
        "/accounts/a", "accounts/a/webhooks", "accounts/a b"}) {
    auto account = ParseAccountName(name, "parent");
    EXPECT_EQ(account.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(std::string(account.status().message()),
                StartsWith("parent: expected accounts/{account}"))
        << name;
  }
  auto too_long =
      ParseAccountName(absl::StrCat("accounts/", std::string(65, 'a')), "request.parent");
  EXPECT_EQ(too_long.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(too_long.status().message()), StartsWith("request.parent: "));
}

TEST(ParseWebhookNameTest, ReturnsAccountAndId) {
  auto name = ParseWebhookName(absl::StrCat("accounts/acme/webhooks/", kWebhookId), "name");
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->account, "acme");
  EXPECT_EQ(name->webhook_id, kWebhookId);
}

TEST(ParseWebhookNameTest, RoundTripsWithWebhookResourceName) {
  const std::string text = WebhookResourceName("acme", kWebhookId);
  EXPECT_EQ(text, absl::StrCat("accounts/acme/webhooks/", kWebhookId));
  auto name = ParseWebhookName(text, "name");
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->account, "acme");
  EXPECT_EQ(name->webhook_id, kWebhookId);
}

TEST(ParseWebhookNameTest, EmptyNameIsRequiredError) {
  auto name = ParseWebhookName("", "webhook.name");
  EXPECT_EQ(name.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(name.status().message(), "webhook.name: required");
}

TEST(ParseWebhookNameTest, RejectsExtraSegments) {
  for (const std::string& text :
       {absl::StrCat("accounts/acme/webhooks/", kWebhookId, "/deliveries"),
        absl::StrCat("accounts/acme/webhooks/", kWebhookId, "/"),
        absl::StrCat("/accounts/acme/webhooks/", kWebhookId),
        absl::StrCat("x/accounts/acme/webhooks/", kWebhookId)}) {
    auto name = ParseWebhookName(text, "name");
    EXPECT_EQ(name.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(name.status().message()),
                StartsWith("name: expected accounts/{account}/webhooks/{webhook}"))
        << text;
  }
}

TEST(ParseWebhookNameTest, RejectsWrongCollection) {
  for (const std::string& text : {absl::StrCat("accounts/acme/events/", kWebhookId),
                                  absl::StrCat("accounts/acme/Webhooks/", kWebhookId),
                                  absl::StrCat("users/acme/webhooks/", kWebhookId)}) {
    auto name = ParseWebhookName(text, "name");
    EXPECT_EQ(name.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(name.status().message()), StartsWith("name: expected ")) << text;
  }
}

TEST(ParseWebhookNameTest, RejectsBadAccountOrId) {
  for (const std::string& text :
       {absl::StrCat("accounts/-acme/webhooks/", kWebhookId),
        absl::StrCat("accounts//webhooks/", kWebhookId), std::string("accounts/acme/webhooks/"),
        std::string("accounts/acme/webhooks/wh_123"),
        std::string("accounts/acme/webhooks/evt_01jdq3v8k2m7x9c4t6y1b5n0ra"),
        std::string("accounts/acme/webhooks/wh_01JDQ3V8K2M7X9C4T6Y1B5N0RA")}) {
    auto name = ParseWebhookName(text, "name");
    EXPECT_EQ(name.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(name.status().message()), StartsWith("name: expected ")) << text;
  }
}

TEST(ParseWebhookNameTest, ErrorEchoesTheNameEscapedAndShortened) {
  // Control characters are escaped so one error stays one log line; long
  // input is cut so a huge name cannot blow up the message.
  auto with_newline = ParseWebhookName("accounts/a\nb/webhooks/x", "name");
  EXPECT_THAT(std::string(with_newline.status().message()), HasSubstr("accounts/a\\nb/webhooks/x"));

  auto long_name = ParseWebhookName(std::string(1000, 'x'), "name");
  EXPECT_THAT(std::string(long_name.status().message()), HasSubstr("..."));
  EXPECT_LT(long_name.status().message().size(), 200u);
}

TEST(ParseEventNameTest, RoundTripsWithEventResourceName) {
  const std::string text = EventResourceName("acme", kEventId);
  EXPECT_EQ(text, absl::StrCat("accounts/acme/events/", kEventId));
  auto name = ParseEventName(text, "name");
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->account, "acme");
  EXPECT_EQ(name->event_id, kEventId);
}

TEST(ParseEventNameTest, RejectsWebhookIdsAndOtherCollections) {
  for (const std::string& text : {absl::StrCat("accounts/acme/events/", kWebhookId),
                                  absl::StrCat("accounts/acme/webhooks/", kEventId),
                                  absl::StrCat("accounts/acme/events/", kEventId, "/x")}) {
    auto name = ParseEventName(text, "event");
    EXPECT_EQ(name.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(name.status().message()),
                StartsWith("event: expected accounts/{account}/events/{event}"))
        << text;
  }
  EXPECT_EQ(ParseEventName("", "event").status().message(), "event: required");
}

TEST(ParseDeliveryNameTest, RoundTripsWithDeliveryResourceName) {
  const std::string text = DeliveryResourceName("acme", kWebhookId, kEventId);
  EXPECT_EQ(text, absl::StrCat("accounts/acme/webhooks/", kWebhookId, "/deliveries/", kEventId));
  auto name = ParseDeliveryName(text, "name");
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->account, "acme");
  EXPECT_EQ(name->webhook_id, kWebhookId);
  EXPECT_EQ(name->event_id, kEventId);
}

TEST(ParseDeliveryNameTest, RejectsSwappedIdsAndMissingSegments) {
  for (const std::string& text :
       {absl::StrCat("accounts/acme/webhooks/", kEventId, "/deliveries/", kWebhookId),
        absl::StrCat("accounts/acme/webhooks/", kWebhookId, "/deliveries/"),
        absl::StrCat("accounts/acme/webhooks/", kWebhookId),
        absl::StrCat("accounts/acme/webhooks/", kWebhookId, "/attempts/", kEventId)}) {
    auto name = ParseDeliveryName(text, "name");
    EXPECT_EQ(name.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(name.status().message()),
                StartsWith("name: expected accounts/{account}/webhooks/{webhook}/deliveries/"))
        << text;
  }
}

TEST(ParseRecoveryNameTest, RoundTripsWithRecoveryResourceName) {
  const std::string text = RecoveryResourceName("acme", kWebhookId, kRecoveryId);
  EXPECT_EQ(text, absl::StrCat("accounts/acme/webhooks/", kWebhookId, "/recoveries/", kRecoveryId));
  auto name = ParseRecoveryName(text, "name");
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->account, "acme");
  EXPECT_EQ(name->webhook_id, kWebhookId);
  EXPECT_EQ(name->recovery_id, kRecoveryId);
}

TEST(ParseRecoveryNameTest, RejectsOtherIdsAndShapes) {
  for (const std::string& text :
       {absl::StrCat("accounts/acme/webhooks/", kWebhookId, "/recoveries/", kEventId),
        absl::StrCat("accounts/acme/webhooks/", kWebhookId, "/recoveries/"),
        absl::StrCat("accounts/acme/webhooks/", kWebhookId, "/deliveries/", kRecoveryId),
        absl::StrCat("accounts/acme/webhooks/", kWebhookId, "/recoveries/", kRecoveryId, "/x"),
        absl::StrCat("accounts/-/webhooks/", kWebhookId, "/recoveries/", kRecoveryId),
        absl::StrCat("webhooks/", kWebhookId, "/recoveries/", kRecoveryId)}) {
    auto name = ParseRecoveryName(text, "name");
    EXPECT_EQ(name.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(name.status().message()),
                StartsWith("name: expected accounts/{account}/webhooks/{webhook}/recoveries/"))
        << text;
  }
  EXPECT_EQ(ParseRecoveryName("", "name").status().message(), "name: required");
}

}  // namespace
}  // namespace wink::webhooks
