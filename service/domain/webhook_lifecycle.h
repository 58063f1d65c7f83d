// The rules of a webhook's enabled toggle, and of the cascades its changes
// start over its deliveries. Pure, like delivery_lifecycle.h.
//
// Pausing records why and when. Resuming clears that and the failure streak,
// counts the resume in `resume_generation`, and releases the held deliveries
// (or drops them, when asked). Deleting cancels every unfinished delivery.
// A cascade can be large (a million held deliveries), so backends run it in
// chunks; before each chunk they ask CascadeStillApplies, so a cascade stops
// once the webhook was paused again, resumed again (the later resume's own
// cascade takes over: a release and a drop never mix) or re-created.
#ifndef WINK_WEBHOOKS_SERVICE_DOMAIN_WEBHOOK_LIFECYCLE_H_
#define WINK_WEBHOOKS_SERVICE_DOMAIN_WEBHOOK_LIFECYCLE_H_

#include <cstdint>

#include "absl/time/time.h"
#include "service/domain/delivery_lifecycle.h"
#include "service/domain/states.h"

namespace wink::webhooks::domain {

// What a webhook change does to its deliveries.
enum class Cascade {
  kNone,
  kReleaseHeld,  // resumed: held deliveries become due, in publish order
  kDropHeld,     // resumed with drop_held_deliveries: held ones are cancelled
  kCancelAll,    // deleted: every unfinished delivery is cancelled
};

// Completes an update of a webhook from `before` to `after` (as the caller
// changed it) at `now`: a pause (enabled true -> false) records its reason
// (DISABLED_REASON_MANUAL unless the caller set one) and time; a resume
// clears them and the failure streak, bumps `resume_generation` and records
// `drop_held_deliveries` (resume_drops_held) for InterruptedCascade.
// Returns the cascade the change starts (kReleaseHeld or kDropHeld on a
// resume, per `drop_held_deliveries`; kNone otherwise).
Cascade SettleEnabledChange(const WebhookRecord& before, WebhookRecord& after,
                            bool drop_held_deliveries, absl::Time now);

// The cascade to finish for `webhook` (nullptr: deleted) when it still has
// held deliveries at start, i.e. a crash interrupted one: kCancelAll for a
// deleted webhook, kNone for a paused one (they are held rightly), else what
// its last resume asked (kDropHeld or kReleaseHeld).
Cascade InterruptedCascade(const WebhookRecord* webhook);

// Whether the next chunk of `cascade`, started by the resume numbered
// `generation` (ignored by kCancelAll), is still wanted with the webhook as
// it is now (`webhook`, nullptr: deleted).
bool CascadeStillApplies(Cascade cascade, const WebhookRecord* webhook, uint32_t generation);

// The input each delivery of `cascade` gets (not kNone).
DeliveryInput CascadeInput(Cascade cascade);

}  // namespace wink::webhooks::domain

#endif  // WINK_WEBHOOKS_SERVICE_DOMAIN_WEBHOOK_LIFECYCLE_H_
