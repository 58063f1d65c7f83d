#include "service/storage/rocksdb/backend.h"

#include <atomic>
#include <cstdint>
#include <utility>

#include "service/common/status_macros.h"
#include "service/storage/listeners.h"
#include "service/storage/rocksdb/account_usage.h"
#include "service/storage/rocksdb/database.h"
#include "service/storage/rocksdb/keys.h"
#include "service/storage/rocksdb/store_context.h"
#include "service/storage/rocksdb/stores.h"
#include "service/storage/rocksdb/writer.h"

namespace wink::webhooks::storage::rocks {
namespace {

class RocksDbBackend final : public StorageBackend {
 public:
  RocksDbBackend(std::unique_ptr<Database> db, uint64_t next_update_sequence, int64_t due_entries,
                 const Clock& clock, StorageObserver* observer)
      : ids_(clock),
        db_(std::move(db)),
        writer_(*db_, next_update_sequence, observer),
        due_entries_(due_entries),
        context_{*db_,     writer_,         ids_,        clock, listeners_,
                 observer, known_webhooks_, due_entries_},
        webhooks_(context_),
        applications_(context_),
        events_(context_),
        deliveries_(context_),
        due_queue_(context_),
        updates_(context_),
        retention_(context_) {}

  ~RocksDbBackend() override { StopWrites(); }

  WebhookStore& webhooks() override { return webhooks_; }
  ApplicationStore& applications() override { return applications_; }
  EventLog& events() override { return events_; }
  DeliveryLedger& deliveries() override { return deliveries_; }
  DueQueue& due_queue() override { return due_queue_; }
  UpdateLog& updates() override { return updates_; }
  Retention& retention() override { return retention_; }
  int64_t PendingWrites() override { return static_cast<int64_t>(writer_.queue_length()); }
  void StopWrites() override { writer_.Stop(); }

 private:
  // Each member uses only those above it. The destructor stops the writer
  // first: queued operations use the stores.
  UpdateListeners listeners_;
  IdGenerator ids_;
  std::unique_ptr<Database> db_;
  Writer writer_;
  KnownWebhooks known_webhooks_;
  std::atomic<int64_t> due_entries_;
  StoreContext context_;
  RocksDbWebhookStore webhooks_;
  RocksDbApplicationStore applications_;
  RocksDbEventLog events_;
  RocksDbDeliveryLedger deliveries_;
  RocksDbDueQueue due_queue_;
  RocksDbUpdateLog updates_;
  RocksDbRetention retention_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<StorageBackend>> OpenRocksDbBackend(const RocksDbOptions& options,
                                                                   const Clock& clock,
                                                                   StorageObserver* observer) {
  DatabaseOptions db_options;
  db_options.path = options.data_dir;
  db_options.sync_writes = options.sync_writes;
  db_options.memory_budget_bytes = options.memory_budget_bytes;
  db_options.env = options.env;
  db_options.clock = &clock;
  WINK_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(db_options));
  WINK_RETURN_IF_ERROR(CountUsageIfNotCounted(*db));
  WINK_RETURN_IF_ERROR(IndexDueByWebhookIfNotIndexed(*db));
  WINK_ASSIGN_OR_RETURN(const int64_t due_entries, CountDueEntries(*db));
  // The update log continues after its last entry (retention always keeps
  // the newest one); a new log starts at kFirstUpdateSequence.
  uint64_t next_sequence = kFirstUpdateSequence;
  {
    std::unique_ptr<rocksdb::Iterator> it = db->NewIterator(ColumnFamily::kUpdates);
    it->SeekToLast();
    uint64_t last = 0;
    if (it->Valid() &&
        DecodeUpdateKey(absl::string_view(it->key().data(), it->key().size()), &last)) {
      next_sequence = last + 1;
    }
    WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "reading the update log"));
  }
  return std::make_unique<RocksDbBackend>(std::move(db), next_sequence, due_entries, clock,
                                          observer);
}

}  // namespace wink::webhooks::storage::rocks
