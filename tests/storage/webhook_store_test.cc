#include "service/storage/webhook_store.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/write_batch.h"
#include "service/common/ids.h"
#include "service/storage/database.h"
#include "service/storage/keys.h"
#include "service/storage/storage.h"
#include "service/storage/writer.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/temp_dir.h"

namespace wink::webhooks::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using ::wink::webhooks::testing::FakeClock;
using ::wink::webhooks::testing::TempDir;

std::vector<std::string> Ids(const std::vector<WebhookRecord>& webhooks) {
  std::vector<std::string> ids;
  for (const auto& webhook : webhooks) ids.push_back(webhook.id());
  return ids;
}

class WebhookStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DatabaseOptions options;
    options.path = dir_.Child("db");
    // Tests check logic, not durability; skipping fsync keeps them fast.
    options.sync_writes = false;
    auto db = Database::Open(options);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    writer_ = std::make_unique<Writer>(*db_, /*next_update_sequence=*/1);
    store_ = std::make_unique<WebhookStore>(*db_, *writer_, ids_, clock_, /*listener=*/nullptr);
  }

  void TearDown() override { writer_->Stop(); }

  WebhookRecord NewWebhook(absl::string_view account) {
    WebhookRecord webhook;
    webhook.set_account(std::string(account));
    webhook.set_display_name("Channel manager");
    webhook.set_url("https://example.com/hook");
    webhook.add_event_types("booking.created");
    webhook.set_enabled(true);
    (*webhook.mutable_headers())["X-Api-Key"] = "k";
    webhook.set_create_time_us(absl::ToUnixMicros(clock_.Now()));
    webhook.set_update_time_us(absl::ToUnixMicros(clock_.Now()));
    webhook.add_secrets()->set_key(std::string(32, 's'));
    return webhook;
  }

  CreateWebhookOptions Options(absl::string_view request_id = "",
                               absl::string_view fingerprint = "") const {
    CreateWebhookOptions options;
    options.max_webhooks_per_account = 100;
    options.request_id = std::string(request_id);
    options.request_fingerprint = std::string(fingerprint);
    options.now = clock_.Now();
    options.request_id_expire_time = clock_.Now() + absl::Hours(24);
    return options;
  }

  // Creates a webhook that must succeed; returns its id.
  std::string MustCreate(absl::string_view account) {
    auto result = store_->Create(NewWebhook(account), Options());
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->webhook.id() : "";
  }

  TempDir dir_;
  FakeClock clock_;
  IdGenerator ids_{clock_, /*seed=*/1};
  std::unique_ptr<Database> db_;
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<WebhookStore> store_;
};

TEST_F(WebhookStoreTest, CreateStoresTheWebhookAndGetReturnsIt) {
  const WebhookRecord webhook = NewWebhook("acme");

  auto created = store_->Create(webhook, Options());

  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->created);
  EXPECT_EQ(created->webhook.version(), kWebhookRecordVersion);
  EXPECT_TRUE(IsValidId(created->webhook.id(), kWebhookIdPrefix));

  auto got = store_->Get("acme", created->webhook.id());
  ASSERT_TRUE(got.ok()) << got.status();
  WebhookRecord expected = webhook;
  expected.set_id(created->webhook.id());
  expected.set_version(kWebhookRecordVersion);
  EXPECT_EQ(got->SerializeAsString(), expected.SerializeAsString());
  EXPECT_EQ(got->headers().at("X-Api-Key"), "k");
}

TEST_F(WebhookStoreTest, CreateAssignsANewIdEvenWhenOneIsGiven) {
  WebhookRecord webhook = NewWebhook("acme");
  webhook.set_id("wh_caller_chosen");
  auto first = store_->Create(webhook, Options());
  auto second = store_->Create(webhook, Options());
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_TRUE(IsValidId(first->webhook.id(), kWebhookIdPrefix));
  EXPECT_LT(first->webhook.id(), second->webhook.id());
}

TEST_F(WebhookStoreTest, GetOfAnUnknownIdIsNotFound) {
  auto got = store_->Get("acme", "wh_00000000000000000000000000");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("wh_00000000000000000000000000"));
}

