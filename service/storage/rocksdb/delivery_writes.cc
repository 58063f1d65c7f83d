#include "service/storage/rocksdb/delivery_writes.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/common/log.h"
#include "service/common/status_macros.h"
#include "service/storage/records.h"
#include "service/storage/rocksdb/keys.h"
#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::storage::rocks {
namespace {

using ::wink::webhooks::domain::IsDue;
using ::wink::webhooks::domain::IsHeld;
using ::wink::webhooks::internal::v1::DeliveryUpdateRecord;

}  // namespace

absl::StatusOr<std::optional<DeliveryRecord>> ReadDeliveryIn(WriteTxn& txn,
                                                             absl::string_view webhook_id,
                                                             absl::string_view event_id) {
  return ReadRecord<DeliveryRecord>(txn, ColumnFamily::kDeliveries,
                                    DeliveryKey(webhook_id, event_id), kDeliveryRecordVersion,
                                    "delivery");
}

absl::StatusOr<std::optional<WebhookRecord>> ReadWebhookIn(WriteTxn& txn, absl::string_view account,
                                                           absl::string_view webhook_id) {
  return ReadRecord<WebhookRecord>(txn, ColumnFamily::kWebhooks, WebhookKey(account, webhook_id),
                                   kWebhookRecordVersion, "webhook");
}

absl::StatusOr<std::optional<EventRecord>> ReadEventIn(WriteTxn& txn, absl::string_view account,
                                                       absl::string_view event_id) {
  return ReadRecord<EventRecord>(txn, ColumnFamily::kEvents, EventKey(account, event_id),
                                 kEventRecordVersion, "event");
}

uint64_t StageTransition(WriteTxn& txn, const StoreContext& context, const DeliveryRecord* before,
                         domain::Transition transition) {
  if (transition.webhook_after.has_value()) {
    WebhookRecord& webhook = *transition.webhook_after;
    webhook.set_version(kWebhookRecordVersion);
    txn.Put(ColumnFamily::kWebhooks, WebhookKey(webhook.account(), webhook.id()),
            webhook.SerializeAsString());
  }
  if (transition.remove && before != nullptr) {
    const std::string& webhook_id = before->webhook_id();
    const std::string& event_id = before->event_id();
    if (IsDue(before->state())) {
      txn.Delete(ColumnFamily::kDue, DueKey(before->next_attempt_time_us(), webhook_id, event_id));
      txn.Delete(ColumnFamily::kDueByWebhook, DeliveryKey(webhook_id, event_id));
    } else if (IsHeld(before->state())) {
      txn.Delete(ColumnFamily::kHeld, DeliveryKey(webhook_id, event_id));
    }
    for (int n = 1; n <= before->attempt_count(); ++n) {
      txn.Delete(ColumnFamily::kAttempts, AttemptKey(webhook_id, event_id, n));
    }
    txn.Delete(ColumnFamily::kDeliveries, DeliveryKey(webhook_id, event_id));
    txn.Delete(ColumnFamily::kDeliveriesByEvent, DeliveryByEventKey(event_id, webhook_id));
    if (IsDue(before->state())) {
      txn.OnCommit([&due_entries = context.due_entries] { --due_entries; });
    }
    return 0;
  }
  if (!transition.after.has_value()) return 0;
  DeliveryRecord& after = *transition.after;
  const std::string& webhook_id = after.webhook_id();
  const std::string& event_id = after.event_id();
  if (transition.attempt.has_value()) {
    AttemptRecord& attempt = *transition.attempt;
    attempt.set_version(kAttemptRecordVersion);
    txn.Put(ColumnFamily::kAttempts, AttemptKey(webhook_id, event_id, attempt.attempt_number()),
            attempt.SerializeAsString());
  }
  after.set_version(kDeliveryRecordVersion);

  // Remove the entries of the old state unless the new one keeps them as is.
  if (before != nullptr) {
    if (IsDue(before->state()) &&
        !(IsDue(after.state()) && after.next_attempt_time_us() == before->next_attempt_time_us())) {
      txn.Delete(ColumnFamily::kDue, DueKey(before->next_attempt_time_us(), webhook_id, event_id));
    }
    if (IsDue(before->state()) && !IsDue(after.state())) {
      txn.Delete(ColumnFamily::kDueByWebhook, DeliveryKey(webhook_id, event_id));
    }
    if (IsHeld(before->state()) && !IsHeld(after.state())) {
      txn.Delete(ColumnFamily::kHeld, DeliveryKey(webhook_id, event_id));
    }
  } else {
    txn.Put(ColumnFamily::kDeliveriesByEvent, DeliveryByEventKey(event_id, webhook_id), "");
  }
  // Put the entries of the new state unless the old one has them already:
  // a queue key is never put twice (IsPutOnceQueue).
  const bool was_due = before != nullptr && IsDue(before->state());
  const int due_change = (IsDue(after.state()) ? 1 : 0) - (was_due ? 1 : 0);
  if (IsDue(after.state())) {
    if (!was_due || after.next_attempt_time_us() != before->next_attempt_time_us()) {
      txn.Put(ColumnFamily::kDue, DueKey(after.next_attempt_time_us(), webhook_id, event_id), "");
    }
    if (!was_due) txn.Put(ColumnFamily::kDueByWebhook, DeliveryKey(webhook_id, event_id), "");
  } else if (IsHeld(after.state()) && (before == nullptr || !IsHeld(before->state()))) {
    txn.Put(ColumnFamily::kHeld, DeliveryKey(webhook_id, event_id), "");
  }
  txn.Put(ColumnFamily::kDeliveries, DeliveryKey(webhook_id, event_id), after.SerializeAsString());

  DeliveryUpdateRecord update;
  update.set_version(kUpdateRecordVersion);
  *update.mutable_delivery() = std::move(after);
  const uint64_t sequence = txn.AppendUpdate(update.SerializeAsString());
  if (transition.entered_final_state.has_value() && context.observer != nullptr) {
    txn.OnCommit([observer = context.observer, state = *transition.entered_final_state] {
      observer->OnDeliveryFinished(state);
    });
  }
  txn.OnCommit([&listeners = context.listeners, &due_entries = context.due_entries, due_change,
                entry = DeliveryUpdate{sequence, std::move(*update.mutable_delivery())}] {
    if (due_change != 0) due_entries += due_change;
    listeners.NotifyUpdate(entry);
  });
  return sequence;
}

