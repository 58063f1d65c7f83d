// Persistence of events and their deliveries: publishing (the fan-out), the
// read side the API needs (events, deliveries, attempts, the update log), and
// the state changes the delivery engine makes (column families `events`,
// `idempotency`, `deliveries`, `deliveries_by_event`, `held`, `attempts`,
// `due`, `updates`).
//
// Mutations are writer operations (writer.h): atomic, durable when their
// callback runs (or the blocking call returns), group-committed. Every
// delivery state change appends to the update log and is reported to the
// UpdateListener once durable, in log order. Reads go straight to the
// database. Thread-safe.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_EVENT_STORE_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_EVENT_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
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
class WriteTxn;

using ::wink::webhooks::internal::v1::AttemptRecord;
using ::wink::webhooks::internal::v1::DeliveryRecord;
using ::wink::webhooks::internal::v1::EventRecord;

inline constexpr uint32_t kEventRecordVersion = 1;

// PENDING or RETRY_SCHEDULED: the delivery has a `due` entry.
inline bool IsDue(internal::v1::DeliveryStateRecord state) {
  return state == internal::v1::DELIVERY_STATE_RECORD_PENDING ||
         state == internal::v1::DELIVERY_STATE_RECORD_RETRY_SCHEDULED;
}

// HELD: the delivery has a `held` entry.
inline bool IsHeld(internal::v1::DeliveryStateRecord state) {
  return state == internal::v1::DELIVERY_STATE_RECORD_HELD;
}
inline constexpr uint32_t kAttemptRecordVersion = 1;

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
};

struct PublishResult {
  EventRecord event;
  // One per matching webhook, as created (or, on a replay, as they are now).
  std::vector<DeliveryRecord> deliveries;
  // True when the idempotency key matched an earlier publish.
  bool replayed = false;
};

// A page of a list. A filtered page may hold fewer entries than asked for
// (scans stop after kScanFactor times the page size); only an empty
// `continue_from` means the end.
struct EventPage {
  std::vector<EventRecord> events;
  // Pass as `before_event_id` for the next page; empty at the end.
  std::string continue_from;
};

struct DeliveryPage {
  std::vector<DeliveryRecord> deliveries;
  // Pass as `after_event_id` / `after_webhook_id` for the next page; empty at
  // the end.
  std::string continue_from;
};

// How many records a filtered list reads per entry it may return.
inline constexpr int kScanFactor = 100;

// A `due` entry: a delivery whose next attempt is at `due_time_us`.
struct DueDelivery {
  int64_t due_time_us = 0;
  std::string webhook_id;
  std::string event_id;
};

// How an attempt ended, as the delivery engine judged it.
enum class AttemptOutcome {
  kDelivered,        // 2xx
  kRetryLater,       // failed; retry per schedule (or give up when exhausted)
  kDisableEndpoint,  // 410 Gone: fail the delivery and disable the webhook
};

struct RecordAttemptRequest {
  std::string webhook_id;
  std::string event_id;
  // The due time the attempt was started for: if the delivery has moved on
  // since (retried, cancelled, held), the attempt is recorded but the state
  // is left alone.
  int64_t due_time_us = 0;
  // The attempt (its number is assigned here).
  AttemptRecord attempt;
  AttemptOutcome outcome = AttemptOutcome::kRetryLater;
  // For kRetryLater: delay before the next attempt given the number of
  // attempts made so far (this one included), or nullopt when the schedule
  // is exhausted (the delivery becomes FAILED).
  std::function<std::optional<absl::Duration>(int attempts_made)> next_delay;
  // A webhook whose attempts have all failed for this long is disabled.
  absl::Duration disable_after_failing_for = absl::Hours(120);
};

class EventStore {
 public:
  // Everything passed must outlive the store; `listener` may be null.
  EventStore(Database& db, Writer& writer, IdGenerator& ids, const Clock& clock,
             UpdateListener* listener);

  // Publishes: one writer operation that checks the idempotency key, stores
  // the event, and creates a PENDING delivery (due now) for every enabled
  // webhook of the account whose event types match (all when empty) and a
  // HELD one for every paused one. `done` runs on the writer thread once it
  // is durable; it must not block. Errors: INVALID_ARGUMENT
  // "idempotency_key: ..." when the key was used for a different event.
  void Publish(PublishRequest request, std::function<void(absl::StatusOr<PublishResult>)> done);

  // Publishes `requests` in order as one writer operation: all of them become
  // durable together, or none does (the first error rolls the batch back).
  // Each behaves as Publish; results are in request order. With
  // `index_errors`, an error names the request, "requests[3].idempotency_key:
  // ...". Requests must not share an idempotency key (the caller checks).
  void PublishBatch(std::vector<PublishRequest> requests, bool index_errors,
                    std::function<void(absl::StatusOr<std::vector<PublishResult>>)> done);

  // NOT_FOUND if the account has no such event.
  absl::StatusOr<EventRecord> GetEvent(absl::string_view account, absl::string_view event_id);

