// The PostgreSQL backend's tables, and their creation. Internal to the
// PostgreSQL backend.
//
// Records are the same serialized protobuf records as in RocksDB
// (records.h), in `record bytea`, beside the columns that queries filter
// or sort on. Text columns use the "C" collation, so ids sort bytewise as
// they do in RocksDB.
//
//   webhooks     (account, id) -> record
//   applications (account, id) -> record                 API credentials
//                (application_store.h)
//   idempotency  (account, kind, key) -> record          request ids and keys
//   events       (account, id) -> type, watch_cursor, record
//   deliveries   (webhook_id, event_id) -> account, state, due_time_us, held,
//                record, part (PartitionOf(webhook_id)); due_time_us is set exactly while the delivery is
//                PENDING or RETRY_SCHEDULED (the due queue is an index on
//                it) and held exactly while it is HELD, so the queue can
//                never disagree with the records
//   attempts     (webhook_id, event_id, number) -> record
//   updates      (sequence) -> update_time_us, record  the update log
//   update_counter  one row: the last sequence handed out (writer.h)
//   account_usage  (account) -> events, bytes         retained events, kept
//                with every publish and purge (event_log.h AccountUsage)
//   nodes        (node_id) -> expires_at              live nodes' heartbeats
//   partitions   (part) -> owner, epoch, expires_at  the leases
//                (partition_leases.h)
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_SCHEMA_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_SCHEMA_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/storage/postgres/connection.h"

namespace wink::webhooks::storage::pg {

// The schema this binary writes. A database whose schema is newer is
// refused; an older one is migrated at start.
// 2: account_usage (counted from the events when migrating from 1).
// Tables that older binaries ignore and that need no data moved in (e.g.
// `applications`) come without a new version: CreateSchema adds them to an
// existing database, and a rolling upgrade's older nodes keep starting.
inline constexpr int kSchemaVersion = 2;

// Deliveries are shared out between nodes in this many partitions, by
// webhook (PartitionOf).
inline constexpr int kPartitionCount = 256;

// The partition of a webhook's deliveries: FNV-1a (32 bits) of its id,
// modulo kPartitionCount. Stored with each delivery, so it must never
// change.
inline int PartitionOf(absl::string_view webhook_id) {
  uint32_t hash = 2166136261u;
  for (const char c : webhook_id) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 16777619u;
  }
  return static_cast<int>(hash % kPartitionCount);
}

// Creates the tables that do not exist yet (several nodes may start at
// once: creation is serialized by an advisory lock) and returns the last
// update-log sequence handed out. Migrates an older schema in the same
// transaction. FAILED_PRECONDITION when the database holds a newer schema.
absl::StatusOr<uint64_t> CreateSchema(Connection& connection);

// Kinds of idempotency entries.
enum class IdempotencyKind : int {
  kCreateWebhook = 1,
  kPublishEvent = 2,
};

}  // namespace wink::webhooks::storage::pg

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_SCHEMA_H_
