// Names for the states of stored deliveries and webhooks, and the two
// indexes a delivery's state implies. Shared by the rules (this module), the
// storage backends that keep the indexes, and the delivery engine.
#ifndef WINK_WEBHOOKS_SERVICE_DOMAIN_STATES_H_
#define WINK_WEBHOOKS_SERVICE_DOMAIN_STATES_H_

#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::domain {

using ::wink::webhooks::internal::v1::AttemptRecord;
using ::wink::webhooks::internal::v1::DeliveryRecord;
using ::wink::webhooks::internal::v1::DeliveryStateRecord;
using ::wink::webhooks::internal::v1::EventRecord;
using ::wink::webhooks::internal::v1::WebhookRecord;

inline constexpr DeliveryStateRecord kPending = internal::v1::DELIVERY_STATE_RECORD_PENDING;
inline constexpr DeliveryStateRecord kHeld = internal::v1::DELIVERY_STATE_RECORD_HELD;
inline constexpr DeliveryStateRecord kRetryScheduled =
    internal::v1::DELIVERY_STATE_RECORD_RETRY_SCHEDULED;
inline constexpr DeliveryStateRecord kSucceeded = internal::v1::DELIVERY_STATE_RECORD_SUCCEEDED;
inline constexpr DeliveryStateRecord kFailed = internal::v1::DELIVERY_STATE_RECORD_FAILED;
inline constexpr DeliveryStateRecord kCancelled = internal::v1::DELIVERY_STATE_RECORD_CANCELLED;

// PENDING or RETRY_SCHEDULED: the delivery waits in the due queue, at its
// next_attempt_time_us.
inline bool IsDue(DeliveryStateRecord state) {
  return state == kPending || state == kRetryScheduled;
}

// HELD: the delivery waits for its paused webhook to be resumed.
inline bool IsHeld(DeliveryStateRecord state) { return state == kHeld; }

// SUCCEEDED, FAILED or CANCELLED: nothing more happens unless a caller
// retries it.
inline bool IsFinal(DeliveryStateRecord state) {
  return state == kSucceeded || state == kFailed || state == kCancelled;
}

// WebhookRecord::disabled_reason values (wink.webhooks.v1.DisabledReason).
inline constexpr int kDisabledReasonManual = 1;
inline constexpr int kDisabledReasonEndpointGone = 2;
inline constexpr int kDisabledReasonFailing = 3;

}  // namespace wink::webhooks::domain

#endif  // WINK_WEBHOOKS_SERVICE_DOMAIN_STATES_H_
