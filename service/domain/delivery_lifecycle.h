// The rules of a delivery's life, as one pure state machine.
//
// Given a delivery as it is (or nothing, before it exists), its webhook as it
// is (or nothing, once deleted), one input and the time, Next() says what the
// delivery becomes, which attempt record to store, and what the webhook's
// failure streak becomes. Nothing here reads storage, a clock or a random
// source: they are arguments. Every storage backend reads the records,
// applies the transition and writes the result atomically, so the rules are
// written (and tested) once, whatever holds the data.
//
//   state \ input     Publish  Attempt  Park        ManualRetry  Release  Drop  WebhookDeleted
//   Expire (none)            PENDING  -        -           NOT_FOUND    -        -     - -
//                     or HELD
//   PENDING,          -        see      HELD,       PENDING now  -        -     CANCELLED removed
//   RETRY_SCHEDULED            below    CANCELLED
//                                       or stays
//   HELD              -        count    -           PENDING now  PENDING  CANCELLED  CANCELLED
//   removed SUCCEEDED,        -        count    -           PENDING now  -        -     - removed
//   FAILED
//   CANCELLED         -        count    -           FAILED_PRE.  -        -     - removed
//
// An attempt changes the state only while the delivery is still due at the
// time the attempt was started for: SUCCEEDED on 2xx, RETRY_SCHEDULED (or
// FAILED once the schedule is exhausted) on a retryable failure, FAILED on
// 410 Gone. An attempt that finishes after the delivery moved on (a manual
// retry moved it, a delete cancelled it) is counted and recorded, and the
// state stays. ManualRetry is refused while the webhook is paused or gone.
// Park decides as of its own write: HELD if the webhook is paused now,
// CANCELLED if it or the event is gone, and nothing if it was resumed
// meanwhile (a park racing a resume strands nothing).
#ifndef WINK_WEBHOOKS_SERVICE_DOMAIN_DELIVERY_LIFECYCLE_H_
#define WINK_WEBHOOKS_SERVICE_DOMAIN_DELIVERY_LIFECYCLE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "service/domain/retry_policy.h"
#include "service/domain/states.h"

namespace wink::webhooks::domain {

// How an attempt ended, as the delivery engine judged the response.
enum class AttemptOutcome {
  kDelivered,        // 2xx
  kRetryLater,       // failed; retry per schedule (or give up when exhausted)
  kDisableEndpoint,  // 410 Gone: fail the delivery and disable the webhook
};

// The settings of the rules (from the server's config).
struct DeliveryRules {
  RetryPolicy retry_policy =
      RetryPolicy({absl::ZeroDuration(), absl::Seconds(5), absl::Minutes(5), absl::Minutes(30),
                   absl::Hours(2), absl::Hours(5), absl::Hours(10), absl::Hours(10)},
                  absl::Hours(1));
  // A webhook whose attempts have all failed for this long is disabled.
  absl::Duration disable_after_failing_for = absl::Hours(120);
};

// Inputs ------------------------------------------------------------------

// An event was published that the webhook subscribes to: a new delivery.
struct Publish {
  std::string account;
  std::string event_id;
  std::string event_type;
};

// An attempt's HTTP exchange ended.
struct AttemptFinished {
  // The due time the attempt was started for.
  int64_t due_time_us = 0;
  // What was measured (start, latency, status, error, response body); its
  // number is assigned by the transition.
  AttemptRecord attempt;
  AttemptOutcome outcome = AttemptOutcome::kRetryLater;
  // A delay the receiver asked for (429/503 with Retry-After).
  std::optional<absl::Duration> retry_after;
  // Uniform in [0, 1): the retry delay's jitter.
  double random01 = 0.5;
  // The retry schedule and auto-disable window to apply; must stay valid
  // during NextDelivery. nullptr: the defaults.
  const DeliveryRules* rules = nullptr;
};

// The engine found a due delivery it must not send (webhook paused or gone,
// event gone) and sets it aside, as of this write.
struct Park {
  // The due time the engine found the delivery at.
  int64_t due_time_us = 0;
  // Whether the event is still stored (retention may have purged it).
  bool event_exists = true;
};

// A caller asked for another attempt now (RetryDelivery).
struct ManualRetry {};

// The webhook was resumed: a held delivery is released.
struct Release {};

// The webhook was resumed with drop_held_deliveries: a held delivery is
// cancelled.
struct Drop {};

// The webhook was deleted: an unfinished delivery is cancelled.
struct WebhookDeleted {};

// Retention: the event is older than the retention window; the delivery and
// its attempts go, without a final update.
struct Expire {};

using DeliveryInput = std::variant<Publish, AttemptFinished, Park, ManualRetry, Release, Drop,
                                   WebhookDeleted, Expire>;

// Output ------------------------------------------------------------------

struct Transition {
  // Not OK when the input is refused (ManualRetry of a cancelled delivery,
  // ...): then nothing else is set and nothing may be written.
  absl::Status status;
  // The delivery after the input, when it changed. It is written as the
  // delivery's new record and appended, as is, to the update log (its
  // last_attempt carries no response body). nullopt: nothing to write and
  // no update.
  std::optional<DeliveryRecord> after;
  // The attempt to store, numbered (AttemptFinished of an existing
  // delivery).
  std::optional<AttemptRecord> attempt;
  // Expire: the delivery is deleted with its attempts and index entries.
  bool remove = false;
  // The webhook after the input, when it changed (the failure streak, or
  // disabled after 410 Gone or a long streak).
  std::optional<WebhookRecord> webhook_after;

  // The final state this transition enters (SUCCEEDED, FAILED, CANCELLED),
  // or nullopt; for counting finished deliveries once per transition.
  std::optional<DeliveryStateRecord> entered_final_state;
};

// What `input` does to `before` (nullptr: no such delivery) whose webhook is
// `webhook` (nullptr: deleted), at `now`.
Transition NextDelivery(const DeliveryRecord* before, const WebhookRecord* webhook,
                        const DeliveryInput& input, absl::Time now);

// Whether the engine may send `delivery`, found in the due queue at
// `due_time_us`, to `webhook` (nullptr: deleted) now; if not, it parks it.
bool MaySend(const DeliveryRecord& delivery, int64_t due_time_us, const WebhookRecord* webhook,
             bool event_exists);

}  // namespace wink::webhooks::domain

#endif  // WINK_WEBHOOKS_SERVICE_DOMAIN_DELIVERY_LIFECYCLE_H_
