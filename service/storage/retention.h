// Retention: old events go, with everything they left (deliveries, attempts,
// queue and index entries), and old update-log entries with them. Run by the
// engine's maintenance thread. Implementations are thread-safe.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_RETENTION_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_RETENTION_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace wink::webhooks::storage {

struct PurgeResult {
  // Events deleted (with their deliveries and attempts).
  int events = 0;
  // Update-log entries deleted.
  int updates = 0;
};

class Retention {
 public:
  virtual ~Retention() = default;

  // Deletes up to `limit` events published before `cutoff` (fewer when they
  // have many deliveries: one write stays bounded), with their deliveries
  // (domain::Expire: no final update), attempts and index entries, and
  // update-log entries older than `cutoff` (always keeping the newest one,
  // so sequence numbers never repeat). Call again until both counts are 0.
  // Blocks until durable.
  virtual absl::StatusOr<PurgeResult> PurgeOlderThan(absl::Time cutoff, int limit) = 0;
};

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_RETENTION_H_
