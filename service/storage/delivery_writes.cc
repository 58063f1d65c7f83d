#include "service/storage/delivery_writes.h"

#include <optional>
#include <utility>
#include <vector>

#include "service/common/log.h"
#include "service/common/status_macros.h"
#include "service/metrics/service_metrics.h"
#include "service/storage/event_store.h"
#include "service/storage/keys.h"
#include "service/storage/records.h"
#include "service/storage/webhook_store.h"

namespace wink::webhooks::storage {
namespace {

using ::wink::webhooks::internal::v1::DeliveryUpdateRecord;

// The metrics outcome of a final state; nullopt for the others.
std::optional<metrics::DeliveryOutcome> FinalOutcome(internal::v1::DeliveryStateRecord state) {
  switch (state) {
    case internal::v1::DELIVERY_STATE_RECORD_SUCCEEDED:
      return metrics::DeliveryOutcome::kSucceeded;
    case internal::v1::DELIVERY_STATE_RECORD_FAILED:
      return metrics::DeliveryOutcome::kFailed;
    case internal::v1::DELIVERY_STATE_RECORD_CANCELLED:
      return metrics::DeliveryOutcome::kCancelled;
    default:
      return std::nullopt;
  }
}

}  // namespace

absl::StatusOr<DeliveryRecord> ReadDelivery(WriteTxn& txn, absl::string_view webhook_id,
                                            absl::string_view event_id) {
  WINK_ASSIGN_OR_RETURN(const std::string bytes,
                        txn.Get(ColumnFamily::kDeliveries, DeliveryKey(webhook_id, event_id)));
  DeliveryRecord record;
  WINK_RETURN_IF_ERROR(DecodeRecord(bytes, kDeliveryRecordVersion, "delivery", record));
  return record;
}

uint64_t StageDelivery(WriteTxn& txn, UpdateListener* listener, const DeliveryRecord* before,
                       DeliveryRecord after) {
  const std::string& webhook_id = after.webhook_id();
  const std::string& event_id = after.event_id();
  after.set_version(kDeliveryRecordVersion);
  if (!IsDue(after.state())) after.clear_next_attempt_time_us();

  // Remove the entries of the old state unless the new one keeps them as is.
  if (before != nullptr) {
    if (IsDue(before->state()) &&
        !(IsDue(after.state()) && after.next_attempt_time_us() == before->next_attempt_time_us())) {
      txn.Delete(ColumnFamily::kDue, DueKey(before->next_attempt_time_us(), webhook_id, event_id));
    }
    if (IsHeld(before->state()) && !IsHeld(after.state())) {
      txn.Delete(ColumnFamily::kHeld, DeliveryKey(webhook_id, event_id));
    }
  } else {
    txn.Put(ColumnFamily::kDeliveriesByEvent, DeliveryByEventKey(event_id, webhook_id), "");
  }
  if (IsDue(after.state())) {
    txn.Put(ColumnFamily::kDue, DueKey(after.next_attempt_time_us(), webhook_id, event_id), "");
  } else if (IsHeld(after.state())) {
    txn.Put(ColumnFamily::kHeld, DeliveryKey(webhook_id, event_id), "");
  }
  txn.Put(ColumnFamily::kDeliveries, DeliveryKey(webhook_id, event_id), after.SerializeAsString());

  DeliveryUpdateRecord update;
  update.set_version(kUpdateRecordVersion);
  *update.mutable_delivery() = after;
  if (update.delivery().has_last_attempt()) {
    update.mutable_delivery()->mutable_last_attempt()->clear_response_body();
  }
  const uint64_t sequence = txn.AppendUpdate(update.SerializeAsString());
  // Counted per transition: an attempt recorded on a delivery that already
  // ended stages the same final state again.
  if (const auto outcome = FinalOutcome(after.state());
      outcome.has_value() && (before == nullptr || before->state() != after.state())) {
    txn.OnCommit([outcome] { metrics::Global().RecordDeliveryFinished(*outcome); });
  }
  if (listener != nullptr) {
    txn.OnCommit(
        [listener, entry = DeliveryUpdate{sequence, std::move(*update.mutable_delivery())}] {
          listener->OnDeliveryUpdate(entry);
        });
  }
  return sequence;
}

absl::StatusOr<bool> StageHeldChunk(WriteTxn& txn, UpdateListener* listener,
                                    absl::string_view webhook_id, bool release,
                                    absl::string_view reason, int limit, absl::Time now) {
  std::vector<std::string> event_ids;
  bool more = false;
  WINK_RETURN_IF_ERROR(txn.Scan(ColumnFamily::kHeld, DeliveryKeyPrefix(webhook_id), "",
                                [&](absl::string_view key, absl::string_view) {
                                  if (static_cast<int>(event_ids.size()) == limit) {
                                    more = true;
                                    return false;
                                  }
                                  KeyReader reader(key);
                                  absl::string_view webhook, event;
                                  if (reader.Str(&webhook) && reader.Str(&event)) {
                                    event_ids.emplace_back(event);
                                  }
                                  return true;
                                }));
  const int64_t now_us = absl::ToUnixMicros(now);
  for (const std::string& event_id : event_ids) {
    auto before = ReadDelivery(txn, webhook_id, event_id);
    if (absl::IsNotFound(before.status())) {
      txn.Delete(ColumnFamily::kHeld, DeliveryKey(webhook_id, event_id));  // dangling
      continue;
    }
    WINK_RETURN_IF_ERROR(before.status());
    DeliveryRecord after = *before;
    after.set_update_time_us(now_us);
    if (release) {
      after.set_state(internal::v1::DELIVERY_STATE_RECORD_PENDING);
      after.set_state_reason("released: the webhook was resumed");
      // Due at publish time: released deliveries sort before anything
      // published since, in publish order, and are due at once.
      after.set_next_attempt_time_us(std::min(before->create_time_us(), now_us));
    } else {
      after.set_state(internal::v1::DELIVERY_STATE_RECORD_CANCELLED);
      after.set_state_reason(std::string(reason));
    }
    StageDelivery(txn, listener, &*before, std::move(after));
  }
  return more;
}

absl::StatusOr<bool> StageCancelChunk(WriteTxn& txn, UpdateListener* listener,
                                      absl::string_view webhook_id, absl::string_view reason,
                                      int limit, absl::Time now, std::string& cursor) {
  std::vector<DeliveryRecord> open;
  bool more = false;
  int scanned = 0;
  absl::Status decode_status;
  // Resume just after the last key the previous chunk looked at, so a webhook
  // with many finished deliveries is walked once, not once per chunk.
  const std::string start = cursor.empty() ? "" : cursor + '\0';
  WINK_RETURN_IF_ERROR(
      txn.Scan(ColumnFamily::kDeliveries, DeliveryKeyPrefix(webhook_id), start,
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
                 if (IsDue(record.state()) || IsHeld(record.state()))
                   open.push_back(std::move(record));
                 return true;
               }));
  WINK_RETURN_IF_ERROR(decode_status);
  for (const DeliveryRecord& before : open) {
    DeliveryRecord after = before;
    after.set_state(internal::v1::DELIVERY_STATE_RECORD_CANCELLED);
    after.set_state_reason(std::string(reason));
    after.set_update_time_us(absl::ToUnixMicros(now));
    StageDelivery(txn, listener, &before, std::move(after));
  }
  return more;
}

