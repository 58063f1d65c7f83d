#include "service/storage/rocksdb/staged_writes.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "service/storage/rocksdb/database.h"

namespace wink::webhooks::storage::rocks {
namespace {

rocksdb::Slice AsSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

}  // namespace

bool StagedWrites::IsIndexed(ColumnFamily cf) {
  switch (cf) {
    case ColumnFamily::kAttempts:
    case ColumnFamily::kDue:
    case ColumnFamily::kDueByWebhook:
    case ColumnFamily::kUpdates:
      return false;
    default:
      return true;
  }
}

absl::string_view StagedWrites::Bytes::Copy(absl::string_view bytes) {
  if (bytes.empty()) return absl::string_view();
  char* into;
  if (bytes.size() > kBlockBytes / 2) {
    large_.push_back(std::make_unique<char[]>(bytes.size()));
    into = large_.back().get();
  } else {
    if (kBlockBytes - used_in_last_ < bytes.size()) {
      blocks_.push_back(std::make_unique<char[]>(kBlockBytes));
      used_in_last_ = 0;
    }
    into = blocks_.back().get() + used_in_last_;
    used_in_last_ += bytes.size();
  }
  std::memcpy(into, bytes.data(), bytes.size());
  return absl::string_view(into, bytes.size());
}

void StagedWrites::Bytes::Clear() {
  large_.clear();
  if (blocks_.size() > 1) blocks_.resize(1);
  used_in_last_ = blocks_.empty() ? kBlockBytes : 0;
}

StagedWrites::StagedWrites(Database& db) : db_(db) {
  for (int cf = 0; cf < kColumnFamilyCount; ++cf) {
    family_ids_[cf] = db.handle(static_cast<ColumnFamily>(cf))->GetID();
  }
}

void StagedWrites::Index(ColumnFamily cf, absl::string_view key, absl::string_view value,
                         bool deleted) {
  if (!IsIndexed(cf)) return;
  const Entry entry{deleted ? absl::string_view() : bytes_.Copy(value), deleted};
  Family& family = families_[static_cast<int>(cf)];
  auto it = family.index.find(key);
  if (it != family.index.end()) {
    it->second = entry;
  } else {
    const absl::string_view kept_key = bytes_.Copy(key);
    family.index.emplace(kept_key, entry);
    family.unordered.push_back(kept_key);
  }
}

void StagedWrites::Put(ColumnFamily cf, absl::string_view key, absl::string_view value) {
  batch_.Put(db_.handle(cf), AsSlice(key), AsSlice(value)).PermitUncheckedError();
  Index(cf, key, value, /*deleted=*/false);
}

void StagedWrites::Delete(ColumnFamily cf, absl::string_view key) {
  if (IsPutOnceQueue(cf)) {
    batch_.SingleDelete(db_.handle(cf), AsSlice(key)).PermitUncheckedError();
  } else {
    batch_.Delete(db_.handle(cf), AsSlice(key)).PermitUncheckedError();
  }
  Index(cf, key, absl::string_view(), /*deleted=*/true);
}

absl::Status StagedWrites::RefuseUnindexed(ColumnFamily cf) const {
  return absl::InternalError(
      absl::StrCat("column family \"", ColumnFamilyName(cf), "\" is not read by write operations"));
}

absl::StatusOr<std::string> StagedWrites::Get(ColumnFamily cf, absl::string_view key) {
  if (!IsIndexed(cf)) return RefuseUnindexed(cf);
  const auto& index = families_[static_cast<int>(cf)].index;
  if (auto it = index.find(key); it != index.end()) {
    if (it->second.deleted) return absl::NotFoundError("key not found");
    return std::string(it->second.value);
  }
  std::string value;
  const rocksdb::Status status =
      db_.rocksdb()->Get(rocksdb::ReadOptions(), db_.handle(cf), AsSlice(key), &value);
  if (status.IsNotFound()) return absl::NotFoundError("key not found");
  if (!status.ok()) return FromRocksDb(status, "reading from the database");
  return value;
}

std::vector<absl::StatusOr<std::string>> StagedWrites::MultiGet(
    ColumnFamily cf, const std::vector<absl::string_view>& keys) {
  if (!IsIndexed(cf)) {
    return std::vector<absl::StatusOr<std::string>>(keys.size(), RefuseUnindexed(cf));
  }
  std::vector<absl::StatusOr<std::string>> results(keys.size(),
                                                   absl::NotFoundError("key not found"));
  const auto& index = families_[static_cast<int>(cf)].index;
  // The keys nobody in the group staged, and where their results go.
  std::vector<rocksdb::Slice> committed;
  std::vector<size_t> committed_at;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (auto it = index.find(keys[i]); it != index.end()) {
      if (!it->second.deleted) results[i] = std::string(it->second.value);
    } else {
      committed.push_back(AsSlice(keys[i]));
      committed_at.push_back(i);
    }
  }
  if (committed.empty()) return results;
  if (committed.size() == 1) {  // a single publish keeps Get's path
    results[committed_at[0]] = Get(cf, keys[committed_at[0]]);
    return results;
  }
  std::vector<rocksdb::PinnableSlice> values(committed.size());
  std::vector<rocksdb::Status> statuses(committed.size());
  db_.rocksdb()->MultiGet(rocksdb::ReadOptions(), db_.handle(cf), committed.size(),
                          committed.data(), values.data(), statuses.data());
  for (size_t j = 0; j < committed.size(); ++j) {
    absl::StatusOr<std::string>& result = results[committed_at[j]];
    if (statuses[j].ok()) {
      result = values[j].ToString();
    } else if (!statuses[j].IsNotFound()) {
      result = FromRocksDb(statuses[j], "reading from the database");
    }
  }
  return results;
}

