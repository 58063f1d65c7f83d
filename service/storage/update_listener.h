// Notification of committed delivery state changes.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_UPDATE_LISTENER_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_UPDATE_LISTENER_H_

#include <cstdint>
#include <string>

#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::storage {

// One entry of the `updates` log: a delivery as of one state change.
struct DeliveryUpdate {
  uint64_t sequence = 0;
  internal::v1::DeliveryRecord delivery;
};

// Told about every delivery update once it is durable, in sequence order,
// on the storage writer thread: implementations must return quickly and must
// not wait for other writes.
class UpdateListener {
 public:
  virtual ~UpdateListener() = default;
  virtual void OnDeliveryUpdate(const DeliveryUpdate& update) = 0;

  // A webhook was deleted (before DeleteWebhook returns): whatever is still
  // being sent to it must stop. Its deliveries' CANCELLED updates follow,
  // the first chunk before this call, the rest later.
  virtual void OnWebhookDeleted(const std::string& webhook_id) {}
};

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_UPDATE_LISTENER_H_
