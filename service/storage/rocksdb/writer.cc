#include "service/storage/rocksdb/writer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "service/common/log.h"
#include "service/common/thread_name.h"
#include "service/storage/delivery_ledger.h"
#include "service/storage/rocksdb/database.h"
#include "service/storage/rocksdb/keys.h"

namespace wink::webhooks::storage::rocks {
namespace {

// A group stops growing at this many operations, so one slow commit cannot
// hold an unbounded number of callers, and at this many staged bytes.
constexpr size_t kMaxGroupOperations = 512;
constexpr size_t kMaxGroupBytes = 16 << 20;

}  // namespace

absl::StatusOr<std::string> WriteTxn::Get(ColumnFamily cf, absl::string_view key) {
  return staged_.Get(cf, key);
}

std::vector<absl::StatusOr<std::string>> WriteTxn::MultiGet(
    ColumnFamily cf, const std::vector<absl::string_view>& keys) {
  return staged_.MultiGet(cf, keys);
}

void WriteTxn::Put(ColumnFamily cf, absl::string_view key, absl::string_view value) {
  writer_.StampChange(cf);
  staged_.Put(cf, key, value);
}

void WriteTxn::Delete(ColumnFamily cf, absl::string_view key) {
  writer_.StampChange(cf);
  staged_.Delete(cf, key);
}

absl::Status WriteTxn::Scan(
    ColumnFamily cf, absl::string_view prefix, absl::string_view start,
    const std::function<bool(absl::string_view key, absl::string_view value)>& visit) {
  return staged_.Scan(cf, prefix, start, visit);
}

uint64_t WriteTxn::AppendUpdate(absl::string_view value) {
  const uint64_t sequence = next_sequence_++;
  Put(ColumnFamily::kUpdates, UpdateKey(sequence), value);
  return sequence;
}

uint64_t WriteTxn::change_stamp(ColumnFamily cf) const {
  return writer_.change_stamps_[static_cast<int>(cf)];
}

void WriteTxn::OnCommit(std::function<void()> hook) { hooks_.push_back(std::move(hook)); }

Writer::Writer(Database& db, uint64_t next_update_sequence, StorageObserver* observer)
    : db_(db),
      next_sequence_(next_update_sequence),
      observer_(observer),
      staged_(db),
      thread_([this] {
        NameThisThread("wink-writer");
        Loop();
      }) {}

void Writer::StampChange(ColumnFamily cf) {
  change_stamps_[static_cast<int>(cf)] = ++last_change_stamp_;
}

void Writer::StampChangeOfEveryFamily() {
  ++last_change_stamp_;
  change_stamps_.fill(last_change_stamp_);
}

size_t Writer::queue_length() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

Writer::~Writer() { Stop(); }

void Writer::Submit(Operation op, Done done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) {
      queue_.push_back(Pending{std::move(op), std::move(done)});
      return;
    }
  }
  done(absl::UnavailableError("the server is shutting down"));
}

void Writer::SubmitUnlessStopping(Operation op, Done done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      queue_.push_back(Pending{std::move(op), std::move(done)});
      return;
    }
  }
  done(absl::UnavailableError("the server is shutting down"));
}

void Writer::SubmitIfNotOverloaded(Operation op, Done done) {
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_ && queue_.size() < kMaxQueuedAdmissions) {
      queue_.push_back(Pending{std::move(op), std::move(done), /*done_on_reply_thread=*/true});
      return;
    }
    refused = stopped_ ? absl::UnavailableError("the server is shutting down")
                       : absl::ResourceExhaustedError(
                             "the server is overloaded (storage is behind); retry with backoff");
  }
  done(std::move(refused));
}

absl::Status Writer::Run(Operation op) {
  absl::Notification finished;
  absl::Status result;
  Submit(std::move(op), [&](absl::Status status) {
    result = std::move(status);
    finished.Notify();
  });
  finished.WaitForNotification();
  return result;
}

uint64_t Writer::next_update_sequence() const {
  absl::MutexLock lock(&mu_);
  return next_sequence_;
}

