#include "service/storage/rocksdb/database.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <system_error>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/table_properties_collectors.h"
#include "rocksdb/write_buffer_manager.h"
#include "service/common/log.h"
#include "service/common/status_macros.h"
#include "service/storage/rocksdb/keys.h"
#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::storage::rocks {
namespace {

constexpr absl::string_view kSchemaKey = "schema";

// Drops idempotency entries whose window has passed, so the column family
// does not grow forever. Readers ignore expired entries anyway, so when
// compaction gets to them does not matter.
class ExpiredIdempotencyFilter final : public rocksdb::CompactionFilter {
 public:
  explicit ExpiredIdempotencyFilter(const Clock& clock) : clock_(clock) {}

  bool Filter(int /*level*/, const rocksdb::Slice& /*key*/, const rocksdb::Slice& value,
              std::string* /*new_value*/, bool* /*value_changed*/) const override {
    internal::v1::IdempotencyRecord record;
    // Keep what cannot be read: deleting it would hide the corruption.
    if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) return false;
    return record.expire_time_us() != 0 &&
           record.expire_time_us() <= absl::ToUnixMicros(clock_.Now());
  }
  const char* Name() const override { return "wink.ExpiredIdempotencyFilter"; }

 private:
  const Clock& clock_;
};

}  // namespace

