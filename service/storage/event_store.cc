#include "service/storage/event_store.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"
#include "service/storage/database.h"
#include "service/storage/delivery_writes.h"
#include "service/storage/keys.h"
#include "service/storage/records.h"
#include "service/storage/webhook_store.h"
#include "service/storage/writer.h"

namespace wink::webhooks::storage {
namespace {

using ::wink::webhooks::internal::v1::DeliveryUpdateRecord;
using ::wink::webhooks::internal::v1::IdempotencyRecord;
using ::wink::webhooks::internal::v1::WebhookRecord;

absl::string_view View(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

bool Matches(const WebhookRecord& webhook, absl::string_view event_type) {
  // event_types is stored sorted and de-duplicated.
  return webhook.event_types().empty() ||
         std::binary_search(webhook.event_types().begin(), webhook.event_types().end(), event_type);
}

absl::StatusOr<EventRecord> ReadEventIn(WriteTxn& txn, absl::string_view account,
                                        absl::string_view event_id) {
  WINK_ASSIGN_OR_RETURN(const std::string bytes,
                        txn.Get(ColumnFamily::kEvents, EventKey(account, event_id)));
  EventRecord event;
  WINK_RETURN_IF_ERROR(DecodeRecord(bytes, kEventRecordVersion, "event", event));
  return event;
}

// The deliveries of an event, read inside an operation (a replayed publish).
absl::StatusOr<std::vector<DeliveryRecord>> DeliveriesOfEventIn(WriteTxn& txn,
                                                                absl::string_view event_id) {
  std::vector<std::string> webhook_ids;
  WINK_RETURN_IF_ERROR(txn.Scan(ColumnFamily::kDeliveriesByEvent,
                                DeliveryByEventKeyPrefix(event_id), "",
                                [&](absl::string_view key, absl::string_view) {
                                  KeyReader reader(key);
                                  absl::string_view event, webhook;
                                  if (reader.Str(&event) && reader.Str(&webhook)) {
                                    webhook_ids.emplace_back(webhook);
                                  }
                                  return true;
                                }));
  std::vector<DeliveryRecord> deliveries;
  for (const std::string& webhook_id : webhook_ids) {
    auto delivery = ReadDelivery(txn, webhook_id, event_id);
    if (absl::IsNotFound(delivery.status())) continue;
    WINK_RETURN_IF_ERROR(delivery.status());
    deliveries.push_back(*std::move(delivery));
  }
  return deliveries;
}

std::string Describe(const AttemptRecord& attempt) {
  if (attempt.http_status() != 0) return absl::StrCat("HTTP ", attempt.http_status());
  return attempt.error();
}

}  // namespace

EventStore::EventStore(Database& db, Writer& writer, IdGenerator& ids, const Clock& clock,
                       UpdateListener* listener)
    : db_(db), writer_(writer), ids_(ids), clock_(clock), listener_(listener) {}

void EventStore::Publish(PublishRequest request,
                         std::function<void(absl::StatusOr<PublishResult>)> done) {
  std::vector<PublishRequest> batch;
  batch.push_back(std::move(request));
  PublishBatch(std::move(batch), /*index_errors=*/false,
               [done = std::move(done)](absl::StatusOr<std::vector<PublishResult>> results) {
                 if (!results.ok()) return done(results.status());
                 done(std::move(results->front()));
               });
}

void EventStore::PublishBatch(
    std::vector<PublishRequest> requests, bool index_errors,
    std::function<void(absl::StatusOr<std::vector<PublishResult>>)> done) {
  auto results = std::make_shared<std::vector<PublishResult>>();
  writer_.SubmitIfNotOverloaded(
      [this, requests = std::move(requests), index_errors, results](WriteTxn& txn) -> absl::Status {
        // The operation may be run again after a failed group; start clean.
        results->assign(requests.size(), PublishResult());
        // The webhooks of each account, read once per batch (a batch is
        // normally one account).
        absl::flat_hash_map<std::string, std::vector<WebhookRecord>> webhooks_of;
        for (size_t i = 0; i < requests.size(); ++i) {
          const PublishRequest& request = requests[i];
          auto found = webhooks_of.find(request.account);
          if (found == webhooks_of.end()) {
            auto webhooks = ReadWebhooksIn(txn, request.account);
            if (!webhooks.ok()) return webhooks.status();
            found = webhooks_of.emplace(request.account, *std::move(webhooks)).first;
          }
          absl::Status status = PublishIn(txn, request, found->second, (*results)[i]);
          if (!status.ok()) {
            if (!index_errors) return status;
            return absl::Status(status.code(),
                                absl::StrCat("requests[", i, "].", status.message()));
          }
        }
        return absl::OkStatus();
      },
      [results, done = std::move(done)](absl::Status status) {
        if (!status.ok()) {
          done(std::move(status));
        } else {
          done(std::move(*results));
        }
      });
}

absl::StatusOr<std::vector<WebhookRecord>> EventStore::ReadWebhooksIn(WriteTxn& txn,
                                                                      absl::string_view account) {
  std::vector<WebhookRecord> webhooks;
  absl::Status decode_status;
  WINK_RETURN_IF_ERROR(txn.Scan(ColumnFamily::kWebhooks, WebhookKeyPrefix(account), "",
                                [&](absl::string_view, absl::string_view value) {
                                  WebhookRecord webhook;
                                  decode_status = DecodeRecord(value, kWebhookRecordVersion,
                                                               "webhook", webhook);
                                  if (!decode_status.ok()) return false;
                                  webhooks.push_back(std::move(webhook));
                                  return true;
                                }));
  WINK_RETURN_IF_ERROR(decode_status);
  return webhooks;
}

absl::Status EventStore::PublishIn(WriteTxn& txn, const PublishRequest& request,
                                   const std::vector<WebhookRecord>& webhooks,
                                   PublishResult& result) {
  const absl::Time now = clock_.Now();
  const int64_t now_us = absl::ToUnixMicros(now);
  std::string idempotency_key;
  if (!request.idempotency_key.empty()) {
    idempotency_key =
        IdempotencyKey(request.account, IdempotencyKind::kPublishEvent, request.idempotency_key);
    auto stored = txn.Get(ColumnFamily::kIdempotency, idempotency_key);
    if (stored.ok()) {
      IdempotencyRecord earlier;
      WINK_RETURN_IF_ERROR(
          DecodeRecord(*stored, kIdempotencyRecordVersion, "idempotency", earlier));
      if (absl::FromUnixMicros(earlier.expire_time_us()) > now) {
        if (earlier.request_fingerprint() != request.request_fingerprint) {
          return absl::InvalidArgumentError(
              "idempotency_key: already used for a different event (type or payload "
              "differ); use a new key for a new event");
        }
        auto event = ReadEventIn(txn, request.account, earlier.resource_id());
        // A purged event falls through and is published anew.
        if (event.ok()) {
          result.event = *std::move(event);
          WINK_ASSIGN_OR_RETURN(result.deliveries, DeliveriesOfEventIn(txn, result.event.id()));
          result.replayed = true;
          return absl::OkStatus();
        }
        if (!absl::IsNotFound(event.status())) return event.status();
      }
    } else if (!absl::IsNotFound(stored.status())) {
      return stored.status();
    }
  }

  EventRecord& event = result.event;
  event.set_version(kEventRecordVersion);
  event.set_account(request.account);
  event.set_id(ids_.Next(kEventIdPrefix));
  event.set_type(request.event_type);
  event.set_create_time_us(now_us);
  event.set_data_json(request.data_json);
  event.set_idempotency_key(request.idempotency_key);
  event.set_watch_cursor(txn.next_update_sequence() - 1);
  txn.Put(ColumnFamily::kEvents, EventKey(request.account, event.id()), event.SerializeAsString());

  for (const WebhookRecord& webhook : webhooks) {
    if (!Matches(webhook, request.event_type)) continue;
    DeliveryRecord delivery;
    delivery.set_version(kDeliveryRecordVersion);
    delivery.set_account(request.account);
    delivery.set_webhook_id(webhook.id());
    delivery.set_event_id(event.id());
    delivery.set_event_type(request.event_type);
    if (webhook.enabled()) {
      delivery.set_state(internal::v1::DELIVERY_STATE_RECORD_PENDING);
      delivery.set_next_attempt_time_us(now_us);
    } else {
      delivery.set_state(internal::v1::DELIVERY_STATE_RECORD_HELD);
      delivery.set_state_reason("held: the webhook is paused");
    }
    delivery.set_create_time_us(now_us);
    delivery.set_update_time_us(now_us);
    StageDelivery(txn, listener_, nullptr, delivery);
    result.deliveries.push_back(std::move(delivery));
  }

  if (!idempotency_key.empty()) {
    IdempotencyRecord record;
    record.set_version(kIdempotencyRecordVersion);
    record.set_resource_id(event.id());
    record.set_request_fingerprint(request.request_fingerprint);
    record.set_expire_time_us(absl::ToUnixMicros(now + request.idempotency_retention));
    txn.Put(ColumnFamily::kIdempotency, idempotency_key, record.SerializeAsString());
  }
  return absl::OkStatus();
}

absl::StatusOr<EventRecord> EventStore::GetEvent(absl::string_view account,
                                                 absl::string_view event_id) {
  return ReadEvent(account, event_id);
}

absl::StatusOr<EventRecord> EventStore::ReadEvent(absl::string_view account,
                                                  absl::string_view event_id) {
  auto stored = db_.Get(ColumnFamily::kEvents, EventKey(account, event_id));
  if (absl::IsNotFound(stored.status())) {
    return absl::NotFoundError(absl::StrCat("event ", event_id, " not found"));
  }
  WINK_RETURN_IF_ERROR(stored.status());
  EventRecord event;
  WINK_RETURN_IF_ERROR(DecodeRecord(*stored, kEventRecordVersion, "event", event));
  return event;
}

absl::StatusOr<EventPage> EventStore::ListEvents(absl::string_view account,
                                                 absl::string_view before_event_id,
                                                 absl::string_view event_type, int limit) {
  const std::string prefix = EventKeyPrefix(account);
  // Newest first: iterate backwards from just below `before_event_id` (or the
  // end of the account's range).
  std::unique_ptr<rocksdb::Iterator> it = db_.NewIterator(ColumnFamily::kEvents);
  if (before_event_id.empty()) {
    const std::string end = PrefixSuccessor(prefix);
    if (end.empty()) {
      it->SeekToLast();
    } else {
      it->SeekForPrev(end);
      if (it->Valid() && View(it->key()) == end) it->Prev();
    }
  } else {
    const std::string before = EventKey(account, before_event_id);
    it->SeekForPrev(before);
    if (it->Valid() && View(it->key()) == before) it->Prev();
  }
  EventPage page;
  int scanned = 0;
  const int max_scanned = limit * kScanFactor;
  std::string last_scanned;
  for (; it->Valid() && absl::StartsWith(View(it->key()), prefix); it->Prev()) {
    if (static_cast<int>(page.events.size()) == limit || scanned == max_scanned) {
      page.continue_from = last_scanned;
      break;
    }
    ++scanned;
    EventRecord event;
    WINK_RETURN_IF_ERROR(DecodeRecord(View(it->value()), kEventRecordVersion, "event", event));
    last_scanned = event.id();
    if (!event_type.empty() && event.type() != event_type) continue;
    page.events.push_back(std::move(event));
  }
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "listing events"));
  return page;
}

