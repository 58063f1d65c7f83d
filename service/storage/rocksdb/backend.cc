#include "service/storage/rocksdb/backend.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>

#include "service/common/log.h"
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
  // `due_at_open`: an iterator over `due` made before any write.
  RocksDbBackend(std::unique_ptr<Database> db, uint64_t next_update_sequence,
                 std::unique_ptr<rocksdb::Iterator> due_at_open, const Clock& clock,
                 StorageObserver* observer)
      : ids_(clock),
        db_(std::move(db)),
        writer_(*db_, next_update_sequence, observer),
        context_{*db_, writer_, ids_, clock, listeners_, observer, known_webhooks_, due_entries_},
        webhooks_(context_),
        applications_(context_),
        events_(context_),
        deliveries_(context_),
        due_queue_(context_),
        updates_(context_),
        retention_(context_) {
    // Counted off the path to serving (a million due entries take ~0.4 s,
    // which a restart need not wait for). Until it is done the count holds
    // only the changes since the open; the iterator sees the open's state.
    due_counter_ = std::thread([this, it = std::move(due_at_open)] {
      int64_t entries = 0;
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (++entries % 4096 == 0 && stop_counting_.load(std::memory_order_relaxed)) return;
      }
      if (!it->status().ok()) {
        LogLine(LogLevel::kError, "due_queue_count_failed").Field("error", it->status().ToString());
        return;
      }
      due_entries_ += entries;
    });
  }

  ~RocksDbBackend() override {
    stop_counting_ = true;
    due_counter_.join();  // its iterator goes before the database
    StopWrites();
  }

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
  std::atomic<int64_t> due_entries_{0};
  std::atomic<bool> stop_counting_{false};
  std::thread due_counter_;
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
  std::unique_ptr<rocksdb::Iterator> due_at_open = db->NewIterator(ColumnFamily::kDue);
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
  return std::make_unique<RocksDbBackend>(std::move(db), next_sequence, std::move(due_at_open),
                                          clock, observer);
}

}  // namespace wink::webhooks::storage::rocks
