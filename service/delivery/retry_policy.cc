#include "service/delivery/retry_policy.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace wink::webhooks::delivery {

Verdict Judge(const http::HttpResponse& response, absl::Time now) {
  Verdict verdict;
  if (response.transport_error != http::TransportError::kNone) {
    verdict.error = response.error.empty() ? std::string("request failed") : response.error;
    return verdict;
  }
  const int status = response.status;
  if (status >= 200 && status < 300) {
    verdict.outcome = storage::AttemptOutcome::kDelivered;
    return verdict;
  }
  if (status == 410) {
    verdict.outcome = storage::AttemptOutcome::kDisableEndpoint;
    verdict.error = "HTTP 410 Gone";
    return verdict;
  }
  verdict.error = absl::StrCat("HTTP ", status);
  if (status >= 300 && status < 400) absl::StrAppend(&verdict.error, " (redirects are not followed)");
  if ((status == 429 || status == 503) && !response.retry_after.empty()) {
    verdict.retry_after = ParseRetryAfter(response.retry_after, now);
  }
  return verdict;
}

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), absl::ascii_isdigit)) {
    int64_t seconds = 0;
    // Absurdly long digit strings do not parse: treat them as "very long".
    if (!absl::SimpleAtoi(value, &seconds)) return absl::InfiniteDuration();
    return absl::Seconds(seconds);
  }
  absl::Time when;
  std::string error;
  if (!absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", value, absl::UTCTimeZone(), &when, &error)) {
    return std::nullopt;
  }
  return std::max(when - now, absl::ZeroDuration());
}

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

}  // namespace wink::webhooks::delivery
