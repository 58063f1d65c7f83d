#include "service/storage/storage.h"

#include "service/common/status_macros.h"
#include "service/storage/database.h"

namespace wink::webhooks::storage {

Storage::Storage() = default;

Storage::~Storage() = default;

absl::StatusOr<std::unique_ptr<Storage>> Storage::Open(const StorageOptions& options,
                                                       const Clock& clock) {
  DatabaseOptions db_options;
  db_options.path = options.data_dir;
  db_options.sync_writes = options.sync_writes;
  db_options.clock = &clock;
  auto storage = std::unique_ptr<Storage>(new Storage());
  storage->ids_ = std::make_unique<IdGenerator>(clock);
  WINK_ASSIGN_OR_RETURN(storage->db_, Database::Open(db_options));
  storage->webhooks_ = std::make_unique<WebhookStore>(*storage->db_, *storage->ids_);
  return storage;
}

}  // namespace wink::webhooks::storage