absl::StatusOr<DeliveryRecord> EventStore::ReadDelivery(absl::string_view webhook_id,
                                                        absl::string_view event_id) {
  auto stored = db_.Get(ColumnFamily::kDeliveries, DeliveryKey(webhook_id, event_id));
  if (absl::IsNotFound(stored.status())) {
    return absl::NotFoundError(
        absl::StrCat("delivery of event ", event_id, " to webhook ", webhook_id, " not found"));
  }
  WINK_RETURN_IF_ERROR(stored.status());
  DeliveryRecord delivery;
  WINK_RETURN_IF_ERROR(DecodeRecord(*stored, kDeliveryRecordVersion, "delivery", delivery));
  return delivery;
}

absl::StatusOr<DeliveryRecord> EventStore::GetDelivery(absl::string_view account,
                                                       absl::string_view webhook_id,
                                                       absl::string_view event_id) {
  WINK_ASSIGN_OR_RETURN(DeliveryRecord delivery, ReadDelivery(webhook_id, event_id));
  if (delivery.account() != account) {
    return absl::NotFoundError(
        absl::StrCat("delivery of event ", event_id, " to webhook ", webhook_id, " not found"));
  }
  return delivery;
}

absl::StatusOr<std::vector<AttemptRecord>> EventStore::ListAttempts(absl::string_view webhook_id,
                                                                    absl::string_view event_id) {
  PrefixIterator it(db_, ColumnFamily::kAttempts, DeliveryKey(webhook_id, event_id));
  std::vector<AttemptRecord> attempts;
  for (it->Seek(it.prefix()); it->Valid(); it->Next()) {
    AttemptRecord attempt;
    WINK_RETURN_IF_ERROR(
        DecodeRecord(View(it->value()), kAttemptRecordVersion, "attempt", attempt));
    attempts.push_back(std::move(attempt));
  }
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "listing attempts"));
  return attempts;
}

