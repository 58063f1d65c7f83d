#include "service/storage/rocksdb/database.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/table_properties.h"
#include "rocksdb/write_batch.h"
#include "service/storage/rocksdb/column_families.h"
#include "service/storage/rocksdb/keys.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/temp_dir.h"
#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::storage::rocks {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;
using ::wink::webhooks::internal::v1::SchemaRecord;
using ::wink::webhooks::testing::TempDir;

class DatabaseTest : public ::testing::Test {
 protected:
  DatabaseOptions Options() const {
    DatabaseOptions options;
    options.path = dir_.Child("db");
    options.clock = &clock_;
    // Tests check logic, not durability; skipping fsync keeps them fast.
    options.sync_writes = false;
    return options;
  }

  std::unique_ptr<Database> OpenOrDie() {
    auto db = Database::Open(Options());
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? *std::move(db) : nullptr;
  }

  static absl::Status Put(Database& db, ColumnFamily cf, const std::string& key,
                          const std::string& value) {
    rocksdb::WriteBatch batch;
    batch.Put(db.handle(cf), key, value);
    return db.Write(batch);
  }

  // Writes the schema record as a future binary would.
  void WriteSchemaVersion(uint32_t version) {
    auto db = OpenOrDie();
    ASSERT_NE(db, nullptr);
    SchemaRecord schema;
    schema.set_version(version);
    ASSERT_TRUE(Put(*db, ColumnFamily::kDefault, "schema", schema.SerializeAsString()).ok());
  }

  TempDir dir_;
  testing::FakeClock clock_;
};

TEST_F(DatabaseTest, CompactionDropsExpiredIdempotencyEntriesOnly) {
  auto db = OpenOrDie();
  ASSERT_NE(db, nullptr);
  const int64_t now_us = absl::ToUnixMicros(clock_.Now());
  internal::v1::IdempotencyRecord soon;
  soon.set_version(1);
  soon.set_expire_time_us(now_us + absl::ToInt64Microseconds(absl::Hours(1)));
  internal::v1::IdempotencyRecord later = soon;
  later.set_expire_time_us(now_us + absl::ToInt64Microseconds(absl::Hours(48)));
  ASSERT_TRUE(Put(*db, ColumnFamily::kIdempotency, "soon", soon.SerializeAsString()).ok());
  ASSERT_TRUE(Put(*db, ColumnFamily::kIdempotency, "later", later.SerializeAsString()).ok());
  ASSERT_TRUE(Put(*db, ColumnFamily::kIdempotency, "corrupt", "\xff\xff").ok());
  // The filter belongs to the idempotency family only.
  ASSERT_TRUE(Put(*db, ColumnFamily::kWebhooks, "soon", soon.SerializeAsString()).ok());

  ASSERT_TRUE(db->Compact(ColumnFamily::kIdempotency).ok());
  EXPECT_TRUE(db->Get(ColumnFamily::kIdempotency, "soon").ok()) << "not expired yet";

  clock_.Advance(absl::Hours(2));
  ASSERT_TRUE(db->Compact(ColumnFamily::kIdempotency).ok());
  ASSERT_TRUE(db->Compact(ColumnFamily::kWebhooks).ok());
  EXPECT_EQ(db->Get(ColumnFamily::kIdempotency, "soon").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(db->Get(ColumnFamily::kIdempotency, "later").ok());
  EXPECT_TRUE(db->Get(ColumnFamily::kIdempotency, "corrupt").ok()) << "unreadable is kept";
  EXPECT_TRUE(db->Get(ColumnFamily::kWebhooks, "soon").ok());
}

TEST_F(DatabaseTest, OpenCreatesTheDirectoryAndEveryColumnFamily) {
  {
    auto db = OpenOrDie();
    ASSERT_NE(db, nullptr);
    for (int i = 0; i < kColumnFamilyCount; ++i) {
      const auto cf = static_cast<ColumnFamily>(i);
      ASSERT_NE(db->handle(cf), nullptr) << ColumnFamilyName(cf);
      EXPECT_EQ(db->handle(cf)->GetName(), ColumnFamilyName(cf));
    }
  }
  std::vector<std::string> families;
  ASSERT_TRUE(
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), Options().path, &families).ok());
  std::vector<std::string> expected(kColumnFamilyNames.begin(), kColumnFamilyNames.end());
  EXPECT_EQ(families.size(), 12u);
  EXPECT_THAT(families, UnorderedElementsAreArray(expected));
}

