#include "service/common/resource_names.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "service/common/errors.h"
#include "service/common/ids.h"

namespace wink::webhooks {
namespace {

absl::Status BadName(absl::string_view field, absl::string_view pattern, absl::string_view got) {
  return InvalidField(field, absl::StrCat("expected ", pattern, ", got ", QuoteForError(got)));
}

}  // namespace

bool IsValidAccountId(absl::string_view account) {
  if (account.empty() || account.size() > kMaxAccountIdLength) return false;
  if (!absl::ascii_isalnum(account[0])) return false;
  return std::all_of(account.begin(), account.end(),
                     [](char c) { return absl::ascii_isalnum(c) || c == '-' || c == '_'; });
}

absl::StatusOr<std::string> ParseAccountName(absl::string_view name, absl::string_view field) {
  constexpr absl::string_view kPattern = "accounts/{account}";
  if (name.empty()) return InvalidField(field, "required");
  const std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 2 || parts[0] != "accounts" || !IsValidAccountId(parts[1])) {
    return BadName(field, kPattern, name);
  }
  return std::string(parts[1]);
}

absl::StatusOr<WebhookName> ParseWebhookName(absl::string_view name, absl::string_view field) {
  constexpr absl::string_view kPattern = "accounts/{account}/webhooks/{webhook}";
  if (name.empty()) return InvalidField(field, "required");
  const std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "accounts" || !IsValidAccountId(parts[1]) ||
      parts[2] != "webhooks" || !IsValidId(parts[3], kWebhookIdPrefix)) {
    return BadName(field, kPattern, name);
  }
  return WebhookName{std::string(parts[1]), std::string(parts[3])};
}

absl::StatusOr<EventName> ParseEventName(absl::string_view name, absl::string_view field) {
  constexpr absl::string_view kPattern = "accounts/{account}/events/{event}";
  if (name.empty()) return InvalidField(field, "required");
  const std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "accounts" || !IsValidAccountId(parts[1]) ||
      parts[2] != "events" || !IsValidId(parts[3], kEventIdPrefix)) {
    return BadName(field, kPattern, name);
  }
  return EventName{std::string(parts[1]), std::string(parts[3])};
}

absl::StatusOr<DeliveryName> ParseDeliveryName(absl::string_view name, absl::string_view field) {
  constexpr absl::string_view kPattern = "accounts/{account}/webhooks/{webhook}/deliveries/{event}";
  if (name.empty()) return InvalidField(field, "required");
  const std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 6 || parts[0] != "accounts" || !IsValidAccountId(parts[1]) ||
      parts[2] != "webhooks" || !IsValidId(parts[3], kWebhookIdPrefix) ||
      parts[4] != "deliveries" || !IsValidId(parts[5], kEventIdPrefix)) {
    return BadName(field, kPattern, name);
  }
  return DeliveryName{std::string(parts[1]), std::string(parts[3]), std::string(parts[5])};
}

absl::StatusOr<RecoveryName> ParseRecoveryName(absl::string_view name, absl::string_view field) {
  constexpr absl::string_view kPattern =
      "accounts/{account}/webhooks/{webhook}/recoveries/{recovery}";
  if (name.empty()) return InvalidField(field, "required");
  const std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 6 || parts[0] != "accounts" || !IsValidAccountId(parts[1]) ||
      parts[2] != "webhooks" || !IsValidId(parts[3], kWebhookIdPrefix) ||
      parts[4] != "recoveries" || !IsValidId(parts[5], kRecoveryIdPrefix)) {
    return BadName(field, kPattern, name);
  }
  return RecoveryName{std::string(parts[1]), std::string(parts[3]), std::string(parts[5])};
}

std::string AccountName(absl::string_view account) { return absl::StrCat("accounts/", account); }

std::string WebhookResourceName(absl::string_view account, absl::string_view webhook_id) {
  return absl::StrCat("accounts/", account, "/webhooks/", webhook_id);
}

std::string EventResourceName(absl::string_view account, absl::string_view event_id) {
  return absl::StrCat("accounts/", account, "/events/", event_id);
}

std::string DeliveryResourceName(absl::string_view account, absl::string_view webhook_id,
                                 absl::string_view event_id) {
  return absl::StrCat("accounts/", account, "/webhooks/", webhook_id, "/deliveries/", event_id);
}

std::string RecoveryResourceName(absl::string_view account, absl::string_view webhook_id,
                                 absl::string_view recovery_id) {
  return absl::StrCat("accounts/", account, "/webhooks/", webhook_id, "/recoveries/",
                      recovery_id);
}

}  // namespace wink::webhooks
