// Mapping of stored records (wink.webhooks.internal.v1) to API messages
// (wink.webhooks.v1) for events, deliveries and attempts.
#ifndef WINK_WEBHOOKS_SERVICE_API_RESOURCE_MAPPING_H_
#define WINK_WEBHOOKS_SERVICE_API_RESOURCE_MAPPING_H_

#include <cstdint>

#include "google/protobuf/timestamp.pb.h"
#include "wink/webhooks/internal/v1/records.pb.h"
#include "wink/webhooks/v1/delivery_service.pb.h"
#include "wink/webhooks/v1/webhook_service.pb.h"

namespace wink::webhooks::api {

// Unix microseconds as a Timestamp.
google::protobuf::Timestamp ToTimestamp(int64_t unix_micros);

// Without deliveries (the caller adds them where the method returns them).
void EventToApi(const internal::v1::EventRecord& record, v1::Event* out);

// Without `attempts` (GetDelivery adds them).
void DeliveryToApi(const internal::v1::DeliveryRecord& record, v1::Delivery* out);

void AttemptToApi(const internal::v1::AttemptRecord& record, v1::DeliveryAttempt* out);

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_RESOURCE_MAPPING_H_
