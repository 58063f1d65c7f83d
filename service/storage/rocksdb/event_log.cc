// RocksDbEventLog: column families `events` and `idempotency`, and the
// deliveries a publish creates.
#include <algorithm>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"
#include "service/storage/records.h"
#include "service/storage/rocksdb/account_usage.h"
#include "service/storage/rocksdb/delivery_writes.h"
#include "service/storage/rocksdb/keys.h"
#include "service/storage/rocksdb/stores.h"
#include "service/storage/stored_quota.h"

namespace wink::webhooks::storage::rocks {
namespace {

using ::wink::webhooks::internal::v1::IdempotencyRecord;

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
    WINK_ASSIGN_OR_RETURN(std::optional<DeliveryRecord> delivery,
                          ReadDeliveryIn(txn, webhook_id, event_id));
    if (delivery.has_value()) deliveries.push_back(*std::move(delivery));
  }
  return deliveries;
}

// What an operation knows of one account: its webhooks, and its usage as
// read at the start and as the operation's publishes leave it.
struct AccountView {
  std::shared_ptr<const std::vector<WebhookRecord>> webhooks;
  AccountUsage usage_before;
  AccountUsage usage;
};

// One publish inside a (batch) operation. `idempotency_key` is the key of
// the request's idempotency entry (empty without one) and `stored` what the
// operation read there before its first publish: the requests of a batch
// have distinct keys, so none of them writes another's.
absl::Status PublishIn(WriteTxn& txn, const StoreContext& context, const PublishRequest& request,
                       const std::string& idempotency_key,
                       const absl::StatusOr<std::string>& stored, AccountView& account,
                       PublishResult& result) {
  const absl::Time now = context.clock.Now();
  if (!idempotency_key.empty()) {
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
        WINK_ASSIGN_OR_RETURN(std::optional<EventRecord> event,
                              ReadEventIn(txn, request.account, earlier.resource_id()));
        // A purged event falls through and is published anew.
        if (event.has_value()) {
          result.event = *std::move(event);
          WINK_ASSIGN_OR_RETURN(result.deliveries, DeliveriesOfEventIn(txn, result.event.id()));
          result.replayed = true;
          return absl::OkStatus();
        }
      }
    } else if (!absl::IsNotFound(stored.status())) {
      return stored.status();
    }
  }

  if (!request.only_webhook_id.empty() &&
      std::none_of(account.webhooks->begin(), account.webhooks->end(),
                   [&](const WebhookRecord& webhook) { return ReceivesPublish(webhook, request); })) {
    return OnlyWebhookNotFound(request);
  }

  EventRecord& event = result.event;
  event.set_version(kEventRecordVersion);
  event.set_account(request.account);
  event.set_id(context.ids.Next(kEventIdPrefix));
  event.set_type(request.event_type);
  event.set_create_time_us(absl::ToUnixMicros(now));
  event.set_data_json(request.data_json);
  event.set_idempotency_key(request.idempotency_key);
  event.set_traceparent(request.traceparent);
  event.set_tracestate(request.tracestate);
  event.set_watch_cursor(txn.next_update_sequence() - 1);
  const std::string stored_event = event.SerializeAsString();
  const auto event_bytes = static_cast<int64_t>(stored_event.size());
  if (!FitsStoredQuota(request.quota, account.usage, event_bytes)) {
    WINK_ASSIGN_OR_RETURN(const std::optional<absl::Time> oldest,
                          OldestEventTimeIn(txn, request.account));
    return StoredQuotaRefusal(request.quota, request.account, account.usage, event_bytes, oldest,
                              now);
  }
  account.usage = AddToUsage(account.usage, 1, event_bytes);
  txn.Put(ColumnFamily::kEvents, EventKey(request.account, event.id()), stored_event);

  const domain::Publish input{request.account, event.id(), request.event_type};
  for (const WebhookRecord& webhook : *account.webhooks) {
    if (!ReceivesPublish(webhook, request)) continue;
    domain::Transition created = domain::NextDelivery(nullptr, &webhook, input, now);
    created.after->set_version(kDeliveryRecordVersion);
    result.deliveries.push_back(*created.after);
    StageTransition(txn, context, nullptr, std::move(created));
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

}  // namespace