absl::Status StagedWrites::Scan(
    ColumnFamily cf, absl::string_view prefix, absl::string_view start,
    const std::function<bool(absl::string_view key, absl::string_view value)>& visit) {
  if (!IsIndexed(cf)) return RefuseUnindexed(cf);
  const absl::string_view from = start.empty() ? prefix : start;

  // The staged writes of the range, sorted. Copied out of the index (views
  // into bytes_), so `visit` may stage more writes meanwhile.
  struct Staged {
    absl::string_view key;
    Entry entry;
  };
  Family& family = families_[static_cast<int>(cf)];
  family.ordered.insert(family.unordered.begin(), family.unordered.end());
  family.unordered.clear();
  std::vector<Staged> staged;
  // Keys with the prefix are contiguous in order, and `from` starts with it.
  for (auto it = family.ordered.lower_bound(from);
       it != family.ordered.end() && absl::StartsWith(*it, prefix); ++it) {
    staged.push_back(Staged{*it, family.index.find(*it)->second});
  }

  PrefixIterator committed(db_, cf, std::string(prefix));
  committed->Seek(AsSlice(from));

  // Merge the two, in key order; a staged write replaces the committed
  // value of its key, a staged delete hides it.
  auto next_staged = staged.begin();
  while (committed->status().ok()) {
    // A prefix of 0xff bytes only has no upper bound.
    const bool has_committed =
        committed->Valid() && absl::StartsWith(View(committed->key()), prefix);
    const bool has_staged = next_staged != staged.end();
    if (!has_committed && !has_staged) break;
    if (has_staged && (!has_committed || next_staged->key <= View(committed->key()))) {
      const Staged& write = *next_staged++;
      if (has_committed && write.key == View(committed->key())) committed->Next();
      if (write.entry.deleted) continue;
      if (!visit(write.key, write.entry.value)) break;
    } else {
      if (!visit(View(committed->key()), View(committed->value()))) break;
      committed->Next();
    }
  }
  return FromRocksDb(committed->status(), "scanning the database");
}

void StagedWrites::SetSavePoint() { batch_.SetSavePoint(); }

void StagedWrites::RollbackToSavePoint() {
  batch_.RollbackToSavePoint().PermitUncheckedError();
  Reindex();
}

void StagedWrites::Reindex() {
  for (Family& family : families_) family.Clear();
  bytes_.Clear();

  // Replays the batch into the index, family ids back to families.
  class Replay : public rocksdb::WriteBatch::Handler {
   public:
    explicit Replay(StagedWrites& staged) : staged_(staged) {}
    rocksdb::Status PutCF(uint32_t family_id, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) override {
      const int cf = Family(family_id);
      if (cf < 0) return rocksdb::Status::Corruption("a staged write to an unknown family");
      staged_.Index(static_cast<ColumnFamily>(cf), View(key), View(value), /*deleted=*/false);
      return rocksdb::Status::OK();
    }
    rocksdb::Status DeleteCF(uint32_t family_id, const rocksdb::Slice& key) override {
      const int cf = Family(family_id);
      if (cf < 0) return rocksdb::Status::Corruption("a staged delete in an unknown family");
      staged_.Index(static_cast<ColumnFamily>(cf), View(key), absl::string_view(),
                    /*deleted=*/true);
      return rocksdb::Status::OK();
    }
    rocksdb::Status SingleDeleteCF(uint32_t family_id, const rocksdb::Slice& key) override {
      return DeleteCF(family_id, key);
    }

   private:
    int Family(uint32_t family_id) const {
      const auto& ids = staged_.family_ids_;
      const auto it = std::find(ids.begin(), ids.end(), family_id);
      return it == ids.end() ? -1 : static_cast<int>(it - ids.begin());
    }
    StagedWrites& staged_;
  };
  Replay replay(*this);
  // Only Put, Delete and SingleDelete are ever staged, to known families.
  batch_.Iterate(&replay).PermitUncheckedError();
}

void StagedWrites::Family::Clear() {
  index.clear();
  ordered.clear();
  unordered.clear();
}

void StagedWrites::Clear() {
  // One very large group must not keep its batch's memory for good.
  if (batch_.Data().capacity() > kMaxKeptBatchBytes) {
    batch_ = rocksdb::WriteBatch();
  } else {
    batch_.Clear();
  }
  for (Family& family : families_) family.Clear();
  bytes_.Clear();
}

}  // namespace wink::webhooks::storage::rocks
