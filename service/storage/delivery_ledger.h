// Deliveries and their attempts: the API reads them and retries them; the
// delivery engine loads what an attempt needs, records attempts and parks
// deliveries it must not send.
//
// Every state change follows domain/delivery_lifecycle.h, applied inside one
// atomic write that also keeps the delivery's queue entries true (due while
// PENDING or RETRY_SCHEDULED, held while HELD) and appends the change to the
// update log. Asynchronous calls run `done` once durable (or failed), on a
// storage thread; it must not block. Implementations are thread-safe.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_DELIVERY_LEDGER_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_DELIVERY_LEDGER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/domain/delivery_lifecycle.h"
#include "service/domain/states.h"

namespace wink::webhooks::storage {

using ::wink::webhooks::domain::AttemptRecord;
using ::wink::webhooks::domain::DeliveryRecord;
using ::wink::webhooks::domain::EventRecord;
using ::wink::webhooks::domain::WebhookRecord;

// What callers get, as UNAVAILABLE, while storage cannot commit writes. The
// backend's own words (file paths included) go to the log and the observer.
inline constexpr absl::string_view kStorageUnwritableMessage =
    "storage cannot commit writes now (its disk is full or failing); nothing was stored, "
    "retry later";

struct DeliveryPage {
  std::vector<DeliveryRecord> deliveries;
  // Pass as `after_event_id` / `after_webhook_id` for the next page; empty at
  // the end. A filtered page may be short (see kScanFactor in event_log.h).
  std::string continue_from;
};

// A place in an account's delivery log: an event, and a webhook among that
// event's deliveries.
struct DeliveryLogPosition {
  std::string event_id;
  std::string webhook_id;
};

// Which deliveries of an account's log to return.
struct DeliveryLogFilter {
  // Only deliveries in this state; 0: any.
  int state = 0;
  // Only deliveries whose event was published (the time in its id) in
  // [published_from, published_before).
  absl::Time published_from = absl::InfinitePast();
  absl::Time published_before = absl::InfiniteFuture();
};

struct DeliveryLogPage {
  std::vector<DeliveryRecord> deliveries;
  // Pass as `after` for the next page; nullopt at the end. A filtered page
  // may be short, even empty (see kScanFactor in event_log.h).
  std::optional<DeliveryLogPosition> continue_from;
};

// What an attempt needs, read together.
struct AttemptContext {
  DeliveryRecord delivery;
  // nullopt when the webhook was deleted.
  std::optional<WebhookRecord> webhook;
  // nullopt when the event was purged.
  std::optional<EventRecord> event;
};

struct RecordAttemptRequest {
  std::string webhook_id;
  std::string event_id;
  // The attempt as the engine judged it (its due time, measurements,
  // outcome, Retry-After and the random number for the jitter). Its `rules`
  // pointer is set from `rules` when the attempt is applied.
  domain::AttemptFinished finished;
  // The retry schedule and auto-disable window to apply (shared, so a
  // queued write keeps them alive).
  std::shared_ptr<const domain::DeliveryRules> rules;
};

class DeliveryLedger {
 public:
  virtual ~DeliveryLedger() = default;

  // API side ---------------------------------------------------------------

  // NOT_FOUND if the delivery does not exist or belongs to another account.
  virtual absl::StatusOr<DeliveryRecord> GetDelivery(absl::string_view account,
                                                     absl::string_view webhook_id,
                                                     absl::string_view event_id) = 0;

  // Attempts of a delivery, oldest first (the caller checked the account
  // with GetDelivery).
  virtual absl::StatusOr<std::vector<AttemptRecord>> ListAttempts(absl::string_view webhook_id,
                                                                  absl::string_view event_id) = 0;

  // Deliveries of a webhook (in publish order) after `after_event_id`, or of
  // an event (in webhook id order) after `after_webhook_id`; only those in
  // `state` unless it is 0. Both return nothing for another account's
  // webhook or event.
  virtual absl::StatusOr<DeliveryPage> ListDeliveriesOfWebhook(absl::string_view account,
                                                               absl::string_view webhook_id,
                                                               absl::string_view after_event_id,
                                                               int state, int limit) = 0;
  virtual absl::StatusOr<DeliveryPage> ListDeliveriesOfEvent(absl::string_view account,
                                                             absl::string_view event_id,
                                                             absl::string_view after_webhook_id,
                                                             int state, int limit) = 0;

  // The deliveries of every webhook of `account` (the account's delivery
  // log): newest event first and, within one event, in webhook id order;
  // those after `after` (nullopt: from the newest) that pass `filter`.
  virtual absl::StatusOr<DeliveryLogPage> ListDeliveriesOfAccount(
      absl::string_view account, const DeliveryLogFilter& filter,
      const std::optional<DeliveryLogPosition>& after, int limit) = 0;

  // domain::ManualRetry: due now (PENDING). NOT_FOUND (no such delivery in
  // the account); FAILED_PRECONDITION when it is CANCELLED or its webhook is
  // paused or gone. Blocks until durable.
  virtual absl::StatusOr<DeliveryRecord> RetryNow(absl::string_view account,
                                                  absl::string_view webhook_id,
                                                  absl::string_view event_id) = 0;

  // Engine side ------------------------------------------------------------

  // The delivery with its webhook and event, as the engine needs them to
  // decide (domain::MaySend) and build the request. NOT_FOUND if the
  // delivery does not exist.
  virtual absl::StatusOr<AttemptContext> LoadAttempt(absl::string_view webhook_id,
                                                     absl::string_view event_id) = 0;

  // domain::AttemptFinished: stores the numbered attempt, moves the delivery
  // on and updates the webhook's failure streak (disabling it after 410 Gone
  // or a long streak). A delivery purged meanwhile is ignored (OK).
  virtual void RecordAttempt(RecordAttemptRequest request,
                             std::function<void(absl::Status)> done) = 0;

  // domain::Park for a due delivery the engine will not send, decided as of
  // this write. A queue entry at `due_time_us` that no longer matches its
  // delivery (or whose delivery is gone) is removed.
  virtual void Park(std::string webhook_id, std::string event_id, int64_t due_time_us,
                    std::function<void(absl::Status)> done) = 0;

  // After a commit failed with UNAVAILABLE (the disk full or failing):
  // asks storage to recover and commits a small write. OK once storage takes
  // writes again; UNAVAILABLE while it still cannot. The engine calls it
  // before it sends anything again, so that a POST whose result cannot be
  // recorded is not repeated in a loop.
  virtual absl::Status ProbeWritable() = 0;

  // Finishes the cascades a crash interrupted: held deliveries of an enabled
  // webhook are released (or cancelled, when its last resume asked to drop
  // them), those of a deleted webhook cancelled (in chunks). Returns how
  // many webhooks needed it. Run at start, before calls are served, and in
  // a cluster whenever this node takes partitions over; safe beside a
  // cascade still running, which does the same.
  virtual absl::StatusOr<int> RepairInterruptedCascades() = 0;
};

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_DELIVERY_LEDGER_H_
