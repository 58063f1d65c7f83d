// Resource names of the API (AIP-122) and the ids inside them.
//
//   accounts/{account}
//   accounts/{account}/webhooks/{webhook}
//   accounts/{account}/events/{event}
//   accounts/{account}/webhooks/{webhook}/deliveries/{event}
//   accounts/{account}/webhooks/{webhook}/recoveries/{recovery}
//
// Parsers return INVALID_ARGUMENT whose message starts with the request
// field that held the name (passed in as `field`), e.g.
// "name: expected accounts/{account}/webhooks/{webhook}, got \"x\"".
#ifndef WINK_WEBHOOKS_SERVICE_COMMON_RESOURCE_NAMES_H_
#define WINK_WEBHOOKS_SERVICE_COMMON_RESOURCE_NAMES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wink::webhooks {

// Maximum length of an account id.
inline constexpr int kMaxAccountIdLength = 64;

// True if `account` is 1-64 characters of [A-Za-z0-9_-] starting with a
// letter or digit.
bool IsValidAccountId(absl::string_view account);

struct WebhookName {
  std::string account;
  std::string webhook_id;
};

// Parses "accounts/{account}" into the account id.
absl::StatusOr<std::string> ParseAccountName(absl::string_view name, absl::string_view field);

// Parses "accounts/{account}/webhooks/{webhook}".
absl::StatusOr<WebhookName> ParseWebhookName(absl::string_view name, absl::string_view field);

struct EventName {
  std::string account;
  std::string event_id;
};

struct DeliveryName {
  std::string account;
  std::string webhook_id;
  std::string event_id;
};

// Parses "accounts/{account}/events/{event}".
absl::StatusOr<EventName> ParseEventName(absl::string_view name, absl::string_view field);

// Parses "accounts/{account}/webhooks/{webhook}/deliveries/{event}".
absl::StatusOr<DeliveryName> ParseDeliveryName(absl::string_view name, absl::string_view field);

struct RecoveryName {
  std::string account;
  std::string webhook_id;
  std::string recovery_id;
};

// Parses "accounts/{account}/webhooks/{webhook}/recoveries/{recovery}".
absl::StatusOr<RecoveryName> ParseRecoveryName(absl::string_view name, absl::string_view field);

std::string AccountName(absl::string_view account);
std::string WebhookResourceName(absl::string_view account, absl::string_view webhook_id);
std::string EventResourceName(absl::string_view account, absl::string_view event_id);
std::string DeliveryResourceName(absl::string_view account, absl::string_view webhook_id,
                                 absl::string_view event_id);
std::string RecoveryResourceName(absl::string_view account, absl::string_view webhook_id,
                                 absl::string_view recovery_id);

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_COMMON_RESOURCE_NAMES_H_