void RocksDbEventLog::PublishBatch(
    std::vector<PublishRequest> requests, bool index_errors,
    std::function<void(absl::StatusOr<std::vector<PublishResult>>)> done) {
  auto results = std::make_shared<std::vector<PublishResult>>();
  context_.writer.SubmitIfNotOverloaded(
      [this, requests = std::move(requests), index_errors, results](WriteTxn& txn) -> absl::Status {
        // The operation may be run again after a failed group; start clean.
        results->assign(requests.size(), PublishResult());
        // Every request's idempotency entry, read at once.
        std::vector<std::string> idempotency_keys(requests.size());
        std::vector<absl::string_view> keys_to_read;
        for (size_t i = 0; i < requests.size(); ++i) {
          if (requests[i].idempotency_key.empty()) continue;
          idempotency_keys[i] = IdempotencyKey(requests[i].account, IdempotencyKind::kPublishEvent,
                                               requests[i].idempotency_key);
          keys_to_read.push_back(idempotency_keys[i]);
        }
        std::vector<absl::StatusOr<std::string>> read =
            txn.MultiGet(ColumnFamily::kIdempotency, keys_to_read);
        const absl::StatusOr<std::string> no_key = absl::NotFoundError("no idempotency key");
        size_t next_read = 0;
        // Each account's webhooks and usage, read once per batch (a batch
        // is normally one account).
        absl::flat_hash_map<std::string, AccountView> accounts;
        for (size_t i = 0; i < requests.size(); ++i) {
          const PublishRequest& request = requests[i];
          auto found = accounts.find(request.account);
          if (found == accounts.end()) {
            AccountView account;
            WINK_ASSIGN_OR_RETURN(account.webhooks,
                                  context_.known_webhooks.Of(txn, request.account));
            WINK_ASSIGN_OR_RETURN(account.usage_before, ReadUsageIn(txn, request.account));
            account.usage = account.usage_before;
            found = accounts.emplace(request.account, std::move(account)).first;
          }
          const absl::StatusOr<std::string>& stored =
              idempotency_keys[i].empty() ? no_key : read[next_read++];
          absl::Status status = PublishIn(txn, context_, request, idempotency_keys[i], stored,
                                          found->second, (*results)[i]);
          if (!status.ok()) {
            if (!index_errors) return status;
            return absl::Status(status.code(),
                                absl::StrCat("requests[", i, "].", status.message()));
          }
        }
        for (const auto& [name, account] : accounts) {
          if (account.usage.events != account.usage_before.events) {
            StageUsage(txn, name, account.usage);
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

absl::StatusOr<AccountUsage> RocksDbEventLog::UsageOf(absl::string_view account) {
  return ReadUsage(context_.db, account);
}

absl::StatusOr<EventRecord> RocksDbEventLog::GetEvent(absl::string_view account,
                                                      absl::string_view event_id) {
  WINK_ASSIGN_OR_RETURN(
      std::optional<EventRecord> event,
      ReadRecord<EventRecord>(context_.db, ColumnFamily::kEvents, EventKey(account, event_id),
                              kEventRecordVersion, "event"));
  if (!event.has_value()) {
    return absl::NotFoundError(absl::StrCat("event ", event_id, " not found"));
  }
  return *std::move(event);
}

absl::StatusOr<EventPage> RocksDbEventLog::ListEvents(absl::string_view account,
                                                      absl::string_view before_event_id,
                                                      absl::string_view event_type, int limit) {
  const std::string prefix = EventKeyPrefix(account);
  // Newest first: iterate backwards from just below `before_event_id` (or the
  // end of the account's range).
  std::unique_ptr<rocksdb::Iterator> it = context_.db.NewIterator(ColumnFamily::kEvents);
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
  size_t page_bytes = 0;
  std::string last_scanned;
  for (; it->Valid() && absl::StartsWith(View(it->key()), prefix); it->Prev()) {
    const size_t bytes = it->value().size();
    if (static_cast<int>(page.events.size()) == limit || scanned == max_scanned ||
        (!page.events.empty() && page_bytes + bytes > kMaxPageBytes)) {
      page.continue_from = last_scanned;
      break;
    }
    ++scanned;
    EventRecord event;
    WINK_RETURN_IF_ERROR(DecodeRecord(View(it->value()), kEventRecordVersion, "event", event));
    last_scanned = event.id();
    if (!event_type.empty() && event.type() != event_type) continue;
    page_bytes += bytes;
    page.events.push_back(std::move(event));
  }
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "listing events"));
  return page;
}

}  // namespace wink::webhooks::storage::rocks
