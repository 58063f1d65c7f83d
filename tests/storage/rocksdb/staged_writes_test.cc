#include "service/storage/rocksdb/staged_writes.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/table_properties.h"
#include "service/storage/rocksdb/column_families.h"
#include "service/storage/rocksdb/database.h"
#include "tests/fakes/temp_dir.h"

// The writer's tests (writer_test.cc) cover reads of staged writes through
// operations and groups; these cover what is particular to the index: a
// rollback that rebuilds it, a Scan whose visitor stages writes, large
// values, and reuse after Clear().
namespace wink::webhooks::storage::rocks {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::wink::webhooks::testing::TempDir;
using Entries = std::vector<std::pair<std::string, std::string>>;

constexpr ColumnFamily kCf = ColumnFamily::kDefault;

class StagedWritesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DatabaseOptions options;
    options.path = dir_.Child("db");
    options.sync_writes = false;
    auto db = Database::Open(options);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    staged_ = std::make_unique<StagedWrites>(*db_);
  }

  // Staged or committed value of `key` as StagedWrites::Get sees it, or
  // "<absent>".
  std::string Read(ColumnFamily cf, absl::string_view key) {
    absl::StatusOr<std::string> value = staged_->Get(cf, key);
    if (absl::IsNotFound(value.status())) return "<absent>";
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? *value : "<error>";
  }

  Entries ScanAll(ColumnFamily cf, absl::string_view prefix) {
    Entries entries;
    absl::Status status =
        staged_->Scan(cf, prefix, "", [&](absl::string_view key, absl::string_view value) {
          entries.emplace_back(key, value);
          return true;
        });
    EXPECT_TRUE(status.ok()) << status;
    return entries;
  }

  void Commit() {
    ASSERT_TRUE(db_->Write(staged_->batch()).ok());
    staged_->Clear();
  }

  TempDir dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<StagedWrites> staged_;
};

TEST_F(StagedWritesTest, ARollbackKeepsEverythingStagedBeforeTheMarkIncludingOverwritesAndDeletes) {
  staged_->Put(kCf, "committed", "old");
  Commit();

  staged_->Put(kCf, "a", "1");
  staged_->Put(kCf, "a", "2");
  staged_->Delete(kCf, "committed");
  staged_->Put(ColumnFamily::kWebhooks, "w", "webhook");
  staged_->SetSavePoint();
  staged_->Put(kCf, "a", "3 (rolled back)");
  staged_->Put(kCf, "b", "rolled back");
  staged_->Put(kCf, "committed", "revived (rolled back)");
  staged_->Delete(ColumnFamily::kWebhooks, "w");
  staged_->RollbackToSavePoint();

  EXPECT_EQ(Read(kCf, "a"), "2");
  EXPECT_EQ(Read(kCf, "b"), "<absent>");
  EXPECT_EQ(Read(kCf, "committed"), "<absent>");
  EXPECT_EQ(Read(ColumnFamily::kWebhooks, "w"), "webhook");
  EXPECT_EQ(staged_->count(), 4u);
  EXPECT_THAT(ScanAll(kCf, ""), ElementsAre(Pair("a", "2"), Pair("schema", ::testing::_)));
}

TEST_F(StagedWritesTest, AScanWhoseVisitorStagesWritesVisitsWhatWasThereWhenItBegan) {
  staged_->Put(kCf, "p/1", "committed");
  Commit();
  for (int i = 2; i <= 40; ++i) staged_->Put(kCf, "p/" + std::to_string(i + 100), "staged");

  int visited = 0;
  absl::Status status =
      staged_->Scan(kCf, "p/", "", [&](absl::string_view key, absl::string_view value) {
        ++visited;
        // Enough new keys to make the index grow (and move) under the scan.
        for (int i = 0; i < 50; ++i) {
          staged_->Put(kCf, absl::StrCat("p/9", key, "/", i), "added while scanning");
        }
        staged_->Delete(kCf, key);
        EXPECT_FALSE(value.empty()) << key;
        return true;
      });

  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(visited, 40);
  EXPECT_EQ(Read(kCf, "p/1"), "<absent>");
  EXPECT_EQ(Read(kCf, "p/9p/1/49"), "added while scanning");
}

TEST_F(StagedWritesTest, LargeValuesAndManyKeysReadBackExactlyAndCommitAsStaged) {
  const std::string large(200 << 10, 'x');             // its own allocation
  const std::string block_sized((64 << 10) / 2, 'y');  // the largest that shares a block
  staged_->Put(kCf, "large", large);
  staged_->Put(kCf, "block sized", block_sized);
  for (int i = 0; i < 5000; ++i) {
    staged_->Put(ColumnFamily::kEvents, absl::StrCat("e/", 10000 + i),
                 std::string(100, 'a' + i % 26));
  }

  EXPECT_EQ(Read(kCf, "large"), large);
  EXPECT_EQ(Read(kCf, "block sized"), block_sized);
  EXPECT_EQ(Read(ColumnFamily::kEvents, "e/14999"), std::string(100, 'a' + 4999 % 26));
  Commit();
  EXPECT_EQ(Read(kCf, "large"), large);
  EXPECT_EQ(ScanAll(ColumnFamily::kEvents, "e/").size(), 5000u);
}

