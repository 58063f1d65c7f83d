#include "service/secrets/webhook_secrets.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "google/protobuf/util/message_differencer.h"

namespace wink::webhooks::secrets {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

Keyring TestKeyring(const std::string& id = "k1") {
  return *Keyring::Parse(absl::StrCat(id, " ", absl::Base64Escape(std::string(32, 'a'))), "test");
}

WebhookRecord PlainWebhook() {
  WebhookRecord record;
  record.set_account("acme");
  record.set_id("wh_1");
  record.set_url("https://example.com/hook");
  SigningSecretRecord* current = record.add_secrets();
  current->set_key("current-key-bytes");
  current->set_create_time_us(2);
  SigningSecretRecord* previous = record.add_secrets();
  previous->set_key("previous-key-bytes");
  previous->set_expire_time_us(99);
  (*record.mutable_headers())["X-Api-Key"] = "credential";
  (*record.mutable_headers())["X-Empty"] = "";
  return record;
}

TEST(WebhookSecretsTest, SealingMovesEveryKeyAndHeaderValueAndOpeningRestoresThem) {
  const Keyring keyring = TestKeyring();
  const WebhookRecord plain = PlainWebhook();
  WebhookRecord sealed = plain;
  ASSERT_TRUE(SealWebhookSecrets(keyring, sealed).ok());
  EXPECT_TRUE(sealed.headers().empty());
  EXPECT_EQ(sealed.sealed_headers_size(), 2);
  for (const auto& secret : sealed.secrets()) {
    EXPECT_TRUE(secret.key().empty());
    EXPECT_EQ(Keyring::KeyIdOf(secret.sealed_key()), "k1");
  }
  EXPECT_EQ(sealed.secrets(1).expire_time_us(), 99);  // times stay readable
  const std::string bytes = sealed.SerializeAsString();
  EXPECT_THAT(bytes, ::testing::Not(HasSubstr("credential")));
  EXPECT_THAT(bytes, ::testing::Not(HasSubstr("key-bytes")));

  EXPECT_EQ(*OpenSigningKey(keyring, sealed, sealed.secrets(0)), "current-key-bytes");
  EXPECT_THAT(*OpenHeaders(keyring, sealed),
              ElementsAre(Pair("X-Api-Key", "credential"), Pair("X-Empty", "")));
  WebhookRecord opened = sealed;
  ASSERT_TRUE(OpenWebhookSecrets(keyring, opened).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(opened, plain)) << opened.DebugString();
}

TEST(WebhookSecretsTest, WithoutKeysRecordsStayPlaintextAndStillOpen) {
  const Keyring none;
  WebhookRecord record = PlainWebhook();
  ASSERT_TRUE(SealWebhookSecrets(none, record).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(record, PlainWebhook()));
  EXPECT_EQ(*OpenSigningKey(none, record, record.secrets(1)), "previous-key-bytes");
  EXPECT_THAT(*OpenHeaders(none, record),
              ElementsAre(Pair("X-Api-Key", "credential"), Pair("X-Empty", "")));
  ASSERT_TRUE(OpenWebhookSecrets(none, record).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(record, PlainWebhook()));
}

TEST(WebhookSecretsTest, ValuesAreBoundToTheirAccountAndHeaderName) {
  const Keyring keyring = TestKeyring();
  WebhookRecord sealed = PlainWebhook();
  ASSERT_TRUE(SealWebhookSecrets(keyring, sealed).ok());

  WebhookRecord other_account = sealed;
  other_account.set_account("rival");
  EXPECT_EQ(OpenWebhookSecrets(keyring, other_account).code(), absl::StatusCode::kDataLoss);

  WebhookRecord swapped = sealed;
  auto& headers = *swapped.mutable_sealed_headers();
  std::swap(headers["X-Api-Key"], headers["X-Empty"]);
  EXPECT_EQ(OpenHeaders(keyring, swapped).status().code(), absl::StatusCode::kDataLoss);
}

TEST(WebhookSecretsTest, ASealedRecordNeedsItsKey) {
  WebhookRecord sealed = PlainWebhook();
  ASSERT_TRUE(SealWebhookSecrets(TestKeyring("old"), sealed).ok());
  const absl::Status status = OpenWebhookSecrets(TestKeyring("new"), sealed);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("key \"old\""));
  // Opened under the old key and sealed again, it moves to the new one.
  const Keyring both = *Keyring::Parse(
      absl::StrCat("new ", absl::Base64Escape(std::string(32, 'n')), "\nold ",
                   absl::Base64Escape(std::string(32, 'a'))),
      "test");
  ASSERT_TRUE(OpenWebhookSecrets(both, sealed).ok());
  ASSERT_TRUE(SealWebhookSecrets(both, sealed).ok());
  EXPECT_EQ(Keyring::KeyIdOf(sealed.secrets(0).sealed_key()), "new");
  EXPECT_EQ(Keyring::KeyIdOf(sealed.sealed_headers().at("X-Api-Key")), "new");
}

}  // namespace
}  // namespace wink::webhooks::secrets
