// Delivery changes inside a writer operation, shared by the RocksDB stores.
// Internal to the RocksDB backend.
//
// StageTransition is the one place a delivery changes: it writes what a
// domain::Transition says and keeps the delivery's indexes true to its
// state: a PENDING or RETRY_SCHEDULED delivery has exactly one `due` entry
// (at next_attempt_time_us) and one `due_by_webhook` entry, a HELD delivery
// exactly one `held` entry, and the others none. It puts an entry only where
// the old state had none, so no queue key is put twice (IsPutOnceQueue).
// Every change appends its update-log entry and, once durable, tells the
// update listeners.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_DELIVERY_WRITES_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_DELIVERY_WRITES_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/domain/delivery_lifecycle.h"
#include "service/domain/webhook_lifecycle.h"
#include "service/storage/records.h"
#include "service/storage/rocksdb/column_families.h"
#include "service/storage/rocksdb/store_context.h"
#include "service/storage/rocksdb/writer.h"

namespace wink::webhooks::storage::rocks {

using ::wink::webhooks::domain::AttemptRecord;
using ::wink::webhooks::domain::DeliveryRecord;
using ::wink::webhooks::domain::EventRecord;
using ::wink::webhooks::domain::WebhookRecord;

// Reads the record at `key` of `cf` from `source` (the Database, or a
// WriteTxn to see the writes staged before it); nullopt when absent,
// DATA_LOSS when it does not decode (records.h).
template <typename Record, typename Source>
absl::StatusOr<std::optional<Record>> ReadRecord(Source& source, ColumnFamily cf,
                                                 const std::string& key, uint32_t version,
                                                 absl::string_view what) {
  auto stored = source.Get(cf, key);
  if (absl::IsNotFound(stored.status())) return std::nullopt;
  if (!stored.ok()) return stored.status();
  Record record;
  absl::Status decoded = DecodeRecord(*stored, version, what, record);
  if (!decoded.ok()) return decoded;
  return record;
}

// Reads inside an operation (seeing the writes staged before it); nullopt
// when absent.
absl::StatusOr<std::optional<DeliveryRecord>> ReadDeliveryIn(WriteTxn& txn,
                                                             absl::string_view webhook_id,
                                                             absl::string_view event_id);
absl::StatusOr<std::optional<WebhookRecord>> ReadWebhookIn(WriteTxn& txn, absl::string_view account,
                                                           absl::string_view webhook_id);
absl::StatusOr<std::optional<EventRecord>> ReadEventIn(WriteTxn& txn, absl::string_view account,
                                                       absl::string_view event_id);

// Stages `transition` of the delivery whose record was `before` (nullptr
// for a new one): the attempt, the record and its index entries, the update
// entry, the webhook. Returns the update's sequence number, 0 when it
// appended none.
uint64_t StageTransition(WriteTxn& txn, const StoreContext& context, const DeliveryRecord* before,
                         domain::Transition transition);

// Stages the first chunk of `cascade` for the webhook and, once that is
// durable, submits follow-up operations for the rest; each chunk first asks
// domain::CascadeStillApplies. `generation` is the resume that started a
// release or drop (ignored by kCancelAll).
absl::Status StageCascade(WriteTxn& txn, const StoreContext& context, domain::Cascade cascade,
                          absl::string_view account, absl::string_view webhook_id,
                          uint32_t generation);

// Deliveries touched per operation by a cascade; the rest follow in
// follow-up operations so one webhook with a million held deliveries cannot
// stall the writer.
inline constexpr int kCascadeChunk = 1000;

}  // namespace wink::webhooks::storage::rocks

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_DELIVERY_WRITES_H_
