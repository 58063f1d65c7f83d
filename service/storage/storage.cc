#include "service/storage/storage.h"

#include "service/common/status_macros.h"
#include "service/storage/database.h"
#include "service/storage/keys.h"
#include "service/storage/writer.h"

namespace wink::webhooks::storage {

Storage::Storage() = default;

Storage::~Storage() { StopWrites(); }

uint64_t Storage::next_update_sequence() const { return writer_->next_update_sequence(); }

void Storage::StopWrites() {
  if (writer_ != nullptr) writer_->Stop();
}

absl::StatusOr<std::unique_ptr<Storage>> Storage::Open(const StorageOptions& options,
                                                       const Clock& clock) {
  DatabaseOptions db_options;
  db_options.path = options.data_dir;
  db_options.sync_writes = options.sync_writes;
  db_options.clock = &clock;
  auto storage = std::unique_ptr<Storage>(new Storage());
  storage->ids_ = std::make_unique<IdGenerator>(clock);
  WINK_ASSIGN_OR_RETURN(storage->db_, Database::Open(db_options));
  // The update log continues after its last entry (retention always keeps
  // the newest one). A new log starts at 2: cursors are "the last update
  // seen", 0 means "from now" in WatchDeliveries, so the cursor before the
  // very first update must be 1, not 0.
  uint64_t next_sequence = kFirstUpdateSequence;
  {
    std::unique_ptr<rocksdb::Iterator> it = storage->db_->NewIterator(ColumnFamily::kUpdates);
    it->SeekToLast();
    uint64_t last = 0;
    if (it->Valid() &&
        DecodeUpdateKey(absl::string_view(it->key().data(), it->key().size()), &last)) {
      next_sequence = last + 1;
    }
    WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "reading the update log"));
  }
  storage->writer_ = std::make_unique<Writer>(*storage->db_, next_sequence);
  storage->webhooks_ = std::make_unique<WebhookStore>(*storage->db_, *storage->writer_,
                                                      *storage->ids_, clock, &storage->forwarder_);
  storage->events_ = std::make_unique<EventStore>(*storage->db_, *storage->writer_, *storage->ids_,
                                                  clock, &storage->forwarder_);
  return storage;
}

}  // namespace wink::webhooks::storage
