#include "service/api/publish_rate_limiter.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace wink::webhooks::api {

PublishRateLimiter::PublishRateLimiter(PublishRateLimits limits, const Clock& clock)
    : limits_(limits), clock_(clock) {}

absl::Status PublishRateLimiter::Admit(absl::string_view account, int events) {
  if (limits_.events_per_second <= 0) return absl::OkStatus();
  const double burst = std::max(1, limits_.burst);
  if (events > burst) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "a batch of ", events, " events is more than account ", account,
        " may publish at once (limits.publish_burst_per_account = ", burst,
        "); send smaller batches"));
  }
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = buckets_.try_emplace(account, Bucket{burst, now});
  Bucket& bucket = it->second;
  if (!inserted) {
    const double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - bucket.refilled));
    bucket.tokens = std::min(burst, bucket.tokens + elapsed * limits_.events_per_second);
    bucket.refilled = now;
  }
  if (bucket.tokens >= events) {
    bucket.tokens -= events;
    return absl::OkStatus();
  }
  const double wait_seconds = (events - bucket.tokens) / limits_.events_per_second;
  return absl::ResourceExhaustedError(absl::StrFormat(
      "account %s publishes faster than limits.publish_rate_per_account (%g events/s, bursts of "
      "%d); retry in %.3g s",
      account, limits_.events_per_second, static_cast<int>(burst), wait_seconds));
}

}  // namespace wink::webhooks::api
