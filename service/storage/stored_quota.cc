#include "service/storage/stored_quota.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace wink::webhooks::storage {

bool FitsStoredQuota(const StoredQuota& quota, const AccountUsage& usage, int64_t event_bytes) {
  if (quota.max_events > 0 && usage.events + 1 > quota.max_events) return false;
  if (quota.max_bytes > 0 && usage.bytes + event_bytes > quota.max_bytes) return false;
  return true;
}

absl::Status StoredQuotaRefusal(const StoredQuota& quota, absl::string_view account,
                                const AccountUsage& usage, int64_t event_bytes,
                                std::optional<absl::Time> oldest, absl::Time now) {
  if (quota.max_bytes > 0 && event_bytes > quota.max_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the event takes ", event_bytes, " bytes stored, more than limits.max_stored_bytes_per_",
        "account (", quota.max_bytes, ") allows one account in all; send a smaller event"));
  }
  const bool events_full = quota.max_events > 0 && usage.events + 1 > quota.max_events;
  const std::string limit =
      events_full ? absl::StrCat("limits.max_stored_events_per_account (", quota.max_events, ")")
                  : absl::StrCat("limits.max_stored_bytes_per_account (", quota.max_bytes, ")");
  std::string when;
  if (oldest.has_value() && quota.retention != absl::InfiniteDuration()) {
    const absl::Time leaves = *oldest + quota.retention;
    when = absl::StrFormat(
        "; events leave after event_retention (%s): the oldest at %s, so retry in %.0f s",
        absl::FormatDuration(quota.retention),
        absl::FormatTime(absl::RFC3339_sec, leaves, absl::UTCTimeZone()),
        std::max(1.0, std::ceil(absl::ToDoubleSeconds(leaves - now))));
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("account ", account, " stores ", usage.events, " events of ", usage.bytes,
                   " bytes; this one (", event_bytes, " bytes) would pass ", limit, when));
}

AccountUsage AddToUsage(AccountUsage usage, int64_t events, int64_t bytes) {
  usage.events = std::max<int64_t>(0, usage.events + events);
  usage.bytes = std::max<int64_t>(0, usage.bytes + bytes);
  return usage;
}

}  // namespace wink::webhooks::storage