  // Up to `limit` events of `account`, newest first, older than
  // `before_event_id` (empty: the newest), of `event_type` (empty: all).
  absl::StatusOr<EventPage> ListEvents(absl::string_view account, absl::string_view before_event_id,
                                       absl::string_view event_type, int limit);

  // NOT_FOUND if the delivery does not exist or belongs to another account.
  absl::StatusOr<DeliveryRecord> GetDelivery(absl::string_view account,
                                             absl::string_view webhook_id,
                                             absl::string_view event_id);

  // Attempts of a delivery, oldest first.
  absl::StatusOr<std::vector<AttemptRecord>> ListAttempts(absl::string_view webhook_id,
                                                          absl::string_view event_id);

  // Deliveries of a webhook (in publish order) after `after_event_id`, or of
  // an event (in webhook id order) after `after_webhook_id`; only those in
  // `state` unless it is 0. Both skip other accounts' records.
  absl::StatusOr<DeliveryPage> ListDeliveriesOfWebhook(absl::string_view account,
                                                       absl::string_view webhook_id,
                                                       absl::string_view after_event_id, int state,
                                                       int limit);
  absl::StatusOr<DeliveryPage> ListDeliveriesOfEvent(absl::string_view account,
                                                     absl::string_view event_id,
                                                     absl::string_view after_webhook_id, int state,
                                                     int limit);

  // Makes the delivery due now (PENDING), whatever its state, except:
  // NOT_FOUND (no such delivery in the account), FAILED_PRECONDITION when it
  // is CANCELLED, its webhook is gone, or its webhook is paused. Blocks
  // until durable.
  absl::StatusOr<DeliveryRecord> RetryNow(absl::string_view account, absl::string_view webhook_id,
                                          absl::string_view event_id);

  // Engine side ---------------------------------------------------------

  // Calls `visit` for `due` entries with a time in [from, before), in time
  // order, until it returns false. Deleted entries still cost a step until
  // compaction drops them, so a caller that knows nothing is due before some
  // time should start there (`from`) rather than at the beginning.
  absl::Status ScanDue(absl::Time from, absl::Time before,
                       const std::function<bool(const DueDelivery&)>& visit);

  // Time of the earliest `due` entry after `after`, nullopt when there is
  // none.
  absl::StatusOr<std::optional<absl::Time>> EarliestDueTimeAfter(absl::Time after);

  // Reads what an attempt needs. NOT_FOUND if absent.
  absl::StatusOr<DeliveryRecord> ReadDelivery(absl::string_view webhook_id,
                                              absl::string_view event_id);
  absl::StatusOr<EventRecord> ReadEvent(absl::string_view account, absl::string_view event_id);

  // Records an attempt and moves the delivery (and, on 410 or a long failure
  // streak, the webhook) on; see RecordAttemptRequest. Async like Publish.
  void RecordAttempt(RecordAttemptRequest request, std::function<void(absl::Status)> done);

  // For a due delivery the engine found it should not send: as of this
  // write, HELD if its webhook is paused, CANCELLED if the webhook or the
  // event is gone; left due if neither (it was resumed meanwhile). A queue
  // entry that no longer matches its delivery is removed. Async.
  void Park(DueDelivery due, std::function<void(absl::Status)> done);

  // Finishes cascades a crash interrupted: held deliveries of an enabled
  // webhook are released, those of a deleted webhook cancelled (chunked, in
  // follow-up writes). Returns how many webhooks needed it. Run at start and
  // now and then.
  absl::StatusOr<int> RepairHeld();

  // Update log --------------------------------------------------------

  // Up to `limit` updates with sequence > `after`, in order.
  absl::StatusOr<std::vector<DeliveryUpdate>> ReadUpdates(uint64_t after, int limit);

  // Sequence number of the oldest retained update (0 when the log is empty).
  absl::StatusOr<uint64_t> OldestUpdateSequence();

  // Retention -----------------------------------------------------------

  // Deletes up to `limit` events published before `cutoff` (fewer when
  // they have many deliveries: one write stays bounded), with their
  // deliveries, attempts and index entries, and update-log entries older
  // than `cutoff` (always keeping the newest one, whose sequence the next
  // start continues from). Returns how many events were deleted; call again
  // until it returns 0. Blocks until durable.
  // `updates_purged`, if given, gets the number of update-log entries
  // deleted (call again while either count is not 0).
  absl::StatusOr<int> PurgeOlderThan(absl::Time cutoff, int limit, int* updates_purged = nullptr);

 private:
  // The account's webhooks as the operation sees them.
  absl::StatusOr<std::vector<internal::v1::WebhookRecord>> ReadWebhooksIn(
      WriteTxn& txn, absl::string_view account);
  // One publish inside a batch operation; `webhooks` are the account's.
  absl::Status PublishIn(WriteTxn& txn, const PublishRequest& request,
                         const std::vector<internal::v1::WebhookRecord>& webhooks,
                         PublishResult& result);

  Database& db_;
  Writer& writer_;
  IdGenerator& ids_;
  const Clock& clock_;
  UpdateListener* const listener_;
};

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_EVENT_STORE_H_
