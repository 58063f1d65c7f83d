#include "service/delivery/verdict.h"

#include <algorithm>

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
    verdict.outcome = domain::AttemptOutcome::kDelivered;
    return verdict;
  }
  if (status == 410) {
    verdict.outcome = domain::AttemptOutcome::kDisableEndpoint;
    verdict.error = "HTTP 410 Gone";
    return verdict;
  }
  verdict.error = absl::StrCat("HTTP ", status);
  if (status >= 300 && status < 400) absl::StrAppend(&verdict.error, " (redirects are not followed)");
  if (status == 429 || status == 503) {
    const auto retry_after = response.notable_headers.find("retry-after");
    if (retry_after != response.notable_headers.end()) {
      verdict.retry_after = ParseRetryAfter(retry_after->second, now);
    }
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

}  // namespace wink::webhooks::delivery
