// The writes of one writer group, staged for its single commit, and the
// index that lets the group's later operations read them.
//
// RocksDB's WriteBatchWithIndex does the same job with one skip list over
// every family, ordered by (family, key). Every indexed Put searched it
// twice (for an earlier write of the key, then to insert), comparing keys
// through the batch's encoding: 22% of the writer's time under batch
// publishes (docs/BENCHMARKS.md). Operations read staged writes by key
// (Get) far more often than in order (Scan: a cascade's chunk, a webhook
// list after a cache miss, a purge), so here each family's staged writes
// sit in a hash table, and their keys are put in order (a B-tree) only when
// a Scan of that family needs them: a group that never scans a family pays
// nothing for its order, and one that interleaves scans and writes (a
// purge) orders each key once.
//
// Internal to the RocksDB backend. Not thread-safe: the writer thread owns
// it.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_STAGED_WRITES_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_STAGED_WRITES_H_

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rocksdb/write_batch.h"
#include "service/storage/rocksdb/column_families.h"

namespace wink::webhooks::storage::rocks {

class Database;

class StagedWrites {
 public:
  explicit StagedWrites(Database& db);
  StagedWrites(const StagedWrites&) = delete;
  StagedWrites& operator=(const StagedWrites&) = delete;

  // Whether writes to `cf` are indexed, so that Get and Scan see them. The
  // queues and logs that operations only write (`due`, `due_by_webhook`,
  // `attempts`, `updates`: half the entries an event stages) are not:
  // they go to the batch alone, and reading them here is refused.
  static bool IsIndexed(ColumnFamily cf);

  void Put(ColumnFamily cf, absl::string_view key, absl::string_view value);
  // A SingleDelete in the families that are IsPutOnceQueue(), else a Delete.
  void Delete(ColumnFamily cf, absl::string_view key);

  // The latest staged value of `key`, else the committed one. NOT_FOUND if
  // absent or deleted; INTERNAL for a family that is not IsIndexed().
  absl::StatusOr<std::string> Get(ColumnFamily cf, absl::string_view key);

  // Get() of each of `keys`, in order, with the committed ones read in one
  // RocksDB MultiGet: a batch of publishes looks up each request's
  // idempotency key, and one MultiGet walks the memtables and files once
  // for all of them.
  std::vector<absl::StatusOr<std::string>> MultiGet(ColumnFamily cf,
                                                    const std::vector<absl::string_view>& keys);

  // Calls `visit(key, value)` for the keys of `cf` that start with `prefix`,
  // in key order, from `start` (empty: the first), staged writes over
  // committed ones, until `visit` returns false. `visit` may stage writes;
  // the scan goes on over what was there when it began. INTERNAL for a
  // family that is not IsIndexed().
  absl::Status Scan(
      ColumnFamily cf, absl::string_view prefix, absl::string_view start,
      const std::function<bool(absl::string_view key, absl::string_view value)>& visit);

  // Marks the current end of the staged writes. RollbackToSavePoint() takes
  // back everything staged after the latest mark, and the mark. Marks nest
  // (RocksDB's save points); Clear() drops them all.
  void SetSavePoint();
  void RollbackToSavePoint();

  // The batch to commit: every staged write, in the order staged.
  rocksdb::WriteBatch& batch() { return batch_; }
  uint32_t count() const { return batch_.Count(); }
  size_t data_bytes() const { return batch_.GetDataSize(); }

  // Forgets everything staged, keeping the memory for the next group: the
  // batch's only up to kMaxKeptBatchBytes, twice the writer's largest group
  // (its groups stop growing at 16 MiB), so that an operation larger than
  // any group does not keep its memory for good, and a group of batched
  // publishes (a few MiB) does not allocate its batch afresh.
  void Clear();
  static constexpr size_t kMaxKeptBatchBytes = 32 << 20;

 private:
  // A staged write as the index holds it: views into `bytes_`.
  struct Entry {
    absl::string_view value;
    bool deleted = false;
  };
  // One family's staged writes.
  struct Family {
    absl::flat_hash_map<absl::string_view, Entry> index;
    // The index's keys in order, brought up to date by Scan: `ordered`
    // holds those of the previous Scans, `unordered` the ones added since.
    absl::btree_set<absl::string_view> ordered;
    std::vector<absl::string_view> unordered;
    void Clear();
  };

  // Copies keys and values the index points at. Blocks never move, so the
  // views stay valid while the index grows, and across a Scan's visits.
  class Bytes {
   public:
    absl::string_view Copy(absl::string_view bytes);
    // Frees every block but the first.
    void Clear();

   private:
    static constexpr size_t kBlockBytes = 64 << 10;
    std::vector<std::unique_ptr<char[]>> blocks_;  // of kBlockBytes
    size_t used_in_last_ = kBlockBytes;            // none yet: full
    // Pieces larger than half a block, each in its own allocation.
    std::vector<std::unique_ptr<char[]>> large_;
  };

  // Indexes a staged write (a copy of it), if `cf` IsIndexed().
  void Index(ColumnFamily cf, absl::string_view key, absl::string_view value, bool deleted);
  // Rebuilds every index from the batch (after a rollback).
  void Reindex();
  absl::Status RefuseUnindexed(ColumnFamily cf) const;

  Database& db_;
  rocksdb::WriteBatch batch_;
  std::array<Family, kColumnFamilyCount> families_;
  Bytes bytes_;
  // RocksDB's id of each family's handle (a batch names families by id).
  std::array<uint32_t, kColumnFamilyCount> family_ids_{};
};

}  // namespace wink::webhooks::storage::rocks

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_STAGED_WRITES_H_
