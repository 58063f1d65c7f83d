// The HTTP request of one attempt: the envelope (envelope.h) POSTed to the
// webhook's URL with the Standard Webhooks headers, signed with every secret
// still valid at `now`, the event's W3C `traceparent` / `tracestate` when it
// has them, and the webhook's custom headers in name order (so every attempt
// sends them alike). Sealed secrets and header values
// (service/secrets) are opened with `keyring` for the request only.
#ifndef WINK_WEBHOOKS_SERVICE_DELIVERY_DELIVERY_REQUEST_H_
#define WINK_WEBHOOKS_SERVICE_DELIVERY_DELIVERY_REQUEST_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/domain/states.h"
#include "service/http/http_client.h"
#include "service/secrets/keyring.h"

namespace wink::webhooks::delivery {

// Errors: those of secrets::OpenSigningKey / OpenHeaders, e.g.
// FAILED_PRECONDITION when the key that sealed the webhook's secrets is not
// in `keyring`.
absl::StatusOr<http::HttpRequest> BuildDeliveryRequest(const domain::WebhookRecord& webhook,
                                                       const domain::EventRecord& event,
                                                       absl::Time now,
                                                       const secrets::Keyring& keyring);

}  // namespace wink::webhooks::delivery

#endif  // WINK_WEBHOOKS_SERVICE_DELIVERY_DELIVERY_REQUEST_H_