TEST_F(WebhookStoreTest, GetWithAnotherAccountIsNotFound) {
  const std::string id = MustCreate("acme");

  EXPECT_EQ(store_->Get("other", id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("acm", id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("acmex", id).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(WebhookStoreTest, ListOfAnEmptyAccountIsEmpty) {
  auto page = store_->List("acme", "", 10);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(page->webhooks, IsEmpty());
  EXPECT_FALSE(page->has_more);
}

TEST_F(WebhookStoreTest, ListPagesThroughWebhooksInIdOrder) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(MustCreate("acme"));
  ASSERT_TRUE(std::is_sorted(ids.begin(), ids.end()));

  auto first = store_->List("acme", "", 2);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(Ids(first->webhooks), ElementsAre(ids[0], ids[1]));
  EXPECT_TRUE(first->has_more);

  auto second = store_->List("acme", ids[1], 2);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(Ids(second->webhooks), ElementsAre(ids[2], ids[3]));
  EXPECT_TRUE(second->has_more);

  auto last = store_->List("acme", ids[3], 2);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_THAT(Ids(last->webhooks), ElementsAre(ids[4]));
  EXPECT_FALSE(last->has_more);
}

TEST_F(WebhookStoreTest, ListHasNoMoreWhenThePageEndsExactlyAtTheLastWebhook) {
  const std::string a = MustCreate("acme");
  const std::string b = MustCreate("acme");

  auto page = store_->List("acme", "", 2);

  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Ids(page->webhooks), ElementsAre(a, b));
  EXPECT_FALSE(page->has_more);

  auto after_last = store_->List("acme", b, 2);
  ASSERT_TRUE(after_last.ok()) << after_last.status();
  EXPECT_THAT(after_last->webhooks, IsEmpty());
  EXPECT_FALSE(after_last->has_more);
}

TEST_F(WebhookStoreTest, ListContinuesAfterADeletedAfterId) {
  MustCreate("acme");
  const std::string b = MustCreate("acme");
  const std::string c = MustCreate("acme");
  ASSERT_TRUE(store_->Delete("acme", b).ok());

  auto page = store_->List("acme", b, 10);

  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Ids(page->webhooks), ElementsAre(c));
}

// Account "ab" sorts right after "a" if keys were raw concatenations; the
// length-prefixed encoding must keep them apart.
TEST_F(WebhookStoreTest, ListNeverReturnsWebhooksOfAnAccountWithALongerId) {
  const std::string in_a = MustCreate("a");
  MustCreate("ab");
  MustCreate("a-b");
  MustCreate("b");
  const std::string in_a_2 = MustCreate("a");

  auto page = store_->List("a", "", 100);

  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Ids(page->webhooks), ElementsAre(in_a, in_a_2));
  EXPECT_FALSE(page->has_more);
  for (const auto& webhook : page->webhooks) EXPECT_EQ(webhook.account(), "a");
}

TEST_F(WebhookStoreTest, ListPaginationStopsAtTheAccountBoundary) {
  const std::string in_a = MustCreate("a");
  MustCreate("ab");

  auto page = store_->List("a", "", 1);

  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Ids(page->webhooks), ElementsAre(in_a));
  EXPECT_FALSE(page->has_more) << "the next key belongs to account \"ab\"";
}

TEST_F(WebhookStoreTest, CreateBeyondTheAccountLimitIsResourceExhaustedAndStoresNothing) {
  CreateWebhookOptions options = Options("req-3", "fp-3");
  options.max_webhooks_per_account = 2;
  CreateWebhookOptions no_request_id = Options();
  no_request_id.max_webhooks_per_account = 2;
  ASSERT_TRUE(store_->Create(NewWebhook("acme"), no_request_id).ok());
  ASSERT_TRUE(store_->Create(NewWebhook("acme"), no_request_id).ok());
  const WebhookRecord third = NewWebhook("acme");

  auto result = store_->Create(third, options);

  EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("\"acme\""));
  EXPECT_EQ(store_->List("acme", "", 10)->webhooks.size(), 2u);

  // The request id was not remembered either: a retry once there is room
  // creates the webhook instead of reporting it deleted.
  options.max_webhooks_per_account = 3;
  auto retry = store_->Create(third, options);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->created);
}

