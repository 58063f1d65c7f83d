// The single write path of the service: one thread that applies operations
// in submission order and commits them in groups.
//
// Every mutation of the database is an Operation: a function that reads what
// it needs and stages its writes in a WriteTxn. The writer thread runs queued
// operations one after another against the database *plus the staged writes
// of the operations before them in the same group* (StagedWrites), then
// commits the whole group with one WAL write and,
// in sync mode, one fsync. So
//   - operations never race (read-check-write needs no locks),
//   - throughput does not fall to one fsync per operation (group commit),
//   - update-log sequence numbers are assigned in commit order, which is what
//     lets a watcher resume from a cursor without gaps.
// An operation that fails leaves nothing behind (savepoint rollback); a
// commit that fails fails every operation of its group.
//
// Internal to the RocksDB backend (exposes RocksDB types).
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_WRITER_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_WRITER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/common/serial_executor.h"
#include "service/storage/observer.h"
#include "service/storage/rocksdb/column_families.h"
#include "service/storage/rocksdb/staged_writes.h"

namespace wink::webhooks::storage::rocks {

class Database;

// The view an operation has while it runs on the writer thread. Not
// thread-safe; valid only during the operation.
class WriteTxn {
 public:
  // Reads `key`, seeing writes staged earlier in this group. NOT_FOUND if
  // absent; INTERNAL for a family that is not IsReadInGroups().
  absl::StatusOr<std::string> Get(ColumnFamily cf, absl::string_view key);
  // Get() of each of `keys`, in order, the committed ones read together.
  std::vector<absl::StatusOr<std::string>> MultiGet(ColumnFamily cf,
                                                    const std::vector<absl::string_view>& keys);

  void Put(ColumnFamily cf, absl::string_view key, absl::string_view value);
  void Delete(ColumnFamily cf, absl::string_view key);

  // Calls `visit(key, value)` for the keys of `cf` that start with `prefix`,
  // in key order, from `start` (which must start with `prefix`; empty: the
  // first), including staged writes, until `visit` returns false. `visit`
  // may stage writes; the scan goes on over what was there when it began.
  // INTERNAL for a family that is not IsReadInGroups().
  absl::Status Scan(
      ColumnFamily cf, absl::string_view prefix, absl::string_view start,
      const std::function<bool(absl::string_view key, absl::string_view value)>& visit);

  // Stages `value` as the next entry of the `updates` log; returns its
  // sequence number.
  uint64_t AppendUpdate(absl::string_view value);

  // The sequence number the next AppendUpdate will return.
  uint64_t next_update_sequence() const { return next_sequence_; }

  // A stamp that changes whenever what this view reads from `cf` may have
  // changed: a write to `cf` staged, an operation's writes rolled back, a
  // group's commit failed. Equal stamps mean nothing in `cf` changed in
  // between, in this group or in any group after it, so an operation may
  // keep what it read from `cf` (committed or staged) across operations and
  // groups while the stamp stays the same. Only the writer writes, so there
  // is no other way for `cf` to change, with one exception: compaction drops
  // expired `idempotency` records (database.h) without a stamp.
  uint64_t change_stamp(ColumnFamily cf) const;

  // Whether operations may read `cf` (Get, Scan). The queues and logs that
  // operations only write (`due`, `due_by_webhook`, `attempts`, `updates`:
  // half the entries an event stages) are kept out of the group's index of
  // staged writes (StagedWrites::IsIndexed), which costs a copy per write.
  static bool IsReadInGroups(ColumnFamily cf) { return StagedWrites::IsIndexed(cf); }

  // Runs `hook` on the writer thread after the group is durable (not if this
  // operation or the commit fails), before the operation's done callback.
  void OnCommit(std::function<void()> hook);

  // Lets the operation submit follow-up operations (e.g. the next chunk of a
  // long cascade); they run after this group.
  class Writer& writer() {
    return writer_;
  }

 private:
  friend class Writer;
  WriteTxn(Writer& writer, StagedWrites& staged, uint64_t& next_sequence)
      : writer_(writer), staged_(staged), next_sequence_(next_sequence) {}

