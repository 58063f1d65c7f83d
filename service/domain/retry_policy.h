// When a failed delivery is tried again: the retry schedule, with jitter,
// and the receiver's Retry-After within bounds. A pure function of its
// arguments (the randomness is one of them), so the delivery rules that use
// it stay pure too.
#ifndef WINK_WEBHOOKS_SERVICE_DOMAIN_RETRY_POLICY_H_
#define WINK_WEBHOOKS_SERVICE_DOMAIN_RETRY_POLICY_H_

#include <optional>
#include <vector>

#include "absl/time/time.h"

namespace wink::webhooks::domain {

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

}  // namespace wink::webhooks::domain

#endif  // WINK_WEBHOOKS_SERVICE_DOMAIN_RETRY_POLICY_H_