absl::StatusOr<DeliveryPage> EventStore::ListDeliveriesOfWebhook(absl::string_view account,
                                                                 absl::string_view webhook_id,
                                                                 absl::string_view after_event_id,
                                                                 int state, int limit) {
  PrefixIterator it(db_, ColumnFamily::kDeliveries, DeliveryKeyPrefix(webhook_id));
  it.SeekPast(after_event_id.empty() ? "" : DeliveryKey(webhook_id, after_event_id));
  DeliveryPage page;
  int scanned = 0;
  std::string last_scanned;
  for (; it->Valid(); it->Next()) {
    if (static_cast<int>(page.deliveries.size()) == limit || scanned == limit * kScanFactor) {
      page.continue_from = last_scanned;
      break;
    }
    ++scanned;
    DeliveryRecord delivery;
    WINK_RETURN_IF_ERROR(
        DecodeRecord(View(it->value()), kDeliveryRecordVersion, "delivery", delivery));
    // All deliveries of a webhook belong to its account: one foreign record
    // means a foreign webhook.
    if (delivery.account() != account) return DeliveryPage{};
    last_scanned = delivery.event_id();
    if (state != 0 && delivery.state() != state) continue;
    page.deliveries.push_back(std::move(delivery));
  }
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "listing deliveries"));
  return page;
}

