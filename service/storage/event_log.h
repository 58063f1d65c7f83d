// Events: what publishing and the API's event methods need of storage.
//
// A publish is one atomic, durable write: the event, its idempotency entry,
// and one delivery per matching webhook of the account as the webhooks are
// at that write (domain::Publish: PENDING and due now for an enabled
// webhook, HELD for a paused one), each with its update-log entry.
// Publishes are asynchronous: `done` runs once the write is durable (or
// failed), on a storage thread, and must not block. Implementations are
// thread-safe.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_EVENT_LOG_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_EVENT_LOG_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/domain/states.h"

namespace wink::webhooks::storage {

using ::wink::webhooks::domain::DeliveryRecord;
using ::wink::webhooks::domain::EventRecord;

// How much one account may keep stored (limits.max_stored_events_per_account
// and max_stored_bytes_per_account); 0: no limit. An account's usage is its
// retained events: how many, and the bytes of their stored records (payload
// and metadata). Events leave with retention, and usage with them.
struct StoredQuota {
  int64_t max_events = 0;
  int64_t max_bytes = 0;
  // How long events are kept: tells a refused caller when the oldest leaves.
  absl::Duration retention = absl::InfiniteDuration();
};

// An account's retained events (see StoredQuota).
struct AccountUsage {
  int64_t events = 0;
  int64_t bytes = 0;
};

struct PublishRequest {
  std::string account;
  std::string event_type;
  // A valid JSON object (checked by the caller).
  std::string data_json;
  // Empty: no deduplication.
  std::string idempotency_key;
  // Identifies the request's content; a replay must carry the same one.
  std::string request_fingerprint;
  // How long `idempotency_key` is remembered.
  absl::Duration idempotency_retention = absl::Hours(24);
  // Checked in the publish's own write, against usage that counts every
  // earlier write of this node; other nodes' writes still uncommitted at
  // that moment are not seen (cluster mode), so an account may pass its
  // quota by at most what the other nodes have in flight. A replay is
  // answered whatever the usage: it stores nothing.
  StoredQuota quota;
  // W3C trace context kept with the event (EventRecord's fields of the same
  // names); empty when none.
  std::string traceparent;
  std::string tracestate;
  // Set: the event goes to this webhook of the account alone, whatever its
  // event types (a test event), and the publish fails with NOT_FOUND if the
  // account has no such webhook at the write. Empty: every matching webhook.
  std::string only_webhook_id;
};

// Whether `request` creates a delivery for `webhook` (of its account):
// the webhook it names, or else every webhook whose event types (stored
// sorted) are empty or contain the event's type.
inline bool ReceivesPublish(const domain::WebhookRecord& webhook, const PublishRequest& request) {
  if (!request.only_webhook_id.empty()) return webhook.id() == request.only_webhook_id;
  return webhook.event_types().empty() ||
         std::binary_search(webhook.event_types().begin(), webhook.event_types().end(),
                            request.event_type);
}

// The publish's error when `only_webhook_id` matched no webhook.
inline absl::Status OnlyWebhookNotFound(const PublishRequest& request) {
  return absl::NotFoundError(absl::StrCat("webhook ", request.only_webhook_id, " not found"));
}

struct PublishResult {
  EventRecord event;
  // One per matching webhook, as created (or, on a replay, as they are now).
  std::vector<DeliveryRecord> deliveries;
  // True when the idempotency key matched an earlier publish.
  bool replayed = false;
};

// A page of events. A page may hold fewer entries than asked for (scans stop
// after kScanFactor times the page size, and pages at kMaxPageBytes); only
// an empty `continue_from` means the end.
struct EventPage {
  std::vector<EventRecord> events;
  // Pass as `before_event_id` for the next page; empty at the end.
  std::string continue_from;
};

// Most stored bytes a list page holds: a page ends before the record that
// would pass it (it always holds at least one). 1,000 events of 256 KiB
// would otherwise be read into memory to answer one ListEvents call.
inline constexpr size_t kMaxPageBytes = 1 << 20;

// How many records a filtered list reads per entry it may return.
inline constexpr int kScanFactor = 100;

class EventLog {
 public:
  virtual ~EventLog() = default;

  // Publishes one event (see above). With a known, unexpired
  // `idempotency_key` it returns the first event and its deliveries as they
  // are now (replayed = true) and writes nothing. Errors: INVALID_ARGUMENT
  // "idempotency_key: ..." when the key was used for a different event;
  // RESOURCE_EXHAUSTED when storage is too far behind to take more, or when
  // the event would take the account past `quota` (saying which limit, and
  // when the oldest event leaves).
  // A batch of one (PublishBatch), for every backend.
  void Publish(PublishRequest request, std::function<void(absl::StatusOr<PublishResult>)> done) {
    std::vector<PublishRequest> batch;
    batch.push_back(std::move(request));
    PublishBatch(std::move(batch), /*index_errors=*/false,
                 [done = std::move(done)](absl::StatusOr<std::vector<PublishResult>> results) {
                   if (!results.ok()) return done(results.status());
                   done(std::move(results->front()));
                 });
  }

  // Publishes `requests` in order as one write: all become durable together,
  // or none does (the first error rolls the batch back). Each behaves as
  // Publish; results are in request order. With `index_errors`, an error
  // names the request, "requests[3].idempotency_key: ...". Requests must not
  // share an idempotency key (the caller checks).
  virtual void PublishBatch(
      std::vector<PublishRequest> requests, bool index_errors,
      std::function<void(absl::StatusOr<std::vector<PublishResult>>)> done) = 0;

  // The account's usage as of the last durable write (zeros for an account
  // with no events).
  virtual absl::StatusOr<AccountUsage> UsageOf(absl::string_view account) = 0;

  // NOT_FOUND if the account has no such event.
  virtual absl::StatusOr<EventRecord> GetEvent(absl::string_view account,
                                               absl::string_view event_id) = 0;

  // Up to `limit` events of `account`, newest first, older than
  // `before_event_id` (empty: the newest), of `event_type` (empty: all).
  virtual absl::StatusOr<EventPage> ListEvents(absl::string_view account,
                                               absl::string_view before_event_id,
                                               absl::string_view event_type, int limit) = 0;
};

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_EVENT_LOG_H_
