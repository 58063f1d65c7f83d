// Reads and delivery changes inside a writer operation, shared by the
// PostgreSQL stores. Internal to the PostgreSQL backend.
//
// Locking, so that nodes sharing the database never lose an update:
//   - every read-modify-write of a delivery or a webhook reads it FOR
//     UPDATE (the row stays locked until the transaction ends);
//   - an account's advisory lock orders publishes (shared) against the
//     webhook changes that decide their fan-out (exclusive: create,
//     update, delete), so a publish fans out to the webhooks as they are
//     at its commit and never strands a HELD delivery behind a resume;
//   - an idempotency key's advisory lock makes a second use of the key wait
//     for the first and then see it.
// StageTransition is the one place a delivery changes; it keeps the
// delivery's queue columns true to its state (schema.h) and appends the
// change to the update log.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_DELIVERY_WRITES_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_DELIVERY_WRITES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/domain/delivery_lifecycle.h"
#include "service/domain/webhook_lifecycle.h"
#include "service/storage/postgres/connection.h"
#include "service/storage/postgres/store_context.h"
#include "service/storage/postgres/writer.h"
#include "service/storage/records.h"

namespace wink::webhooks::storage::pg {

using ::wink::webhooks::domain::AttemptRecord;
using ::wink::webhooks::domain::DeliveryRecord;
using ::wink::webhooks::domain::EventRecord;
using ::wink::webhooks::domain::WebhookRecord;

// Statements the stores share.
inline constexpr Sql kDeliveryForUpdate{
    "delivery_for_update",
    "SELECT record FROM deliveries WHERE webhook_id = $1 AND event_id = $2 FOR UPDATE"};
inline constexpr Sql kWebhookForUpdate{
    "webhook_for_update", "SELECT record FROM webhooks WHERE account = $1 AND id = $2 FOR UPDATE"};
inline constexpr Sql kUpdateWebhook{
    "update_webhook", "UPDATE webhooks SET record = $3 WHERE account = $1 AND id = $2"};
inline constexpr Sql kIdempotencyEntry{
    "idempotency_entry",
    "SELECT record FROM idempotency WHERE account = $1 AND kind = $2 AND key = $3"};
// Replaces an expired entry (the caller holds the key's lock).
inline constexpr Sql kPutIdempotencyEntry{
    "put_idempotency_entry",
    "INSERT INTO idempotency (account, kind, key, record) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (account, kind, key) DO UPDATE SET record = EXCLUDED.record"};

// Decodes the record in column `column` of `row` (records.h); nullopt when
// there is no row or the column is NULL (an outer join found nothing).
template <typename Record>
absl::StatusOr<std::optional<Record>> RecordAt(const Rows& rows, int row, int column,
                                               uint32_t version, absl::string_view what) {
  if (row >= rows.size() || rows.IsNull(row, column)) return std::nullopt;
  Record record;
  absl::Status decoded = DecodeRecord(rows.Bytes(row, column), version, what, record);
  if (!decoded.ok()) return decoded;
  return record;
}

// Every record in column `column` of `rows`, in row order.
template <typename Record>
absl::StatusOr<std::vector<Record>> RecordsIn(const Rows& rows, int column, uint32_t version,
                                              absl::string_view what) {
  std::vector<Record> records;
  records.reserve(static_cast<size_t>(rows.size()));
  for (int row = 0; row < rows.size(); ++row) {
    absl::StatusOr<std::optional<Record>> record =
        RecordAt<Record>(rows, row, column, version, what);
    if (!record.ok()) return record.status();
    if (record->has_value()) records.push_back(**std::move(record));
  }
  return records;
}

// Sorts after every id (ids are ASCII): "from the end" as an upper bound.
inline constexpr absl::string_view kAfterEveryId = "\x7f";

// An event read as `SELECT record, watch_cursor`: the cursor is set at
// commit, after the record was written (writer.h).
absl::StatusOr<std::optional<EventRecord>> EventAt(const Rows& rows, int row, int column);

// Statements taking an account's advisory lock until the transaction ends.
Statement LockAccountShared(absl::string_view account);
Statement LockAccountExclusive(absl::string_view account);
// The advisory lock of one idempotency key.
Statement LockIdempotencyKey(absl::string_view account, int kind, absl::string_view key);

// Reads inside an operation, locking the row (FOR UPDATE); nullopt when
// absent.
absl::StatusOr<std::optional<DeliveryRecord>> ReadDeliveryForUpdate(WriteTxn& txn,
                                                                    absl::string_view webhook_id,
                                                                    absl::string_view event_id);
absl::StatusOr<std::optional<WebhookRecord>> ReadWebhookForUpdate(WriteTxn& txn,
                                                                  absl::string_view account,
                                                                  absl::string_view webhook_id);
// Without a lock.
absl::StatusOr<std::optional<EventRecord>> ReadEventIn(WriteTxn& txn, absl::string_view account,
                                                       absl::string_view event_id);

// Stages `transition` of the delivery whose record was `before` (nullptr
// for a new one): the attempt, the record with its queue columns, the
// webhook, the update-log entry.
void StageTransition(WriteTxn& txn, const StoreContext& context, const DeliveryRecord* before,
                     domain::Transition transition);

// Stages the first chunk of `cascade` for the webhook, which is now
// `webhook` (nullptr: deleted), and once that commits submits follow-ups
// for the rest; each follow-up first asks domain::CascadeStillApplies.
// `generation` is the resume that started a release or drop.
absl::Status StageCascade(WriteTxn& txn, const StoreContext& context, domain::Cascade cascade,
                          absl::string_view account, absl::string_view webhook_id,
                          const WebhookRecord* webhook, uint32_t generation);

// Deliveries touched per operation by a cascade.
inline constexpr int kCascadeChunk = 1000;

}  // namespace wink::webhooks::storage::pg

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_DELIVERY_WRITES_H_
