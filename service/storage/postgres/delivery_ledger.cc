// PostgresDeliveryLedger: tables `deliveries` and `attempts`.
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/common/ids.h"
#include "service/common/status_macros.h"
#include "service/domain/webhook_lifecycle.h"
#include "service/storage/event_log.h"
#include "service/storage/postgres/delivery_writes.h"
#include "service/storage/postgres/schema.h"
#include "service/storage/postgres/stores.h"
#include "service/storage/records.h"

namespace wink::webhooks::storage::pg {
namespace {

// Rows of the fence statements (PartitionLeases::FenceStatements), which
// come first in a fenced write's reads; the last is the check.
constexpr size_t kFenceRows = 2;

// The engine's write for a delivery of a partition this node no longer
// leases (fenced): the owner sends it again.
absl::Status NotLeased(int partition) {
  return absl::FailedPreconditionError(
      absl::StrCat("partition ", partition,
                   " is not leased by this node any more; its new owner sends the delivery"));
}

constexpr Sql kDelivery{"delivery",
                        "SELECT record FROM deliveries WHERE webhook_id = $1 AND event_id = $2"};
constexpr Sql kAttempts{"attempts",
                        "SELECT record FROM attempts WHERE webhook_id = $1 AND event_id = $2 "
                        "ORDER BY number"};
// Pages of one webhook's or one event's deliveries: every delivery looked
// at, its record only when it passes the filters ($4: account, $5: state
// or 0).
constexpr Sql kScanWebhookDeliveries{
    "scan_webhook_deliveries",
    "SELECT event_id, CASE WHEN account = $4 AND ($5 = 0 OR state = $5) THEN record END, "
    "account = $4 FROM deliveries WHERE webhook_id = $1 AND event_id > $2 "
    "ORDER BY event_id LIMIT $3"};
constexpr Sql kScanEventDeliveries{
    "scan_event_deliveries",
    "SELECT webhook_id, CASE WHEN account = $4 AND ($5 = 0 OR state = $5) THEN record END, "
    "account = $4 FROM deliveries WHERE event_id = $1 AND webhook_id > $2 "
    "ORDER BY webhook_id LIMIT $3"};
// An account's delivery log from a position, newest event first.
constexpr Sql kScanAccountDeliveries{
    "scan_account_deliveries",
    "SELECT event_id, webhook_id, CASE WHEN $7 = 0 OR state = $7 THEN record END "
    "FROM deliveries WHERE account = $1 AND (event_id < $2 OR (event_id = $2 AND webhook_id > $3)) "
    "AND event_id >= $4 AND event_id < $5 ORDER BY event_id DESC, webhook_id LIMIT $6"};
// What an attempt needs, in one round trip.
constexpr Sql kAttemptContext{
    "attempt_context",
    "SELECT d.record, w.record, e.record, e.watch_cursor FROM deliveries d "
    "LEFT JOIN webhooks w ON w.account = d.account AND w.id = d.webhook_id "
    "LEFT JOIN events e ON e.account = d.account AND e.id = d.event_id "
    "WHERE d.webhook_id = $1 AND d.event_id = $2"};
// The webhook of a delivery, locked (in the pipeline after the delivery).
constexpr Sql kWebhookOfDeliveryForUpdate{
    "webhook_of_delivery_for_update",
    "SELECT record FROM webhooks WHERE id = $1 AND account = "
    "(SELECT account FROM deliveries WHERE webhook_id = $1 AND event_id = $2) FOR UPDATE"};
constexpr Sql kEventOfDeliveryExists{
    "event_of_delivery_exists",
    "SELECT 1 FROM events WHERE id = $2 AND account = "
    "(SELECT account FROM deliveries WHERE webhook_id = $1 AND event_id = $2)"};
constexpr Sql kProbe{"probe", "UPDATE update_counter SET last = last"};
constexpr Sql kWebhooksWithHeld{"webhooks_with_held",
                                "SELECT DISTINCT account, webhook_id FROM deliveries WHERE held"};

absl::Status DeliveryNotFound(absl::string_view webhook_id, absl::string_view event_id) {
  return absl::NotFoundError(
      absl::StrCat("delivery of event ", event_id, " to webhook ", webhook_id, " not found"));
}

// A page of one webhook's or event's deliveries from `rows` (kScan*):
// column 0 the position, 1 the record when it passes, 2 whether the
// account matches.
absl::StatusOr<DeliveryPage> PageOf(const Rows& rows, int limit, int max_scanned) {
  DeliveryPage page;
  int scanned = 0;
  std::string last_scanned;
  for (int row = 0; row < rows.size(); ++row) {
    if (static_cast<int>(page.deliveries.size()) == limit || scanned == max_scanned) {
      page.continue_from = last_scanned;
      break;
    }
    ++scanned;
    // All deliveries of a webhook (an event) belong to its account: one
    // foreign record means a foreign webhook (event).
    if (!rows.Bool(row, 2)) return DeliveryPage{};
    last_scanned = std::string(rows.Bytes(row, 0));
    WINK_ASSIGN_OR_RETURN(
        std::optional<DeliveryRecord> delivery,
        RecordAt<DeliveryRecord>(rows, row, 1, kDeliveryRecordVersion, "delivery"));
    if (delivery.has_value()) page.deliveries.push_back(*std::move(delivery));
  }
  return page;
}

}  // namespace

absl::StatusOr<DeliveryRecord> PostgresDeliveryLedger::GetDelivery(absl::string_view account,
                                                                   absl::string_view webhook_id,
                                                                   absl::string_view event_id) {
  WINK_ASSIGN_OR_RETURN(
      const Rows rows, context_.readers.Query(
                           Statement{kDelivery, {Param::Text(webhook_id), Param::Text(event_id)}}));
  WINK_ASSIGN_OR_RETURN(std::optional<DeliveryRecord> delivery,
                        RecordAt<DeliveryRecord>(rows, 0, 0, kDeliveryRecordVersion, "delivery"));
  if (!delivery.has_value() || delivery->account() != account) {
    return DeliveryNotFound(webhook_id, event_id);
  }
  return *std::move(delivery);
}

absl::StatusOr<std::vector<AttemptRecord>> PostgresDeliveryLedger::ListAttempts(
    absl::string_view webhook_id, absl::string_view event_id) {
  WINK_ASSIGN_OR_RETURN(
      const Rows rows, context_.readers.Query(
                           Statement{kAttempts, {Param::Text(webhook_id), Param::Text(event_id)}}));
  return RecordsIn<AttemptRecord>(rows, 0, kAttemptRecordVersion, "attempt");
}

absl::StatusOr<DeliveryPage> PostgresDeliveryLedger::ListDeliveriesOfWebhook(
    absl::string_view account, absl::string_view webhook_id, absl::string_view after_event_id,
    int state, int limit) {
  const int max_scanned = limit * kScanFactor;
  WINK_ASSIGN_OR_RETURN(const Rows rows, context_.readers.Query(Statement{
                                             kScanWebhookDeliveries,
                                             {Param::Text(webhook_id), Param::Text(after_event_id),
                                              Param::Int(max_scanned + 1), Param::Text(account),
                                              Param::Int(state)}}));
  return PageOf(rows, limit, max_scanned);
}

absl::StatusOr<DeliveryPage> PostgresDeliveryLedger::ListDeliveriesOfEvent(
    absl::string_view account, absl::string_view event_id, absl::string_view after_webhook_id,
    int state, int limit) {
  const int max_scanned = limit * kScanFactor;
  WINK_ASSIGN_OR_RETURN(const Rows rows, context_.readers.Query(Statement{
                                             kScanEventDeliveries,
                                             {Param::Text(event_id), Param::Text(after_webhook_id),
                                              Param::Int(max_scanned + 1), Param::Text(account),
                                              Param::Int(state)}}));
  return PageOf(rows, limit, max_scanned);
}

absl::StatusOr<DeliveryLogPage> PostgresDeliveryLedger::ListDeliveriesOfAccount(
    absl::string_view account, const DeliveryLogFilter& filter,
    const std::optional<DeliveryLogPosition>& after, int limit) {
  // As the RocksDB backend counts a scan: each event and each delivery
  // looked at, at most limit * kScanFactor a page.
  const int max_scanned = limit * kScanFactor;
  const std::string from = filter.published_from == absl::InfinitePast()
                               ? std::string()
                               : FirstIdAt(filter.published_from, kEventIdPrefix);
  const std::string before = filter.published_before == absl::InfiniteFuture()
                                 ? std::string(kAfterEveryId)
                                 : FirstIdAt(filter.published_before, kEventIdPrefix);
  WINK_ASSIGN_OR_RETURN(
      const Rows rows,
      context_.readers.Query(Statement{
          kScanAccountDeliveries,
          {Param::Text(account),
           Param::Text(after.has_value() ? after->event_id : std::string(kAfterEveryId)),
           Param::Text(after.has_value() ? after->webhook_id : std::string()), Param::Text(from),
           Param::Text(before), Param::Int(max_scanned + 1), Param::Int(filter.state)}}));
  DeliveryLogPage page;
  int scanned = 0;
  // The last place looked at completely: where the next page starts.
  std::optional<DeliveryLogPosition> done;
  const auto page_ends = [&] {
    return static_cast<int>(page.deliveries.size()) == limit || scanned >= max_scanned;
  };
  for (int row = 0; row < rows.size(); ++row) {
    const absl::string_view event_id = rows.Bytes(row, 0);
    if (page_ends() && done.has_value()) {
      page.continue_from = std::move(done);
      return page;
    }
    if (!done.has_value() || done->event_id != event_id) {
      ++scanned;  // the event
      const bool resuming = after.has_value() && after->event_id == event_id;
      done = DeliveryLogPosition{std::string(event_id), resuming ? after->webhook_id : ""};
      if (page_ends()) {
        page.continue_from = std::move(done);
        return page;
      }
    }
    ++scanned;
    done->webhook_id = std::string(rows.Bytes(row, 1));
    WINK_ASSIGN_OR_RETURN(
        std::optional<DeliveryRecord> delivery,
        RecordAt<DeliveryRecord>(rows, row, 2, kDeliveryRecordVersion, "delivery"));
    if (delivery.has_value()) page.deliveries.push_back(*std::move(delivery));
  }
  // The query stopped at its row limit: more may follow.
  if (rows.size() == max_scanned + 1) page.continue_from = std::move(done);
  return page;
}

absl::StatusOr<DeliveryRecord> PostgresDeliveryLedger::RetryNow(absl::string_view account,
                                                                absl::string_view webhook_id,
                                                                absl::string_view event_id) {
  DeliveryRecord result;
  WINK_RETURN_IF_ERROR(context_.writer.Run([&](WriteTxn& txn) -> absl::Status {
    WINK_ASSIGN_OR_RETURN(const std::optional<DeliveryRecord> before,
                          ReadDeliveryForUpdate(txn, webhook_id, event_id));
    if (!before.has_value() || before->account() != account) {
      return DeliveryNotFound(webhook_id, event_id);
    }
    WINK_ASSIGN_OR_RETURN(const std::optional<WebhookRecord> webhook,
                          ReadWebhookForUpdate(txn, account, webhook_id));
    domain::Transition retried =
        domain::NextDelivery(&*before, webhook.has_value() ? &*webhook : nullptr,
                             domain::ManualRetry{}, context_.clock.Now());
    WINK_RETURN_IF_ERROR(retried.status);
    result = *retried.after;
    result.set_version(kDeliveryRecordVersion);
    StageTransition(txn, context_, &*before, std::move(retried));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<AttemptContext> PostgresDeliveryLedger::LoadAttempt(absl::string_view webhook_id,
                                                                   absl::string_view event_id) {
  WINK_ASSIGN_OR_RETURN(const Rows rows,
                        context_.readers.Query(Statement{
                            kAttemptContext, {Param::Text(webhook_id), Param::Text(event_id)}}));
  WINK_ASSIGN_OR_RETURN(std::optional<DeliveryRecord> delivery,
                        RecordAt<DeliveryRecord>(rows, 0, 0, kDeliveryRecordVersion, "delivery"));
  if (!delivery.has_value()) return DeliveryNotFound(webhook_id, event_id);
  AttemptContext loaded;
  loaded.delivery = *std::move(delivery);
  WINK_ASSIGN_OR_RETURN(loaded.webhook,
                        RecordAt<WebhookRecord>(rows, 0, 1, kWebhookRecordVersion, "webhook"));
  WINK_ASSIGN_OR_RETURN(loaded.event, EventAt(rows, 0, 2));
  return loaded;
}

absl::StatusOr<std::vector<Statement>> PostgresDeliveryLedger::FenceFor(
    const std::string& webhook_id) const {
  const int partition = PartitionOf(webhook_id);
  const std::optional<int64_t> epoch = context_.leases.EpochOf(partition);
  if (!epoch.has_value()) return NotLeased(partition);
  return context_.leases.FenceStatements(partition, *epoch);
}

absl::Status PostgresDeliveryLedger::CheckFence(const Rows& fence,
                                                const std::string& webhook_id) const {
  return fence.empty() ? NotLeased(PartitionOf(webhook_id)) : absl::OkStatus();
}

void PostgresDeliveryLedger::RecordAttempt(RecordAttemptRequest request,
                                           std::function<void(absl::Status)> done) {
  context_.writer.Submit(
      [this, request = std::move(request)](WriteTxn& txn) mutable -> absl::Status {
        const std::vector<Param> key{Param::Text(request.webhook_id),
                                     Param::Text(request.event_id)};
        WINK_ASSIGN_OR_RETURN(std::vector<Statement> reads, FenceFor(request.webhook_id));
        reads.push_back(Statement{kDeliveryForUpdate, key});
        reads.push_back(Statement{kWebhookOfDeliveryForUpdate, key});
        WINK_ASSIGN_OR_RETURN(const std::vector<Rows> rows, txn.Read(reads));
        WINK_RETURN_IF_ERROR(CheckFence(rows[kFenceRows - 1], request.webhook_id));
        WINK_ASSIGN_OR_RETURN(
            const std::optional<DeliveryRecord> before,
            RecordAt<DeliveryRecord>(rows[kFenceRows], 0, 0, kDeliveryRecordVersion, "delivery"));
        if (!before.has_value()) return absl::OkStatus();  // purged meanwhile
        WINK_ASSIGN_OR_RETURN(
            const std::optional<WebhookRecord> webhook,
            RecordAt<WebhookRecord>(rows[kFenceRows + 1], 0, 0, kWebhookRecordVersion, "webhook"));
        request.finished.rules = request.rules.get();
        StageTransition(txn, context_, &*before,
                        domain::NextDelivery(&*before, webhook.has_value() ? &*webhook : nullptr,
                                             request.finished, context_.clock.Now()));
        return absl::OkStatus();
      },
      std::move(done));
}

void PostgresDeliveryLedger::Park(std::string webhook_id, std::string event_id, int64_t due_time_us,
                                  std::function<void(absl::Status)> done) {
  context_.writer.Submit(
      [this, webhook_id = std::move(webhook_id), event_id = std::move(event_id),
       due_time_us](WriteTxn& txn) -> absl::Status {
        const std::vector<Param> key{Param::Text(webhook_id), Param::Text(event_id)};
        WINK_ASSIGN_OR_RETURN(std::vector<Statement> reads, FenceFor(webhook_id));
        reads.push_back(Statement{kDeliveryForUpdate, key});
        reads.push_back(Statement{kWebhookOfDeliveryForUpdate, key});
        reads.push_back(Statement{kEventOfDeliveryExists, key});
        WINK_ASSIGN_OR_RETURN(const std::vector<Rows> rows, txn.Read(reads));
        WINK_RETURN_IF_ERROR(CheckFence(rows[kFenceRows - 1], webhook_id));
        WINK_ASSIGN_OR_RETURN(
            const std::optional<DeliveryRecord> before,
            RecordAt<DeliveryRecord>(rows[kFenceRows], 0, 0, kDeliveryRecordVersion, "delivery"));
        // The queue is a column of the delivery: an entry that no longer
        // matches its delivery cannot exist, and there is nothing to remove.
        if (!before.has_value() || !domain::IsDue(before->state()) ||
            before->next_attempt_time_us() != due_time_us) {
          return absl::OkStatus();
        }
        // Decided on the state as of this write, not as the engine saw it.
        WINK_ASSIGN_OR_RETURN(
            const std::optional<WebhookRecord> webhook,
            RecordAt<WebhookRecord>(rows[kFenceRows + 1], 0, 0, kWebhookRecordVersion, "webhook"));
        const bool event_exists = !rows[kFenceRows + 2].empty();
        StageTransition(
            txn, context_, &*before,
            domain::NextDelivery(&*before, webhook.has_value() ? &*webhook : nullptr,
                                 domain::Park{due_time_us, event_exists}, context_.clock.Now()));
        return absl::OkStatus();
      },
      std::move(done));
}

absl::Status PostgresDeliveryLedger::ProbeWritable() {
  // A real commit: it succeeds only on a writable primary whose
  // synchronous standbys answer.
  return context_.writer.Run([](WriteTxn& txn) -> absl::Status {
    txn.Write(Statement{kProbe, {}});
    return absl::OkStatus();
  });
}

absl::StatusOr<int> PostgresDeliveryLedger::RepairInterruptedCascades() {
  WINK_ASSIGN_OR_RETURN(const Rows candidates,
                        context_.readers.Query(Statement{kWebhooksWithHeld, {}}));
  int repaired = 0;
  for (int row = 0; row < candidates.size(); ++row) {
    const std::string account(candidates.Bytes(row, 0));
    const std::string webhook_id(candidates.Bytes(row, 1));
    bool needed = false;
    WINK_RETURN_IF_ERROR(context_.writer.Run([&](WriteTxn& txn) -> absl::Status {
      WINK_ASSIGN_OR_RETURN(const std::optional<WebhookRecord> webhook,
                            ReadWebhookForUpdate(txn, account, webhook_id));
      const WebhookRecord* current = webhook.has_value() ? &*webhook : nullptr;
      const domain::Cascade cascade = domain::InterruptedCascade(current);
      needed = cascade != domain::Cascade::kNone;  // else held, rightly
      return StageCascade(txn, context_, cascade, account, webhook_id, current,
                          current != nullptr ? current->resume_generation() : 0);
    }));
    if (needed) ++repaired;
  }
  return repaired;
}

}  // namespace wink::webhooks::storage::pg
