// The write path of the PostgreSQL backend: a thread with its own
// connection that runs queued operations in groups, one transaction per
// group (group commit: one commit, and one wait for the synchronous
// standbys, for many callers).
//
// An operation reads what it needs through its WriteTxn (reads run at
// once, in the group's transaction, so they see the writes of the
// operations before it) and stages its writes, which are sent with the
// next round trip. So a typical operation costs two round trips and no
// savepoint: an operation that fails before its writes were sent leaves
// nothing behind. The few that fail after sending writes, and any
// statement PostgreSQL refuses, abort the group's transaction: the group
// is then run again without the failed operation (or one operation per
// transaction, to find the one PostgreSQL refuses). Deadlocks and
// serialization failures run the group again. Operations must therefore
// be safe to run more than once until one run commits.
//
// The update log is numbered at the end of each transaction, from a
// counter row that the transaction holds locked until it commits: numbers
// are gap-free and in commit order across every node sharing the database
// (update_log.h).
//
// Internal to the PostgreSQL backend.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_WRITER_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_WRITER_H_

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
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/domain/states.h"
#include "service/storage/observer.h"
#include "service/storage/postgres/connection.h"
#include "service/storage/postgres/update_feed.h"

namespace wink::webhooks::storage::pg {

class Writer;

// What an operation sees while it runs on the writer thread. Valid only
// during the operation.
class WriteTxn {
 public:
  // Sends the writes staged so far (by this and earlier operations of the
  // group) and `statements`, in one round trip; returns the rows of
  // `statements`.
  absl::StatusOr<std::vector<Rows>> Read(std::vector<Statement> statements);
  absl::StatusOr<Rows> ReadOne(Statement statement);

  // Stages a write: it runs before the next read or the commit.
  void Write(Statement statement);

  // Stages `delivery` (as of a state change) as the next entry of the
  // update log; it is numbered, stored and told to the update listeners at
  // commit.
  void AppendUpdate(domain::DeliveryRecord delivery);

  // Update-log entries this operation appended so far.
  int appended_updates() const { return appended_updates_; }

  // Sets the stored event's watch cursor at commit: the sequence number
  // before the next update this operation appends.
  void SetWatchCursorAtCommit(std::string account, std::string event_id);

  // Runs `hook` after the group is durable (not if this operation or the
  // commit fails), with the sequence number before this operation's first
  // update (so the k-th update it appended is `sequence_before + k`).
  void OnCommit(std::function<void(uint64_t sequence_before)> hook);

  // Lets the operation submit follow-ups (the next chunk of a cascade).
  Writer& writer() { return writer_; }

 private:
  friend class Writer;
  WriteTxn(Writer& writer, Connection& connection) : writer_(writer), connection_(connection) {}

  struct WatchCursor {
    std::string account;
    std::string event_id;
    int update_offset;  // updates appended by the group before it
  };

  Writer& writer_;
  Connection& connection_;
  // Staged and not yet sent (this and earlier operations of the group).
  std::vector<Statement>* unsent_ = nullptr;
  // Whether this operation sent writes (it can then only fail by aborting
  // the group).
  bool sent_writes_ = false;
  // A read failed: the transaction is aborted.
  bool failed_ = false;
  size_t unsent_at_start_ = 0;
  int appended_updates_ = 0;
  int group_updates_before_ = 0;
  std::vector<domain::DeliveryRecord> updates_;
  std::vector<WatchCursor> cursors_;
  std::vector<std::function<void(uint64_t)>> hooks_;
};

// Thread-safe.
class Writer {
 public:
  using Operation = std::function<absl::Status(WriteTxn&)>;
  using Done = std::function<void(absl::Status)>;

  // What happens to an operation when the connection is lost during its
  // COMMIT, so that nobody can tell whether it is stored.
  enum class WhenOutcomeUnknown {
    // The caller gets UNAVAILABLE saying so (it may retry with its
    // idempotency key or request id).
    kFail,
    // The operation runs again once PostgreSQL answers (for up to
    // kUnknownOutcomeRetryWindow): only for an operation that finds its own
    // earlier commit and returns its result (a publish with an idempotency
    // key, a create with a request id).
    kRunAgain,
  };
  static constexpr absl::Duration kUnknownOutcomeRetryWindow = absl::Seconds(15);

  // `feed` hears committed updates (and tells the other nodes of them),
  // `observer` (may be null) commits; both must outlive the writer.
  Writer(std::string conninfo, UpdateFeed& feed, StorageObserver* observer);
  ~Writer();  // Stop()s

  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Queues `op`; `done` runs on the writer thread once it committed (OK),
  // or with its error, or the commit's. It must not block; it may Submit().
  // After Stop(), `done` runs at once with UNAVAILABLE.
  void Submit(Operation op, Done done);
  // Refused with RESOURCE_EXHAUSTED when kMaxQueuedAdmissions operations
  // wait already (new work from callers).
  void SubmitIfNotOverloaded(Operation op, Done done,
                             WhenOutcomeUnknown when_unknown = WhenOutcomeUnknown::kFail);
  static constexpr size_t kMaxQueuedAdmissions = 10000;
  // Refused with UNAVAILABLE once Stop() has begun (work the repair at the
  // next start finishes anyway).
  void SubmitUnlessStopping(Operation op, Done done);
  // Submit() and wait. Not on the writer thread.
  absl::Status Run(Operation op) { return Run(WhenOutcomeUnknown::kFail, std::move(op)); }
  absl::Status Run(WhenOutcomeUnknown when_unknown, Operation op);

  size_t queue_length() const;

  // Runs everything queued (and its follow-ups), then stops. Idempotent.
  void Stop();

 private:
  struct Pending {
    Operation op;
    Done done;
    absl::Status result;
    std::vector<std::function<void(uint64_t)>> hooks;
    bool finished = false;  // failed on its own: not run again
    WhenOutcomeUnknown when_unknown = WhenOutcomeUnknown::kFail;
  };

  void Loop();
  // Runs `group` to its end: every member's `done` is called.
  void RunGroup(std::vector<Pending>& group);
  // Runs `group` until every member is finished (committed or failed),
  // trying again after deadlocks, once more on a new connection when the
  // old one was lost before COMMIT, and isolating a member PostgreSQL
  // refuses.
  void Settle(std::vector<Pending>& group);
  // One try at committing the members of `group` that are not finished.
  // Members that fail on their own are marked finished. Returns the
  // group's error (the transaction aborted, or the commit failed) and, in
  // `culprit`, the member that caused it when known.
  absl::Status TryGroup(std::vector<Pending>& group, int* culprit);
  // A usable connection, reconnecting (with backoff) when lost.
  absl::Status EnsureConnected();
  // After a commit whose outcome is unknown: fails the members that may not
  // run again, and waits (up to kUnknownOutcomeRetryWindow) for a
  // connection for the others. True if some are left to run again.
  bool PrepareRunAgain(std::vector<Pending>& group);

  const std::string conninfo_;
  UpdateFeed& feed_;
  StorageObserver* const observer_;
  std::unique_ptr<Connection> connection_;  // writer thread only
  absl::Time next_connect_attempt_ = absl::InfinitePast();
  absl::Duration connect_backoff_ = absl::ZeroDuration();

  mutable absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace wink::webhooks::storage::pg

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_WRITER_H_
