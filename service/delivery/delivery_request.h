// The HTTP request of one attempt: the envelope (envelope.h) POSTed to the
// webhook's URL with the Standard Webhooks headers, signed with every secret
// still valid at `now`, and the webhook's custom headers in name order (so
// every attempt sends them alike).
#ifndef WINK_WEBHOOKS_SERVICE_DELIVERY_DELIVERY_REQUEST_H_
#define WINK_WEBHOOKS_SERVICE_DELIVERY_DELIVERY_REQUEST_H_

#include "absl/time/time.h"
#include "service/domain/states.h"
#include "service/http/http_client.h"

namespace wink::webhooks::delivery {

http::HttpRequest BuildDeliveryRequest(const domain::WebhookRecord& webhook,
                                       const domain::EventRecord& event, absl::Time now);

}  // namespace wink::webhooks::delivery

#endif  // WINK_WEBHOOKS_SERVICE_DELIVERY_DELIVERY_REQUEST_H_
