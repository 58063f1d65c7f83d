// The durable queue of deliveries waiting for an attempt, in due-time order:
// what the delivery engine scans. An entry exists exactly while its delivery
// is PENDING or RETRY_SCHEDULED (delivery_ledger.h keeps it so); nothing
// leaves the queue except in the write that records the delivery's attempt
// or changes its state, so after a crash the queue is the to-do list.
// Implementations are thread-safe.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_DUE_QUEUE_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_DUE_QUEUE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wink::webhooks::storage {

// A queue entry: a delivery whose next attempt is at `due_time_us`.
struct DueDelivery {
  int64_t due_time_us = 0;
  std::string webhook_id;
  std::string event_id;
};

class DueQueue {
 public:
  virtual ~DueQueue() = default;

  // Calls `visit` for entries due in [from, before), in time order, until it
  // returns false. A scan may cost more the further back it starts (RocksDB
  // steps over deleted entries until compaction drops them), so a caller
  // that knows nothing is due before some time should start there.
  virtual absl::Status ScanDue(absl::Time from, absl::Time before,
                               const std::function<bool(const DueDelivery&)>& visit) = 0;

  // Time of the earliest entry after `after`, nullopt when there is none.
  virtual absl::StatusOr<std::optional<absl::Time>> EarliestDueTimeAfter(absl::Time after) = 0;

  // The webhook's entry with the lowest event id: its oldest unfinished
  // (PENDING or RETRY_SCHEDULED) delivery in publish order, the only one an
  // ordered webhook may send (delivery/engine.h). nullopt when it has none.
  // Reads the committed state, one index seek whatever the webhook's
  // history.
  virtual absl::StatusOr<std::optional<DueDelivery>> FirstOfWebhook(
      absl::string_view webhook_id) = 0;

  // A cheap estimate of the number of entries, for a gauge (may count
  // removed entries not yet compacted away).
  virtual uint64_t EstimatedSize() = 0;

  // Whose deliveries this process sends. One node alone (RocksDB) sends
  // every delivery. Nodes sharing a database (PostgreSQL) share them out by
  // webhook; ScanDue and EarliestDueTimeAfter return only this node's
  // entries, and Owns says whether a request to `webhook_id` may start
  // here now.
  virtual bool Owns(absl::string_view webhook_id) { return true; }

  // Changes whenever the set of deliveries Owns() accepts does: entries
  // due long ago may have become this node's, so the next scan must start
  // from the beginning.
  virtual uint64_t OwnershipVersion() { return 0; }
};

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_DUE_QUEUE_H_
