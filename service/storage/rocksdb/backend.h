// The embedded backend: one RocksDB database in a local directory, written
// by one thread with group commit (writer.h). The default, for one machine.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_BACKEND_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_BACKEND_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "rocksdb/env.h"
#include "service/common/clock.h"
#include "service/storage/backend.h"
#include "service/storage/observer.h"

namespace wink::webhooks::storage::rocks {

struct RocksDbOptions {
  // Directory of the database; created if missing.
  std::string data_dir;
  // Fsync the write-ahead log before acknowledging a write (true), or only
  // hand it to the OS (false: survives kill -9, not power loss).
  bool sync_writes = true;
  // RocksDB's memory budget (database.h).
  size_t memory_budget_bytes = 128 << 20;
  // RocksDB's file system (database.h); null: the default.
  rocksdb::Env* env = nullptr;
};

// Opens the database. `clock` (ids, record times) and `observer` (may be
// null) must outlive the backend. Errors as Database::Open:
// FAILED_PRECONDITION when another process uses `data_dir` or the data is
// from a newer version.
absl::StatusOr<std::unique_ptr<StorageBackend>> OpenRocksDbBackend(const RocksDbOptions& options,
                                                                   const Clock& clock,
                                                                   StorageObserver* observer);

}  // namespace wink::webhooks::storage::rocks

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_BACKEND_H_
