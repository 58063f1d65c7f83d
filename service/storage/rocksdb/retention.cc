// RocksDbRetention: deletes old events with everything they left, and old
// update-log entries.
#include <memory>
#include <string>
#include <utility>

#include "absl/container/btree_map.h"
#include "service/common/status_macros.h"
#include "service/storage/records.h"
#include "service/storage/rocksdb/account_usage.h"
#include "service/storage/rocksdb/delivery_writes.h"
#include "service/storage/rocksdb/keys.h"
#include "service/storage/rocksdb/stores.h"
#include "service/storage/stored_quota.h"
#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::storage::rocks {
namespace {

using ::wink::webhooks::internal::v1::DeliveryUpdateRecord;

// One write deletes at most about this many deliveries (with their
// attempts), so a purge never stalls other writes for long.
constexpr int kMaxPurgedDeliveriesPerWrite = 10000;

}  // namespace

absl::StatusOr<PurgeResult> RocksDbRetention::PurgeOlderThan(absl::Time cutoff, int limit) {
  // Find old events: within an account they are in time order, so each
  // account's old ones come first and the scan skips to the next account at
  // the first young one.
  struct OldEvent {
    std::string account;
    std::string id;
  };
  std::vector<OldEvent> old_events;
  {
    std::unique_ptr<rocksdb::Iterator> it = context_.db.NewIterator(ColumnFamily::kEvents);
    it->SeekToFirst();
    while (it->Valid() && static_cast<int>(old_events.size()) < limit) {
      KeyReader reader(View(it->key()));
      absl::string_view account, event_id;
      if (!reader.Str(&account) || !reader.Str(&event_id) || !IsValidId(event_id, kEventIdPrefix)) {
        it->Next();
        continue;
      }
      if (IdTime(event_id, kEventIdPrefix) < cutoff) {
        old_events.push_back(OldEvent{std::string(account), std::string(event_id)});
        it->Next();
      } else {
        const std::string next_account = PrefixSuccessor(EventKeyPrefix(account));
        if (next_account.empty()) break;
        it->Seek(next_account);
      }
    }
    WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "scanning events for retention"));
  }
  std::vector<uint64_t> old_updates;
  {
    std::unique_ptr<rocksdb::Iterator> it = context_.db.NewIterator(ColumnFamily::kUpdates);
    for (it->SeekToFirst(); it->Valid() && static_cast<int>(old_updates.size()) < limit * 10;
         it->Next()) {
      DeliveryUpdateRecord record;
      uint64_t sequence = 0;
      if (!DecodeUpdateKey(View(it->key()), &sequence) ||
          !DecodeRecord(View(it->value()), kUpdateRecordVersion, "delivery update", record).ok()) {
        continue;
      }
      if (absl::FromUnixMicros(record.delivery().update_time_us()) >= cutoff) break;
      old_updates.push_back(sequence);
    }
    WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "scanning the update log for retention"));
    // The newest entry stays, however old: the next start continues the
    // sequence after the last entry, and must not hand out numbers that
    // watchers already hold as cursors.
    if (!it->Valid() && !old_updates.empty()) old_updates.pop_back();
  }
  PurgeResult result;
  if (old_events.empty() && old_updates.empty()) return result;

  WINK_RETURN_IF_ERROR(context_.writer.Run([&](WriteTxn& txn) -> absl::Status {
    result.events = 0;
    int staged_deliveries = 0;
    const absl::Time now = context_.clock.Now();
    // What leaves each account's usage: events, bytes.
    absl::btree_map<std::string, std::pair<int64_t, int64_t>> removed_from;
    for (const OldEvent& event : old_events) {
      if (staged_deliveries >= kMaxPurgedDeliveriesPerWrite) break;
      auto stored = txn.Get(ColumnFamily::kEvents, EventKey(event.account, event.id));
      if (absl::IsNotFound(stored.status())) continue;
      if (!stored.ok()) return stored.status();
      auto& [removed_events, removed_bytes] = removed_from[event.account];
      ++removed_events;
      removed_bytes += static_cast<int64_t>(stored->size());
      std::vector<std::string> webhook_ids;
      WINK_RETURN_IF_ERROR(txn.Scan(ColumnFamily::kDeliveriesByEvent,
                                    DeliveryByEventKeyPrefix(event.id), "",
                                    [&](absl::string_view key, absl::string_view) {
                                      KeyReader reader(key);
                                      absl::string_view event_id, webhook_id;
                                      if (reader.Str(&event_id) && reader.Str(&webhook_id)) {
                                        webhook_ids.emplace_back(webhook_id);
                                      }
                                      return true;
                                    }));
      for (const std::string& webhook_id : webhook_ids) {
        WINK_ASSIGN_OR_RETURN(const std::optional<DeliveryRecord> delivery,
                              ReadDeliveryIn(txn, webhook_id, event.id));
        if (!delivery.has_value()) {
          txn.Delete(ColumnFamily::kDeliveriesByEvent, DeliveryByEventKey(event.id, webhook_id));
          continue;
        }
        ++staged_deliveries;
        StageTransition(
            txn, context_, &*delivery,
            domain::NextDelivery(&*delivery, /*webhook=*/nullptr, domain::Expire{}, now));
      }
      ++result.events;
      txn.Delete(ColumnFamily::kEvents, EventKey(event.account, event.id));
    }
    for (const auto& [account, removed] : removed_from) {
      WINK_ASSIGN_OR_RETURN(const AccountUsage usage, ReadUsageIn(txn, account));
      StageUsage(txn, account, AddToUsage(usage, -removed.first, -removed.second));
    }
    for (uint64_t sequence : old_updates) txn.Delete(ColumnFamily::kUpdates, UpdateKey(sequence));
    return absl::OkStatus();
  }));
  result.updates = static_cast<int>(old_updates.size());
  return result;
}

}  // namespace wink::webhooks::storage::rocks
