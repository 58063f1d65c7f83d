// Persistence of webhook subscriptions (column families `webhooks` and
// `idempotency`), and what their changes do to deliveries.
//
// Each mutation is one operation of the storage writer (writer.h): mutations
// never race, so read-check-write sequences (the per-account limit,
// request-id deduplication, read-modify-write updates) need no locks, and
// concurrent callers share WAL fsyncs (group commit). Mutations block until
// durable. Reads go straight to the database. Thread-safe.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_WEBHOOK_STORE_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_WEBHOOK_STORE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/common/clock.h"
#include "service/common/ids.h"
#include "service/storage/update_listener.h"
#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::storage {

class Database;
class Writer;

using ::wink::webhooks::internal::v1::WebhookRecord;

// Format version written into every WebhookRecord.
inline constexpr uint32_t kWebhookRecordVersion = 1;

// WebhookRecord::disabled_reason values (wink.webhooks.v1.DisabledReason).
inline constexpr int kDisabledReasonManual = 1;
inline constexpr int kDisabledReasonEndpointGone = 2;
inline constexpr int kDisabledReasonFailing = 3;

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

struct WebhookPage {
  std::vector<WebhookRecord> webhooks;
  // True if webhooks after the last returned one exist.
  bool has_more = false;
};

class WebhookStore {
 public:
  // Everything passed must outlive the store. `listener` (may be null) hears
  // about the delivery updates that webhook changes cause.
  WebhookStore(Database& db, Writer& writer, IdGenerator& ids, const Clock& clock,
               UpdateListener* listener);

  // Stores `webhook` (its `account` set by the caller) under a new id that
  // is assigned here, on the writer thread, so ids are committed in id order
  // and List never skips a concurrent create; `version` is set here too. With a known, unexpired `request_id` returns the earlier
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

  // Reads the webhook, lets `mutate` change it, and writes it back, as one
  // writer operation (`mutate` runs on the writer thread: keep it short). If
  // `mutate` returns an error nothing is written and that error is returned.
  // `mutate` must not change account or id. NOT_FOUND if the webhook does
  // not exist.
  // Pausing (enabled true -> false) records why (DISABLED_REASON_MANUAL
  // unless `mutate` set a reason) and when. Resuming clears that and the
  // failure streak, and releases the held deliveries (or cancels them, per
  // `options`): the first chunk with this write, the rest right after.
  absl::StatusOr<WebhookRecord> Update(absl::string_view account, absl::string_view id,
                                       const std::function<absl::Status(WebhookRecord&)>& mutate,
                                       const UpdateWebhookOptions& options = {});

  // Removes the webhook for good and cancels its unfinished deliveries
  // (chunked like resume). NOT_FOUND if it does not exist.
  absl::Status Delete(absl::string_view account, absl::string_view id);

 private:
  Database& db_;
  Writer& writer_;
  IdGenerator& ids_;
  const Clock& clock_;
  UpdateListener* const listener_;
};

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_WEBHOOK_STORE_H_
