// What only the RocksDB backend does: refuse a directory another process
// holds, refuse records it cannot read (DATA_LOSS, never misread), and
// stop and start committing with a full disk.
#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/write_batch.h"
#include "service/storage/delivery_ledger.h"
#include "service/storage/records.h"
#include "service/storage/rocksdb/backend.h"
#include "service/storage/rocksdb/database.h"
#include "service/storage/rocksdb/keys.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/full_disk.h"
#include "tests/fakes/temp_dir.h"
#include "tests/storage/publish_and_wait.h"
#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::storage::rocks {
namespace {

using ::testing::HasSubstr;
using ::wink::webhooks::testing::FakeClock;
using ::wink::webhooks::testing::FullDisk;
using ::wink::webhooks::testing::TempDir;

class RocksDbBackendTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    RocksDbOptions options;
    options.data_dir = dir_.Child("data");
    options.sync_writes = false;
    options.env = full_disk_.env();
    auto backend = OpenRocksDbBackend(options, clock_, &observer_);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);
  }

  std::string CreateWebhook() {
    domain::WebhookRecord webhook;
    webhook.set_account("acme");
    webhook.set_url("https://example.com/hook");
    webhook.set_enabled(true);
    CreateWebhookOptions options;
    options.now = clock_.Now();
    auto created = backend_->webhooks().Create(webhook, options);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->webhook.id() : "";
  }

  // Closes the backend and opens its database directly, to change it
  // behind the backend's back (Open() again afterwards).
  std::unique_ptr<Database> CloseAndOpenDatabase() {
    backend_.reset();
    DatabaseOptions options;
    options.path = dir_.Child("data");
    options.sync_writes = false;
    auto db = Database::Open(options);
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? *std::move(db) : nullptr;
  }

  // Replaces the stored webhook record's bytes, behind the backend's back.
  void OverwriteWebhookRecord(const std::string& id, const std::string& bytes) {
    {
      std::unique_ptr<Database> db = CloseAndOpenDatabase();
      ASSERT_NE(db, nullptr);
      rocksdb::WriteBatch batch;
      batch.Put(db->handle(ColumnFamily::kWebhooks), WebhookKey("acme", id), bytes);
      ASSERT_TRUE(db->Write(batch).ok());
    }
    Open();
  }

  absl::StatusOr<PublishResult> Publish() {
    return ::wink::webhooks::testing::PublishAndWait(backend_->events(),
                                                     ::wink::webhooks::testing::BookingCreated("acme"));
  }

  // Counts what storage reports.
  class CountingObserver final : public StorageObserver {
   public:
    void OnCommit(int, absl::Duration) override { ++commits; }
    void OnCommitFailed(int, const absl::Status& error) override {
      ++failures;
      last_failure_code = error.code();
    }
    std::atomic<int> commits{0};
    std::atomic<int> failures{0};
    std::atomic<absl::StatusCode> last_failure_code{absl::StatusCode::kOk};
  };

  TempDir dir_;
  FullDisk full_disk_;  // outlives the backend
  CountingObserver observer_;
  FakeClock clock_;
  std::unique_ptr<StorageBackend> backend_;
};

// A full disk: writes fail with UNAVAILABLE and a message a caller can act
// on (RocksDB's words, with the files' paths, go to the log and the
// observer), the probe says so too, and once there is space again storage
// takes writes by itself.
TEST_F(RocksDbBackendTest, AFullDiskRefusesWritesWithUnavailableUntilThereIsSpace) {
  CreateWebhook();
  full_disk_.SetFull(true);
  const absl::StatusOr<PublishResult> refused = Publish();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(refused.status().message(), kStorageUnwritableMessage);
  EXPECT_GE(observer_.failures.load(), 1);
  EXPECT_EQ(observer_.last_failure_code.load(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(backend_->deliveries().ProbeWritable().code(), absl::StatusCode::kUnavailable);

  full_disk_.SetFull(false);
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  absl::Status probe = backend_->deliveries().ProbeWritable();
  while (!probe.ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
    probe = backend_->deliveries().ProbeWritable();
  }
  ASSERT_TRUE(probe.ok()) << probe;
  const int commits_before = observer_.commits.load();
  const absl::StatusOr<PublishResult> accepted = Publish();
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->deliveries.size(), 1u);
  EXPECT_GT(observer_.commits.load(), commits_before);
}

// A database of schema version 2 has due entries but no `due_by_webhook`
// index: the first open of this binary builds it from the queue, once.
TEST_F(RocksDbBackendTest, AVersion2DatabaseGainsTheDueQueuesWebhookIndex) {
  const std::string webhook = CreateWebhook();
  auto first = Publish();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(Publish().ok());
  {
    std::unique_ptr<Database> db = CloseAndOpenDatabase();
    ASSERT_NE(db, nullptr);
    rocksdb::WriteBatch batch;
    std::unique_ptr<rocksdb::Iterator> it = db->NewIterator(ColumnFamily::kDueByWebhook);
    int indexed = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      batch.Delete(db->handle(ColumnFamily::kDueByWebhook), it->key());
      ++indexed;
    }
    EXPECT_EQ(indexed, 2);
    batch.Delete(db->handle(ColumnFamily::kDefault), "due_by_webhook_indexed");
    internal::v1::SchemaRecord schema;
    schema.set_version(2);
    batch.Put(db->handle(ColumnFamily::kDefault), "schema", schema.SerializeAsString());
    ASSERT_TRUE(db->Write(batch).ok());
  }
  Open();

  auto head = backend_->due_queue().FirstOfWebhook(webhook);
  ASSERT_TRUE(head.ok()) << head.status();
  ASSERT_TRUE(head->has_value());
  EXPECT_EQ((*head)->event_id, first->event.id());
}

TEST_F(RocksDbBackendTest, SecondOpenOfTheSameDirectoryIsFailedPrecondition) {
  RocksDbOptions options;
  options.data_dir = dir_.Child("data");

  auto second = OpenRocksDbBackend(options, clock_, nullptr);

  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("in use"));
}

TEST_F(RocksDbBackendTest, UnknownRecordVersionIsDataLoss) {
  const std::string id = CreateWebhook();
  domain::WebhookRecord future = *backend_->webhooks().Get("acme", id);
  future.set_version(99);
  OverwriteWebhookRecord(id, future.SerializeAsString());

  auto got = backend_->webhooks().Get("acme", id);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("version 99"));
  EXPECT_EQ(backend_->webhooks().List("acme", "", 10).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(backend_->webhooks()
                .Update("acme", id, [](domain::WebhookRecord&) { return absl::OkStatus(); })
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(RocksDbBackendTest, UnparsableRecordIsDataLoss) {
  const std::string id = CreateWebhook();
  // Field 2 (account) claims 100 bytes that are not there.
  OverwriteWebhookRecord(id, "\x12\x64");

  EXPECT_EQ(backend_->webhooks().Get("acme", id).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(RocksDbBackendTest, RecordWithoutVersionIsDataLoss) {
  const std::string id = CreateWebhook();
  domain::WebhookRecord unversioned = *backend_->webhooks().Get("acme", id);
  unversioned.clear_version();
  OverwriteWebhookRecord(id, unversioned.SerializeAsString());

  EXPECT_EQ(backend_->webhooks().Get("acme", id).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace wink::webhooks::storage::rocks