  Writer& writer_;
  StagedWrites& staged_;
  uint64_t& next_sequence_;
  std::vector<std::function<void()>> hooks_;
};

// Thread-safe.
class Writer {
 public:
  using Operation = std::function<absl::Status(WriteTxn&)>;
  using Done = std::function<void(absl::Status)>;

  // `db` must outlive the writer. `next_update_sequence` is one more than the
  // last sequence number in the `updates` column family (1 when empty).
  // `observer` (may be null) hears about every commit.
  Writer(Database& db, uint64_t next_update_sequence, StorageObserver* observer = nullptr);
  ~Writer();  // Stop()s

  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Queues `op`. `done` runs on the writer thread once the operation's writes
  // are durable (OK), or with the operation's error, or with the commit's
  // error. It must not block; it may Submit(). After Stop(), `done` runs at
  // once with UNAVAILABLE.
  void Submit(Operation op, Done done);

  // Like Submit(), for new work from callers (publishes): when
  // kMaxQueuedAdmissions operations are already waiting, `done` runs at once
  // with RESOURCE_EXHAUSTED instead, so a slow disk turns into refused calls
  // rather than unbounded memory.
  //
  // And `done` runs on the writer's reply thread, not on the writer thread:
  // after the group is durable and its OnCommit hooks have run, in commit
  // order. Answering a caller (serializing and sending a gRPC response) costs
  // more than staging the write did; on the reply thread it overlaps the
  // next group instead of delaying it.
  void SubmitIfNotOverloaded(Operation op, Done done);
  static constexpr size_t kMaxQueuedAdmissions = 10000;

  // Like Submit(), for work that may be left for later: once Stop() has
  // begun, `done` runs at once with UNAVAILABLE instead of the operation
  // delaying the shutdown. For chunks of a long cascade that the repair at
  // the next start finishes anyway.
  void SubmitUnlessStopping(Operation op, Done done);

  // Submit() and wait for the result. Must not be called on the writer thread.
  absl::Status Run(Operation op);

  // The sequence number the next update-log entry will get.
  uint64_t next_update_sequence() const;

  // Operations queued and not yet committed.
  size_t queue_length() const;

  // A number that moves after every commit that wrote to the `webhooks`
  // family, once its writes are visible to readers and before its OnCommit
  // hooks run. Any thread. A reader that takes it before reading a webhook
  // may keep what it read for as long as the number stays the same.
  uint64_t webhooks_generation() const {
    return webhooks_generation_.load(std::memory_order_acquire);
  }

  // Runs everything already queued (including follow-ups submitted by it),
  // then stops the thread. Idempotent.
  void Stop();

 private:
  friend class WriteTxn;  // StampChange
  struct Pending {
    Operation op;
    Done done;
    // `done` runs on `replies_` (SubmitIfNotOverloaded), not on thread_.
    bool done_on_reply_thread = false;
    absl::Time submitted = absl::Now();
  };

  void Loop();
  void CommitGroup(std::vector<Pending>& group);
  // Gives `cf` (or every family) a new change stamp (WriteTxn::change_stamp).
  void StampChange(ColumnFamily cf);
  void StampChangeOfEveryFamily();

  Database& db_;
  mutable absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  // Written only by the writer thread; read under mu_ by others.
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_);
  StorageObserver* const observer_;
  // WriteTxn::change_stamp of each family, and the last stamp given out.
  // Writer thread only.
  std::array<uint64_t, kColumnFamilyCount> change_stamps_{};
  uint64_t last_change_stamp_ = 0;
  std::atomic<uint64_t> webhooks_generation_{0};
  // The group being run; kept between groups for its memory. Writer thread
  // only.
  StagedWrites staged_;
  // Before thread_: it must exist before the writer's first group.
  SerialExecutor replies_{"wink-replies"};
  std::thread thread_;
};

}  // namespace wink::webhooks::storage::rocks

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_WRITER_H_