TEST_F(StagedWritesTest, AfterClearNothingStagedIsSeenAndNoSavePointIsLeft) {
  staged_->Put(kCf, "k", "v");
  staged_->SetSavePoint();
  staged_->Clear();

  EXPECT_EQ(staged_->count(), 0u);
  EXPECT_EQ(Read(kCf, "k"), "<absent>");
  EXPECT_THAT(ScanAll(kCf, "k"), ElementsAre());
  staged_->Put(kCf, "k", "again");
  staged_->RollbackToSavePoint();  // none left: takes nothing back
  EXPECT_EQ(Read(kCf, "k"), "again");
  EXPECT_EQ(staged_->count(), 1u);
}

TEST_F(StagedWritesTest, AClearAfterAVeryLargeGroupLetsGoOfItsBatch) {
  staged_->Put(ColumnFamily::kAttempts, "a",
               std::string(StagedWrites::kMaxKeptBatchBytes + (1 << 20), 'a'));
  ASSERT_GT(staged_->batch().Data().capacity(), StagedWrites::kMaxKeptBatchBytes);
  staged_->Clear();
  EXPECT_LE(staged_->batch().Data().capacity(), StagedWrites::kMaxKeptBatchBytes);
  EXPECT_EQ(staged_->count(), 0u);
}

// Scans put the staged keys of their family in order only when they run; a
// purge interleaves them with writes to the family it scans.
TEST_F(StagedWritesTest, ScansInterleavedWithWritesSeeEveryStagedKeyInOrderOverTheCommittedOnes) {
  staged_->Put(kCf, "p/c", "committed");
  staged_->Put(kCf, "p/e", "committed");
  Commit();
  staged_->Put(kCf, "p/d", "1");
  staged_->Put(kCf, "q/a", "other prefix");
  staged_->Put(kCf, "p/a", "1");
  EXPECT_THAT(ScanAll(kCf, "p/"), ElementsAre(Pair("p/a", "1"), Pair("p/c", "committed"),
                                              Pair("p/d", "1"), Pair("p/e", "committed")));

  staged_->Put(kCf, "p/b", "2");  // between keys already in order
  staged_->Put(kCf, "p/e", "2");  // over a committed value
  staged_->Delete(kCf, "p/c");    // a committed key
  staged_->Delete(kCf, "p/a");    // a key staged before the last Scan
  staged_->Put(kCf, "p/f", "2");
  EXPECT_THAT(ScanAll(kCf, "p/"),
              ElementsAre(Pair("p/b", "2"), Pair("p/d", "1"), Pair("p/e", "2"), Pair("p/f", "2")));
  Entries from_d;
  ASSERT_TRUE(staged_
                  ->Scan(kCf, "p/", "p/d",
                         [&](absl::string_view key, absl::string_view value) {
                           from_d.emplace_back(key, value);
                           return true;
                         })
                  .ok());
  EXPECT_THAT(from_d, ElementsAre(Pair("p/d", "1"), Pair("p/e", "2"), Pair("p/f", "2")));
  EXPECT_THAT(ScanAll(kCf, "q/"), ElementsAre(Pair("q/a", "other prefix")));
}

