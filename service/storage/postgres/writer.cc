#include "service/storage/postgres/writer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "service/common/log.h"
#include "service/common/thread_name.h"
#include "service/storage/delivery_ledger.h"
#include "service/storage/records.h"
#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::storage::pg {
namespace {

using ::wink::webhooks::internal::v1::DeliveryUpdateRecord;

// A group stops growing at this many operations, so one slow commit cannot
// hold an unbounded number of callers.
constexpr size_t kMaxGroupOperations = 512;
// Deadlocks and serialization failures: how often a group is run again.
constexpr int kMaxGroupRetries = 5;

// Read committed whatever the database's default: each statement sees what
// committed before it (the fence check relies on it, partition_leases.h).
constexpr Sql kBegin{"begin", "BEGIN ISOLATION LEVEL READ COMMITTED"};
constexpr Sql kCommit{"commit", "COMMIT"};
// Taken last in a transaction and held until it commits: the numbers it
// hands out are gap-free and in commit order (writer.h).
constexpr Sql kTakeSequences{"take_sequences",
                             "UPDATE update_counter SET last = last + $1::int8 RETURNING last"};
constexpr Sql kInsertUpdate{
    "insert_update",
    "INSERT INTO updates (sequence, update_time_us, record) VALUES ($1::int8, $2::int8, $3)"};
constexpr Sql kSetWatchCursor{
    "set_watch_cursor", "UPDATE events SET watch_cursor = $3::int8 WHERE account = $1 AND id = $2"};

// What callers learn when PostgreSQL cannot be reached; the detail goes to
// the log.
constexpr absl::string_view kUnreachableMessage =
    "storage is unavailable (no writable PostgreSQL primary reachable now); nothing was stored, "
    "retry later";
constexpr absl::string_view kOutcomeUnknownMessage =
    "storage lost its connection while committing: the write may or may not have been stored; "
    "retry it (with the same idempotency key or request id, a retry is safe)";

// Marks a try that must run again because a member failed after sending
// writes (it is finished; the others are not).
constexpr absl::string_view kRunAgainMarker = "run the group again without the failed operation";
// Begins the error of a try whose connection was lost before its COMMIT
// was sent: the transaction cannot have committed.
constexpr absl::string_view kLostBeforeCommitMarker =
    "the connection was lost before COMMIT, nothing stored: ";

}  // namespace

absl::StatusOr<std::vector<Rows>> WriteTxn::Read(std::vector<Statement> statements) {
  const size_t writes = unsent_->size();
  if (writes > unsent_at_start_) sent_writes_ = true;
  std::vector<Statement> batch = std::move(*unsent_);
  unsent_->clear();
  unsent_at_start_ = 0;
  for (Statement& statement : statements) batch.push_back(std::move(statement));
  auto rows = connection_.Run(batch);
  if (!rows.ok()) {
    failed_ = true;
    return rows.status();
  }
  rows->erase(rows->begin(), rows->begin() + static_cast<long>(writes));
  return rows;
}

absl::StatusOr<Rows> WriteTxn::ReadOne(Statement statement) {
  std::vector<Statement> one;
  one.push_back(std::move(statement));
  auto rows = Read(std::move(one));
  if (!rows.ok()) return rows.status();
  return std::move(rows->front());
}

void WriteTxn::Write(Statement statement) { unsent_->push_back(std::move(statement)); }

void WriteTxn::AppendUpdate(domain::DeliveryRecord delivery) {
  updates_.push_back(std::move(delivery));
  ++appended_updates_;
}

void WriteTxn::SetWatchCursorAtCommit(std::string account, std::string event_id) {
  cursors_.push_back(WatchCursor{std::move(account), std::move(event_id),
                                 group_updates_before_ + appended_updates_});
}

void WriteTxn::OnCommit(std::function<void(uint64_t)> hook) { hooks_.push_back(std::move(hook)); }

Writer::Writer(std::string conninfo, UpdateFeed& feed, StorageObserver* observer)
    : conninfo_(std::move(conninfo)),
      feed_(feed),
      observer_(observer),
      thread_([this] {
        NameThisThread("wink-pg-writer");
        Loop();
      }) {}

