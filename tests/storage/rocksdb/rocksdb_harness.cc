#include "tests/storage/rocksdb/rocksdb_harness.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/write_batch.h"
#include "wink/webhooks/internal/v1/records.pb.h"
#include "service/common/status_macros.h"
#include "service/domain/states.h"
#include "service/storage/records.h"
#include "service/storage/rocksdb/backend.h"
#include "service/storage/rocksdb/database.h"
#include "service/storage/rocksdb/keys.h"

namespace wink::webhooks::storage::rocks {
namespace {

absl::StatusOr<std::unique_ptr<Database>> OpenRaw(const std::string& dir) {
  DatabaseOptions options;
  options.path = dir;
  options.sync_writes = false;
  return Database::Open(options);
}

absl::StatusOr<int> CountKeys(Database& db, ColumnFamily cf) {
  std::unique_ptr<rocksdb::Iterator> it = db.NewIterator(cf);
  int count = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++count;
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "counting keys"));
  return count;
}

// The keys of `cf`.
absl::StatusOr<absl::btree_set<std::string>> KeysOf(Database& db, ColumnFamily cf) {
  std::unique_ptr<rocksdb::Iterator> it = db.NewIterator(cf);
  absl::btree_set<std::string> keys;
  for (it->SeekToFirst(); it->Valid(); it->Next()) keys.insert(it->key().ToString());
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "listing keys"));
  return keys;
}

// After a full compaction of the queues (which is when a queue key put twice
// would come back: IsPutOnceQueue), `due`, `due_by_webhook` and `held` hold
// exactly the entries of the deliveries in those states.
absl::Status CheckQueues(Database& db) {
  for (ColumnFamily queue : kPutOnceQueues) WINK_RETURN_IF_ERROR(db.Compact(queue));
  absl::btree_set<std::string> due, due_by_webhook, held;
  std::unique_ptr<rocksdb::Iterator> it = db.NewIterator(ColumnFamily::kDeliveries);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    domain::DeliveryRecord delivery;
    WINK_RETURN_IF_ERROR(
        DecodeRecord(View(it->value()), kDeliveryRecordVersion, "delivery", delivery));
    const std::string key = DeliveryKey(delivery.webhook_id(), delivery.event_id());
    if (domain::IsDue(delivery.state())) {
      due.insert(
          DueKey(delivery.next_attempt_time_us(), delivery.webhook_id(), delivery.event_id()));
      due_by_webhook.insert(key);
    } else if (domain::IsHeld(delivery.state())) {
      held.insert(key);
    }
  }
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "listing deliveries"));
  const std::pair<ColumnFamily, const absl::btree_set<std::string>*> queues[] = {
      {ColumnFamily::kDue, &due},
      {ColumnFamily::kDueByWebhook, &due_by_webhook},
      {ColumnFamily::kHeld, &held}};
  for (const auto& [family, expected] : queues) {
    WINK_ASSIGN_OR_RETURN(const absl::btree_set<std::string> stored, KeysOf(db, family));
    if (stored != *expected) {
      return absl::DataLossError(absl::StrCat("\"", ColumnFamilyName(family), "\" has ",
                                              stored.size(), " entries for ", expected->size(),
                                              " deliveries in its state (or other keys)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<StorageBackend>> RocksDbHarness::Open(const Clock& clock) {
  RocksDbOptions options;
  options.data_dir = dir_;
  options.sync_writes = false;  // logic, not durability, is under test
  return OpenRocksDbBackend(options, clock, /*observer=*/nullptr);
}

absl::Status RocksDbHarness::PutWebhookRecordOnly(const domain::WebhookRecord& webhook) {
  WINK_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, OpenRaw(dir_));
  rocksdb::WriteBatch batch;
  batch.Put(db->handle(ColumnFamily::kWebhooks), WebhookKey(webhook.account(), webhook.id()),
            webhook.SerializeAsString());
  return db->Write(batch);
}

absl::Status RocksDbHarness::DeleteWebhookRecordOnly(const std::string& account,
                                                     const std::string& webhook_id) {
  WINK_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, OpenRaw(dir_));
  rocksdb::WriteBatch batch;
  batch.Delete(db->handle(ColumnFamily::kWebhooks), WebhookKey(account, webhook_id));
  return db->Write(batch);
}

absl::Status RocksDbHarness::ForgetAccountUsage() {
  WINK_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, OpenRaw(dir_));
  rocksdb::WriteBatch batch;
  const std::string usage_prefix = KeyWriter().Str("usage").key();
  std::unique_ptr<rocksdb::Iterator> it = db->NewIterator(ColumnFamily::kDefault);
  for (it->Seek(usage_prefix); it->Valid() && it->key().starts_with(usage_prefix); it->Next()) {
    batch.Delete(db->handle(ColumnFamily::kDefault), it->key());
  }
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "listing usage"));
  batch.Delete(db->handle(ColumnFamily::kDefault), std::string(kUsageCountedKey));
  internal::v1::SchemaRecord schema;
  schema.set_version(1);
  batch.Put(db->handle(ColumnFamily::kDefault), "schema", schema.SerializeAsString());
  return db->Write(batch);
}

absl::StatusOr<testing::StoredCounts> RocksDbHarness::CountStored() {
  WINK_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, OpenRaw(dir_));
  WINK_RETURN_IF_ERROR(CheckQueues(*db));
  testing::StoredCounts counts;
  WINK_ASSIGN_OR_RETURN(counts.events, CountKeys(*db, ColumnFamily::kEvents));
  WINK_ASSIGN_OR_RETURN(counts.deliveries, CountKeys(*db, ColumnFamily::kDeliveries));
  WINK_ASSIGN_OR_RETURN(counts.attempts, CountKeys(*db, ColumnFamily::kAttempts));
  WINK_ASSIGN_OR_RETURN(counts.due_entries, CountKeys(*db, ColumnFamily::kDue));
  WINK_ASSIGN_OR_RETURN(counts.held_entries, CountKeys(*db, ColumnFamily::kHeld));
  WINK_ASSIGN_OR_RETURN(const int by_event, CountKeys(*db, ColumnFamily::kDeliveriesByEvent));
  if (by_event != counts.deliveries) {
    return absl::DataLossError(absl::StrCat("deliveries_by_event has ", by_event, " entries for ",
                                            counts.deliveries, " deliveries"));
  }
  return counts;
}

testing::BackendUnderTest RocksDbUnderTest() {
  return testing::BackendUnderTest{
      "RocksDb", [](const std::string& dir) { return std::make_unique<RocksDbHarness>(dir); }};
}

}  // namespace wink::webhooks::storage::rocks