TEST_F(StagedWritesTest, FamiliesOnlyWrittenAreCommittedButNotReadable) {
  staged_->Put(ColumnFamily::kDue, "d", "");
  EXPECT_EQ(staged_->Get(ColumnFamily::kDue, "d").status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(staged_->Scan(ColumnFamily::kDue, "", "", [](auto, auto) { return true; }).code(),
            absl::StatusCode::kInternal);
  Commit();
  EXPECT_TRUE(db_->Get(ColumnFamily::kDue, "d").ok());
}

// MultiGet answers each key as Get would, in the order asked: staged values
// and deletions over committed ones, committed values from the memtable and
// from a file, and absent keys.
TEST_F(StagedWritesTest, MultiGetAnswersEachKeyAsGetDoesInTheOrderAsked) {
  staged_->Put(kCf, "in-file", "f");
  staged_->Put(kCf, "deleted-later", "d");
  Commit();
  ASSERT_TRUE(db_->rocksdb()->Flush(rocksdb::FlushOptions(), db_->handle(kCf)).ok());
  staged_->Put(kCf, "in-memtable", "m");
  staged_->Put(kCf, "overwritten", "old");
  Commit();
  staged_->Put(kCf, "staged", "s");
  staged_->Put(kCf, "overwritten", "new");
  staged_->Delete(kCf, "deleted-later");

  const std::vector<absl::string_view> keys = {
      "absent", "staged", "in-file", "in-memtable", "deleted-later", "overwritten", "absent-too"};
  std::vector<absl::StatusOr<std::string>> values = staged_->MultiGet(kCf, keys);
  ASSERT_EQ(values.size(), keys.size());
  std::vector<std::string> shown;
  for (size_t i = 0; i < keys.size(); ++i) {
    shown.push_back(absl::IsNotFound(values[i].status()) ? "<absent>"
                    : values[i].ok()                     ? *values[i]
                                                         : "<error>");
    EXPECT_EQ(shown.back(), Read(kCf, keys[i])) << keys[i];
  }
  EXPECT_THAT(shown, ElementsAre("<absent>", "s", "f", "m", "<absent>", "new", "<absent>"));

  // One key alone takes Get's path; a family only written is refused.
  EXPECT_EQ(*staged_->MultiGet(kCf, {"in-file"})[0], "f");
  EXPECT_TRUE(staged_->MultiGet(kCf, {}).empty());
  EXPECT_EQ(staged_->MultiGet(ColumnFamily::kDue, {"a", "b"})[1].status().code(),
            absl::StatusCode::kInternal);
}

// The entries (values and deletions) in the files of `cf`, and how many of
// them are deletions.
std::pair<uint64_t, uint64_t> EntriesAndDeletionsInFiles(Database& db, ColumnFamily cf) {
  rocksdb::TablePropertiesCollection files;
  EXPECT_TRUE(db.rocksdb()->GetPropertiesOfAllTables(db.handle(cf), &files).ok());
  std::pair<uint64_t, uint64_t> sums{0, 0};
  for (const auto& [name, properties] : files) {
    sums.first += properties->num_entries;
    sums.second += properties->num_deletions;
  }
  return sums;
}

// A queue entry put and deleted leaves nothing for a flush to write: the
// deletion is a SingleDelete, dropped with its put. In the other families a
// deletion is a tombstone that stays in the files until a compaction.
TEST_F(StagedWritesTest, AQueueEntryPutAndDeletedLeavesNothingInTheFilesAfterAFlush) {
  for (ColumnFamily cf : {ColumnFamily::kDue, ColumnFamily::kDueByWebhook, ColumnFamily::kHeld,
                          ColumnFamily::kDeliveries}) {
    staged_->Put(cf, "first", "");
    staged_->Put(cf, "kept", "");
    Commit();
    staged_->Delete(cf, "first");
    Commit();
    ASSERT_TRUE(db_->rocksdb()->Flush(rocksdb::FlushOptions(), db_->handle(cf)).ok());
  }
  for (ColumnFamily cf : {ColumnFamily::kDue, ColumnFamily::kDueByWebhook, ColumnFamily::kHeld}) {
    EXPECT_EQ(EntriesAndDeletionsInFiles(*db_, cf), std::make_pair(uint64_t{1}, uint64_t{0}))
        << ColumnFamilyName(cf);
    EXPECT_EQ(db_->Get(cf, "first").status().code(), absl::StatusCode::kNotFound);
    EXPECT_TRUE(db_->Get(cf, "kept").ok());
  }
  EXPECT_EQ(EntriesAndDeletionsInFiles(*db_, ColumnFamily::kDeliveries),
            std::make_pair(uint64_t{2}, uint64_t{1}));
}

// `held` is read in groups: a staged SingleDelete hides the key from Get and
// Scan, also once a rollback has rebuilt the index from the batch.
TEST_F(StagedWritesTest, AStagedQueueDeletionHidesTheKeyAlsoAfterARollbackRebuildsTheIndex) {
  staged_->Put(ColumnFamily::kHeld, "h/1", "");
  staged_->Put(ColumnFamily::kHeld, "h/2", "");
  Commit();
  staged_->Delete(ColumnFamily::kHeld, "h/1");
  staged_->SetSavePoint();
  staged_->Delete(ColumnFamily::kHeld, "h/2");
  staged_->RollbackToSavePoint();

  EXPECT_EQ(Read(ColumnFamily::kHeld, "h/1"), "<absent>");
  EXPECT_EQ(Read(ColumnFamily::kHeld, "h/2"), "");
  EXPECT_THAT(ScanAll(ColumnFamily::kHeld, "h/"), ElementsAre(Pair("h/2", "")));
  Commit();
  EXPECT_EQ(db_->Get(ColumnFamily::kHeld, "h/1").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace wink::webhooks::storage::rocks
