// The re-encryption pass over every webhook, on a real RocksDB backend: after
// a master-key rotation (or the first key file) every webhook ends up sealed
// with the first key, keeps its secrets, and one whose key is missing is
// counted and left alone.
#include "service/server/secrets_resealer.h"

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/secrets/webhook_secrets.h"
#include "service/storage/rocksdb/backend.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/temp_dir.h"

namespace wink::webhooks {
namespace {

using ::wink::webhooks::testing::FakeClock;
using ::wink::webhooks::testing::TempDir;

secrets::Keyring Keys(const std::string& lines) {
  auto keyring = secrets::Keyring::Parse(lines, "test");
  EXPECT_TRUE(keyring.ok()) << keyring.status();
  return keyring.ok() ? *std::move(keyring) : secrets::Keyring();
}

std::string KeyLine(const std::string& id, char fill) {
  return absl::StrCat(id, " ", absl::Base64Escape(std::string(32, fill)), "\n");
}

class SecretsResealerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::rocks::RocksDbOptions options;
    options.data_dir = dir_.Child("db");
    options.sync_writes = false;
    auto opened = storage::rocks::OpenRocksDbBackend(options, clock_, /*observer=*/nullptr);
    ASSERT_TRUE(opened.ok()) << opened.status();
    storage_ = *std::move(opened);
  }
  void TearDown() override {
    if (storage_ != nullptr) storage_->StopWrites();
  }

  // Stores a webhook of `account` sealed with `keyring` (plaintext without
  // keys); returns its id.
  std::string Create(const std::string& account, const secrets::Keyring& keyring) {
    storage::WebhookRecord record;
    record.set_account(account);
    record.set_url("https://example.com/hook");
    record.set_enabled(true);
    record.add_secrets()->set_key(absl::StrCat("key-of-", account));
    (*record.mutable_headers())["X-Api-Key"] = absl::StrCat("header-of-", account);
    EXPECT_TRUE(secrets::SealWebhookSecrets(keyring, record).ok());
    storage::CreateWebhookOptions options;
    options.now = clock_.Now();
    auto created = storage_->webhooks().Create(record, options);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->webhook.id() : "";
  }

  storage::WebhookRecord Get(const std::string& account, const std::string& id) {
    auto record = storage_->webhooks().Get(account, id);
    EXPECT_TRUE(record.ok()) << record.status();
    return record.ok() ? *record : storage::WebhookRecord();
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<storage::StorageBackend> storage_;
};

TEST_F(SecretsResealerTest, EveryWebhookEndsUpUnderTheFirstKeyWithItsSecretsIntact) {
  const secrets::Keyring none;
  const secrets::Keyring old_key = Keys(KeyLine("k1", 'a'));
  std::vector<std::pair<std::string, std::string>> webhooks;
  for (int i = 0; i < 120; ++i) {  // more than one page
    const std::string account = absl::StrCat("acct-", i % 7);
    webhooks.emplace_back(account, Create(account, i % 2 == 0 ? none : old_key));
  }
  const secrets::Keyring rotated = Keys(KeyLine("k2", 'b') + KeyLine("k1", 'a'));
  std::atomic<bool> stop{false};

  auto result = ResealWebhookSecrets(storage_->webhooks(), rotated, stop);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->resealed, 120);
  EXPECT_EQ(result->unreadable, 0);

  const secrets::Keyring only_new = Keys(KeyLine("k2", 'b'));
  for (const auto& [account, id] : webhooks) {
    storage::WebhookRecord record = Get(account, id);
    EXPECT_FALSE(secrets::NeedsSealing(only_new, record)) << id;
    EXPECT_TRUE(record.headers().empty());
    ASSERT_TRUE(secrets::OpenWebhookSecrets(only_new, record).ok()) << id;
    EXPECT_EQ(record.secrets(0).key(), absl::StrCat("key-of-", account));
    EXPECT_EQ(record.headers().at("X-Api-Key"), absl::StrCat("header-of-", account));
  }
  // A second pass has nothing to do.
  result = ResealWebhookSecrets(storage_->webhooks(), rotated, stop);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->resealed, 0);
}

TEST_F(SecretsResealerTest, WebhooksUnderAMissingKeyAreCountedAndLeftAlone) {
  const std::string lost = Create("acme", Keys(KeyLine("gone", 'g')));
  const std::string plain = Create("acme", secrets::Keyring());
  const storage::WebhookRecord before = Get("acme", lost);
  std::atomic<bool> stop{false};

  auto result = ResealWebhookSecrets(storage_->webhooks(), Keys(KeyLine("k1", 'a')), stop);

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->resealed, 1);
  EXPECT_EQ(result->unreadable, 1);
  EXPECT_EQ(Get("acme", lost).SerializeAsString(), before.SerializeAsString());
  EXPECT_TRUE(Get("acme", plain).headers().empty());
}

TEST_F(SecretsResealerTest, WithoutKeysOrWhenStoppedNothingIsWritten) {
  const std::string id = Create("acme", secrets::Keyring());
  std::atomic<bool> stop{false};
  auto result = ResealWebhookSecrets(storage_->webhooks(), secrets::Keyring(), stop);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->resealed, 0);

  stop = true;
  result = ResealWebhookSecrets(storage_->webhooks(), Keys(KeyLine("k1", 'a')), stop);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->resealed, 0);
  EXPECT_FALSE(Get("acme", id).headers().empty());
}

}  // namespace
}  // namespace wink::webhooks
