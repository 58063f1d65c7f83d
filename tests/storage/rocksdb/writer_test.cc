#include "service/storage/rocksdb/writer.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/storage/rocksdb/column_families.h"
#include "service/storage/rocksdb/database.h"
#include "service/storage/rocksdb/keys.h"
#include "tests/fakes/full_disk.h"
#include "tests/fakes/temp_dir.h"

namespace wink::webhooks::storage::rocks {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::wink::webhooks::testing::FullDisk;
using ::wink::webhooks::testing::TempDir;

// The writer does not care what the keys mean; the tests use their own keys in
// the default column family (which otherwise holds only "schema").
constexpr ColumnFamily kCf = ColumnFamily::kDefault;

// The result of one submitted operation.
struct Outcome {
  Writer::Done Callback() {
    return [this](absl::Status result) {
      status = std::move(result);
      done.Notify();
    };
  }
  absl::Status Wait() {
    done.WaitForNotification();
    return status;
  }

  absl::Notification done;
  absl::Status status;
};

// Holds the writer thread inside an operation until Release(): operations
// submitted meanwhile queue up and then run as one group, uncommitted while
// the later ones run.
class WriterBlocker {
 public:
  explicit WriterBlocker(Writer& writer) {
    writer.Submit(
        [this](WriteTxn&) {
          started_.Notify();
          release_.WaitForNotification();
          return absl::OkStatus();
        },
        outcome_.Callback());
    started_.WaitForNotification();
  }
  ~WriterBlocker() {
    Release();
    outcome_.Wait().IgnoreError();
  }

  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }

 private:
  absl::Notification started_;
  absl::Notification release_;
  Outcome outcome_;
};

class WriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DatabaseOptions options;
    options.path = dir_.Child("db");
    options.sync_writes = false;  // logic, not durability, is under test
    auto db = Database::Open(options);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    writer_ = std::make_unique<Writer>(*db_, kFirstSequence);
  }

  void TearDown() override { writer_->Stop(); }

  // The committed value of `key`, or "<absent>".
  std::string Committed(absl::string_view key) {
    auto value = db_->Get(kCf, key);
    if (absl::IsNotFound(value.status())) return "<absent>";
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? *value : "<error>";
  }

  // Every committed update-log entry as (sequence, value).
  std::vector<std::pair<uint64_t, std::string>> UpdateLog() {
    std::vector<std::pair<uint64_t, std::string>> entries;
    std::unique_ptr<rocksdb::Iterator> it = db_->NewIterator(ColumnFamily::kUpdates);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      uint64_t sequence = 0;
      EXPECT_TRUE(
          DecodeUpdateKey(absl::string_view(it->key().data(), it->key().size()), &sequence));
      entries.emplace_back(sequence, it->value().ToString());
    }
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return entries;
  }

  static constexpr uint64_t kFirstSequence = 41;

  TempDir dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Writer> writer_;
};

TEST_F(WriterTest, OperationsRunInSubmissionOrder) {
  std::vector<int> ran;  // touched only on the writer thread until all are done
  constexpr int kOperations = 20;
  std::vector<Outcome> outcomes(kOperations);
  {
    WriterBlocker blocker(*writer_);
    for (int i = 0; i < kOperations; ++i) {
      writer_->Submit(
          [&ran, i](WriteTxn&) {
            ran.push_back(i);
            return absl::OkStatus();
          },
          outcomes[i].Callback());
    }
  }
  // Unblocked: these go to a group of their own, after the first twenty.
  for (int i = kOperations; i < kOperations + 5; ++i) {
    ASSERT_TRUE(writer_
                    ->Run([&ran, i](WriteTxn&) {
                      ran.push_back(i);
                      return absl::OkStatus();
                    })
                    .ok());
  }
  for (auto& outcome : outcomes) ASSERT_TRUE(outcome.Wait().ok()) << outcome.status;

  std::vector<int> expected;
  for (int i = 0; i < kOperations + 5; ++i) expected.push_back(i);
  EXPECT_EQ(ran, expected);
}