absl::StatusOr<DeliveryPage> EventStore::ListDeliveriesOfEvent(absl::string_view account,
                                                               absl::string_view event_id,
                                                               absl::string_view after_webhook_id,
                                                               int state, int limit) {
  PrefixIterator it(db_, ColumnFamily::kDeliveriesByEvent, DeliveryByEventKeyPrefix(event_id));
  it.SeekPast(after_webhook_id.empty() ? "" : DeliveryByEventKey(event_id, after_webhook_id));
  DeliveryPage page;
  int scanned = 0;
  std::string last_scanned;
  for (; it->Valid(); it->Next()) {
    if (static_cast<int>(page.deliveries.size()) == limit || scanned == limit * kScanFactor) {
      page.continue_from = last_scanned;
      break;
    }
    ++scanned;
    KeyReader reader(View(it->key()));
    absl::string_view stored_event, webhook_id;
    if (!reader.Str(&stored_event) || !reader.Str(&webhook_id)) continue;
    last_scanned = std::string(webhook_id);
    auto delivery = ReadDelivery(webhook_id, event_id);
    if (absl::IsNotFound(delivery.status())) continue;
    WINK_RETURN_IF_ERROR(delivery.status());
    if (delivery->account() != account) return DeliveryPage{};
    if (state != 0 && delivery->state() != state) continue;
    page.deliveries.push_back(*std::move(delivery));
  }
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "listing deliveries"));
  return page;
}

