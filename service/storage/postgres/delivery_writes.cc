#include "service/storage/postgres/delivery_writes.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/common/log.h"
#include "service/common/status_macros.h"
#include "service/storage/postgres/schema.h"

namespace wink::webhooks::storage::pg {
namespace {

using ::wink::webhooks::domain::IsDue;
using ::wink::webhooks::domain::IsHeld;

constexpr Sql kLockShared{"lock_shared",
                          "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))"};
constexpr Sql kLockExclusive{"lock_exclusive",
                             "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"};
constexpr Sql kEvent{"event",
                     "SELECT record, watch_cursor FROM events WHERE account = $1 AND id = $2"};
constexpr Sql kDeleteAttempts{"delete_attempts",
                              "DELETE FROM attempts WHERE webhook_id = $1 AND event_id = $2"};
constexpr Sql kDeleteDelivery{"delete_delivery",
                              "DELETE FROM deliveries WHERE webhook_id = $1 AND event_id = $2"};
constexpr Sql kInsertAttempt{
    "insert_attempt",
    "INSERT INTO attempts (webhook_id, event_id, number, record) VALUES ($1, $2, $3, $4)"};
constexpr Sql kInsertDelivery{
    "insert_delivery",
    "INSERT INTO deliveries (webhook_id, event_id, account, state, due_time_us, held, record, "
    "part) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"};
constexpr Sql kUpdateDelivery{
    "update_delivery",
    "UPDATE deliveries SET state = $3, due_time_us = $4, held = $5, record = $6 "
    "WHERE webhook_id = $1 AND event_id = $2"};
// A webhook's held deliveries after an event id, oldest first.
constexpr Sql kHeldChunk{"held_chunk",
                         "SELECT record FROM deliveries WHERE webhook_id = $1 AND held "
                         "AND event_id > $2 ORDER BY event_id LIMIT $3 FOR UPDATE"};
// A webhook's unfinished deliveries after an event id.
constexpr Sql kOpenChunk{
    "open_chunk",
    "SELECT record FROM deliveries WHERE webhook_id = $1 AND event_id > $2 "
    "AND (due_time_us IS NOT NULL OR held) ORDER BY event_id LIMIT $3 FOR UPDATE"};

Param DueParam(const DeliveryRecord& delivery) {
  return IsDue(delivery.state()) ? Param::Int(delivery.next_attempt_time_us()) : Param::Null();
}

}  // namespace

absl::StatusOr<std::optional<EventRecord>> EventAt(const Rows& rows, int row, int column) {
  WINK_ASSIGN_OR_RETURN(std::optional<EventRecord> event,
                        RecordAt<EventRecord>(rows, row, column, kEventRecordVersion, "event"));
  if (event.has_value()) event->set_watch_cursor(rows.Int(row, column + 1));
  return event;
}

Statement LockAccountShared(absl::string_view account) {
  return Statement{kLockShared, {Param::Text(absl::StrCat("account/", account))}};
}

Statement LockAccountExclusive(absl::string_view account) {
  return Statement{kLockExclusive, {Param::Text(absl::StrCat("account/", account))}};
}

Statement LockIdempotencyKey(absl::string_view account, int kind, absl::string_view key) {
  // hashtextextended takes text: the key's bytes as hex, so any key fits.
  std::string hex;
  static constexpr char kDigits[] = "0123456789abcdef";
  for (unsigned char c : key) {
    hex.push_back(kDigits[c >> 4]);
    hex.push_back(kDigits[c & 15]);
  }
  return Statement{kLockExclusive,
                   {Param::Text(absl::StrCat("idempotency/", account, "/", kind, "/", hex))}};
}

absl::StatusOr<std::optional<DeliveryRecord>> ReadDeliveryForUpdate(WriteTxn& txn,
                                                                    absl::string_view webhook_id,
                                                                    absl::string_view event_id) {
  WINK_ASSIGN_OR_RETURN(
      Rows rows,
      txn.ReadOne(Statement{kDeliveryForUpdate, {Param::Text(webhook_id), Param::Text(event_id)}}));
  return RecordAt<DeliveryRecord>(rows, 0, 0, kDeliveryRecordVersion, "delivery");
}

absl::StatusOr<std::optional<WebhookRecord>> ReadWebhookForUpdate(WriteTxn& txn,
                                                                  absl::string_view account,
                                                                  absl::string_view webhook_id) {
  WINK_ASSIGN_OR_RETURN(
      Rows rows,
      txn.ReadOne(Statement{kWebhookForUpdate, {Param::Text(account), Param::Text(webhook_id)}}));
  return RecordAt<WebhookRecord>(rows, 0, 0, kWebhookRecordVersion, "webhook");
}

absl::StatusOr<std::optional<EventRecord>> ReadEventIn(WriteTxn& txn, absl::string_view account,
                                                       absl::string_view event_id) {
  WINK_ASSIGN_OR_RETURN(
      Rows rows, txn.ReadOne(Statement{kEvent, {Param::Text(account), Param::Text(event_id)}}));
  return EventAt(rows, 0, 0);
}

void StageTransition(WriteTxn& txn, const StoreContext& context, const DeliveryRecord* before,
                     domain::Transition transition) {
  if (transition.webhook_after.has_value()) {
    WebhookRecord& webhook = *transition.webhook_after;
    webhook.set_version(kWebhookRecordVersion);
    txn.Write(Statement{kUpdateWebhook,
                        {Param::Text(webhook.account()), Param::Text(webhook.id()),
                         Param::Bytes(webhook.SerializeAsString())}});
  }
  if (transition.remove && before != nullptr) {
    const std::vector<Param> key{Param::Text(before->webhook_id()),
                                 Param::Text(before->event_id())};
    txn.Write(Statement{kDeleteAttempts, key});
    txn.Write(Statement{kDeleteDelivery, key});
    return;
  }
  if (!transition.after.has_value()) return;
  DeliveryRecord& after = *transition.after;
  const std::string& webhook_id = after.webhook_id();
  const std::string& event_id = after.event_id();
  if (transition.attempt.has_value()) {
    AttemptRecord& attempt = *transition.attempt;
    attempt.set_version(kAttemptRecordVersion);
    txn.Write(Statement{
        kInsertAttempt,
        {Param::Text(webhook_id), Param::Text(event_id), Param::Int(attempt.attempt_number()),
         Param::Bytes(attempt.SerializeAsString())}});
  }
  after.set_version(kDeliveryRecordVersion);
  if (before == nullptr) {
    txn.Write(
        Statement{kInsertDelivery,
                  {Param::Text(webhook_id), Param::Text(event_id), Param::Text(after.account()),
                   Param::Int(after.state()), DueParam(after), Param::Bool(IsHeld(after.state())),
                   Param::Bytes(after.SerializeAsString()), Param::Int(PartitionOf(webhook_id))}});
  } else {
    txn.Write(Statement{
        kUpdateDelivery,
        {Param::Text(webhook_id), Param::Text(event_id), Param::Int(after.state()), DueParam(after),
         Param::Bool(IsHeld(after.state())), Param::Bytes(after.SerializeAsString())}});
  }
  if (transition.entered_final_state.has_value() && context.observer != nullptr) {
    txn.OnCommit([observer = context.observer, state = *transition.entered_final_state](uint64_t) {
      observer->OnDeliveryFinished(state);
    });
  }
  txn.AppendUpdate(std::move(after));
}

namespace {

// One chunk of `cascade` for the webhook (`webhook`: as it is now, nullptr
// when deleted), and the follow-up for the next. `cursor`: the last event id
// the previous chunk handled, where this one goes on. A release or drop
// takes each chunk's deliveries out of `deliveries_held`, but their index
// entries stay until a vacuum: starting after the cursor, a chunk does not
// walk past them again. Nothing is held behind the cursor meanwhile: a
// delivery is held only while its webhook is paused, and a pause ends the
// cascade (domain::CascadeStillApplies).
absl::Status StageCascadeChunk(WriteTxn& txn, const StoreContext& context, domain::Cascade cascade,
                               const std::string& account, const std::string& webhook_id,
                               const WebhookRecord* webhook, uint32_t generation,
                               std::string cursor) {
  if (!domain::CascadeStillApplies(cascade, webhook, generation)) return absl::OkStatus();
  const bool cancel = cascade == domain::Cascade::kCancelAll;
  WINK_ASSIGN_OR_RETURN(
      Rows rows, txn.ReadOne(Statement{
                     cancel ? kOpenChunk : kHeldChunk,
                     {Param::Text(webhook_id), Param::Text(cursor), Param::Int(kCascadeChunk)}}));
  WINK_ASSIGN_OR_RETURN(const std::vector<DeliveryRecord> deliveries,
                        RecordsIn<DeliveryRecord>(rows, 0, kDeliveryRecordVersion, "delivery"));
  const absl::Time now = context.clock.Now();
  const domain::DeliveryInput input = domain::CascadeInput(cascade);
  for (const DeliveryRecord& before : deliveries) {
    StageTransition(txn, context, &before, domain::NextDelivery(&before, webhook, input, now));
  }
  if (rows.size() < kCascadeChunk) return absl::OkStatus();
  if (!deliveries.empty()) cursor = deliveries.back().event_id();
  txn.OnCommit([&context, cascade, account, webhook_id, generation, cursor](uint64_t) {
    auto op = [&context, cascade, account, webhook_id, generation,
               cursor](WriteTxn& next) -> absl::Status {
      WINK_ASSIGN_OR_RETURN(const std::optional<WebhookRecord> now,
                            ReadWebhookForUpdate(next, account, webhook_id));
      return StageCascadeChunk(next, context, cascade, account, webhook_id,
                               now.has_value() ? &*now : nullptr, generation, cursor);
    };
    auto done = [webhook_id](absl::Status status) {
      if (!status.ok() && !absl::IsUnavailable(status)) {
        LogLine(LogLevel::kError, "delivery_cascade_failed")
            .Field("webhook", webhook_id)
            .Field("error", status.message());
      }
    };
    // As in the RocksDB backend: the rest of a release may wait for the
    // repair at the next start; drops and cancels run to the end.
    if (cascade == domain::Cascade::kReleaseHeld) {
      context.writer.SubmitUnlessStopping(std::move(op), std::move(done));
    } else {
      context.writer.Submit(std::move(op), std::move(done));
    }
  });
  return absl::OkStatus();
}

}  // namespace

absl::Status StageCascade(WriteTxn& txn, const StoreContext& context, domain::Cascade cascade,
                          absl::string_view account, absl::string_view webhook_id,
                          const WebhookRecord* webhook, uint32_t generation) {
  if (cascade == domain::Cascade::kNone) return absl::OkStatus();
  return StageCascadeChunk(txn, context, cascade, std::string(account), std::string(webhook_id),
                           webhook, generation, /*cursor=*/"");
}

}  // namespace wink::webhooks::storage::pg