TEST_F(WriterTest, ALaterOperationOfTheGroupReadsAnEarlierOperationsStagedPut) {
  Outcome first, second;
  absl::StatusOr<std::string> seen_in_txn;
  std::string seen_in_db;
  {
    WriterBlocker blocker(*writer_);
    writer_->Submit(
        [](WriteTxn& txn) {
          txn.Put(kCf, "k", "v1");
          return absl::OkStatus();
        },
        first.Callback());
    writer_->Submit(
        [&](WriteTxn& txn) {
          seen_in_txn = txn.Get(kCf, "k");
          // Proof that both run in one group: nothing is committed yet.
          seen_in_db = Committed("k");
          txn.Put(kCf, "k", seen_in_txn.value_or("?") + "+v2");
          return absl::OkStatus();
        },
        second.Callback());
  }
  ASSERT_TRUE(first.Wait().ok()) << first.status;
  ASSERT_TRUE(second.Wait().ok()) << second.status;

  ASSERT_TRUE(seen_in_txn.ok()) << seen_in_txn.status();
  EXPECT_EQ(*seen_in_txn, "v1");
  EXPECT_EQ(seen_in_db, "<absent>");
  EXPECT_EQ(Committed("k"), "v1+v2");
}

// What an operation saw of the change stamps of two families.
struct Stamps {
  uint64_t webhooks = 0;
  uint64_t events = 0;
};

Writer::Operation RecordStamps(Stamps& into) {
  return [&into](WriteTxn& txn) {
    into.webhooks = txn.change_stamp(ColumnFamily::kWebhooks);
    into.events = txn.change_stamp(ColumnFamily::kEvents);
    return absl::OkStatus();
  };
}

TEST_F(WriterTest, AChangeStampChangesWithEveryWriteToItsFamilyAndNothingElse) {
  Stamps start, after_event_put, next_group, after_webhook_delete;
  ASSERT_TRUE(writer_->Run(RecordStamps(start)).ok());
  ASSERT_TRUE(writer_
                  ->Run([&](WriteTxn& txn) {
                    txn.Put(ColumnFamily::kEvents, "e", "1");
                    return RecordStamps(after_event_put)(txn);
                  })
                  .ok());
  // Reads, other groups and commits change nothing.
  ASSERT_TRUE(writer_
                  ->Run([](WriteTxn& txn) {
                    return txn.Get(ColumnFamily::kWebhooks, "w").status().code() ==
                                   absl::StatusCode::kNotFound
                               ? absl::OkStatus()
                               : absl::InternalError("unexpected webhook");
                  })
                  .ok());
  ASSERT_TRUE(writer_->Run(RecordStamps(next_group)).ok());
  ASSERT_TRUE(writer_
                  ->Run([&](WriteTxn& txn) {
                    txn.Delete(ColumnFamily::kWebhooks, "w");
                    return RecordStamps(after_webhook_delete)(txn);
                  })
                  .ok());

  EXPECT_NE(after_event_put.events, start.events);
  EXPECT_EQ(after_event_put.webhooks, start.webhooks);
  EXPECT_EQ(next_group.events, after_event_put.events);
  EXPECT_EQ(next_group.webhooks, start.webhooks);
  EXPECT_NE(after_webhook_delete.webhooks, next_group.webhooks);
  EXPECT_EQ(after_webhook_delete.events, next_group.events);
}

