// The column-family registry: every column family of the database, in the
// one order they are opened. Append new families at the end; never reorder
// or remove one (existing databases store them by name, and code indexes
// handles by this enum).
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_COLUMN_FAMILIES_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_COLUMN_FAMILIES_H_

#include <array>

#include "absl/strings/string_view.h"

namespace wink::webhooks::storage::rocks {

enum class ColumnFamily : int {
  kDefault = 0,        // schema marker and other singletons
  kWebhooks,           // (account, webhook id) -> WebhookRecord
  kEvents,             // (account, event id) -> event record
  kIdempotency,        // (account, kind, key) -> IdempotencyRecord
  kDeliveries,         // (webhook id, event id) -> delivery record
  kDeliveriesByEvent,  // (event id, webhook id) -> empty
  kHeld,               // (webhook id, event id) -> empty: held while paused
  kAttempts,           // (webhook id, event id, attempt) -> attempt record
  kDue,                // (next attempt time, webhook id, event id) -> empty
  kUpdates,            // (sequence number) -> delivery status update
  kApplications,       // (account, application id) -> ApplicationRecord
  kDueByWebhook,       // (webhook id, event id) -> empty: an entry of kDue
};

inline constexpr int kColumnFamilyCount = 12;

// Names as stored in RocksDB, indexed by ColumnFamily.
inline constexpr std::array<absl::string_view, kColumnFamilyCount> kColumnFamilyNames = {
    "default",  // RocksDB's own name for the default family
    "webhooks", "events",   "idempotency", "deliveries", "deliveries_by_event",
    "held",     "attempts", "due",         "updates",    "applications", "due_by_webhook",
};

inline constexpr absl::string_view ColumnFamilyName(ColumnFamily cf) {
  return kColumnFamilyNames[static_cast<int>(cf)];
}

// The queues whose keys are put once and deleted once: no key of one is
// ever put again while it exists. The writer deletes their keys
// with RocksDB's SingleDelete, which a flush drops together with the put it
// meets; a Delete would stay behind as a tombstone until a compaction (most
// of what these families flush: docs/BENCHMARKS.md). The rule is what makes
// that safe: a second put of a key, then a SingleDelete, could bring the
// first put back. StageTransition (delivery_writes.h) keeps it, and no key
// of these families is ever deleted with Delete (schema 4, database.h).
inline constexpr std::array<ColumnFamily, 3> kPutOnceQueues = {
    ColumnFamily::kDue, ColumnFamily::kDueByWebhook, ColumnFamily::kHeld};

inline constexpr bool IsPutOnceQueue(ColumnFamily cf) {
  for (ColumnFamily queue : kPutOnceQueues) {
    if (cf == queue) return true;
  }
  return false;
}

}  // namespace wink::webhooks::storage::rocks

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_COLUMN_FAMILIES_H_