absl::StatusOr<DeliveryRecord> EventStore::RetryNow(absl::string_view account,
                                                    absl::string_view webhook_id,
                                                    absl::string_view event_id) {
  DeliveryRecord result;
  WINK_RETURN_IF_ERROR(writer_.Run([&](WriteTxn& txn) -> absl::Status {
    auto before = storage::ReadDelivery(txn, webhook_id, event_id);
    if (absl::IsNotFound(before.status()) || (before.ok() && before->account() != account)) {
      return absl::NotFoundError(
          absl::StrCat("delivery of event ", event_id, " to webhook ", webhook_id, " not found"));
    }
    WINK_RETURN_IF_ERROR(before.status());
    if (before->state() == internal::v1::DELIVERY_STATE_RECORD_CANCELLED) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the delivery was cancelled (", before->state_reason(), ") and cannot be retried"));
    }
    auto stored = txn.Get(ColumnFamily::kWebhooks, WebhookKey(account, webhook_id));
    if (absl::IsNotFound(stored.status())) {
      return absl::FailedPreconditionError(
          "the webhook was deleted; its deliveries cannot be "
          "retried");
    }
    WINK_RETURN_IF_ERROR(stored.status());
    WebhookRecord webhook;
    WINK_RETURN_IF_ERROR(DecodeRecord(*stored, kWebhookRecordVersion, "webhook", webhook));
    if (!webhook.enabled()) {
      return absl::FailedPreconditionError(
          "the webhook is paused; resume it (its held deliveries are then sent) before retrying");
    }
    const int64_t now_us = absl::ToUnixMicros(clock_.Now());
    DeliveryRecord after = *before;
    after.set_state(internal::v1::DELIVERY_STATE_RECORD_PENDING);
    after.set_state_reason("retry requested");
    after.set_next_attempt_time_us(now_us);
    after.set_update_time_us(now_us);
    StageDelivery(txn, listener_, &*before, after);
    result = std::move(after);
    return absl::OkStatus();
  }));
  return result;
}

absl::Status EventStore::ScanDue(absl::Time from, absl::Time before,
                                 const std::function<bool(const DueDelivery&)>& visit) {
  const std::string bound = DueKeyLowerBound(absl::ToUnixMicros(before));
  const rocksdb::Slice bound_slice(bound);
  std::unique_ptr<rocksdb::Iterator> it = db_.NewIterator(ColumnFamily::kDue, &bound_slice);
  if (from == absl::InfinitePast()) {
    it->SeekToFirst();
  } else {
    it->Seek(DueKeyLowerBound(absl::ToUnixMicros(from)));
  }
  for (; it->Valid(); it->Next()) {
    DueKeyParts parts;
    if (!DecodeDueKey(View(it->key()), &parts)) continue;
    if (!visit(DueDelivery{parts.time_us, std::string(parts.webhook_id),
                           std::string(parts.event_id)})) {
      break;
    }
  }
  return FromRocksDb(it->status(), "scanning the delivery queue");
}

absl::StatusOr<std::optional<absl::Time>> EventStore::EarliestDueTimeAfter(absl::Time after) {
  std::unique_ptr<rocksdb::Iterator> it = db_.NewIterator(ColumnFamily::kDue);
  it->Seek(DueKeyLowerBound(absl::ToUnixMicros(after) + 1));
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "reading the delivery queue"));
  if (!it->Valid()) return std::nullopt;
  DueKeyParts parts;
  if (!DecodeDueKey(View(it->key()), &parts)) {
    return absl::DataLossError("corrupt key in the delivery queue");
  }
  return absl::FromUnixMicros(parts.time_us);
}