// A database written before `applications` existed (its ten families) opens,
// gains the family, and keeps its data.
TEST_F(DatabaseTest, ADatabaseWithoutTheApplicationsFamilyGainsIt) {
  {
    rocksdb::DBOptions options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (int i = 0; i < static_cast<int>(ColumnFamily::kApplications); ++i) {
      descriptors.emplace_back(std::string(kColumnFamilyNames[i]), rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, Options().path, descriptors, &handles, &raw).ok());
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(),
                         handles[static_cast<int>(ColumnFamily::kWebhooks)], "kept", "value")
                    .ok());
    for (auto* handle : handles) raw->DestroyColumnFamilyHandle(handle);
    delete raw;
  }
  auto db = OpenOrDie();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->handle(ColumnFamily::kApplications)->GetName(), "applications");
  auto kept = db->Get(ColumnFamily::kWebhooks, "kept");
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(*kept, "value");
}

TEST_F(DatabaseTest, RegistryNamesAreUniqueAndStartWithDefault) {
  EXPECT_EQ(ColumnFamilyName(ColumnFamily::kDefault), rocksdb::kDefaultColumnFamilyName);
  EXPECT_EQ(ColumnFamilyName(ColumnFamily::kUpdates), "updates");
  std::set<absl::string_view> unique(kColumnFamilyNames.begin(), kColumnFamilyNames.end());
  EXPECT_EQ(unique.size(), kColumnFamilyNames.size());
}

TEST_F(DatabaseTest, WritesTheCurrentSchemaVersionOnCreate) {
  auto db = OpenOrDie();
  ASSERT_NE(db, nullptr);

  auto stored = db->Get(ColumnFamily::kDefault, "schema");

  ASSERT_TRUE(stored.ok()) << stored.status();
  SchemaRecord schema;
  ASSERT_TRUE(schema.ParseFromString(*stored));
  EXPECT_EQ(schema.version(), kSchemaVersion);
}

TEST_F(DatabaseTest, GetOfAnAbsentKeyIsNotFound) {
  auto db = OpenOrDie();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->Get(ColumnFamily::kWebhooks, "absent").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(DatabaseTest, ColumnFamiliesAreSeparateKeySpaces) {
  auto db = OpenOrDie();
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(Put(*db, ColumnFamily::kWebhooks, "k", "in webhooks").ok());

  EXPECT_EQ(db->Get(ColumnFamily::kEvents, "k").status().code(), absl::StatusCode::kNotFound);
  auto value = db->Get(ColumnFamily::kWebhooks, "k");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, "in webhooks");
}

TEST_F(DatabaseTest, DataPersistsAcrossReopen) {
  {
    auto db = OpenOrDie();
    ASSERT_NE(db, nullptr);
    rocksdb::WriteBatch batch;
    batch.Put(db->handle(ColumnFamily::kWebhooks), "w", "1");
    batch.Put(db->handle(ColumnFamily::kUpdates), "u", "2");
    ASSERT_TRUE(db->Write(batch).ok());
  }
  auto db = OpenOrDie();
  ASSERT_NE(db, nullptr);

  auto w = db->Get(ColumnFamily::kWebhooks, "w");
  auto u = db->Get(ColumnFamily::kUpdates, "u");
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(*w, "1");
  EXPECT_EQ(*u, "2");
}

TEST_F(DatabaseTest, ReopenWithSyncWritesWorks) {
  DatabaseOptions options = Options();
  options.sync_writes = true;
  {
    auto db = Database::Open(options);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE(Put(**db, ColumnFamily::kEvents, "e", "x").ok());
  }
  auto db = Database::Open(options);
  ASSERT_TRUE(db.ok()) << db.status();
  auto value = (*db)->Get(ColumnFamily::kEvents, "e");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, "x");
}

