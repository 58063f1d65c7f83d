#include "service/api/publish_rate_limiter.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace wink::webhooks::api {

PublishRateLimiter::PublishRateLimiter(PublishRateLimits limits, const Clock& clock)
    : clock_(clock), enabled_(limits.events_per_second > 0), limits_(limits) {}

void PublishRateLimiter::SetLimits(PublishRateLimits limits) {
  absl::MutexLock lock(&mu_);
  limits_ = limits;
  enabled_.store(limits.events_per_second > 0, std::memory_order_relaxed);
}

absl::Status PublishRateLimiter::Admit(absl::string_view account, int events) {
  if (!enabled_.load(std::memory_order_relaxed)) return absl::OkStatus();
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  if (limits_.events_per_second <= 0) return absl::OkStatus();
  const double burst = std::max(1, limits_.burst);
  if (events > burst) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "a batch of ", events, " events is more than account ", account,
        " may publish at once (limits.publish_burst_per_account = ", burst,
        "); send smaller batches"));
  }
  const absl::Duration wait =
      buckets_[account].Take(limits_.events_per_second, burst, now, events);
  if (wait == absl::ZeroDuration()) return absl::OkStatus();
  const double wait_seconds = absl::ToDoubleSeconds(wait);
  return absl::ResourceExhaustedError(absl::StrFormat(
      "account %s publishes faster than limits.publish_rate_per_account (%g events/s, bursts of "
      "%d); retry in %.3g s",
      account, limits_.events_per_second, static_cast<int>(burst), wait_seconds));
}

}  // namespace wink::webhooks::api