TEST_F(WebhookStoreTest, LimitCountsOnlyTheAccountsOwnWebhooks) {
  MustCreate("ab");
  MustCreate("ab");
  CreateWebhookOptions options = Options();
  options.max_webhooks_per_account = 1;

  auto result = store_->Create(NewWebhook("a"), options);

  EXPECT_TRUE(result.ok()) << result.status();
}

TEST_F(WebhookStoreTest, DeleteFreesRoomUnderTheLimit) {
  CreateWebhookOptions options = Options();
  options.max_webhooks_per_account = 1;
  auto first = store_->Create(NewWebhook("acme"), options);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(store_->Create(NewWebhook("acme"), options).status().code(),
            absl::StatusCode::kResourceExhausted);

  ASSERT_TRUE(store_->Delete("acme", first->webhook.id()).ok());

  EXPECT_TRUE(store_->Create(NewWebhook("acme"), options).ok());
}

TEST_F(WebhookStoreTest, ConcurrentCreatesNeverExceedTheLimit) {
  constexpr int kThreads = 8;
  constexpr int kLimit = 5;
  std::vector<WebhookRecord> webhooks;
  for (int i = 0; i < kThreads; ++i) webhooks.push_back(NewWebhook("acme"));
  CreateWebhookOptions options = Options();
  options.max_webhooks_per_account = kLimit;
  std::atomic<int> created{0};
  std::atomic<int> exhausted{0};

  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto result = store_->Create(webhooks[i], options);
      if (result.ok()) ++created;
      if (result.status().code() == absl::StatusCode::kResourceExhausted) ++exhausted;
    });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(created.load(), kLimit);
  EXPECT_EQ(exhausted.load(), kThreads - kLimit);
  EXPECT_EQ(store_->List("acme", "", 100)->webhooks.size(), static_cast<size_t>(kLimit));
}

TEST_F(WebhookStoreTest, RetryWithTheSameRequestIdReturnsTheFirstWebhook) {
  const WebhookRecord first = NewWebhook("acme");
  auto created = store_->Create(first, Options("req-1", "fp"));
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_TRUE(created->created);

  // A retry generates a new id server-side; the store must not use it.
  auto retry = store_->Create(NewWebhook("acme"), Options("req-1", "fp"));

  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(retry->created);
  EXPECT_EQ(retry->webhook.id(), created->webhook.id());
  EXPECT_EQ(store_->List("acme", "", 10)->webhooks.size(), 1u);
}

TEST_F(WebhookStoreTest, RetryReturnsTheWebhookAsItIsNow) {
  auto created = store_->Create(NewWebhook("acme"), Options("req-1", "fp"));
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(store_
                  ->Update("acme", created->webhook.id(),
                           [](WebhookRecord& w) {
                             w.set_display_name("renamed");
                             return absl::OkStatus();
                           })
                  .ok());

  auto retry = store_->Create(NewWebhook("acme"), Options("req-1", "fp"));

  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(retry->created);
  EXPECT_EQ(retry->webhook.display_name(), "renamed");
}

TEST_F(WebhookStoreTest, RetryAtTheLimitStillReturnsTheFirstWebhook) {
  CreateWebhookOptions options = Options("req-1", "fp");
  options.max_webhooks_per_account = 1;
  auto created = store_->Create(NewWebhook("acme"), options);
  ASSERT_TRUE(created.ok());

  auto retry = store_->Create(NewWebhook("acme"), options);

  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(retry->created);
  EXPECT_EQ(retry->webhook.id(), created->webhook.id());
}

