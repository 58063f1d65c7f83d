#include "service/common/token_bucket.h"

#include <algorithm>

namespace wink::webhooks {

absl::Duration TokenBucket::Take(double per_second, double burst, absl::Time now, int tokens) {
  if (!used_) {
    used_ = true;
    tokens_ = burst;
    refilled_ = now;
  } else if (now > refilled_) {
    tokens_ = std::min(burst, tokens_ + absl::ToDoubleSeconds(now - refilled_) * per_second);
    refilled_ = now;
  } else {
    tokens_ = std::min(burst, tokens_);
  }
  if (tokens_ >= tokens) {
    tokens_ -= tokens;
    return absl::ZeroDuration();
  }
  // Rounded up to the microsecond, so that waiting that long is enough.
  return absl::Ceil(absl::Seconds((tokens - tokens_) / per_second), absl::Microseconds(1));
}

}  // namespace wink::webhooks