namespace {

// Where a chunk starts: just after `cursor`, the last key the previous chunk
// of its cascade looked at (empty for the first chunk: from the first key).
std::string KeyAfter(const std::string& cursor) { return cursor.empty() ? "" : cursor + '\0'; }

// Applies `cascade`'s input to up to `limit` HELD deliveries of the webhook
// (release or drop) after `cursor` (a held key; empty: from the first), in
// publish order, and leaves in `cursor` the last one it handled. Returns true
// when held deliveries may remain.
//
// Each chunk removes what it handled from `held`, but the removals stay
// behind as tombstones until a compaction, so a chunk that started from the
// first key would step over every one its predecessors left: a release of N
// would cost N^2 / (2 x limit) steps. Nothing is held behind the cursor
// meanwhile: a delivery is held only while its webhook is paused, and a pause
// ends the cascade (domain::CascadeStillApplies).
absl::StatusOr<bool> StageHeldChunk(WriteTxn& txn, const StoreContext& context,
                                    domain::Cascade cascade, const WebhookRecord* webhook,
                                    absl::string_view webhook_id, int limit, std::string& cursor) {
  std::vector<std::string> event_ids;
  bool more = false;
  WINK_RETURN_IF_ERROR(txn.Scan(ColumnFamily::kHeld, DeliveryKeyPrefix(webhook_id),
                                KeyAfter(cursor), [&](absl::string_view key, absl::string_view) {
                                  if (static_cast<int>(event_ids.size()) == limit) {
                                    more = true;
                                    return false;
                                  }
                                  cursor = std::string(key);
                                  KeyReader reader(key);
                                  absl::string_view webhook, event;
                                  if (reader.Str(&webhook) && reader.Str(&event)) {
                                    event_ids.emplace_back(event);
                                  }
                                  return true;
                                }));
  const absl::Time now = context.clock.Now();
  const domain::DeliveryInput input = domain::CascadeInput(cascade);
  for (const std::string& event_id : event_ids) {
    WINK_ASSIGN_OR_RETURN(const std::optional<DeliveryRecord> before,
                          ReadDeliveryIn(txn, webhook_id, event_id));
    if (!before.has_value()) {
      txn.Delete(ColumnFamily::kHeld, DeliveryKey(webhook_id, event_id));  // dangling
      continue;
    }
    StageTransition(txn, context, &*before, domain::NextDelivery(&*before, webhook, input, now));
  }
  return more;
}

// Cancels up to `limit` unfinished deliveries of a deleted webhook, looking
// at no more than 10 x `limit` deliveries after `cursor` (a delivery key;
// empty: from the first) and leaving in `cursor` the last one it looked at.
// Returns true when more may remain.
absl::StatusOr<bool> StageCancelChunk(WriteTxn& txn, const StoreContext& context,
                                      absl::string_view webhook_id, int limit,
                                      std::string& cursor) {
  std::vector<DeliveryRecord> open;
  bool more = false;
  int scanned = 0;
  absl::Status decode_status;
  // Resume just after the last key the previous chunk looked at, so a webhook
  // with many finished deliveries is walked once, not once per chunk.
  WINK_RETURN_IF_ERROR(
      txn.Scan(ColumnFamily::kDeliveries, DeliveryKeyPrefix(webhook_id), KeyAfter(cursor),
               [&](absl::string_view key, absl::string_view value) {
                 if (static_cast<int>(open.size()) == limit || scanned == limit * 10) {
                   more = true;
                   return false;
                 }
                 ++scanned;
                 cursor = std::string(key);
                 DeliveryRecord record;
                 decode_status = DecodeRecord(value, kDeliveryRecordVersion, "delivery", record);
                 if (!decode_status.ok()) return false;
                 if (!domain::IsFinal(record.state())) open.push_back(std::move(record));
                 return true;
               }));
  WINK_RETURN_IF_ERROR(decode_status);
  const absl::Time now = context.clock.Now();
  for (const DeliveryRecord& before : open) {
    StageTransition(
        txn, context, &before,
        domain::NextDelivery(&before, /*webhook=*/nullptr, domain::WebhookDeleted{}, now));
  }
  return more;
}

// One chunk of `cascade`, if the webhook's state still calls for it, and the
// follow-up for the next. `cursor`: the last key the previous chunk looked
// at, where this one goes on.
absl::Status StageCascadeChunk(WriteTxn& txn, const StoreContext& context, domain::Cascade cascade,
                               const std::string& account, const std::string& webhook_id,
                               uint32_t generation, std::string cursor) {
  WINK_ASSIGN_OR_RETURN(const std::optional<WebhookRecord> webhook,
                        ReadWebhookIn(txn, account, webhook_id));
  const WebhookRecord* current = webhook.has_value() ? &*webhook : nullptr;
  if (!domain::CascadeStillApplies(cascade, current, generation)) return absl::OkStatus();
  absl::StatusOr<bool> more =
      cascade == domain::Cascade::kCancelAll
          ? StageCancelChunk(txn, context, webhook_id, kCascadeChunk, cursor)
          : StageHeldChunk(txn, context, cascade, current, webhook_id, kCascadeChunk, cursor);
  WINK_RETURN_IF_ERROR(more.status());
  if (!*more) return absl::OkStatus();
  txn.OnCommit([&context, cascade, account, webhook_id, generation, cursor] {
    auto op = [&context, cascade, account, webhook_id, generation,
               cursor](WriteTxn& next) -> absl::Status {
      return StageCascadeChunk(next, context, cascade, account, webhook_id, generation, cursor);
    };
    auto done = [webhook_id](absl::Status status) {
      if (!status.ok() && !absl::IsUnavailable(status)) {
        LogLine(LogLevel::kError, "delivery_cascade_failed")
            .Field("webhook", webhook_id)
            .Field("error", status.message());
      }
    };
    // The rest of a release need not delay a shutdown: the repair at the
    // next start releases what is left, exactly as this would (a million
    // held deliveries take many seconds). Drops and cancels run to the end:
    // the repair could not tell a drop from a release.
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
                          uint32_t generation) {
  if (cascade == domain::Cascade::kNone) return absl::OkStatus();
  return StageCascadeChunk(txn, context, cascade, std::string(account), std::string(webhook_id),
                           generation, /*cursor=*/"");
}

}  // namespace wink::webhooks::storage::rocks