Writer::~Writer() { Stop(); }

size_t Writer::queue_length() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

void Writer::Submit(Operation op, Done done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) {
      queue_.push_back(Pending{std::move(op), std::move(done), absl::OkStatus(), {}, false});
      return;
    }
  }
  done(absl::UnavailableError("the server is shutting down"));
}

void Writer::SubmitUnlessStopping(Operation op, Done done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      queue_.push_back(Pending{std::move(op), std::move(done), absl::OkStatus(), {}, false});
      return;
    }
  }
  done(absl::UnavailableError("the server is shutting down"));
}

void Writer::SubmitIfNotOverloaded(Operation op, Done done, WhenOutcomeUnknown when_unknown) {
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_ && queue_.size() < kMaxQueuedAdmissions) {
      queue_.push_back(
          Pending{std::move(op), std::move(done), absl::OkStatus(), {}, false, when_unknown});
      return;
    }
    refused = stopped_ ? absl::UnavailableError("the server is shutting down")
                       : absl::ResourceExhaustedError(
                             "the server is overloaded (storage is behind); retry with backoff");
  }
  done(std::move(refused));
}

absl::Status Writer::Run(WhenOutcomeUnknown when_unknown, Operation op) {
  absl::Notification finished;
  absl::Status result;
  Done done = [&](absl::Status status) {
    result = std::move(status);
    finished.Notify();
  };
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) {
      queue_.push_back(
          Pending{std::move(op), std::move(done), absl::OkStatus(), {}, false, when_unknown});
      done = nullptr;
    }
  }
  if (done) done(absl::UnavailableError("the server is shutting down"));
  finished.WaitForNotification();
  return result;
}

void Writer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      mu_.Await(absl::Condition(&stopped_));
      return;
    }
    stopping_ = true;
  }
  thread_.join();
}

void Writer::Loop() {
  std::vector<Pending> group;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]()
                          ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !queue_.empty() || stopping_; };
      mu_.Await(absl::Condition(&has_work));
      if (queue_.empty()) {
        stopped_ = true;
        return;
      }
      while (!queue_.empty() && group.size() < kMaxGroupOperations) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    RunGroup(group);
    group.clear();
  }
}

absl::Status Writer::EnsureConnected() {
  if (connection_ != nullptr && !connection_->broken()) return absl::OkStatus();
  connection_.reset();
  const absl::Time now = absl::Now();
  if (now < next_connect_attempt_) {
    return absl::UnavailableError("waiting before connecting to PostgreSQL again");
  }
  auto opened = Connection::Open(conninfo_);
  if (!opened.ok()) {
    connect_backoff_ =
        std::min(absl::Seconds(2), std::max(absl::Milliseconds(100), connect_backoff_ * 2));
    next_connect_attempt_ = now + connect_backoff_;
    return opened.status();
  }
  connect_backoff_ = absl::ZeroDuration();
  connection_ = *std::move(opened);
  return absl::OkStatus();
}