TEST_F(DatabaseTest, SecondOpenWhileTheFirstIsOpenIsFailedPrecondition) {
  auto first = OpenOrDie();
  ASSERT_NE(first, nullptr);

  auto second = Database::Open(Options());

  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("in use"));
  EXPECT_THAT(std::string(second.status().message()), HasSubstr(Options().path));
}

TEST_F(DatabaseTest, OpenSucceedsAgainOnceTheFirstIsClosed) {
  OpenOrDie().reset();
  auto again = Database::Open(Options());
  EXPECT_TRUE(again.ok()) << again.status();
}

TEST_F(DatabaseTest, NewerSchemaVersionIsFailedPrecondition) {
  ASSERT_NO_FATAL_FAILURE(WriteSchemaVersion(99));

  auto db = Database::Open(Options());

  EXPECT_EQ(db.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(db.status().message()), HasSubstr("schema version 99"));
}

TEST_F(DatabaseTest, CurrentSchemaVersionOpens) {
  ASSERT_NO_FATAL_FAILURE(WriteSchemaVersion(kSchemaVersion));
  auto db = Database::Open(Options());
  EXPECT_TRUE(db.ok()) << db.status();
}

// A version-3 binary deleted queue keys with Delete and could put one
// twice. The first open of this binary compacts the queues, so that its
// SingleDelete of such a key cannot meet the older put (which would bring it
// back) or a Delete.
TEST_F(DatabaseTest, AVersion3DatabaseHasItsQueuesCompactedBeforeASingleDeleteCanMeetThem) {
  {
    auto db = OpenOrDie();
    ASSERT_NE(db, nullptr);
    rocksdb::ColumnFamilyHandle* held = db->handle(ColumnFamily::kHeld);
    // Each write in a file of its own, as a version-3 binary's writes that
    // far apart would be.
    auto write_and_flush = [&](rocksdb::WriteBatch batch) {
      ASSERT_TRUE(db->Write(batch).ok());
      ASSERT_TRUE(db->rocksdb()->Flush(rocksdb::FlushOptions(), held).ok());
    };
    for (int put = 0; put < 2; ++put) {
      rocksdb::WriteBatch batch;
      batch.Put(held, "put twice", "");
      write_and_flush(std::move(batch));
    }
    rocksdb::WriteBatch put;
    put.Put(held, "deleted", "");
    write_and_flush(std::move(put));
    rocksdb::WriteBatch deleted;
    deleted.Delete(held, "deleted");
    write_and_flush(std::move(deleted));
  }
  ASSERT_NO_FATAL_FAILURE(WriteSchemaVersion(3));

  auto db = OpenOrDie();
  ASSERT_NE(db, nullptr);
  rocksdb::TablePropertiesCollection files;
  ASSERT_TRUE(
      db->rocksdb()->GetPropertiesOfAllTables(db->handle(ColumnFamily::kHeld), &files).ok());
  uint64_t entries = 0, deletions = 0;
  for (const auto& [name, properties] : files) {
    entries += properties->num_entries;
    deletions += properties->num_deletions;
  }
  EXPECT_EQ(entries, 1u);  // "put twice", once
  EXPECT_EQ(deletions, 0u);
  auto schema = db->Get(ColumnFamily::kDefault, "schema");
  ASSERT_TRUE(schema.ok()) << schema.status();
  SchemaRecord record;
  ASSERT_TRUE(record.ParseFromString(*schema));
  EXPECT_EQ(record.version(), kSchemaVersion);

  rocksdb::WriteBatch single_delete;
  single_delete.SingleDelete(db->handle(ColumnFamily::kHeld), "put twice");
  ASSERT_TRUE(db->Write(single_delete).ok());
  ASSERT_TRUE(db->Compact(ColumnFamily::kHeld).ok());
  EXPECT_EQ(db->Get(ColumnFamily::kHeld, "put twice").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DatabaseTest, CorruptSchemaRecordIsDataLoss) {
  {
    auto db = OpenOrDie();
    ASSERT_NE(db, nullptr);
    // Field 1 as a length-delimited value of 100 bytes that are not there.
    ASSERT_TRUE(Put(*db, ColumnFamily::kDefault, "schema", "\x0a\x64").ok());
  }
  auto db = Database::Open(Options());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(db.status().message()), HasSubstr("schema"));
}