void EventStore::RecordAttempt(RecordAttemptRequest request,
                               std::function<void(absl::Status)> done) {
  writer_.Submit(
      [this, request = std::move(request)](WriteTxn& txn) -> absl::Status {
        auto before = storage::ReadDelivery(txn, request.webhook_id, request.event_id);
        if (absl::IsNotFound(before.status())) return absl::OkStatus();  // purged meanwhile
        WINK_RETURN_IF_ERROR(before.status());
        const absl::Time now = clock_.Now();
        const int64_t now_us = absl::ToUnixMicros(now);

        AttemptRecord attempt = request.attempt;
        attempt.set_version(kAttemptRecordVersion);
        attempt.set_attempt_number(before->attempt_count() + 1);
        txn.Put(ColumnFamily::kAttempts,
                AttemptKey(request.webhook_id, request.event_id, attempt.attempt_number()),
                attempt.SerializeAsString());

        DeliveryRecord after = *before;
        after.set_attempt_count(attempt.attempt_number());
        *after.mutable_last_attempt() = attempt;
        after.mutable_last_attempt()->clear_response_body();
        after.set_update_time_us(now_us);

        const bool still_due =
            IsDue(before->state()) && before->next_attempt_time_us() == request.due_time_us;
        if (still_due) {
          switch (request.outcome) {
            case AttemptOutcome::kDelivered:
              after.set_state(internal::v1::DELIVERY_STATE_RECORD_SUCCEEDED);
              after.set_state_reason(absl::StrCat("delivered: HTTP ", attempt.http_status()));
              break;
            case AttemptOutcome::kRetryLater: {
              const std::optional<absl::Duration> delay =
                  request.next_delay ? request.next_delay(attempt.attempt_number()) : std::nullopt;
              if (delay.has_value()) {
                after.set_state(internal::v1::DELIVERY_STATE_RECORD_RETRY_SCHEDULED);
                after.set_next_attempt_time_us(absl::ToUnixMicros(now + *delay));
                after.set_state_reason(absl::StrCat(Describe(attempt), "; will retry"));
              } else {
                after.set_state(internal::v1::DELIVERY_STATE_RECORD_FAILED);
                after.set_state_reason(absl::StrCat(Describe(attempt), "; gave up after ",
                                                    attempt.attempt_number(), " attempts"));
              }
              break;
            }
            case AttemptOutcome::kDisableEndpoint:
              after.set_state(internal::v1::DELIVERY_STATE_RECORD_FAILED);
              after.set_state_reason(
                  "HTTP 410 Gone: the receiver asked for no more deliveries; webhook disabled");
              break;
          }
        }
        StageDelivery(txn, listener_, &*before, std::move(after));

        // The webhook's failure streak, and automatic disabling.
        auto stored =
            txn.Get(ColumnFamily::kWebhooks, WebhookKey(before->account(), request.webhook_id));
        if (absl::IsNotFound(stored.status())) return absl::OkStatus();
        WINK_RETURN_IF_ERROR(stored.status());
        WebhookRecord webhook;
        WINK_RETURN_IF_ERROR(DecodeRecord(*stored, kWebhookRecordVersion, "webhook", webhook));
        const WebhookRecord unchanged = webhook;
        if (request.outcome == AttemptOutcome::kDelivered) {
          webhook.clear_failing_since_us();
        } else {
          if (webhook.failing_since_us() == 0) webhook.set_failing_since_us(now_us);
          int disable_reason = 0;
          if (request.outcome == AttemptOutcome::kDisableEndpoint) {
            disable_reason = kDisabledReasonEndpointGone;
          } else if (now - absl::FromUnixMicros(webhook.failing_since_us()) >=
                     request.disable_after_failing_for) {
            disable_reason = kDisabledReasonFailing;
          }
          if (disable_reason != 0 && webhook.enabled()) {
            webhook.set_enabled(false);
            webhook.set_disabled_reason(disable_reason);
            webhook.set_disable_time_us(now_us);
            webhook.set_update_time_us(now_us);
          }
        }
        if (webhook.SerializeAsString() != unchanged.SerializeAsString()) {
          txn.Put(ColumnFamily::kWebhooks, WebhookKey(webhook.account(), webhook.id()),
                  webhook.SerializeAsString());
        }
        return absl::OkStatus();
      },
      std::move(done));
}