namespace {

constexpr absl::string_view kDeletedReason = "cancelled: the webhook was deleted";
constexpr absl::string_view kDroppedReason = "cancelled: dropped when the webhook was resumed";

// Whether the webhook's current state still calls for `cascade`.
absl::StatusOr<bool> CascadeStillApplies(WriteTxn& txn, Cascade cascade, absl::string_view account,
                                         absl::string_view webhook_id, uint32_t generation) {
  auto stored = txn.Get(ColumnFamily::kWebhooks, WebhookKey(account, webhook_id));
  if (cascade == Cascade::kCancelAll) {
    if (absl::IsNotFound(stored.status())) return true;
    WINK_RETURN_IF_ERROR(stored.status());
    return false;
  }
  if (absl::IsNotFound(stored.status())) return false;
  WINK_RETURN_IF_ERROR(stored.status());
  internal::v1::WebhookRecord webhook;
  WINK_RETURN_IF_ERROR(DecodeRecord(*stored, kWebhookRecordVersion, "webhook", webhook));
  // Paused again, or resumed again (that resume's cascade does the rest).
  return webhook.enabled() && webhook.resume_generation() == generation;
}

// `cursor`: where the cancel cascade goes on (the held ones need none: each
// chunk removes what it handled from `held`).
absl::Status StageCascadeChunk(WriteTxn& txn, UpdateListener* listener, const Clock& clock,
                               Cascade cascade, const std::string& account,
                               const std::string& webhook_id, uint32_t generation,
                               std::string cursor) {
  const absl::Time now = clock.Now();
  absl::StatusOr<bool> more =
      cascade == Cascade::kCancelAll
          ? StageCancelChunk(txn, listener, webhook_id, kDeletedReason, kCascadeChunk, now, cursor)
          : StageHeldChunk(txn, listener, webhook_id, cascade == Cascade::kReleaseHeld,
                           kDroppedReason, kCascadeChunk, now);
  WINK_RETURN_IF_ERROR(more.status());
  if (!*more) return absl::OkStatus();
  Writer* writer = &txn.writer();
  txn.OnCommit([writer, listener, &clock, cascade, account, webhook_id, generation, cursor] {
    auto op = [listener, &clock, cascade, account, webhook_id, generation,
               cursor](WriteTxn& next) -> absl::Status {
      WINK_ASSIGN_OR_RETURN(const bool applies,
                            CascadeStillApplies(next, cascade, account, webhook_id, generation));
      if (!applies) return absl::OkStatus();
      return StageCascadeChunk(next, listener, clock, cascade, account, webhook_id, generation,
                               cursor);
    };
    auto done = [webhook_id](absl::Status status) {
      if (!status.ok() && !absl::IsUnavailable(status)) {
        LogLine(LogLevel::kError, "delivery_cascade_failed")
            .Field("webhook", webhook_id)
            .Field("error", status.message());
      }
    };
    // The rest of a release need not delay a shutdown: the held repair at
    // the next start releases what is left, exactly as this would (a million
    // held deliveries take many seconds). Drops and cancels run to the end:
    // the repair could not tell a drop from a release.
    if (cascade == Cascade::kReleaseHeld) {
      writer->SubmitUnlessStopping(std::move(op), std::move(done));
    } else {
      writer->Submit(std::move(op), std::move(done));
    }
  });
  return absl::OkStatus();
}

}  // namespace

absl::Status StageCascade(WriteTxn& txn, UpdateListener* listener, const Clock& clock,
                          Cascade cascade, absl::string_view account, absl::string_view webhook_id,
                          uint32_t generation) {
  return StageCascadeChunk(txn, listener, clock, cascade, std::string(account),
                           std::string(webhook_id), generation, /*cursor=*/"");
}

}  // namespace wink::webhooks::storage
