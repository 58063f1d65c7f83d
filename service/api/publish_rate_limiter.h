// Per-account publish rate: a token bucket per account, so one tenant's
// publishing cannot take the writer and the disk from every other tenant.
#ifndef WINK_WEBHOOKS_SERVICE_API_PUBLISH_RATE_LIMITER_H_
#define WINK_WEBHOOKS_SERVICE_API_PUBLISH_RATE_LIMITER_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include <atomic>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/common/clock.h"
#include "service/common/token_bucket.h"

namespace wink::webhooks::api {

struct PublishRateLimits {
  // Events per second an account may publish on average; 0: no limit.
  double events_per_second = 0;
  // Events it may publish at once after a quiet spell (the bucket's size);
  // at least 1.
  int burst = 1;
};

// Thread-safe. `clock` must outlive the limiter.
class PublishRateLimiter {
 public:
  PublishRateLimiter(PublishRateLimits limits, const Clock& clock);

  // Takes `events` tokens from the account's bucket, or none and
  // RESOURCE_EXHAUSTED saying when to retry (and naming the config field).
  // A batch larger than the burst could never pass: it is refused at once,
  // saying so.
  absl::Status Admit(absl::string_view account, int events) ABSL_LOCKS_EXCLUDED(mu_);

  // New limits from now on (a config reload). Buckets keep their tokens,
  // capped at the new burst.
  void SetLimits(PublishRateLimits limits) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const Clock& clock_;
  // limits_.events_per_second > 0, readable without the lock: the publish
  // path pays for the limiter only when there is one.
  std::atomic<bool> enabled_;
  absl::Mutex mu_;
  PublishRateLimits limits_ ABSL_GUARDED_BY(mu_);
  // New limits reach the buckets at their next Take (capped at the burst).
  absl::flat_hash_map<std::string, TokenBucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_PUBLISH_RATE_LIMITER_H_