void EventStore::Park(DueDelivery due, std::function<void(absl::Status)> done) {
  writer_.Submit(
      [this, due = std::move(due)](WriteTxn& txn) -> absl::Status {
        const std::string due_key = DueKey(due.due_time_us, due.webhook_id, due.event_id);
        auto before = storage::ReadDelivery(txn, due.webhook_id, due.event_id);
        if (absl::IsNotFound(before.status())) {
          txn.Delete(ColumnFamily::kDue, due_key);  // nothing points to it
          return absl::OkStatus();
        }
        WINK_RETURN_IF_ERROR(before.status());
        if (!IsDue(before->state()) || before->next_attempt_time_us() != due.due_time_us) {
          // Moved on already: this queue entry is stale. Keep the current one.
          txn.Delete(ColumnFamily::kDue, due_key);
          if (IsDue(before->state())) {
            txn.Put(ColumnFamily::kDue,
                    DueKey(before->next_attempt_time_us(), due.webhook_id, due.event_id), "");
          }
          return absl::OkStatus();
        }
        // Decide on the state as of this write, not as the engine saw it: a
        // webhook resumed since must not end up with a HELD delivery nothing
        // would release.
        DeliveryRecord after = *before;
        auto webhook =
            txn.Get(ColumnFamily::kWebhooks, WebhookKey(before->account(), before->webhook_id()));
        if (absl::IsNotFound(webhook.status())) {
          after.set_state(internal::v1::DELIVERY_STATE_RECORD_CANCELLED);
          after.set_state_reason("cancelled: the webhook was deleted");
        } else {
          WINK_RETURN_IF_ERROR(webhook.status());
          WebhookRecord record;
          WINK_RETURN_IF_ERROR(DecodeRecord(*webhook, kWebhookRecordVersion, "webhook", record));
          if (!record.enabled()) {
            after.set_state(internal::v1::DELIVERY_STATE_RECORD_HELD);
            after.set_state_reason("held: the webhook is paused");
          } else {
            auto event = txn.Get(ColumnFamily::kEvents, EventKey(before->account(), due.event_id));
            if (!absl::IsNotFound(event.status())) return event.status();  // still sendable
            after.set_state(internal::v1::DELIVERY_STATE_RECORD_CANCELLED);
            after.set_state_reason("cancelled: the event was purged");
          }
        }
        after.set_update_time_us(absl::ToUnixMicros(clock_.Now()));
        StageDelivery(txn, listener_, &*before, std::move(after));
        return absl::OkStatus();
      },
      std::move(done));
}

absl::StatusOr<int> EventStore::RepairHeld() {
  // Webhooks with held deliveries: one seek per webhook.
  struct Candidate {
    std::string account;
    std::string webhook_id;
  };
  std::vector<Candidate> candidates;
  {
    std::unique_ptr<rocksdb::Iterator> it = db_.NewIterator(ColumnFamily::kHeld);
    it->SeekToFirst();
    while (it->Valid()) {
      KeyReader reader(View(it->key()));
      absl::string_view webhook_id, event_id;
      if (!reader.Str(&webhook_id) || !reader.Str(&event_id)) {
        it->Next();
        continue;
      }
      auto delivery = ReadDelivery(webhook_id, event_id);
      if (delivery.ok()) {
        candidates.push_back(Candidate{delivery->account(), std::string(webhook_id)});
      }
      const std::string next = PrefixSuccessor(DeliveryKeyPrefix(webhook_id));
      if (next.empty()) break;
      it->Seek(next);
    }
    WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "scanning held deliveries"));
  }
  int repaired = 0;
  for (const Candidate& candidate : candidates) {
    WINK_RETURN_IF_ERROR(writer_.Run([&](WriteTxn& txn) -> absl::Status {
      auto stored =
          txn.Get(ColumnFamily::kWebhooks, WebhookKey(candidate.account, candidate.webhook_id));
      Cascade cascade;
      WebhookRecord webhook;
      if (absl::IsNotFound(stored.status())) {
        cascade = Cascade::kCancelAll;
      } else {
        WINK_RETURN_IF_ERROR(stored.status());
        WINK_RETURN_IF_ERROR(DecodeRecord(*stored, kWebhookRecordVersion, "webhook", webhook));
        if (!webhook.enabled()) return absl::OkStatus();  // held as it should be
        // Whether the interrupted resume asked to drop them is not stored:
        // releasing is the choice that loses nothing.
        cascade = Cascade::kReleaseHeld;
      }
      ++repaired;
      return StageCascade(txn, listener_, clock_, cascade, candidate.account, candidate.webhook_id,
                          webhook.resume_generation());
    }));
  }
  return repaired;
}

