// Persistence of webhook subscriptions (column families `webhooks` and
// `idempotency`).
//
// Each method is one atomic RocksDB write batch. Mutations of one account are
// serialized by that account's lock (one of a fixed set of lock stripes), so
// read-check-write sequences (the per-account limit, request-id
// deduplication, read-modify-write updates) cannot race, while writes of
// different accounts proceed in parallel and share WAL fsyncs (RocksDB's
// group commit). Reads take no lock. Thread-safe.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_WEBHOOK_STORE_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_WEBHOOK_STORE_H_

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/common/ids.h"
#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::storage {

class Database;

using ::wink::webhooks::internal::v1::WebhookRecord;

// Format version written into every WebhookRecord.
inline constexpr uint32_t kWebhookRecordVersion = 1;

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

struct WebhookPage {
  std::vector<WebhookRecord> webhooks;
  // True if webhooks after the last returned one exist.
  bool has_more = false;
};

class WebhookStore {
 public:
  // `db` and `ids` must outlive the store.
  WebhookStore(Database& db, IdGenerator& ids);

  // Stores `webhook` (its `account` set by the caller) under a new id that
  // is assigned here, under the account's lock, so ids of one account are
  // committed in id order and List never skips a concurrent create; `version`
  // is set here too. With a known, unexpired `request_id` returns the earlier
  // webhook instead (created = false).
  // Errors: RESOURCE_EXHAUSTED when the account is at its limit;
  // INVALID_ARGUMENT "request_id: ..." when the request id was used for a
  // different request; FAILED_PRECONDITION "request_id: ..." when the webhook
  // it created has since been deleted.
  absl::StatusOr<CreateWebhookResult> Create(WebhookRecord webhook,
                                             const CreateWebhookOptions& options);

  // NOT_FOUND if the account has no such webhook.
  absl::StatusOr<WebhookRecord> Get(absl::string_view account, absl::string_view id);

  // Up to `limit` (>= 1) webhooks of `account` in id order (creation order),
  // starting after `after_id` (empty: from the first).
  absl::StatusOr<WebhookPage> List(absl::string_view account, absl::string_view after_id,
                                   int limit);

  // Reads the webhook, lets `mutate` change it, and writes it back, all
  // under the store's mutation lock. If `mutate` returns an error nothing is
  // written and that error is returned. `mutate` must not change account or
  // id. NOT_FOUND if the webhook does not exist.
  absl::StatusOr<WebhookRecord> Update(absl::string_view account, absl::string_view id,
                                       const std::function<absl::Status(WebhookRecord&)>& mutate);

  // Removes the webhook for good. NOT_FOUND if it does not exist.
  absl::Status Delete(absl::string_view account, absl::string_view id);

 private:
  static constexpr int kLockStripes = 64;

  // The lock that serializes mutations of `account`.
  absl::Mutex& LockFor(absl::string_view account);
  // Number of webhooks of `account`, counting no further than `stop_at`.
  absl::StatusOr<int> CountUpTo(absl::string_view account, int stop_at);

  Database& db_;
  IdGenerator& ids_;
  std::array<absl::Mutex, kLockStripes> account_locks_;
};

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_WEBHOOK_STORE_H_
