// Webhook subscriptions: what the API's webhook methods need of storage.
//
// Every mutation is atomic and durable when the call returns, and ordered
// against every other write that touches the webhook (publishes fan out to
// the webhooks as they are at the publish's own commit). Changes of the
// enabled toggle follow domain/webhook_lifecycle.h: a resume releases (or
// drops) the held deliveries, a delete cancels the unfinished ones; the
// first chunk commits with the change, the rest right after.
// Implementations are thread-safe.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_WEBHOOK_STORE_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_WEBHOOK_STORE_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/domain/states.h"

namespace wink::webhooks::storage {

using ::wink::webhooks::domain::WebhookRecord;

struct CreateWebhookOptions {
  // The account may hold at most this many webhooks.
  int max_webhooks_per_account = 100;
  // Optional caller-chosen id of the request (empty: no deduplication).
  std::string request_id;
  // Identifies the request's content: a retry must carry the same one.
  std::string request_fingerprint;
  // Until when `request_id` is remembered.
  absl::Time request_id_expire_time;
  // Current time, to ignore expired request ids.
  absl::Time now;
};

struct CreateWebhookResult {
  WebhookRecord webhook;
  // False when `request_id` matched an earlier create: `webhook` is the
  // webhook that one made, as it is now (possibly updated or rotated since).
  bool created = false;
};

struct UpdateWebhookOptions {
  // When the update resumes the webhook: cancel its held deliveries instead
  // of releasing them.
  bool drop_held_deliveries = false;
};

// A place in the list of every account's webhooks (ListAll).
struct WebhookPosition {
  std::string account;
  std::string id;
};

struct WebhookPage {
  std::vector<WebhookRecord> webhooks;
  // True if webhooks after the last returned one exist.
  bool has_more = false;
};

class WebhookStore {
 public:
  virtual ~WebhookStore() = default;

  // Stores `webhook` (its `account` set by the caller) under a new id
  // assigned here, in commit order, so List never skips a concurrent create;
  // `version` is set here too. With a known, unexpired `request_id` returns
  // the earlier webhook instead (created = false).
  // Errors: RESOURCE_EXHAUSTED when the account is at its limit;
  // INVALID_ARGUMENT "request_id: ..." when the request id was used for a
  // different request; FAILED_PRECONDITION "request_id: ..." when the webhook
  // it created has since been deleted.
  virtual absl::StatusOr<CreateWebhookResult> Create(WebhookRecord webhook,
                                                     const CreateWebhookOptions& options) = 0;

  // NOT_FOUND if the account has no such webhook.
  virtual absl::StatusOr<WebhookRecord> Get(absl::string_view account, absl::string_view id) = 0;

  // Up to `limit` (>= 1) webhooks of `account` in id order (creation order),
  // starting after `after_id` (empty: from the first), and no more than
  // kMaxPageBytes of them (event_log.h).
  virtual absl::StatusOr<WebhookPage> List(absl::string_view account, absl::string_view after_id,
                                           int limit) = 0;

  // Up to `limit` (>= 1) webhooks of every account, after `after` (the
  // last webhook of the previous page; nullopt: from the first), and no
  // more than kMaxPageBytes of them. The order is the backend's (by
  // account, then id), the same on every call, so paging visits each
  // webhook that exists throughout once. For maintenance that must visit
  // every webhook, e.g. re-encrypting secrets after a key rotation; not for
  // the API.
  virtual absl::StatusOr<WebhookPage> ListAll(const std::optional<WebhookPosition>& after,
                                              int limit) = 0;

  // Reads the webhook, lets `mutate` change it, settles the enabled toggle
  // (domain::SettleEnabledChange) and writes it back, atomically. `mutate`
  // runs inside the write (keep it short); if it returns an error nothing is
  // written and that error is returned. `mutate` must not change account or
  // id. NOT_FOUND if the webhook does not exist.
  virtual absl::StatusOr<WebhookRecord> Update(
      absl::string_view account, absl::string_view id,
      const std::function<absl::Status(WebhookRecord&)>& mutate,
      const UpdateWebhookOptions& options = {}) = 0;

  // Removes the webhook for good and cancels its unfinished deliveries.
  // Update listeners hear OnWebhookDeleted before this returns. NOT_FOUND if
  // it does not exist.
  virtual absl::Status Delete(absl::string_view account, absl::string_view id) = 0;
};

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_WEBHOOK_STORE_H_
