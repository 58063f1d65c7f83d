// The stored quota's check and refusal (event_log.h StoredQuota), shared by
// the backends so that both count, refuse and explain alike. Internal to
// service/storage.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_STORED_QUOTA_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_STORED_QUOTA_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/storage/event_log.h"

namespace wink::webhooks::storage {

// True when one more event of `event_bytes` keeps `usage` within `quota`.
bool FitsStoredQuota(const StoredQuota& quota, const AccountUsage& usage, int64_t event_bytes);

// RESOURCE_EXHAUSTED for an event that does not fit: names the limit it
// would pass and the account's usage, and says when to retry, i.e. when
// the oldest event (published at `oldest`; nullopt when the account has
// none) leaves with retention. An event larger than the byte quota itself
// is told that no wait helps.
absl::Status StoredQuotaRefusal(const StoredQuota& quota, absl::string_view account,
                                const AccountUsage& usage, int64_t event_bytes,
                                std::optional<absl::Time> oldest, absl::Time now);

// `usage` after `events` events of `bytes` in all were added (negative:
// removed), never below zero.
AccountUsage AddToUsage(AccountUsage usage, int64_t events, int64_t bytes);

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_STORED_QUOTA_H_