absl::Status FromRocksDb(const rocksdb::Status& status, absl::string_view context) {
  if (status.ok()) return absl::OkStatus();
  if (status.IsNotFound()) return absl::NotFoundError(context);
  return absl::InternalError(absl::StrCat(context, ": ", status.ToString()));
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const DatabaseOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool existed = fs::exists(options.path, ec);
  fs::create_directories(options.path, ec);
  // The directory holds every tenant's events and, without a secrets key,
  // their signing secrets: only the service's user may enter it. (Its files
  // are 0600 by the server's umask, main.cc.) An existing one is left as the
  // operator made it, with a warning if others may read it.
  if (!ec && !existed) fs::permissions(options.path, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create data directory \"", options.path, "\": ", ec.message()));
  }
  if (existed) {
    const fs::perms perms = fs::status(options.path, ec).permissions();
    if (!ec && (perms & (fs::perms::group_all | fs::perms::others_all)) != fs::perms::none) {
      LogLine(LogLevel::kWarning, "data_dir_readable_by_others")
          .Field("data_dir", options.path)
          .Field("mode", absl::StrFormat("%04o", static_cast<unsigned>(perms)))
          .Field("fix", absl::StrCat("chmod 700 ", options.path));
    }
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  // Our own logs go to stderr; keep RocksDB's info log small.
  if (options.env != nullptr) db_options.env = options.env;
  db_options.keep_log_file_num = 5;
  db_options.max_log_file_size = 8 << 20;

  // A database written by a newer binary may have families we do not know;
  // opening it without them would fail in RocksDB with a vaguer message.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, options.path, &existing).ok()) {
    const absl::flat_hash_set<absl::string_view> known(kColumnFamilyNames.begin(),
                                                       kColumnFamilyNames.end());
    for (const auto& name : existing) {
      if (!known.contains(name)) {
        return absl::FailedPreconditionError(
            absl::StrCat("data directory \"", options.path, "\" holds column family \"", name,
                         "\" that this version does not know (written by a newer version?)"));
      }
    }
  }

  // One memory budget for the whole database (see DatabaseOptions).
  //
  // Four shards, not RocksDB's default of 64 (2 MiB each at 128 MiB): the
  // memtables' reservations (pinned 256 KiB pieces) and pinned blocks can
  // fill a 2 MiB shard, and a full shard drops each block as soon as its
  // reader lets go. Index blocks were then read and decompressed again on
  // every lookup: after ~300,000 deliveries that took 85% of the writer, and
  // a release of held deliveries ran at ~60/s instead of ~7,000/s. A lock
  // per shard is plenty for the few threads that read here.
  rocksdb::LRUCacheOptions cache_options;
  cache_options.capacity = options.memory_budget_bytes;
  cache_options.num_shard_bits = 2;
  // Index and filter blocks go to the high-priority pool, so a burst of data
  // blocks (a scan, a release) does not evict what every lookup needs.
  cache_options.high_pri_pool_ratio = 0.25;
  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(cache_options);
  db_options.write_buffer_manager =
      std::make_shared<rocksdb::WriteBufferManager>(options.memory_budget_bytes / 2, cache);
  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = cache;
  // Index and filter blocks count against the budget too, but those of
  // level-0 files (the ones every read consults) stay resident.
  table_options.cache_index_and_filter_blocks = true;
  table_options.cache_index_and_filter_blocks_with_high_priority = true;
  table_options.pin_l0_filter_and_index_blocks_in_cache = true;
  // Partitioned: a file's index and filter are cut into 4 KiB blocks under
  // a small top level kept in memory, so a lookup that misses the cache
  // reads one 4 KiB partition, not an index that grows with the file.
  table_options.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table_options.partition_filters = true;
  table_options.pin_top_level_index_and_filter = true;
  // Point lookups dominate the hot paths (an idempotency key that is
  // usually absent on every publish, a delivery's record on every attempt):
  // a Bloom filter per file lets a lookup skip files without the key.
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));

  auto db = std::unique_ptr<Database>(new Database());
  db->idempotency_filter_ = std::make_unique<ExpiredIdempotencyFilter>(*options.clock);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int index = 0; index < kColumnFamilyCount; ++index) {
    const ColumnFamily family = static_cast<ColumnFamily>(index);
    const absl::string_view name = ColumnFamilyName(family);
    rocksdb::ColumnFamilyOptions cf_options;
    cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
    // Smaller memtables than the 64 MiB default: many families share the
    // budget, and a smaller memtable flushes (and frees) sooner.
    cf_options.write_buffer_size = std::min<size_t>(16 << 20, options.memory_budget_bytes / 8);
    // Most writes append to a webhook's or the family's range: start each
    // memtable insert where the last one of that range went (keys.h).
    cf_options.memtable_insert_with_hint_prefix_extractor = MemtableInsertHint(family);
    if (name == ColumnFamilyName(ColumnFamily::kDue) ||
        name == ColumnFamilyName(ColumnFamily::kDueByWebhook) ||
        name == ColumnFamilyName(ColumnFamily::kHeld)) {
      // Queues: every entry is written once and deleted soon after. Files
      // dense with deletions are compacted early, so scans stop stepping
      // over them.
      cf_options.table_properties_collector_factories.push_back(
          rocksdb::NewCompactOnDeletionCollectorFactory(/*sliding_window_size=*/10000,
                                                        /*deletion_trigger=*/5000));
    }
    if (name == ColumnFamilyName(ColumnFamily::kIdempotency)) {
      cf_options.compaction_filter = db->idempotency_filter_.get();
      // Nearly every publish looks up a key nobody used before: a bloom
      // filter over each memtable's keys answers most of those misses
      // without a skip list search (SST files have theirs already).
      cf_options.memtable_prefix_bloom_size_ratio = 0.02;
      cf_options.memtable_whole_key_filtering = true;
    }
    descriptors.emplace_back(std::string(name), cf_options);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  const rocksdb::Status status =
      rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw_db);
  if (!status.ok()) {
    // A held LOCK is an IO error naming "<dir>/LOCK: ..." ("While lock file"
    // from another process, "lock hold by current process" from this one).
    if (status.IsIOError() && status.ToString().find("/LOCK: ") != std::string::npos) {
      return absl::FailedPreconditionError(
          absl::StrCat("data directory \"", options.path,
                       "\" is in use by another process (RocksDB LOCK is held); stop the other "
                       "server or pass a different --data_dir"));
    }
    return FromRocksDb(status, absl::StrCat("opening database \"", options.path, "\""));
  }

  db->db_.reset(raw_db);
  for (int i = 0; i < kColumnFamilyCount; ++i) db->handles_[i] = handles[i];
  db->write_options_.sync = options.sync_writes;
  WINK_RETURN_IF_ERROR(db->CheckSchema());
  return db;
}

