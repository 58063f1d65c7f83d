#include "service/domain/webhook_lifecycle.h"

namespace wink::webhooks::domain {

Cascade SettleEnabledChange(const WebhookRecord& before, WebhookRecord& after,
                            bool drop_held_deliveries, absl::Time now) {
  if (before.enabled() && !after.enabled()) {
    if (after.disabled_reason() == 0) after.set_disabled_reason(kDisabledReasonManual);
    after.set_disable_time_us(absl::ToUnixMicros(now));
    after.clear_resume_drops_held();
    return Cascade::kNone;
  }
  if (!before.enabled() && after.enabled()) {
    after.clear_disabled_reason();
    after.clear_disable_time_us();
    after.clear_failing_since_us();
    after.set_resume_generation(before.resume_generation() + 1);
    // Written in the same batch as the cascade's first chunk: the intent is
    // durable before any held delivery is touched.
    after.set_resume_drops_held(drop_held_deliveries);
    return drop_held_deliveries ? Cascade::kDropHeld : Cascade::kReleaseHeld;
  }
  return Cascade::kNone;
}

Cascade InterruptedCascade(const WebhookRecord* webhook) {
  if (webhook == nullptr) return Cascade::kCancelAll;
  if (!webhook->enabled()) return Cascade::kNone;
  return webhook->resume_drops_held() ? Cascade::kDropHeld : Cascade::kReleaseHeld;
}

bool CascadeStillApplies(Cascade cascade, const WebhookRecord* webhook, uint32_t generation) {
  switch (cascade) {
    case Cascade::kNone:
      return false;
    case Cascade::kCancelAll:
      return webhook == nullptr;
    case Cascade::kReleaseHeld:
    case Cascade::kDropHeld:
      // Paused again, or resumed again (that resume's cascade does the rest).
      return webhook != nullptr && webhook->enabled() && webhook->resume_generation() == generation;
  }
  return false;
}

DeliveryInput CascadeInput(Cascade cascade) {
  switch (cascade) {
    case Cascade::kReleaseHeld:
      return Release{};
    case Cascade::kDropHeld:
      return Drop{};
    case Cascade::kCancelAll:
    case Cascade::kNone:
      break;
  }
  return WebhookDeleted{};
}

}  // namespace wink::webhooks::domain
