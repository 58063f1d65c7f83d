// A token bucket, for rate limits: tokens arrive at `per_second` and the
// bucket holds at most `burst`; each request takes some (usually one).
// Shared by the per-account publish rate and the per-webhook delivery rate.
#ifndef WINK_WEBHOOKS_SERVICE_COMMON_TOKEN_BUCKET_H_
#define WINK_WEBHOOKS_SERVICE_COMMON_TOKEN_BUCKET_H_

#include "absl/time/time.h"

namespace wink::webhooks {

// Not thread-safe. A new bucket is full.
class TokenBucket {
 public:
  // Takes `tokens` (at most `burst`) at `now` and returns zero, or takes
  // none and returns how long until there are enough. `per_second` > 0 and
  // `burst` >= 1 may differ
  // from one call to the next (a changed limit): the bucket keeps its
  // tokens, capped at the new burst. A clock that goes back adds nothing.
  absl::Duration Take(double per_second, double burst, absl::Time now, int tokens = 1);

 private:
  bool used_ = false;
  double tokens_ = 0;
  absl::Time refilled_;
};

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_COMMON_TOKEN_BUCKET_H_