absl::Status Writer::TryGroup(std::vector<Pending>& group, int* culprit) {
  *culprit = -1;
  absl::Status connected = EnsureConnected();
  if (!connected.ok()) return connected;

  std::vector<Statement> unsent;
  unsent.push_back(Statement{kBegin, {}});
  std::vector<domain::DeliveryRecord> updates;
  std::vector<WriteTxn::WatchCursor> cursors;
  // Per member: the number of the group's updates appended before it.
  std::vector<int> updates_before(group.size(), 0);
  std::vector<bool> ran_ok(group.size(), false);
  const auto abort = [this](absl::Status error) {
    if (connection_->broken()) {
      if (error.ok()) return error;
      return absl::UnavailableError(absl::StrCat(kLostBeforeCommitMarker, error.message()));
    }
    connection_->Execute("ROLLBACK").IgnoreError();
    return error;
  };

  for (size_t i = 0; i < group.size(); ++i) {
    Pending& member = group[i];
    if (member.finished) continue;
    WriteTxn txn(*this, *connection_);
    txn.unsent_ = &unsent;
    txn.unsent_at_start_ = unsent.size();
    txn.group_updates_before_ = static_cast<int>(updates.size());
    absl::Status status = member.op(txn);
    if (txn.failed_) {
      *culprit = static_cast<int>(i);
      return abort(status.ok() ? absl::InternalError("a statement failed") : status);
    }
    if (!status.ok()) {
      member.result = std::move(status);
      member.finished = true;
      if (txn.sent_writes_) return abort(absl::AbortedError(kRunAgainMarker));
      unsent.resize(txn.unsent_at_start_);
      continue;
    }
    ran_ok[i] = true;
    member.hooks = std::move(txn.hooks_);
    updates_before[i] = static_cast<int>(updates.size());
    for (auto& update : txn.updates_) updates.push_back(std::move(update));
    for (auto& cursor : txn.cursors_) cursors.push_back(std::move(cursor));
  }
  const size_t committing = static_cast<size_t>(std::count(ran_ok.begin(), ran_ok.end(), true));
  if (committing == 0) {
    // Nothing to write (every member failed on its own).
    return abort(absl::OkStatus());
  }

  const absl::Time commit_start = absl::Now();
  uint64_t base = 0;
  if (!updates.empty() || !cursors.empty()) {
    unsent.push_back(Statement{kTakeSequences, {Param::Int(static_cast<int64_t>(updates.size()))}});
    auto rows = connection_->Run(unsent);
    if (!rows.ok()) return abort(rows.status());
    const Rows& counter = rows->back();
    if (counter.size() != 1) return abort(absl::InternalError("the update counter row is missing"));
    base = static_cast<uint64_t>(counter.Int(0, 0)) - updates.size();
    unsent.clear();
    for (size_t k = 0; k < updates.size(); ++k) {
      DeliveryUpdateRecord record;
      record.set_version(kUpdateRecordVersion);
      *record.mutable_delivery() = updates[k];
      unsent.push_back(Statement{
          kInsertUpdate,
          {Param::Int(static_cast<int64_t>(base + 1 + k)), Param::Int(updates[k].update_time_us()),
           Param::Bytes(record.SerializeAsString())}});
    }
    if (!updates.empty()) unsent.push_back(feed_.NotifyUpdatesStatement());
    for (const auto& cursor : cursors) {
      unsent.push_back(Statement{kSetWatchCursor,
                                 {Param::Text(cursor.account), Param::Text(cursor.event_id),
                                  Param::Int(static_cast<int64_t>(base + cursor.update_offset))}});
    }
  }
  unsent.push_back(Statement{kCommit, {}});
  auto committed = connection_->Run(unsent);
  if (!committed.ok()) {
    if (connection_->broken()) {
      // COMMIT may have reached the server: nobody can tell whether the
      // group is stored.
      LogLine(LogLevel::kError, "storage_commit_outcome_unknown")
          .Field("operations", static_cast<int64_t>(committing))
          .Field("error", committed.status().message());
      return absl::UnavailableError(kOutcomeUnknownMessage);
    }
    return abort(committed.status());
  }
  if (observer_ != nullptr) {
    observer_->OnCommit(static_cast<int>(committing), absl::Now() - commit_start);
  }
  if (!updates.empty()) feed_.OnLocalCommit(base + 1, std::move(updates));
  for (size_t i = 0; i < group.size(); ++i) {
    if (!ran_ok[i]) continue;
    Pending& member = group[i];
    member.finished = true;
    member.result = absl::OkStatus();
    const uint64_t sequence_before = base + static_cast<uint64_t>(updates_before[i]);
    for (auto& hook : member.hooks) hook(sequence_before);
    member.hooks.clear();
  }
  return absl::OkStatus();
}

