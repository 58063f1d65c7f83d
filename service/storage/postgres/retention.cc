// PostgresRetention: deletes old events with everything they left, and old
// update-log entries.
#include "service/common/ids.h"
#include "service/common/status_macros.h"
#include "service/storage/postgres/delivery_writes.h"
#include "service/storage/postgres/stores.h"

namespace wink::webhooks::storage::pg {
namespace {

// Event ids begin with their time, so id order is age order.
constexpr Sql kOldEvents{"old_events",
                         "SELECT account, id FROM events WHERE id < $1 ORDER BY id LIMIT $2"};
// The head of the log, oldest first, with each entry's time.
constexpr Sql kLogHead{"log_head",
                       "SELECT sequence, update_time_us FROM updates ORDER BY sequence LIMIT $1"};
constexpr Sql kEventDeliveriesForUpdate{
    "event_deliveries_for_update",
    "SELECT record FROM deliveries WHERE event_id = $1 ORDER BY webhook_id FOR UPDATE"};
// Deletes the event and takes it out of its account's usage, in one
// statement: an event another node purged first changes nothing.
constexpr Sql kDeleteEvent{
    "delete_event",
    "WITH gone AS (DELETE FROM events WHERE account = $1 AND id = $2 "
    "RETURNING account, octet_length(record) AS bytes) "
    "UPDATE account_usage SET events = greatest(0, account_usage.events - 1), "
    "bytes = greatest(0, account_usage.bytes - gone.bytes) FROM gone "
    "WHERE account_usage.account = gone.account"};
constexpr Sql kDeleteUpdatesUpTo{"delete_updates_up_to",
                                 "DELETE FROM updates WHERE sequence <= $1"};

// One write deletes at most about this many deliveries (with their
// attempts), so a purge never holds other writes back for long.
constexpr int kMaxPurgedDeliveriesPerWrite = 10000;

}  // namespace

absl::StatusOr<PurgeResult> PostgresRetention::PurgeOlderThan(absl::Time cutoff, int limit) {
  WINK_ASSIGN_OR_RETURN(
      const Rows old_events,
      context_.readers.Query(Statement{
          kOldEvents, {Param::Text(FirstIdAt(cutoff, kEventIdPrefix)), Param::Int(limit)}}));
  const int head_limit = limit * 10;
  WINK_ASSIGN_OR_RETURN(const Rows head,
                        context_.readers.Query(Statement{kLogHead, {Param::Int(head_limit)}}));
  int old_updates = 0;
  while (old_updates < head.size() && absl::FromUnixMicros(head.Int(old_updates, 1)) < cutoff) {
    ++old_updates;
  }
  // The newest entry stays, however old (as in the RocksDB backend, where
  // the next start continues the sequence after it).
  if (old_updates == head.size() && head.size() < head_limit && old_updates > 0) --old_updates;
  PurgeResult result;
  if (old_events.empty() && old_updates == 0) return result;

  WINK_RETURN_IF_ERROR(context_.writer.Run([&](WriteTxn& txn) -> absl::Status {
    result.events = 0;
    int staged_deliveries = 0;
    const absl::Time now = context_.clock.Now();
    for (int row = 0; row < old_events.size(); ++row) {
      if (staged_deliveries >= kMaxPurgedDeliveriesPerWrite) break;
      const std::string account(old_events.Bytes(row, 0));
      const std::string event_id(old_events.Bytes(row, 1));
      WINK_ASSIGN_OR_RETURN(const Rows deliveries, txn.ReadOne(Statement{kEventDeliveriesForUpdate,
                                                                         {Param::Text(event_id)}}));
      WINK_ASSIGN_OR_RETURN(
          const std::vector<DeliveryRecord> expired,
          RecordsIn<DeliveryRecord>(deliveries, 0, kDeliveryRecordVersion, "delivery"));
      for (const DeliveryRecord& delivery : expired) {
        ++staged_deliveries;
        StageTransition(
            txn, context_, &delivery,
            domain::NextDelivery(&delivery, /*webhook=*/nullptr, domain::Expire{}, now));
      }
      ++result.events;
      txn.Write(Statement{kDeleteEvent, {Param::Text(account), Param::Text(event_id)}});
    }
    if (old_updates > 0) {
      txn.Write(Statement{kDeleteUpdatesUpTo, {Param::Int(head.Int(old_updates - 1, 0))}});
    }
    return absl::OkStatus();
  }));
  result.updates = old_updates;
  return result;
}

}  // namespace wink::webhooks::storage::pg