absl::StatusOr<std::vector<DeliveryUpdate>> EventStore::ReadUpdates(uint64_t after, int limit) {
  std::unique_ptr<rocksdb::Iterator> it = db_.NewIterator(ColumnFamily::kUpdates);
  std::vector<DeliveryUpdate> updates;
  for (it->Seek(UpdateKey(after + 1)); it->Valid(); it->Next()) {
    if (static_cast<int>(updates.size()) == limit) break;
    DeliveryUpdate update;
    if (!DecodeUpdateKey(View(it->key()), &update.sequence)) {
      return absl::DataLossError("corrupt key in the update log");
    }
    DeliveryUpdateRecord record;
    WINK_RETURN_IF_ERROR(
        DecodeRecord(View(it->value()), kUpdateRecordVersion, "delivery update", record));
    update.delivery = std::move(*record.mutable_delivery());
    updates.push_back(std::move(update));
  }
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "reading the update log"));
  return updates;
}

absl::StatusOr<uint64_t> EventStore::OldestUpdateSequence() {
  std::unique_ptr<rocksdb::Iterator> it = db_.NewIterator(ColumnFamily::kUpdates);
  it->SeekToFirst();
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "reading the update log"));
  if (!it->Valid()) return 0;
  uint64_t sequence = 0;
  if (!DecodeUpdateKey(View(it->key()), &sequence)) {
    return absl::DataLossError("corrupt key in the update log");
  }
  return sequence;
}

absl::StatusOr<int> EventStore::PurgeOlderThan(absl::Time cutoff, int limit, int* updates_purged) {
  if (updates_purged != nullptr) *updates_purged = 0;
  // Find old events: within an account they are in time order, so each
  // account's old ones come first and the scan skips to the next account at
  // the first young one.
  struct OldEvent {
    std::string account;
    std::string id;
  };
  std::vector<OldEvent> old_events;
  {
    std::unique_ptr<rocksdb::Iterator> it = db_.NewIterator(ColumnFamily::kEvents);
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
    std::unique_ptr<rocksdb::Iterator> it = db_.NewIterator(ColumnFamily::kUpdates);
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
    // The newest entry stays, however old: Storage::Open continues the
    // sequence after the last entry, and must not hand out numbers that
    // watchers already hold as cursors.
    if (!it->Valid() && !old_updates.empty()) old_updates.pop_back();
  }
  if (old_events.empty() && old_updates.empty()) return 0;

  // One write deletes at most about kMaxPurgedDeliveriesPerWrite deliveries
  // (with their attempts), so a purge never stalls other writes for long.
  constexpr int kMaxPurgedDeliveriesPerWrite = 10000;
  int purged = 0;
  WINK_RETURN_IF_ERROR(writer_.Run([&](WriteTxn& txn) -> absl::Status {
    purged = 0;
    int staged_deliveries = 0;
    for (const OldEvent& event : old_events) {
      if (staged_deliveries >= kMaxPurgedDeliveriesPerWrite) break;
      WINK_ASSIGN_OR_RETURN(std::vector<DeliveryRecord> deliveries,
                            DeliveriesOfEventIn(txn, event.id));
      staged_deliveries += static_cast<int>(deliveries.size());
      ++purged;
      for (const DeliveryRecord& delivery : deliveries) {
        const std::string& webhook_id = delivery.webhook_id();
        if (IsDue(delivery.state())) {
          txn.Delete(ColumnFamily::kDue,
                     DueKey(delivery.next_attempt_time_us(), webhook_id, event.id));
        } else if (delivery.state() == internal::v1::DELIVERY_STATE_RECORD_HELD) {
          txn.Delete(ColumnFamily::kHeld, DeliveryKey(webhook_id, event.id));
        }
        for (int n = 1; n <= delivery.attempt_count(); ++n) {
          txn.Delete(ColumnFamily::kAttempts, AttemptKey(webhook_id, event.id, n));
        }
        txn.Delete(ColumnFamily::kDeliveries, DeliveryKey(webhook_id, event.id));
        txn.Delete(ColumnFamily::kDeliveriesByEvent, DeliveryByEventKey(event.id, webhook_id));
      }
      txn.Delete(ColumnFamily::kEvents, EventKey(event.account, event.id));
    }
    for (uint64_t sequence : old_updates) txn.Delete(ColumnFamily::kUpdates, UpdateKey(sequence));
    return absl::OkStatus();
  }));
  if (updates_purged != nullptr) *updates_purged = static_cast<int>(old_updates.size());
  return purged;
}

}  // namespace wink::webhooks::storage
