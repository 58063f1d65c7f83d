#include "tests/storage/rocksdb/rocksdb_harness.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rocksdb/write_batch.h"
#include "wink/webhooks/internal/v1/records.pb.h"
#include "service/common/status_macros.h"
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
