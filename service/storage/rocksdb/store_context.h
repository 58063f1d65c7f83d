// What the RocksDB backend's stores share. Internal to the RocksDB backend.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_STORE_CONTEXT_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_STORE_CONTEXT_H_

#include <atomic>
#include <cstdint>

#include "service/common/clock.h"
#include "service/common/ids.h"
#include "service/storage/listeners.h"
#include "service/storage/observer.h"
#include "service/storage/rocksdb/database.h"
#include "service/storage/rocksdb/known_webhooks.h"
#include "service/storage/rocksdb/writer.h"

namespace wink::webhooks::storage::rocks {

// Everything here outlives the stores (the backend owns it).
struct StoreContext {
  Database& db;
  // Every mutation is an operation of this one writer (writer.h).
  Writer& writer;
  IdGenerator& ids;
  // Record times and the time rules are applied at.
  const Clock& clock;
  // Told about committed updates and deleted webhooks.
  UpdateListeners& listeners;
  // May be null.
  StorageObserver* observer;
  // Writer thread only (its operations).
  KnownWebhooks& known_webhooks;
  // The entries of `due`: counted as of the open (in the background), plus
  // StageTransition's changes as they commit. (RocksDB's estimate counts a
  // SingleDelete and the entry it removes as two entries until a flush
  // drops both.)
  std::atomic<int64_t>& due_entries;
};

}  // namespace wink::webhooks::storage::rocks

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_STORE_CONTEXT_H_
