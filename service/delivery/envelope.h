// The request body every receiver gets: a JSON envelope around the event's
// payload,
//   {"id":"evt_...","type":"booking.created","timestamp":"2026-11-27T22:00:00.123456Z",
//    "account_id":"acme-hotels","data":{...}}
// built from the stored event alone, so every attempt of a delivery (and
// every webhook the event goes to) gets the same bytes.
#ifndef WINK_WEBHOOKS_SERVICE_DELIVERY_ENVELOPE_H_
#define WINK_WEBHOOKS_SERVICE_DELIVERY_ENVELOPE_H_

#include <string>

#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::delivery {

// `event.data_json` must be a valid JSON object (checked at publish); it is
// copied byte for byte. The timestamp is the publish time in RFC 3339 UTC
// with microseconds.
std::string BuildEnvelope(const internal::v1::EventRecord& event);

}  // namespace wink::webhooks::delivery

#endif  // WINK_WEBHOOKS_SERVICE_DELIVERY_ENVELOPE_H_