TEST_F(WebhookStoreTest, SameRequestIdWithADifferentRequestIsInvalidArgument) {
  ASSERT_TRUE(store_->Create(NewWebhook("acme"), Options("req-1", "fp-a")).ok());
  const WebhookRecord other = NewWebhook("acme");

  auto result = store_->Create(other, Options("req-1", "fp-b"));

  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), StartsWith("request_id:"));
  EXPECT_EQ(store_->Get("acme", other.id()).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(WebhookStoreTest, RequestIdsAreScopedToTheAccount) {
  auto in_acme = store_->Create(NewWebhook("acme"), Options("req-1", "fp-a"));
  auto in_other = store_->Create(NewWebhook("other"), Options("req-1", "fp-b"));

  ASSERT_TRUE(in_acme.ok()) << in_acme.status();
  ASSERT_TRUE(in_other.ok()) << in_other.status();
  EXPECT_TRUE(in_other->created);
  EXPECT_NE(in_other->webhook.id(), in_acme->webhook.id());
}

TEST_F(WebhookStoreTest, ExpiredRequestIdCreatesANewWebhook) {
  auto first = store_->Create(NewWebhook("acme"), Options("req-1", "fp"));
  ASSERT_TRUE(first.ok());
  clock_.Advance(absl::Hours(25));  // past request_id_expire_time of the first

  auto second = store_->Create(NewWebhook("acme"), Options("req-1", "other-fp"));

  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->created);
  EXPECT_NE(second->webhook.id(), first->webhook.id());

  // The request id now refers to the new webhook.
  auto retry = store_->Create(NewWebhook("acme"), Options("req-1", "other-fp"));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(retry->created);
  EXPECT_EQ(retry->webhook.id(), second->webhook.id());
}

TEST_F(WebhookStoreTest, RequestIdIsRememberedUntilItsExpireTime) {
  auto first = store_->Create(NewWebhook("acme"), Options("req-1", "fp"));
  ASSERT_TRUE(first.ok());
  clock_.Advance(absl::Hours(24) - absl::Microseconds(1));

  auto retry = store_->Create(NewWebhook("acme"), Options("req-1", "fp"));

  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(retry->created);
}

TEST_F(WebhookStoreTest, RequestIdOfADeletedWebhookIsFailedPrecondition) {
  auto first = store_->Create(NewWebhook("acme"), Options("req-1", "fp"));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(store_->Delete("acme", first->webhook.id()).ok());

  auto retry = store_->Create(NewWebhook("acme"), Options("req-1", "fp"));

  EXPECT_EQ(retry.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(retry.status().message()), StartsWith("request_id:"));
  EXPECT_THAT(store_->List("acme", "", 10)->webhooks, IsEmpty());
}

TEST_F(WebhookStoreTest, UpdateWritesTheMutatedWebhook) {
  const std::string id = MustCreate("acme");

  auto updated = store_->Update("acme", id, [](WebhookRecord& w) {
    w.set_url("https://example.org/new");
    w.set_enabled(false);
    return absl::OkStatus();
  });

  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->url(), "https://example.org/new");
  EXPECT_EQ(updated->version(), kWebhookRecordVersion);
  auto got = store_->Get("acme", id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->url(), "https://example.org/new");
  EXPECT_FALSE(got->enabled());
}