bool Writer::PrepareRunAgain(std::vector<Pending>& group) {
  const bool any_may_run_again = std::any_of(group.begin(), group.end(), [](const Pending& member) {
    return !member.finished && member.when_unknown == WhenOutcomeUnknown::kRunAgain;
  });
  if (!any_may_run_again) return false;
  bool run_again = false;
  for (Pending& member : group) {
    if (member.finished) continue;
    if (member.when_unknown == WhenOutcomeUnknown::kRunAgain) {
      run_again = true;
      // Once: a second unknown outcome fails it.
      member.when_unknown = WhenOutcomeUnknown::kFail;
    } else {
      member.result = absl::UnavailableError(kOutcomeUnknownMessage);
      member.finished = true;
    }
  }
  if (!run_again) return false;
  const absl::Time deadline = absl::Now() + kUnknownOutcomeRetryWindow;
  while (!EnsureConnected().ok()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(100));
  }
  LogLine(LogLevel::kWarning, "storage_commit_run_again")
      .Field("reason", "the connection was lost during COMMIT")
      .Field("operations", static_cast<int64_t>(std::count_if(
                               group.begin(), group.end(),
                               [](const Pending& member) { return !member.finished; })));
  return true;
}

void Writer::Settle(std::vector<Pending>& group) {
  const auto unfinished = [&group] {
    return std::count_if(group.begin(), group.end(),
                         [](const Pending& member) { return !member.finished; });
  };
  const auto fail_unfinished = [&group](const absl::Status& error) {
    for (Pending& member : group) {
      if (member.finished) continue;
      member.result = error;
      member.finished = true;
    }
  };
  int retries = 0;
  bool reconnected = false;
  while (unfinished() > 0) {
    int culprit = -1;
    const absl::Status error = TryGroup(group, &culprit);
    if (error.ok()) continue;
    if (absl::IsAborted(error) && error.message() == kRunAgainMarker) continue;
    if (absl::IsAborted(error) && retries++ < kMaxGroupRetries) continue;  // deadlock
    if (!reconnected && absl::StartsWith(error.message(), kLostBeforeCommitMarker)) {
      // Typically the connection went stale while idle (its server was
      // restarted, or a standby promoted in its place) and this group was
      // the first to find out. Nothing of it is stored, so it runs once
      // more on a new connection rather than failing its callers.
      reconnected = true;
      if (EnsureConnected().ok()) {
        LogLine(LogLevel::kWarning, "storage_reconnected")
            .Field("operations", static_cast<int64_t>(unfinished()))
            .Field("error", error.message());
        continue;
      }
    }
    if (error.message() == kOutcomeUnknownMessage && PrepareRunAgain(group)) continue;
    if (absl::IsUnavailable(error) || error.message() == kOutcomeUnknownMessage) {
      LogLine(LogLevel::kError, "storage_commit_failed")
          .Field("operations", static_cast<int64_t>(unfinished()))
          .Field("error", error.message());
      if (observer_ != nullptr) observer_->OnCommitFailed(static_cast<int>(unfinished()), error);
      // Callers learn what they can do; PostgreSQL's words went to the log.
      fail_unfinished(absl::UnavailableError(
          error.message() == kOutcomeUnknownMessage     ? kOutcomeUnknownMessage
          : absl::StrContains(error.message(), "space") ? kStorageUnwritableMessage
                                                        : kUnreachableMessage));
      return;
    }
    if (unfinished() == 1) {
      fail_unfinished(error);
      return;
    }
    // PostgreSQL refused a statement and the group cannot tell whose: run
    // the members one per transaction, so that only that one fails.
    for (Pending& member : group) {
      if (member.finished) continue;
      std::vector<Pending> single;
      single.push_back(std::move(member));
      Settle(single);
      member = std::move(single.front());
    }
    return;
  }
}

void Writer::RunGroup(std::vector<Pending>& group) {
  Settle(group);
  for (Pending& member : group) {
    if (member.result.code() == absl::StatusCode::kInternal) {
      LogLine(LogLevel::kError, "storage_operation_failed").Field("error", member.result.message());
    }
    member.done(std::move(member.result));
  }
}

}  // namespace wink::webhooks::storage::pg
