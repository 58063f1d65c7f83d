// What an attempt's result means for the delivery (the outcome), and when the
// next attempt happens (the retry schedule).
#ifndef WINK_WEBHOOKS_SERVICE_DELIVERY_RETRY_POLICY_H_
#define WINK_WEBHOOKS_SERVICE_DELIVERY_RETRY_POLICY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/http/http_client.h"
#include "service/storage/event_store.h"

namespace wink::webhooks::delivery {

struct Verdict {
  storage::AttemptOutcome outcome = storage::AttemptOutcome::kRetryLater;
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

class RetryPolicy {
 public:
  // `schedule[i]` is the delay before attempt i+1 (schedule[0] is normally
  // zero: the first attempt at once). Delays of retries get up to
  // `jitter_fraction` added or removed at random.
  RetryPolicy(std::vector<absl::Duration> schedule, absl::Duration max_retry_after,
              double jitter_fraction = 0.2);

  // Delay before the next attempt once `attempts_made` attempts failed, or
  // nullopt when the schedule is exhausted. A receiver's `retry_after`
  // replaces the scheduled delay, cut to [1s, max_retry_after]. `random01`
  // is a uniform number in [0, 1) for the jitter.
  std::optional<absl::Duration> NextDelay(int attempts_made,
                                          std::optional<absl::Duration> retry_after,
                                          double random01) const;

  int max_attempts() const { return static_cast<int>(schedule_.size()); }

 private:
  std::vector<absl::Duration> schedule_;
  absl::Duration max_retry_after_;
  double jitter_fraction_;
};

}  // namespace wink::webhooks::delivery

#endif  // WINK_WEBHOOKS_SERVICE_DELIVERY_RETRY_POLICY_H_
