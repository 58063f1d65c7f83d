// What an HTTP response means for a delivery: delivered, retry later, or
// disable the endpoint (the attempt's outcome), with the error people read
// and any delay the receiver asked for.
#ifndef WINK_WEBHOOKS_SERVICE_DELIVERY_VERDICT_H_
#define WINK_WEBHOOKS_SERVICE_DELIVERY_VERDICT_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/domain/delivery_lifecycle.h"
#include "service/http/http_client.h"

namespace wink::webhooks::delivery {

struct Verdict {
  domain::AttemptOutcome outcome = domain::AttemptOutcome::kRetryLater;
  // For people: "HTTP 503", "timed out after 15s", ...; empty on success.
  std::string error;
  // A delay the receiver asked for (429/503 with Retry-After).
  std::optional<absl::Duration> retry_after;
};

// 2xx delivers; 410 disables the endpoint; everything else (other statuses,
// 3xx included since redirects are not followed, and every transport error)
// retries. `now` is for Retry-After given as an HTTP date.
Verdict Judge(const http::HttpResponse& response, absl::Time now);

// Parses a Retry-After value: delay-seconds or an IMF-fixdate HTTP date
// (RFC 9110). nullopt if it is neither; a date in the past is 0.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now);

}  // namespace wink::webhooks::delivery

#endif  // WINK_WEBHOOKS_SERVICE_DELIVERY_VERDICT_H_
