// Validation of the caller-supplied fields of a Webhook. Every error is
// INVALID_ARGUMENT with a message that starts with the field's path in the
// request (the `field` argument, e.g. "webhook.url"), so callers know what to
// fix.
#ifndef WINK_WEBHOOKS_SERVICE_API_WEBHOOK_VALIDATION_H_
#define WINK_WEBHOOKS_SERVICE_API_WEBHOOK_VALIDATION_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/map.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "service/api/event_catalog.h"
#include "service/http/address_policy.h"
#include "wink/webhooks/v1/webhook_service.pb.h"

namespace wink::webhooks::api {

inline constexpr size_t kMaxDisplayNameChars = 128;
inline constexpr size_t kMaxDescriptionChars = 1024;
inline constexpr size_t kMaxHeaders = 20;
inline constexpr size_t kMaxHeaderNameLength = 64;
inline constexpr size_t kMaxHeaderValueLength = 1024;
inline constexpr size_t kMaxRequestIdLength = 128;
inline constexpr size_t kMaxEventTypes = 100;

// Required; 1-128 code points of valid UTF-8 without control characters
// (C0, DEL or C1).
absl::Status ValidateDisplayName(absl::string_view display_name, absl::string_view field);

// Optional; at most 1024 code points of valid UTF-8; tabs and newlines are
// the only control characters allowed (C0, DEL and C1 are refused).
absl::Status ValidateDescription(absl::string_view description, absl::string_view field);

// Required; see http::ParseWebhookUrl. A host written as an IP address must
// also pass `destinations` (the SSRF guard deliveries use): such a URL could
// never be delivered to, and retrying it for days helps no one. Host names
// are not resolved here; the guard checks what they resolve to at delivery.
absl::Status ValidateUrl(absl::string_view url, const http::AddressPolicy& destinations,
                         absl::string_view field);

// At most kMaxEventTypes entries, each in `catalog` (the message lists the
// known names). Returns the types without duplicates, sorted.
absl::StatusOr<std::vector<std::string>> NormalizeEventTypes(
    const google::protobuf::RepeatedPtrField<std::string>& event_types, const EventCatalog& catalog,
    absl::string_view field);

// At most kMaxHeaders; names are HTTP tokens of at most 64 characters, not
// reserved and not repeated case-insensitively; values are 1-1024
// characters of visible ASCII, space or tab.
absl::Status ValidateHeaders(const google::protobuf::Map<std::string, std::string>& headers,
                             absl::string_view field);

// Most requests per second, and most burst, a webhook's rate limit may ask.
inline constexpr int kMaxRateLimit = 10000;

// A webhook's rate limit: requests_per_second 1 to kMaxRateLimit, burst 0
// (meaning requests_per_second) to kMaxRateLimit. Errors name the field
// under `field`, e.g. "webhook.rate_limit.burst".
absl::Status ValidateRateLimit(const v1::RateLimit& rate_limit, absl::string_view field);

// True if custom headers may not use `name` (compared case-insensitively,
// '_' as '-'): headers the service sets itself, hop-by-hop headers, and
// `webhook-*`.
bool IsReservedHeaderName(absl::string_view name);

// Optional; 1-128 characters of [A-Za-z0-9._:-].
absl::Status ValidateRequestId(absl::string_view request_id, absl::string_view field);

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_WEBHOOK_VALIDATION_H_
