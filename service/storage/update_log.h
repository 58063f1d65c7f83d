// The update log: every delivery state change, numbered in commit order
// without gaps, which is what lets WatchDeliveries resume from a cursor and
// miss nothing. Read by the status bus; listeners (the engine, the bus) hear
// each committed update as it happens. Implementations are thread-safe.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_UPDATE_LOG_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_UPDATE_LOG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "service/domain/states.h"

namespace wink::webhooks::storage {

// Sequence number of the first entry of a new update log. Cursors are "the
// last update seen" and 0 means "from now" in WatchDeliveries, so the cursor
// before the very first update is 1.
inline constexpr uint64_t kFirstUpdateSequence = 2;

// One entry of the log: a delivery as of one state change.
struct DeliveryUpdate {
  uint64_t sequence = 0;
  domain::DeliveryRecord delivery;
};

// Told about every committed change once it is durable, in sequence order,
// on a storage thread: implementations must return quickly and must not wait
// for writes.
class UpdateListener {
 public:
  virtual ~UpdateListener() = default;
  virtual void OnDeliveryUpdate(const DeliveryUpdate& update) = 0;

  // A webhook was deleted (before DeleteWebhook returns): whatever is still
  // being sent to it must stop. Its deliveries' CANCELLED updates follow.
  virtual void OnWebhookDeleted(const std::string& webhook_id) {}
};

class UpdateLog {
 public:
  virtual ~UpdateLog() = default;

  // Up to `limit` updates with sequence > `after`, in order.
  virtual absl::StatusOr<std::vector<DeliveryUpdate>> ReadUpdates(uint64_t after, int limit) = 0;

  // Sequence number of the oldest retained update (0 when the log is empty).
  virtual absl::StatusOr<uint64_t> OldestSequence() = 0;

  // Sequence number of the newest committed update (kFirstUpdateSequence - 1
  // when there has never been one). Never goes back, across restarts and
  // retention too.
  virtual uint64_t LastSequence() = 0;

  // Adds a listener for updates committed from now on. Add listeners before
  // the first write that creates deliveries; `listener` must stay valid
  // until RemoveListener returns.
  virtual void AddListener(UpdateListener* listener) = 0;
  virtual void RemoveListener(UpdateListener* listener) = 0;
};

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_UPDATE_LOG_H_
