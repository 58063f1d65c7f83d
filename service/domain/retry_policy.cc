#include "service/domain/retry_policy.h"

#include <algorithm>
#include <utility>

namespace wink::webhooks::domain {

RetryPolicy::RetryPolicy(std::vector<absl::Duration> schedule, absl::Duration max_retry_after,
                         double jitter_fraction)
    : schedule_(std::move(schedule)),
      max_retry_after_(max_retry_after),
      jitter_fraction_(jitter_fraction) {}

std::optional<absl::Duration> RetryPolicy::NextDelay(int attempts_made,
                                                     std::optional<absl::Duration> retry_after,
                                                     double random01) const {
  if (attempts_made >= static_cast<int>(schedule_.size())) return std::nullopt;
  attempts_made = std::max(attempts_made, 0);
  if (retry_after.has_value()) {
    return std::clamp(*retry_after, absl::Seconds(1), std::max(max_retry_after_, absl::Seconds(1)));
  }
  const absl::Duration scheduled = schedule_[attempts_made];
  // Jitter spreads retries of many deliveries that failed together (one
  // receiver outage) so they do not all come back in the same instant.
  const double factor = 1.0 + jitter_fraction_ * (2.0 * random01 - 1.0);
  return scheduled * factor;
}

}  // namespace wink::webhooks::domain