TEST_F(WriterTest, ARollbackOfStagedWritesChangesEveryStampAndOneOfNoWritesNone) {
  Stamps before, after_empty_failure, after_staged_failure;
  Outcome first, empty_failure, second, staged_failure, third;
  {
    WriterBlocker blocker(*writer_);
    writer_->Submit(RecordStamps(before), first.Callback());
    writer_->Submit([](WriteTxn&) { return absl::AbortedError("gave up before writing"); },
                    empty_failure.Callback());
    writer_->Submit(RecordStamps(after_empty_failure), second.Callback());
    writer_->Submit(
        [](WriteTxn& txn) {
          txn.Put(ColumnFamily::kDeliveries, "d", "1");
          return absl::AbortedError("gave up after writing");
        },
        staged_failure.Callback());
    writer_->Submit(RecordStamps(after_staged_failure), third.Callback());
  }
  ASSERT_TRUE(third.Wait().ok()) << third.status;
  EXPECT_EQ(staged_failure.Wait().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(empty_failure.Wait().code(), absl::StatusCode::kAborted);

  EXPECT_EQ(after_empty_failure.webhooks, before.webhooks);
  EXPECT_EQ(after_empty_failure.events, before.events);
  // Neither family was written, yet what was read of either before the
  // rollback may have included the rolled-back writes.
  EXPECT_NE(after_staged_failure.webhooks, before.webhooks);
  EXPECT_NE(after_staged_failure.events, before.events);
}

// A group whose commit fails leaves nothing of its staged writes, though its
// operations read them: every family's stamp moves, so nothing kept from
// those reads outlives the failure.
TEST(WriterCommitFailureTest, AFailedCommitChangesEveryStamp) {
  FullDisk disk;
  TempDir dir;
  DatabaseOptions options;
  options.path = dir.Child("db");
  options.env = disk.env();
  auto db = Database::Open(options);
  ASSERT_TRUE(db.ok()) << db.status();
  Writer writer(**db, /*next_update_sequence=*/1);

  Stamps before, staged, after_failure;
  Outcome writes, reads;
  {
    WriterBlocker blocker(writer);
    writer.Submit(
        [&](WriteTxn& txn) {
          RecordStamps(before)(txn).IgnoreError();
          txn.Put(ColumnFamily::kWebhooks, "w", "1");
          disk.SetFull(true);  // this group's commit fails
          return absl::OkStatus();
        },
        writes.Callback());
    writer.Submit(RecordStamps(staged), reads.Callback());
  }
  EXPECT_FALSE(writes.Wait().ok());
  EXPECT_FALSE(reads.Wait().ok()) << "the commit of the whole group failed";
  EXPECT_GT(disk.refused_writes(), 0);
  // The next operation runs whether or not storage takes writes again.
  writer.Run(RecordStamps(after_failure)).IgnoreError();
  writer.Stop();

  EXPECT_NE(staged.webhooks, before.webhooks);
  EXPECT_EQ(staged.events, before.events);
  EXPECT_NE(after_failure.webhooks, staged.webhooks);
  EXPECT_NE(after_failure.events, staged.events);
  auto committed = (*db)->Get(ColumnFamily::kWebhooks, "w");
  EXPECT_EQ(committed.status().code(), absl::StatusCode::kNotFound) << committed.status();
}

TEST_F(WriterTest, GetOfAStagedDeleteIsNotFound) {
  ASSERT_TRUE(writer_
                  ->Run([](WriteTxn& txn) {
                    txn.Put(kCf, "k", "v");
                    return absl::OkStatus();
                  })
                  .ok());
  absl::StatusOr<std::string> before_delete, after_delete;

  ASSERT_TRUE(writer_
                  ->Run([&](WriteTxn& txn) {
                    before_delete = txn.Get(kCf, "k");
                    txn.Delete(kCf, "k");
                    after_delete = txn.Get(kCf, "k");
                    return absl::OkStatus();
                  })
                  .ok());

  ASSERT_TRUE(before_delete.ok()) << before_delete.status();
  EXPECT_EQ(*before_delete, "v");
  EXPECT_EQ(after_delete.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Committed("k"), "<absent>");
}

TEST_F(WriterTest, AFailingOperationIsRolledBackWhileTheRestOfTheGroupCommits) {
  ASSERT_TRUE(writer_
                  ->Run([](WriteTxn& txn) {
                    txn.Put(kCf, "existing", "old");
                    return absl::OkStatus();
                  })
                  .ok());
  Outcome a, failing, c;
  absl::StatusOr<std::string> c_saw_b, c_saw_existing;
  {
    WriterBlocker blocker(*writer_);
    writer_->Submit(
        [](WriteTxn& txn) {
          txn.Put(kCf, "a", "1");
          return absl::OkStatus();
        },
        a.Callback());
    writer_->Submit(
        [](WriteTxn& txn) {
          txn.Put(kCf, "b", "2");
          txn.Put(kCf, "a", "overwritten by the failing op");
          txn.Delete(kCf, "existing");
          return absl::AbortedError("b gave up");
        },
        failing.Callback());
    writer_->Submit(
        [&](WriteTxn& txn) {
          c_saw_b = txn.Get(kCf, "b");
          c_saw_existing = txn.Get(kCf, "existing");
          txn.Put(kCf, "c", "3");
          return absl::OkStatus();
        },
        c.Callback());
  }

  EXPECT_TRUE(a.Wait().ok()) << a.status;
  EXPECT_EQ(failing.Wait().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(failing.status.message(), "b gave up");
  EXPECT_TRUE(c.Wait().ok()) << c.status;
  EXPECT_EQ(c_saw_b.status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(c_saw_existing.ok()) << c_saw_existing.status();
  EXPECT_EQ(*c_saw_existing, "old");
  EXPECT_EQ(Committed("a"), "1");
  EXPECT_EQ(Committed("b"), "<absent>");
  EXPECT_EQ(Committed("c"), "3");
  EXPECT_EQ(Committed("existing"), "old");
}

// The queues and logs operations only write bypass the group's index of
// staged writes. A rollback must still take back exactly the failed
// operation's writes to them, and reads of the other families must still see
// every staged write around them.
TEST_F(WriterTest, ARollbackAmongWritesToUnreadFamiliesTakesBackOnlyTheFailedOperations) {
  ASSERT_FALSE(WriteTxn::IsReadInGroups(ColumnFamily::kDue));
  ASSERT_TRUE(WriteTxn::IsReadInGroups(kCf));
  ASSERT_TRUE(writer_
                  ->Run([](WriteTxn& txn) {
                    txn.Put(ColumnFamily::kDue, "queued before", "");
                    return absl::OkStatus();
                  })
                  .ok());
  Outcome a, failing, c;
  absl::StatusOr<std::string> c_saw_a, c_saw_failing;
  {
    WriterBlocker blocker(*writer_);
    writer_->Submit(
        [](WriteTxn& txn) {
          txn.Put(ColumnFamily::kDue, "due a", "");
          txn.Put(kCf, "a", "1");
          txn.Put(ColumnFamily::kAttempts, "attempt a", "x");
          return absl::OkStatus();
        },
        a.Callback());
    writer_->Submit(
        [](WriteTxn& txn) {
          txn.Put(kCf, "failing", "2");
          txn.Put(ColumnFamily::kDue, "due failing", "");
          txn.Delete(ColumnFamily::kDue, "queued before");
          txn.Put(ColumnFamily::kAttempts, "attempt a", "overwritten by the failing op");
          return absl::AbortedError("gave up");
        },
        failing.Callback());
    writer_->Submit(
        [&](WriteTxn& txn) {
          c_saw_a = txn.Get(kCf, "a");
          c_saw_failing = txn.Get(kCf, "failing");
          txn.Put(ColumnFamily::kDue, "due c", "");
          return absl::OkStatus();
        },
        c.Callback());
  }

  EXPECT_TRUE(a.Wait().ok()) << a.status;
  EXPECT_EQ(failing.Wait().code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(c.Wait().ok()) << c.status;
  ASSERT_TRUE(c_saw_a.ok()) << c_saw_a.status();
  EXPECT_EQ(*c_saw_a, "1");
  EXPECT_EQ(c_saw_failing.status().code(), absl::StatusCode::kNotFound);
  std::vector<std::string> due;
  std::unique_ptr<rocksdb::Iterator> it = db_->NewIterator(ColumnFamily::kDue);
  for (it->SeekToFirst(); it->Valid(); it->Next()) due.push_back(it->key().ToString());
  EXPECT_THAT(due, ElementsAre("due a", "due c", "queued before"));
  auto attempt = db_->Get(ColumnFamily::kAttempts, "attempt a");
  ASSERT_TRUE(attempt.ok()) << attempt.status();
  EXPECT_EQ(*attempt, "x");
}

// Reads of those families would miss the group's staged writes to them, so
// they are refused rather than answered wrongly.
TEST_F(WriterTest, AnOperationCannotReadAFamilyThatOperationsOnlyWrite) {
  absl::StatusOr<std::string> got;
  absl::Status scanned;
  int visited = 0;
  ASSERT_TRUE(writer_
                  ->Run([&](WriteTxn& txn) {
                    txn.Put(ColumnFamily::kUpdates, "u", "v");
                    got = txn.Get(ColumnFamily::kUpdates, "u");
                    scanned = txn.Scan(ColumnFamily::kDueByWebhook, "", "",
                                       [&](absl::string_view, absl::string_view) {
                                         ++visited;
                                         return true;
                                       });
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(got.status().message()), ::testing::HasSubstr("\"updates\""));
  EXPECT_EQ(scanned.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(visited, 0);
}

TEST_F(WriterTest, UpdateSequencesAreConsecutiveAndAFailedOperationsNumbersAreReused) {
  Outcome a, failing, c;
  std::vector<uint64_t> a_got, failing_got, c_got;
  uint64_t c_saw_next = 0;
  {
    WriterBlocker blocker(*writer_);
    writer_->Submit(
        [&](WriteTxn& txn) {
          a_got.push_back(txn.AppendUpdate("a1"));
          a_got.push_back(txn.AppendUpdate("a2"));
          return absl::OkStatus();
        },
        a.Callback());
    writer_->Submit(
        [&](WriteTxn& txn) {
          failing_got.push_back(txn.AppendUpdate("lost1"));
          failing_got.push_back(txn.AppendUpdate("lost2"));
          return absl::InternalError("boom");
        },
        failing.Callback());
    writer_->Submit(
        [&](WriteTxn& txn) {
          c_saw_next = txn.next_update_sequence();
          c_got.push_back(txn.AppendUpdate("c1"));
          return absl::OkStatus();
        },
        c.Callback());
  }
  ASSERT_TRUE(a.Wait().ok());
  ASSERT_EQ(failing.Wait().code(), absl::StatusCode::kInternal);
  ASSERT_TRUE(c.Wait().ok());

  EXPECT_THAT(a_got, ElementsAre(41u, 42u));
  EXPECT_THAT(failing_got, ElementsAre(43u, 44u));
  EXPECT_EQ(c_saw_next, 43u);
  EXPECT_THAT(c_got, ElementsAre(43u));
  EXPECT_EQ(writer_->next_update_sequence(), 44u);

  // The next group continues where this one ended.
  uint64_t next_group_got = 0;
  ASSERT_TRUE(writer_
                  ->Run([&](WriteTxn& txn) {
                    next_group_got = txn.AppendUpdate("d1");
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(next_group_got, 44u);
  EXPECT_EQ(writer_->next_update_sequence(), 45u);
  EXPECT_THAT(UpdateLog(),
              ElementsAre(Pair(41u, "a1"), Pair(42u, "a2"), Pair(43u, "c1"), Pair(44u, "d1")));
}

TEST_F(WriterTest, AFailedOperationAloneLeavesTheSequenceUnchanged) {
  EXPECT_EQ(writer_
                ->Run([](WriteTxn& txn) {
                  txn.AppendUpdate("lost");
                  return absl::FailedPreconditionError("no");
                })
                .code(),
            absl::StatusCode::kFailedPrecondition);

  EXPECT_EQ(writer_->next_update_sequence(), kFirstSequence);
  EXPECT_TRUE(UpdateLog().empty());
}

TEST_F(WriterTest, OnCommitHooksRunOnlyForSuccessfulOperationsAfterCommitBeforeDone) {
  absl::Mutex mu;
  std::vector<std::string> events;
  auto record = [&](std::string event) {
    absl::MutexLock lock(&mu);
    events.push_back(std::move(event));
  };
  Outcome ok_op, failing_op;
  {
    WriterBlocker blocker(*writer_);
    writer_->Submit(
        [&](WriteTxn& txn) {
          txn.Put(kCf, "hooked", "yes");
          txn.OnCommit([&] {
            // Durable by now: visible straight in the database.
            record(absl::StrCat("hook ok, committed=", Committed("hooked")));
          });
          txn.OnCommit([&] { record("second hook ok"); });
          return absl::OkStatus();
        },
        [&](absl::Status status) {
          record(absl::StrCat("done ok: ", status.ToString()));
          ok_op.Callback()(status);
        });
    writer_->Submit(
        [&](WriteTxn& txn) {
          txn.OnCommit([&] { record("hook of the failing op"); });
          return absl::NotFoundError("gone");
        },
        [&](absl::Status status) {
          record(absl::StrCat("done failing: ", absl::StatusCodeToString(status.code())));
          failing_op.Callback()(status);
        });
  }
  ok_op.Wait().IgnoreError();
  failing_op.Wait().IgnoreError();

  absl::MutexLock lock(&mu);
  EXPECT_THAT(events, ElementsAre("hook ok, committed=yes", "second hook ok", "done ok: OK",
                                  "done failing: NOT_FOUND"));
}

TEST_F(WriterTest, RunReturnsTheOperationsResult) {
  const absl::Status failed =
      writer_->Run([](WriteTxn&) { return absl::ResourceExhaustedError("limit: too many"); });
  EXPECT_EQ(failed.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(failed.message(), "limit: too many");

  EXPECT_TRUE(writer_
                  ->Run([](WriteTxn& txn) {
                    txn.Put(kCf, "k", "v");
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(Committed("k"), "v");
}

TEST_F(WriterTest, SubmitAfterStopIsUnavailableAndDoesNotRunTheOperation) {
  writer_->Stop();
  bool ran = false;
  absl::Status result;
  bool done_called = false;

  writer_->Submit(
      [&](WriteTxn&) {
        ran = true;
        return absl::OkStatus();
      },
      [&](absl::Status status) {
        done_called = true;
        result = std::move(status);
      });

  EXPECT_TRUE(done_called) << "done runs at once after Stop()";
  EXPECT_EQ(result.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(ran);
  EXPECT_EQ(writer_->Run([](WriteTxn&) { return absl::OkStatus(); }).code(),
            absl::StatusCode::kUnavailable);
  writer_->Stop();  // idempotent
}

TEST_F(WriterTest, AdmissionIsRefusedWhileTooManyOperationsWait) {
  std::atomic<int> ran{0};
  absl::Status refused;
  bool refused_at_once = false;
  {
    WriterBlocker blocker(*writer_);
    for (size_t i = 0; i < Writer::kMaxQueuedAdmissions; ++i) {
      writer_->SubmitIfNotOverloaded(
          [&](WriteTxn&) {
            ++ran;
            return absl::OkStatus();
          },
          [](absl::Status) {});
    }
    writer_->SubmitIfNotOverloaded([&](WriteTxn&) { return absl::OkStatus(); },
                                   [&](absl::Status status) {
                                     refused = std::move(status);
                                     refused_at_once = true;
                                   });
    // Decided before the writer runs anything again.
    EXPECT_TRUE(refused_at_once);
  }
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(writer_->Run([](WriteTxn&) { return absl::OkStatus(); }).ok());
  EXPECT_EQ(ran.load(), static_cast<int>(Writer::kMaxQueuedAdmissions));
}

TEST_F(WriterTest, AnAdmissionsDoneRunsOnTheReplyThreadInOrderAfterItsHooks) {
  absl::Mutex mu;
  std::vector<std::string> events;
  std::thread::id writer_thread, reply_thread;
  auto record = [&](std::string event) {
    absl::MutexLock lock(&mu);
    events.push_back(std::move(event));
  };
  absl::Notification first_reply_started, first_reply_may_finish;
  constexpr int kAdmissions = 3;
  std::vector<Outcome> outcomes(kAdmissions);
  {
    WriterBlocker blocker(*writer_);
    for (int i = 0; i < kAdmissions; ++i) {
      writer_->SubmitIfNotOverloaded(
          [&, i](WriteTxn& txn) {
            txn.Put(kCf, absl::StrCat("admitted-", i), "yes");
            txn.OnCommit([&, i] {
              writer_thread = std::this_thread::get_id();
              record(absl::StrCat("hook ", i));
            });
            return absl::OkStatus();
          },
          [&, i](absl::Status status) {
            reply_thread = std::this_thread::get_id();
            record(absl::StrCat("done ", i, ": ", status.ToString()));
            if (i == 0) {
              first_reply_started.Notify();
              first_reply_may_finish.WaitForNotification();
            }
            outcomes[i].Callback()(status);
          });
    }
  }
  // A slow reply does not hold the writer: the next operation commits while
  // the first caller is still being answered.
  first_reply_started.WaitForNotification();
  EXPECT_TRUE(writer_
                  ->Run([](WriteTxn& txn) {
                    txn.Put(kCf, "later", "committed");
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(Committed("later"), "committed");
  first_reply_may_finish.Notify();
  for (Outcome& outcome : outcomes) EXPECT_TRUE(outcome.Wait().ok());

  absl::MutexLock lock(&mu);
  EXPECT_THAT(events,
              ElementsAre("hook 0", "hook 1", "hook 2", "done 0: OK", "done 1: OK", "done 2: OK"));
  EXPECT_NE(reply_thread, writer_thread);
}

TEST_F(WriterTest, StopAnswersEveryAdmittedCallerBeforeItReturns) {
  constexpr int kAdmissions = 50;
  std::atomic<int> answered{0};
  {
    WriterBlocker blocker(*writer_);
    for (int i = 0; i < kAdmissions; ++i) {
      writer_->SubmitIfNotOverloaded([](WriteTxn&) { return absl::OkStatus(); },
                                     [&](absl::Status status) {
                                       EXPECT_TRUE(status.ok()) << status;
                                       ++answered;
                                     });
    }
  }
  writer_->Stop();
  EXPECT_EQ(answered.load(), kAdmissions);
}

TEST_F(WriterTest, StopRunsEverythingAlreadyQueuedIncludingFollowUps) {
  constexpr int kQueued = 5;
  std::vector<Outcome> outcomes(kQueued);
  Outcome follow_up;
  {
    WriterBlocker blocker(*writer_);
    for (int i = 0; i < kQueued; ++i) {
      writer_->Submit(
          [&, i](WriteTxn& txn) {
            txn.Put(kCf, absl::StrCat("queued-", i), "x");
            if (i == kQueued - 1) {
              Writer* writer = &txn.writer();
              txn.OnCommit([writer, &follow_up] {
                writer->Submit(
                    [](WriteTxn& next) {
                      next.Put(kCf, "follow-up", "x");
                      return absl::OkStatus();
                    },
                    follow_up.Callback());
              });
            }
            return absl::OkStatus();
          },
          outcomes[i].Callback());
    }
    std::thread stopper([this] { writer_->Stop(); });
    blocker.Release();
    stopper.join();
  }

  for (int i = 0; i < kQueued; ++i) {
    ASSERT_TRUE(outcomes[i].done.HasBeenNotified()) << i;
    EXPECT_TRUE(outcomes[i].status.ok()) << outcomes[i].status;
    EXPECT_EQ(Committed(absl::StrCat("queued-", i)), "x");
  }
  ASSERT_TRUE(follow_up.done.HasBeenNotified());
  EXPECT_TRUE(follow_up.status.ok()) << follow_up.status;
  EXPECT_EQ(Committed("follow-up"), "x");
}

TEST_F(WriterTest, SubmitUnlessStoppingIsRefusedOnceStopHasBegunWhileSubmitStillRuns) {
  Outcome deferrable;
  Outcome required;
  std::vector<std::unique_ptr<Outcome>> probes;
  {
    WriterBlocker blocker(*writer_);
    // Before Stop(): queued like any other operation.
    probes.push_back(std::make_unique<Outcome>());
    writer_->SubmitUnlessStopping([](WriteTxn&) { return absl::OkStatus(); },
                                  probes.back()->Callback());
    EXPECT_FALSE(probes.back()->done.HasBeenNotified());

    std::thread stopper([this] { writer_->Stop(); });
    // The writer thread is held, so a probe answered at once means Stop()
    // has begun.
    while (true) {
      probes.push_back(std::make_unique<Outcome>());
      writer_->SubmitUnlessStopping([](WriteTxn&) { return absl::OkStatus(); },
                                    probes.back()->Callback());
      if (probes.back()->done.HasBeenNotified()) break;
      absl::SleepFor(absl::Milliseconds(1));
    }
    EXPECT_TRUE(absl::IsUnavailable(probes.back()->status)) << probes.back()->status;

    writer_->SubmitUnlessStopping(
        [](WriteTxn& txn) {
          txn.Put(kCf, "deferrable", "x");
          return absl::OkStatus();
        },
        deferrable.Callback());
    writer_->Submit(
        [](WriteTxn& txn) {
          txn.Put(kCf, "required", "x");
          return absl::OkStatus();
        },
        required.Callback());
    blocker.Release();
    stopper.join();
  }
  EXPECT_TRUE(absl::IsUnavailable(deferrable.Wait()));
  EXPECT_EQ(Committed("deferrable"), "<absent>");
  EXPECT_TRUE(required.Wait().ok());
  EXPECT_EQ(Committed("required"), "x");
  EXPECT_TRUE(probes.front()->Wait().ok()) << "queued before Stop(): it runs";
}

TEST_F(WriterTest, ScanSeesStagedWritesInKeyOrderAndStaysInsideThePrefix) {
  ASSERT_TRUE(writer_
                  ->Run([](WriteTxn& txn) {
                    txn.Put(kCf, "p.z", "before the prefix");
                    txn.Put(kCf, "p/a", "1");
                    txn.Put(kCf, "p/c", "3");
                    txn.Put(kCf, "p/e", "5");
                    txn.Put(kCf, "p0", "after the prefix");
                    return absl::OkStatus();
                  })
                  .ok());
  using Entries = std::vector<std::pair<std::string, std::string>>;
  Entries all, from_start, first_two;

  ASSERT_TRUE(writer_
                  ->Run([&](WriteTxn& txn) -> absl::Status {
                    txn.Put(kCf, "p/b", "2");      // staged, between committed keys
                    txn.Delete(kCf, "p/c");        // committed key deleted in the batch
                    txn.Put(kCf, "p/e", "5 new");  // committed key overwritten
                    txn.Put(kCf, "p/f", "6");      // staged, last
                    txn.Put(kCf, "p0a", "staged after the prefix");
                    txn.Put(kCf, "p", "staged before the prefix");
                    auto collect = [](Entries& into) {
                      return [&into](absl::string_view key, absl::string_view value) {
                        into.emplace_back(key, value);
                        return true;
                      };
                    };
                    absl::Status status = txn.Scan(kCf, "p/", "", collect(all));
                    if (!status.ok()) return status;
                    status = txn.Scan(kCf, "p/", "p/c", collect(from_start));
                    if (!status.ok()) return status;
                    return txn.Scan(kCf, "p/", "",
                                    [&](absl::string_view key, absl::string_view value) {
                                      first_two.emplace_back(key, value);
                                      return first_two.size() < 2;
                                    });
                  })
                  .ok());

  EXPECT_THAT(
      all, ElementsAre(Pair("p/a", "1"), Pair("p/b", "2"), Pair("p/e", "5 new"), Pair("p/f", "6")));
  EXPECT_THAT(from_start, ElementsAre(Pair("p/e", "5 new"), Pair("p/f", "6")));
  EXPECT_THAT(first_two, ElementsAre(Pair("p/a", "1"), Pair("p/b", "2")));
}

TEST_F(WriterTest, ScanOfAnEmptyPrefixRangeVisitsNothingEvenWithStagedNeighbours) {
  int visited = 0;
  ASSERT_TRUE(writer_
                  ->Run([&](WriteTxn& txn) {
                    txn.Put(kCf, "q0", "after");
                    txn.Put(kCf, "q.", "before");
                    return txn.Scan(kCf, "q/", "", [&](absl::string_view, absl::string_view) {
                      ++visited;
                      return true;
                    });
                  })
                  .ok());
  EXPECT_EQ(visited, 0);
}

TEST_F(WriterTest, AFollowUpSubmittedFromOnCommitRunsAfterTheGroupIsDurable) {
  Outcome follow_up;
  std::string follow_up_saw_in_db;
  absl::StatusOr<std::string> follow_up_read;

  ASSERT_TRUE(writer_
                  ->Run([&](WriteTxn& txn) {
                    txn.Put(kCf, "chunk-1", "done");
                    Writer* writer = &txn.writer();
                    txn.OnCommit([&, writer] {
                      writer->Submit(
                          [&](WriteTxn& next) {
                            follow_up_saw_in_db = Committed("chunk-1");
                            follow_up_read = next.Get(kCf, "chunk-1");
                            next.Put(kCf, "chunk-2", "done");
                            return absl::OkStatus();
                          },
                          follow_up.Callback());
                    });
                    return absl::OkStatus();
                  })
                  .ok());

  ASSERT_TRUE(follow_up.Wait().ok()) << follow_up.status;
  EXPECT_EQ(follow_up_saw_in_db, "done");
  ASSERT_TRUE(follow_up_read.ok()) << follow_up_read.status();
  EXPECT_EQ(*follow_up_read, "done");
  EXPECT_EQ(Committed("chunk-2"), "done");
}

TEST_F(WriterTest, DoneMaySubmitAnotherOperation) {
  Outcome second;
  Outcome first;
  writer_->Submit(
      [](WriteTxn& txn) {
        txn.Put(kCf, "first", "x");
        return absl::OkStatus();
      },
      [&](absl::Status status) {
        writer_->Submit(
            [](WriteTxn& txn) {
              txn.Put(kCf, "second", "x");
              return absl::OkStatus();
            },
            second.Callback());
        first.Callback()(status);
      });

  ASSERT_TRUE(first.Wait().ok());
  ASSERT_TRUE(second.Wait().ok()) << second.status;
  EXPECT_EQ(Committed("second"), "x");
}

TEST_F(WriterTest, ANewWriterContinuesFromTheSequenceItIsGiven) {
  ASSERT_TRUE(writer_
                  ->Run([](WriteTxn& txn) {
                    txn.AppendUpdate("x");
                    return absl::OkStatus();
                  })
                  .ok());
  writer_->Stop();
  writer_ = std::make_unique<Writer>(*db_, kFirstSequence + 1);
  uint64_t got = 0;

  ASSERT_TRUE(writer_
                  ->Run([&](WriteTxn& txn) {
                    got = txn.AppendUpdate("y");
                    return absl::OkStatus();
                  })
                  .ok());

  EXPECT_EQ(got, kFirstSequence + 1);
  EXPECT_THAT(UpdateLog(), ElementsAre(Pair(kFirstSequence, "x"), Pair(kFirstSequence + 1, "y")));
}

}  // namespace
}  // namespace wink::webhooks::storage::rocks
