#include "service/storage/rocksdb/account_usage.h"

#include <memory>
#include <string>

#include "absl/container/btree_map.h"
#include "service/common/ids.h"
#include "service/common/status_macros.h"
#include "service/storage/records.h"
#include "service/storage/rocksdb/keys.h"
#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::storage::rocks {
namespace {

using ::wink::webhooks::internal::v1::AccountUsageRecord;

constexpr uint32_t kAccountUsageRecordVersion = 1;

absl::StatusOr<AccountUsage> UsageFrom(const absl::StatusOr<std::string>& stored) {
  if (absl::IsNotFound(stored.status())) return AccountUsage{};
  if (!stored.ok()) return stored.status();
  AccountUsageRecord record;
  WINK_RETURN_IF_ERROR(
      DecodeRecord(*stored, kAccountUsageRecordVersion, "account usage", record));
  return AccountUsage{record.events(), record.bytes()};
}

std::string UsageValue(const AccountUsage& usage) {
  AccountUsageRecord record;
  record.set_version(kAccountUsageRecordVersion);
  record.set_events(usage.events);
  record.set_bytes(usage.bytes);
  return record.SerializeAsString();
}

}  // namespace

absl::StatusOr<AccountUsage> ReadUsageIn(WriteTxn& txn, absl::string_view account) {
  return UsageFrom(txn.Get(ColumnFamily::kDefault, AccountUsageKey(account)));
}

absl::StatusOr<AccountUsage> ReadUsage(Database& db, absl::string_view account) {
  return UsageFrom(db.Get(ColumnFamily::kDefault, AccountUsageKey(account)));
}

void StageUsage(WriteTxn& txn, absl::string_view account, const AccountUsage& usage) {
  txn.Put(ColumnFamily::kDefault, AccountUsageKey(account), UsageValue(usage));
}

absl::StatusOr<std::optional<absl::Time>> OldestEventTimeIn(WriteTxn& txn,
                                                            absl::string_view account) {
  std::optional<absl::Time> oldest;
  WINK_RETURN_IF_ERROR(txn.Scan(ColumnFamily::kEvents, EventKeyPrefix(account), "",
                                [&](absl::string_view key, absl::string_view) {
                                  KeyReader reader(key);
                                  absl::string_view owner, event_id;
                                  if (reader.Str(&owner) && reader.Str(&event_id) &&
                                      IsValidId(event_id, kEventIdPrefix)) {
                                    oldest = IdTime(event_id, kEventIdPrefix);
                                  }
                                  return false;
                                }));
  return oldest;
}

absl::Status CountUsageIfNotCounted(Database& db) {
  auto counted = db.Get(ColumnFamily::kDefault, kUsageCountedKey);
  if (counted.ok()) return absl::OkStatus();
  if (!absl::IsNotFound(counted.status())) return counted.status();
  // One pass over the events, in key order, so an account's events are
  // together; the counts and the marker are written at once.
  absl::btree_map<std::string, AccountUsage> usage_of;
  std::unique_ptr<rocksdb::Iterator> it = db.NewIterator(ColumnFamily::kEvents);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    KeyReader reader(absl::string_view(it->key().data(), it->key().size()));
    absl::string_view account;
    if (!reader.Str(&account)) continue;
    AccountUsage& usage = usage_of[std::string(account)];
    ++usage.events;
    usage.bytes += static_cast<int64_t>(it->value().size());
  }
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "counting account usage"));
  rocksdb::WriteBatch batch;
  for (const auto& [account, usage] : usage_of) {
    const std::string key = AccountUsageKey(account);
    const std::string value = UsageValue(usage);
    batch.Put(db.handle(ColumnFamily::kDefault), key, value);
  }
  batch.Put(db.handle(ColumnFamily::kDefault), std::string(kUsageCountedKey), "");
  return db.Write(batch);
}

}  // namespace wink::webhooks::storage::rocks