Database::~Database() {
  if (db_ == nullptr) return;
  for (auto* handle : handles_) {
    if (handle != nullptr) db_->DestroyColumnFamilyHandle(handle);
  }
  db_->Close().PermitUncheckedError();
}

absl::Status Database::CheckSchema() {
  auto stored = Get(ColumnFamily::kDefault, kSchemaKey);
  if (absl::IsNotFound(stored.status())) {
    internal::v1::SchemaRecord schema;
    schema.set_version(kSchemaVersion);
    rocksdb::WriteBatch batch;
    batch.Put(handle(ColumnFamily::kDefault), std::string(kSchemaKey), schema.SerializeAsString());
    return Write(batch);
  }
  if (!stored.ok()) return stored.status();
  internal::v1::SchemaRecord schema;
  if (!schema.ParseFromString(*stored)) {
    return absl::DataLossError("the database's schema record is corrupt");
  }
  if (schema.version() > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the database has schema version ", schema.version(), " but this binary only reads up to ",
        kSchemaVersion, "; run a newer version"));
  }
  if (schema.version() < kSchemaVersion) {
    if (schema.version() < 4) {
      // Older binaries deleted queue keys with Delete, and sometimes put one
      // twice: neither may meet a SingleDelete (IsPutOnceQueue). A full
      // compaction leaves one put per existing key and no deletions. A crash
      // before the version below is written does it again at the next open.
      for (ColumnFamily queue : kPutOnceQueues) WINK_RETURN_IF_ERROR(Compact(queue));
    }
    schema.set_version(kSchemaVersion);
    rocksdb::WriteBatch batch;
    batch.Put(handle(ColumnFamily::kDefault), std::string(kSchemaKey), schema.SerializeAsString());
    return Write(batch);
  }
  return absl::OkStatus();
}

PrefixIterator::PrefixIterator(Database& db, ColumnFamily cf, std::string prefix)
    : prefix_(std::move(prefix)),
      upper_bound_(PrefixSuccessor(prefix_)),
      upper_bound_slice_(upper_bound_),
      // An empty successor (prefix all 0xff) means no bound.
      iterator_(db.NewIterator(cf, upper_bound_.empty() ? nullptr : &upper_bound_slice_)) {}

void PrefixIterator::SeekPast(absl::string_view key) {
  if (key.empty()) {
    iterator_->Seek(prefix_);
    return;
  }
  const rocksdb::Slice target(key.data(), key.size());
  iterator_->Seek(target);
  if (iterator_->Valid() && iterator_->key() == target) iterator_->Next();
}

absl::Status Database::Compact(ColumnFamily cf) {
  rocksdb::CompactRangeOptions options;
  // Rewrite the last level too: what is dropped there (every deletion and
  // what it hides) may already be in it.
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  return FromRocksDb(db_->CompactRange(options, handle(cf), nullptr, nullptr), "compacting");
}

absl::Status Database::Write(rocksdb::WriteBatch& batch) {
  const rocksdb::Status status = db_->Write(write_options_, &batch);
  if (status.IsIOError()) {
    return absl::UnavailableError(absl::StrCat("writing to the database: ", status.ToString()));
  }
  return FromRocksDb(status, "writing to the database");
}

absl::StatusOr<std::string> Database::Get(ColumnFamily cf, absl::string_view key) {
  std::string value;
  const rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), handle(cf), rocksdb::Slice(key.data(), key.size()), &value);
  if (status.IsNotFound()) return absl::NotFoundError("key not found");
  WINK_RETURN_IF_ERROR(FromRocksDb(status, "reading from the database"));
  return value;
}

std::unique_ptr<rocksdb::Iterator> Database::NewIterator(ColumnFamily cf,
                                                         const rocksdb::Slice* upper_bound) {
  rocksdb::ReadOptions read_options;
  read_options.iterate_upper_bound = upper_bound;
  return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(read_options, handle(cf)));
}

}  // namespace wink::webhooks::storage::rocks