TEST_F(DatabaseTest, UnknownColumnFamilyIsFailedPreconditionNamingIt) {
  {
    // What a newer binary with an extra column family leaves behind.
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, Options().path, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::ColumnFamilyHandle* handle = nullptr;
    ASSERT_TRUE(
        db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "from_the_future", &handle).ok());
    ASSERT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());
    ASSERT_TRUE(db->Close().ok());
  }

  auto db = Database::Open(Options());

  EXPECT_EQ(db.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(db.status().message()), HasSubstr("\"from_the_future\""));
}

TEST_F(DatabaseTest, UncreatableDirectoryIsFailedPrecondition) {
  // A regular file where a parent directory should be.
  const std::string file = dir_.Child("not_a_directory");
  std::ofstream(file) << "x";
  DatabaseOptions options = Options();
  options.path = file + "/db";

  auto db = Database::Open(options);

  EXPECT_EQ(db.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(db.status().message()), HasSubstr("cannot create data directory"));
}

TEST_F(DatabaseTest, IteratorStopsAtTheUpperBound) {
  auto db = OpenOrDie();
  ASSERT_NE(db, nullptr);
  rocksdb::WriteBatch batch;
  for (const char* key : {"a1", "a2", "b1"}) {
    batch.Put(db->handle(ColumnFamily::kDue), key, "");
  }
  ASSERT_TRUE(db->Write(batch).ok());

  const rocksdb::Slice upper("b");
  auto it = db->NewIterator(ColumnFamily::kDue, &upper);
  std::vector<std::string> keys;
  for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());

  ASSERT_TRUE(it->status().ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"a1", "a2"}));
}

// The memtable insert hints (keys.h) expect each webhook's keys to arrive in
// order; keys that do not (interleaved webhooks, older events, overwrites,
// keys outside the hint's domain) must still be stored and read in order.
TEST_F(DatabaseTest, KeysWrittenAgainstTheInsertHintsReadBackInOrderWithTheirLatestValue) {
  auto db = OpenOrDie();
  ASSERT_NE(db, nullptr);
  std::vector<std::string> keys;
  for (const char* webhook : {"wh_b", "wh_a", "wh_c"}) {
    for (int event = 0; event < 300; ++event) {
      keys.push_back(DeliveryKey(webhook, absl::StrCat("evt_", absl::Dec(event, absl::kZeroPad5))));
    }
  }
  keys.push_back(std::string(1, '\0'));  // too short for a first component: no hint
  std::mt19937 random(7);
  std::shuffle(keys.begin(), keys.end(), random);
  std::map<std::string, std::string> expected;
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < keys.size(); ++i) {
      const std::string value = absl::StrCat(round, ":", i);
      ASSERT_TRUE(Put(*db, ColumnFamily::kDeliveries, keys[i], value).ok());
      expected[keys[i]] = value;
    }
    std::reverse(keys.begin(), keys.end());
  }

  std::map<std::string, std::string> read;
  std::vector<std::string> order;
  auto it = db->NewIterator(ColumnFamily::kDeliveries);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    order.push_back(it->key().ToString());
    read[it->key().ToString()] = it->value().ToString();
  }
  ASSERT_TRUE(it->status().ok()) << it->status().ToString();
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  EXPECT_EQ(order.size(), expected.size());
  EXPECT_EQ(read, expected);
  for (const auto& [key, value] : expected) {
    auto got = db->Get(ColumnFamily::kDeliveries, key);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, value);
  }
}

TEST(FromRocksDbTest, MapsStatusCodes) {
  EXPECT_TRUE(FromRocksDb(rocksdb::Status::OK(), "ctx").ok());

  const absl::Status not_found = FromRocksDb(rocksdb::Status::NotFound("x"), "reading y");
  EXPECT_EQ(not_found.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(not_found.message(), "reading y");

  const absl::Status corruption =
      FromRocksDb(rocksdb::Status::Corruption("bad block"), "reading y");
  EXPECT_EQ(corruption.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(corruption.message()), HasSubstr("reading y: "));
  EXPECT_THAT(std::string(corruption.message()), HasSubstr("bad block"));
}

}  // namespace
}  // namespace wink::webhooks::storage::rocks
