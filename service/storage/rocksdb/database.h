// The RocksDB database: opening it with every registered column family, and
// the single write path. Only the RocksDB backend includes this header (it
// exposes RocksDB types); the rest of the service uses the storage
// interfaces (service/storage/backend.h).
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_DATABASE_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_DATABASE_H_

#include <array>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "service/common/clock.h"
#include "service/storage/rocksdb/column_families.h"

namespace wink::webhooks::storage::rocks {

// On-disk format version of the whole database, kept in the default column
// family. Bump when a change needs migration; older binaries then refuse to
// open newer data instead of misreading it. Opening older data writes the
// current version; the migrations themselves are the backend's.
// 2: every account's usage is kept (account_usage.h); a version-1 binary
//    would publish and purge without counting.
// 3: the due queue is indexed by webhook (`due_by_webhook`, what ordered
//    webhooks need); a version-2 binary would leave the index stale.
// 4: the queue families' keys are deleted with SingleDelete
//    (IsPutOnceQueue); the first open compacts them, so that no older
//    binary's Delete or second put is left to meet one. A version-3 binary
//    would mix its Deletes in again.
inline constexpr uint32_t kSchemaVersion = 4;

struct DatabaseOptions {
  // Directory of the database; created if missing.
  std::string path;
  // Whether each acknowledged write fsyncs the write-ahead log. RocksDB
  // groups concurrent writers so they share one fsync (group commit).
  bool sync_writes = true;
  // Decides which idempotency entries have expired; compaction drops them.
  // Must outlive the database.
  const Clock* clock = &SystemClock();
  // RocksDB's memory: one block cache of this size, shared by every column
  // family, to which memtables are charged too (flushed early when they
  // would exceed half of it). Without it each of the column families would
  // keep up to 2 x 64 MiB of memtables, over 1 GiB under a write burst.
  size_t memory_budget_bytes = 128 << 20;
  // The file system RocksDB uses; null: the default. Tests inject failing
  // ones (a full disk). Must outlive the database.
  rocksdb::Env* env = nullptr;
};

// Thread-safe: reads and writes may come from any thread.
class Database {
 public:
  // Opens (creating if needed) the database with all column families of the
  // registry. FAILED_PRECONDITION if another process holds the directory, if
  // it holds column families this binary does not know, or data of a newer
  // schema version; the message says which. INTERNAL for other RocksDB
  // errors.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const DatabaseOptions& options);

  ~Database();  // flushes nothing extra: the WAL already holds every write
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Applies `batch` atomically with the configured durability. This is the
  // one write path of the service: one logical operation, one batch.
  // UNAVAILABLE (with RocksDB's text) when the disk refuses the write (full,
  // failing): RocksDB then refuses every write until it has recovered (by
  // itself, for a full disk, once it sees free space again).
  absl::Status Write(rocksdb::WriteBatch& batch);

  // Reads `key`. NOT_FOUND if absent.
  absl::StatusOr<std::string> Get(ColumnFamily cf, absl::string_view key);

  // Compacts all of `cf` now, down to and including its last level, instead
  // of when RocksDB decides to: afterwards it holds no deletions, one entry
  // per live key, and its compaction filter has run (expired idempotency
  // entries are dropped). For migrations, maintenance and tests.
  absl::Status Compact(ColumnFamily cf);

  // Iterator over `cf`; the caller owns it and must delete it before the
  // database. `upper_bound`, if non-empty, must outlive the iterator.
  std::unique_ptr<rocksdb::Iterator> NewIterator(ColumnFamily cf,
                                                 const rocksdb::Slice* upper_bound = nullptr);

  // For the writer's reads (StagedWrites); everything else goes
  // through the methods above.
  rocksdb::DB* rocksdb() const { return db_.get(); }

  rocksdb::ColumnFamilyHandle* handle(ColumnFamily cf) const {
    return handles_[static_cast<int>(cf)];
  }

 private:
  Database() = default;
  absl::Status CheckSchema();

  // Declared before db_: RocksDB uses the filter until the DB is closed.
  std::unique_ptr<rocksdb::CompactionFilter> idempotency_filter_;
  std::unique_ptr<rocksdb::DB> db_;
  std::array<rocksdb::ColumnFamilyHandle*, kColumnFamilyCount> handles_{};
  rocksdb::WriteOptions write_options_;
};

// Iterates the keys of one column family that start with `prefix`, in key
// order; the upper bound it needs lives as long as the iterator. Starts
// unpositioned: call Seek (the prefix itself, or a key inside the range).
// Not movable: RocksDB keeps a pointer to the bound.
class PrefixIterator {
 public:
  PrefixIterator(Database& db, ColumnFamily cf, std::string prefix);
  PrefixIterator(const PrefixIterator&) = delete;
  PrefixIterator& operator=(const PrefixIterator&) = delete;

  const std::string& prefix() const { return prefix_; }

  // Positions at the first key after `key` (a key inside the range), or at
  // the first key of the range when `key` is empty: where the next page of
  // a list starts.
  void SeekPast(absl::string_view key);
  rocksdb::Iterator* operator->() const { return iterator_.get(); }

 private:
  const std::string prefix_;
  const std::string upper_bound_;
  const rocksdb::Slice upper_bound_slice_;
  const std::unique_ptr<rocksdb::Iterator> iterator_;
};

// The bytes of a RocksDB slice, as a view.
inline absl::string_view View(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

// Converts a RocksDB status to an absl::Status (OK, NOT_FOUND, or INTERNAL
// with `context` and RocksDB's message).
absl::Status FromRocksDb(const rocksdb::Status& status, absl::string_view context);

}  // namespace wink::webhooks::storage::rocks

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_DATABASE_H_