void Writer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      // Another caller is stopping (or has stopped) it; wait for the thread.
      mu_.Await(absl::Condition(&stopped_));
      return;
    }
    stopping_ = true;
  }
  thread_.join();
  // After the writer's last group: its replies were posted before this.
  replies_.Stop();
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
    CommitGroup(group);
    group.clear();
  }
}

void Writer::CommitGroup(std::vector<Pending>& group) {
  uint64_t next_sequence;
  {
    absl::MutexLock lock(&mu_);
    next_sequence = next_sequence_;
  }
  const uint64_t group_start_sequence = next_sequence;
  const uint64_t webhooks_stamp_before = change_stamps_[static_cast<int>(ColumnFamily::kWebhooks)];
  std::vector<absl::Status> results(group.size());
  std::vector<std::vector<std::function<void()>>> hooks(group.size());
  size_t ran = 0;
  const absl::Time run_start = absl::Now();
  for (; ran < group.size(); ++ran) {
    if (staged_.data_bytes() > kMaxGroupBytes) break;
    if (observer_ != nullptr) observer_->OnWriteWaited(absl::Now() - group[ran].submitted);
    staged_.SetSavePoint();
    const uint64_t sequence_before = next_sequence;
    const uint32_t staged_before = staged_.count();
    WriteTxn txn(*this, staged_, next_sequence);
    results[ran] = group[ran].op(txn);
    if (results[ran].ok()) {
      hooks[ran] = std::move(txn.hooks_);
    } else {
      const bool staged = staged_.count() != staged_before;
      staged_.RollbackToSavePoint();
      next_sequence = sequence_before;
      // What the operation staged is gone: whatever was read since it
      // staged it no longer holds.
      if (staged) StampChangeOfEveryFamily();
    }
  }
  // Operations that did not fit go back to the front of the queue, in order.
  if (ran < group.size()) {
    absl::MutexLock lock(&mu_);
    for (size_t i = group.size(); i-- > ran;) queue_.push_front(std::move(group[i]));
    group.resize(ran);
  }

  const absl::Duration run = absl::Now() - run_start;
  absl::Status commit = absl::OkStatus();
  if (staged_.count() > 0) {
    const absl::Time commit_start = absl::Now();
    commit = db_.Write(staged_.batch());
    if (observer_ != nullptr && commit.ok()) {
      observer_->OnCommit(static_cast<int>(group.size()), absl::Now() - commit_start);
    }
  }
  staged_.Clear();
  if (commit.ok() &&
      change_stamps_[static_cast<int>(ColumnFamily::kWebhooks)] != webhooks_stamp_before) {
    webhooks_generation_.fetch_add(1, std::memory_order_release);
  }
  if (!commit.ok()) {
    LogLine(LogLevel::kError, "storage_commit_failed")
        .Field("operations", static_cast<int64_t>(group.size()))
        .Field("error", commit.message());
    if (observer_ != nullptr) observer_->OnCommitFailed(static_cast<int>(group.size()), commit);
    next_sequence = group_start_sequence;
    StampChangeOfEveryFamily();  // nothing of the group is in the database
    // The detail (paths, RocksDB's words) is for the log; callers learn
    // what they can do about it.
    if (absl::IsUnavailable(commit)) commit = absl::UnavailableError(kStorageUnwritableMessage);
  }
  {
    absl::MutexLock lock(&mu_);
    next_sequence_ = next_sequence;
  }
  const absl::Time finish_start = absl::Now();
  std::vector<SerialExecutor::Task> replies;
  for (size_t i = 0; i < group.size(); ++i) {
    absl::Status status = commit.ok() ? results[i] : commit;
    if (status.ok()) {
      for (auto& hook : hooks[i]) hook();
    }
    if (group[i].done_on_reply_thread) {
      replies.push_back([done = std::move(group[i].done), status = std::move(status)]() mutable {
        done(std::move(status));
      });
    } else {
      group[i].done(std::move(status));
    }
  }
  replies_.Post(std::move(replies));
  if (observer_ != nullptr) observer_->OnGroupWork(run, absl::Now() - finish_start);
}

}  // namespace wink::webhooks::storage::rocks