TEST_F(WebhookStoreTest, UpdateWhoseMutateFailsWritesNothing) {
  const std::string id = MustCreate("acme");

  auto updated = store_->Update("acme", id, [](WebhookRecord& w) {
    w.set_url("https://half-done.example/");
    return absl::FailedPreconditionError("webhook: not now");
  });

  EXPECT_EQ(updated.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(updated.status().message(), "webhook: not now");
  EXPECT_EQ(store_->Get("acme", id)->url(), "https://example.com/hook");
}

TEST_F(WebhookStoreTest, UpdateOfAnUnknownWebhookIsNotFoundWithoutCallingMutate) {
  const std::string id = MustCreate("acme");
  bool called = false;

  auto updated = store_->Update("other", id, [&](WebhookRecord&) {
    called = true;
    return absl::OkStatus();
  });

  EXPECT_EQ(updated.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(called);
}

TEST_F(WebhookStoreTest, DeleteThenGetIsNotFound) {
  const std::string id = MustCreate("acme");

  ASSERT_TRUE(store_->Delete("acme", id).ok());

  EXPECT_EQ(store_->Get("acme", id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(store_->List("acme", "", 10)->webhooks, IsEmpty());
}

TEST_F(WebhookStoreTest, DeleteTwiceIsNotFound) {
  const std::string id = MustCreate("acme");
  ASSERT_TRUE(store_->Delete("acme", id).ok());

  EXPECT_EQ(store_->Delete("acme", id).code(), absl::StatusCode::kNotFound);
}

TEST_F(WebhookStoreTest, DeleteWithAnotherAccountIsNotFoundAndKeepsTheWebhook) {
  const std::string id = MustCreate("acme");

  EXPECT_EQ(store_->Delete("other", id).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->Get("acme", id).ok());
}

TEST_F(WebhookStoreTest, UnknownRecordVersionIsDataLoss) {
  const std::string id = MustCreate("acme");
  WebhookRecord future = *store_->Get("acme", id);
  future.set_version(99);
  rocksdb::WriteBatch batch;
  batch.Put(db_->handle(ColumnFamily::kWebhooks), WebhookKey("acme", id),
            future.SerializeAsString());
  ASSERT_TRUE(db_->Write(batch).ok());

  auto got = store_->Get("acme", id);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("version 99"));

  EXPECT_EQ(store_->List("acme", "", 10).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(
      store_->Update("acme", id, [](WebhookRecord&) { return absl::OkStatus(); }).status().code(),
      absl::StatusCode::kDataLoss);
}

TEST_F(WebhookStoreTest, UnparsableRecordIsDataLoss) {
  const std::string id = MustCreate("acme");
  rocksdb::WriteBatch batch;
  // Field 2 (account) claims 100 bytes that are not there.
  batch.Put(db_->handle(ColumnFamily::kWebhooks), WebhookKey("acme", id), "\x12\x64");
  ASSERT_TRUE(db_->Write(batch).ok());

  EXPECT_EQ(store_->Get("acme", id).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(WebhookStoreTest, RecordWithoutVersionIsDataLoss) {
  const std::string id = MustCreate("acme");
  WebhookRecord unversioned = *store_->Get("acme", id);
  unversioned.clear_version();
  rocksdb::WriteBatch batch;
  batch.Put(db_->handle(ColumnFamily::kWebhooks), WebhookKey("acme", id),
            unversioned.SerializeAsString());
  ASSERT_TRUE(db_->Write(batch).ok());

  EXPECT_EQ(store_->Get("acme", id).status().code(), absl::StatusCode::kDataLoss);
}

TEST(StorageTest, WebhooksSurviveClosingAndReopening) {
  TempDir dir;
  FakeClock clock;
  StorageOptions options;
  options.data_dir = dir.Child("data");
  options.sync_writes = false;
  WebhookRecord webhook;
  webhook.set_account("acme");
  webhook.set_display_name("persisted");
  CreateWebhookOptions create;
  create.request_id = "req-1";
  create.request_fingerprint = "fp";
  create.now = clock.Now();
  create.request_id_expire_time = clock.Now() + absl::Hours(1);
  {
    auto storage = Storage::Open(options, clock);
    ASSERT_TRUE(storage.ok()) << storage.status();
    auto created = (*storage)->webhooks().Create(webhook, create);
    ASSERT_TRUE(created.ok()) << created.status();
    webhook.set_id(created->webhook.id());
  }

  auto storage = Storage::Open(options, clock);
  ASSERT_TRUE(storage.ok()) << storage.status();
  auto got = (*storage)->webhooks().Get("acme", webhook.id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->display_name(), "persisted");
  // The request id survived too.
  auto retry = (*storage)->webhooks().Create(webhook, create);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(retry->created);
}

TEST(StorageTest, SecondOpenOfTheSameDirectoryIsFailedPrecondition) {
  TempDir dir;
  StorageOptions options;
  options.data_dir = dir.Child("data");
  FakeClock clock;
  auto first = Storage::Open(options, clock);
  ASSERT_TRUE(first.ok()) << first.status();

  auto second = Storage::Open(options, clock);

  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("in use"));
}

}  // namespace
}  // namespace wink::webhooks::storage
