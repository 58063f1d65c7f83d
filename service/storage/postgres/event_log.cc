// PostgresEventLog: tables `events` and `idempotency`, and the deliveries a
// publish creates.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/common/ids.h"
#include "service/common/status_macros.h"
#include "service/storage/postgres/delivery_writes.h"
#include "service/storage/postgres/schema.h"
#include "service/storage/postgres/stores.h"
#include "service/storage/records.h"
#include "service/storage/stored_quota.h"

namespace wink::webhooks::storage::pg {
namespace {

using ::wink::webhooks::internal::v1::IdempotencyRecord;

constexpr Sql kWebhooksOf{"webhooks_of",
                          "SELECT record FROM webhooks WHERE account = $1 ORDER BY id"};
constexpr Sql kInsertEvent{
    "insert_event", "INSERT INTO events (account, id, type, record) VALUES ($1, $2, $3, $4)"};
constexpr Sql kUsageOf{"usage_of",
                       "SELECT events, bytes FROM account_usage WHERE account = $1"};
constexpr Sql kAddUsage{
    "add_usage",
    "INSERT INTO account_usage (account, events, bytes) VALUES ($1, $2::int8, $3::int8) "
    "ON CONFLICT (account) DO UPDATE SET events = account_usage.events + excluded.events, "
    "bytes = account_usage.bytes + excluded.bytes"};
// Event ids begin with their time.
constexpr Sql kOldestEventOf{"oldest_event_of", "SELECT min(id) FROM events WHERE account = $1"};
constexpr Sql kDeliveriesOfEvent{
    "deliveries_of_event", "SELECT record FROM deliveries WHERE event_id = $1 ORDER BY webhook_id"};
constexpr Sql kEventById{"event_by_id",
                         "SELECT record, watch_cursor FROM events WHERE account = $1 AND id = $2"};
// What a page may hold, newest first, without the records: whether each
// matches the type filter and its size.
constexpr Sql kScanEvents{"scan_events",
                          "SELECT id, ($3 = '' OR type = $3), octet_length(record) FROM events "
                          "WHERE account = $1 AND id < $2 ORDER BY id DESC LIMIT $4"};
constexpr Sql kEventsByIds{
    "events_by_ids",
    "SELECT record, watch_cursor FROM events WHERE account = $1 AND id = ANY($2::text[])"};

AccountUsage UsageAt(const Rows& rows) {
  if (rows.empty()) return AccountUsage{};
  return AccountUsage{rows.Int(0, 0), rows.Int(0, 1)};
}

// What an operation knows of one account: its webhooks, and its usage as
// read at the start and as the operation's publishes leave it.
struct AccountView {
  std::vector<WebhookRecord> webhooks;
  AccountUsage usage_before;
  AccountUsage usage;
};

// One publish inside a (batch) operation.
absl::Status PublishIn(WriteTxn& txn, const StoreContext& context, const PublishRequest& request,
                       AccountView& account, PublishResult& result, int& cursor_offset) {
  const absl::Time now = context.clock.Now();
  const int kind = static_cast<int>(IdempotencyKind::kPublishEvent);
  if (!request.idempotency_key.empty()) {
    WINK_ASSIGN_OR_RETURN(
        const std::vector<Rows> rows,
        txn.Read({LockIdempotencyKey(request.account, kind, request.idempotency_key),
                  Statement{kIdempotencyEntry,
                            {Param::Text(request.account), Param::Int(kind),
                             Param::Bytes(request.idempotency_key)}}}));
    WINK_ASSIGN_OR_RETURN(
        const std::optional<IdempotencyRecord> earlier,
        RecordAt<IdempotencyRecord>(rows[1], 0, 0, kIdempotencyRecordVersion, "idempotency"));
    if (earlier.has_value() && absl::FromUnixMicros(earlier->expire_time_us()) > now) {
      if (earlier->request_fingerprint() != request.request_fingerprint) {
        return absl::InvalidArgumentError(
            "idempotency_key: already used for a different event (type or payload "
            "differ); use a new key for a new event");
      }
      WINK_ASSIGN_OR_RETURN(std::optional<EventRecord> event,
                            ReadEventIn(txn, request.account, earlier->resource_id()));
      // A purged event falls through and is published anew.
      if (event.has_value()) {
        result.event = *std::move(event);
        WINK_ASSIGN_OR_RETURN(
            const Rows deliveries,
            txn.ReadOne(Statement{kDeliveriesOfEvent, {Param::Text(result.event.id())}}));
        WINK_ASSIGN_OR_RETURN(
            result.deliveries,
            RecordsIn<DeliveryRecord>(deliveries, 0, kDeliveryRecordVersion, "delivery"));
        result.replayed = true;
        return absl::OkStatus();
      }
    }
  }

  if (!request.only_webhook_id.empty() &&
      std::none_of(account.webhooks.begin(), account.webhooks.end(),
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
  std::string stored_event = event.SerializeAsString();
  const auto event_bytes = static_cast<int64_t>(stored_event.size());
  if (!FitsStoredQuota(request.quota, account.usage, event_bytes)) {
    WINK_ASSIGN_OR_RETURN(const Rows oldest_id,
                          txn.ReadOne(Statement{kOldestEventOf, {Param::Text(request.account)}}));
    std::optional<absl::Time> oldest;
    if (!oldest_id.empty() && !oldest_id.IsNull(0, 0) &&
        IsValidId(oldest_id.Bytes(0, 0), kEventIdPrefix)) {
      oldest = IdTime(oldest_id.Bytes(0, 0), kEventIdPrefix);
    }
    return StoredQuotaRefusal(request.quota, request.account, account.usage, event_bytes, oldest,
                              now);
  }
  account.usage = AddToUsage(account.usage, 1, event_bytes);
  txn.Write(Statement{kInsertEvent,
                      {Param::Text(request.account), Param::Text(event.id()),
                       Param::Text(request.event_type), Param::Bytes(std::move(stored_event))}});
  cursor_offset = txn.appended_updates();
  txn.SetWatchCursorAtCommit(request.account, event.id());

  const domain::Publish input{request.account, event.id(), request.event_type};
  for (const WebhookRecord& webhook : account.webhooks) {
    if (!ReceivesPublish(webhook, request)) continue;
    domain::Transition created = domain::NextDelivery(nullptr, &webhook, input, now);
    created.after->set_version(kDeliveryRecordVersion);
    result.deliveries.push_back(*created.after);
    StageTransition(txn, context, nullptr, std::move(created));
  }

  if (!request.idempotency_key.empty()) {
    IdempotencyRecord record;
    record.set_version(kIdempotencyRecordVersion);
    record.set_resource_id(event.id());
    record.set_request_fingerprint(request.request_fingerprint);
    record.set_expire_time_us(absl::ToUnixMicros(now + request.idempotency_retention));
    txn.Write(Statement{
        kPutIdempotencyEntry,
        {Param::Text(request.account), Param::Int(kind), Param::Bytes(request.idempotency_key),
         Param::Bytes(record.SerializeAsString())}});
  }
  return absl::OkStatus();
}

}  // namespace

void PostgresEventLog::PublishBatch(
    std::vector<PublishRequest> requests, bool index_errors,
    std::function<void(absl::StatusOr<std::vector<PublishResult>>)> done) {
  auto results = std::make_shared<std::vector<PublishResult>>();
  // With a key each, running the batch again after a lost COMMIT finds
  // whatever it stored and returns that: the caller need not retry.
  const bool every_request_has_a_key =
      std::all_of(requests.begin(), requests.end(),
                  [](const PublishRequest& request) { return !request.idempotency_key.empty(); });
  context_.writer.SubmitIfNotOverloaded(
      [this, requests = std::move(requests), index_errors, results](WriteTxn& txn) -> absl::Status {
        // The operation may run again after a failed group; start clean.
        results->assign(requests.size(), PublishResult());
        // Per new event: its updates' offset within this operation (-1: a
        // replay, whose cursor was read).
        std::vector<int> cursor_offsets(requests.size(), -1);
        absl::flat_hash_map<std::string, AccountView> accounts;
        for (size_t i = 0; i < requests.size(); ++i) {
          const PublishRequest& request = requests[i];
          auto found = accounts.find(request.account);
          if (found == accounts.end()) {
            // Shared: webhook changes that decide the fan-out wait for the
            // publish to commit, and it for them. The usage read sees this
            // node's earlier writes (they are in this transaction or
            // committed), not other nodes' uncommitted ones (event_log.h).
            WINK_ASSIGN_OR_RETURN(
                const std::vector<Rows> rows,
                txn.Read({LockAccountShared(request.account),
                          Statement{kWebhooksOf, {Param::Text(request.account)}},
                          Statement{kUsageOf, {Param::Text(request.account)}}}));
            AccountView account;
            WINK_ASSIGN_OR_RETURN(
                account.webhooks,
                RecordsIn<WebhookRecord>(rows[1], 0, kWebhookRecordVersion, "webhook"));
            account.usage_before = UsageAt(rows[2]);
            account.usage = account.usage_before;
            found = accounts.emplace(request.account, std::move(account)).first;
          }
          absl::Status status =
              PublishIn(txn, context_, request, found->second, (*results)[i], cursor_offsets[i]);
          if (!status.ok()) {
            if (!index_errors) return status;
            return absl::Status(status.code(),
                                absl::StrCat("requests[", i, "].", status.message()));
          }
        }
        for (const auto& [name, account] : accounts) {
          const int64_t added_events = account.usage.events - account.usage_before.events;
          if (added_events == 0) continue;
          txn.Write(Statement{kAddUsage,
                              {Param::Text(name), Param::Int(added_events),
                               Param::Int(account.usage.bytes - account.usage_before.bytes)}});
        }
        txn.OnCommit([results, cursor_offsets](uint64_t sequence_before) {
          for (size_t i = 0; i < results->size(); ++i) {
            if (cursor_offsets[i] < 0) continue;
            (*results)[i].event.set_watch_cursor(sequence_before +
                                                 static_cast<uint64_t>(cursor_offsets[i]));
          }
        });
        return absl::OkStatus();
      },
      [results, done = std::move(done)](absl::Status status) {
        if (!status.ok()) {
          done(std::move(status));
        } else {
          done(std::move(*results));
        }
      },
      every_request_has_a_key ? Writer::WhenOutcomeUnknown::kRunAgain
                              : Writer::WhenOutcomeUnknown::kFail);
}

absl::StatusOr<AccountUsage> PostgresEventLog::UsageOf(absl::string_view account) {
  WINK_ASSIGN_OR_RETURN(const Rows rows,
                        context_.readers.Query(Statement{kUsageOf, {Param::Text(account)}}));
  return UsageAt(rows);
}

absl::StatusOr<EventRecord> PostgresEventLog::GetEvent(absl::string_view account,
                                                       absl::string_view event_id) {
  WINK_ASSIGN_OR_RETURN(
      const Rows rows,
      context_.readers.Query(Statement{kEventById, {Param::Text(account), Param::Text(event_id)}}));
  WINK_ASSIGN_OR_RETURN(std::optional<EventRecord> event, EventAt(rows, 0, 0));
  if (!event.has_value()) {
    return absl::NotFoundError(absl::StrCat("event ", event_id, " not found"));
  }
  return *std::move(event);
}

absl::StatusOr<EventPage> PostgresEventLog::ListEvents(absl::string_view account,
                                                       absl::string_view before_event_id,
                                                       absl::string_view event_type, int limit) {
  // First which events the page holds (ids, sizes), then only their
  // records: a page never reads more than kMaxPageBytes of them.
  const int max_scanned = event_type.empty() ? limit : limit * kScanFactor;
  WINK_ASSIGN_OR_RETURN(const Rows scanned_rows,
                        context_.readers.Query(Statement{
                            kScanEvents,
                            {Param::Text(account),
                             Param::Text(before_event_id.empty() ? kAfterEveryId : before_event_id),
                             Param::Text(event_type), Param::Int(max_scanned + 1)}}));
  EventPage page;
  std::vector<std::string> chosen;
  int scanned = 0;
  size_t page_bytes = 0;
  std::string last_scanned;
  for (int row = 0; row < scanned_rows.size(); ++row) {
    const size_t bytes = static_cast<size_t>(scanned_rows.Int(row, 2));
    if (static_cast<int>(chosen.size()) == limit || scanned == max_scanned ||
        (!chosen.empty() && page_bytes + bytes > kMaxPageBytes)) {
      page.continue_from = last_scanned;
      break;
    }
    ++scanned;
    last_scanned = std::string(scanned_rows.Bytes(row, 0));
    if (!scanned_rows.Bool(row, 1)) continue;
    page_bytes += bytes;
    chosen.push_back(last_scanned);
  }
  if (chosen.empty()) return page;
  WINK_ASSIGN_OR_RETURN(const Rows records,
                        context_.readers.Query(Statement{
                            kEventsByIds,
                            {Param::Text(account),
                             Param::Text(absl::StrCat("{", absl::StrJoin(chosen, ","), "}"))}}));
  for (int row = 0; row < records.size(); ++row) {
    WINK_ASSIGN_OR_RETURN(std::optional<EventRecord> event, EventAt(records, row, 0));
    page.events.push_back(*std::move(event));
  }
  // Newest first, as chosen (a purged one is missing).
  std::sort(page.events.begin(), page.events.end(),
            [](const EventRecord& a, const EventRecord& b) { return a.id() > b.id(); });
  return page;
}

}  // namespace wink::webhooks::storage::pg
