#include "service/domain/delivery_lifecycle.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace wink::webhooks::domain {
namespace {

// Overloaded lambdas for std::visit.
template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::string Describe(const AttemptRecord& attempt) {
  if (attempt.http_status() != 0) return absl::StrCat("HTTP ", attempt.http_status());
  return attempt.error();
}

// `before` moved to `state` with `reason` at `now` (not yet due anywhere
// unless the caller sets a next attempt time).
DeliveryRecord MovedTo(const DeliveryRecord& before, DeliveryStateRecord state, std::string reason,
                       int64_t now_us) {
  DeliveryRecord after = before;
  after.set_state(state);
  after.set_state_reason(std::move(reason));
  after.set_update_time_us(now_us);
  return after;
}

Transition Changed(DeliveryRecord after) {
  Transition transition;
  transition.after = std::move(after);
  return transition;
}

Transition Refused(absl::Status status) {
  Transition transition;
  transition.status = std::move(status);
  return transition;
}

// The webhook after an attempt with `outcome` at `now`, or nullopt when
// nothing changes: a success ends a failure streak; a failure starts one (or
// continues it) and disables the webhook after 410 Gone or once the streak
// is long enough.
std::optional<WebhookRecord> WebhookAfterAttempt(const DeliveryRules& rules,
                                                 const WebhookRecord& webhook,
                                                 AttemptOutcome outcome, absl::Time now) {
  const int64_t now_us = absl::ToUnixMicros(now);
  WebhookRecord after = webhook;
  bool changed = false;
  if (outcome == AttemptOutcome::kDelivered) {
    changed = after.failing_since_us() != 0;
    after.clear_failing_since_us();
  } else {
    if (after.failing_since_us() == 0) {
      after.set_failing_since_us(now_us);
      changed = true;
    }
    int disable_reason = 0;
    if (outcome == AttemptOutcome::kDisableEndpoint) {
      disable_reason = kDisabledReasonEndpointGone;
    } else if (now - absl::FromUnixMicros(after.failing_since_us()) >=
               rules.disable_after_failing_for) {
      disable_reason = kDisabledReasonFailing;
    }
    if (disable_reason != 0 && after.enabled()) {
      after.set_enabled(false);
      after.set_disabled_reason(disable_reason);
      after.set_disable_time_us(now_us);
      after.set_update_time_us(now_us);
      changed = true;
    }
  }
  if (!changed) return std::nullopt;
  return after;
}

Transition OnAttempt(const DeliveryRecord& before, const WebhookRecord* webhook,
                     const AttemptFinished& input, absl::Time now) {
  static const DeliveryRules* const kDefaultRules = new DeliveryRules();
  const DeliveryRules& rules = input.rules != nullptr ? *input.rules : *kDefaultRules;
  const int64_t now_us = absl::ToUnixMicros(now);
  Transition transition;
  AttemptRecord& attempt = transition.attempt.emplace(input.attempt);
  attempt.set_attempt_number(before.attempt_count() + 1);

  DeliveryRecord& after = transition.after.emplace(before);
  after.set_attempt_count(attempt.attempt_number());
  *after.mutable_last_attempt() = attempt;
  after.mutable_last_attempt()->clear_response_body();
  after.set_update_time_us(now_us);

  // Only the attempt the delivery is waiting for moves it; one that finishes
  // after a manual retry, a cancellation or a park is counted, nothing more.
  const bool still_due =
      IsDue(before.state()) && before.next_attempt_time_us() == input.due_time_us;
  if (still_due) {
    switch (input.outcome) {
      case AttemptOutcome::kDelivered:
        after.set_state(kSucceeded);
        after.set_state_reason(absl::StrCat("delivered: HTTP ", attempt.http_status()));
        break;
      case AttemptOutcome::kRetryLater:
        if (const std::optional<absl::Duration> delay = rules.retry_policy.NextDelay(
                attempt.attempt_number(), input.retry_after, input.random01)) {
          after.set_state(kRetryScheduled);
          after.set_next_attempt_time_us(absl::ToUnixMicros(now + *delay));
          after.set_state_reason(absl::StrCat(Describe(attempt), "; will retry"));
        } else {
          after.set_state(kFailed);
          after.set_state_reason(absl::StrCat(Describe(attempt), "; gave up after ",
                                              attempt.attempt_number(), " attempts"));
        }
        break;
      case AttemptOutcome::kDisableEndpoint:
        after.set_state(kFailed);
        after.set_state_reason(
            "HTTP 410 Gone: the receiver asked for no more deliveries; webhook disabled");
        break;
    }
  }
  if (webhook != nullptr) {
    transition.webhook_after = WebhookAfterAttempt(rules, *webhook, input.outcome, now);
  }
  return transition;
}

Transition OnPark(const DeliveryRecord& before, const WebhookRecord* webhook, const Park& input,
                  int64_t now_us) {
  // Moved on since the engine found it (the entry is stale): nothing to do.
  if (!IsDue(before.state()) || before.next_attempt_time_us() != input.due_time_us) return {};
  if (webhook == nullptr) {
    return Changed(MovedTo(before, kCancelled, "cancelled: the webhook was deleted", now_us));
  }
  if (!webhook->enabled()) {
    return Changed(MovedTo(before, kHeld, "held: the webhook is paused", now_us));
  }
  if (!input.event_exists) {
    return Changed(MovedTo(before, kCancelled, "cancelled: the event was purged", now_us));
  }
  return {};  // resumed meanwhile: still sendable, stays due
}

Transition OnManualRetry(const DeliveryRecord& before, const WebhookRecord* webhook,
                         int64_t now_us) {
  if (before.state() == kCancelled) {
    return Refused(absl::FailedPreconditionError(absl::StrCat(
        "the delivery was cancelled (", before.state_reason(), ") and cannot be retried")));
  }
  if (webhook == nullptr) {
    return Refused(
        absl::FailedPreconditionError("the webhook was deleted; its deliveries cannot be retried"));
  }
  if (!webhook->enabled()) {
    return Refused(absl::FailedPreconditionError(
        "the webhook is paused; resume it (its held deliveries are then sent) before retrying"));
  }
  DeliveryRecord after = MovedTo(before, kPending, "retry requested", now_us);
  after.set_next_attempt_time_us(now_us);
  return Changed(std::move(after));
}

}  // namespace

Transition NextDelivery(const DeliveryRecord* before, const WebhookRecord* webhook,
                        const DeliveryInput& input, absl::Time now) {
  const int64_t now_us = absl::ToUnixMicros(now);
  Transition transition = std::visit(
      Overloaded{
          [&](const Publish& publish) -> Transition {
            if (before != nullptr || webhook == nullptr) return {};
            DeliveryRecord created;
            created.set_account(publish.account);
            created.set_webhook_id(webhook->id());
            created.set_event_id(publish.event_id);
            created.set_event_type(publish.event_type);
            if (webhook->enabled()) {
              created.set_state(kPending);
              created.set_next_attempt_time_us(now_us);
            } else {
              created.set_state(kHeld);
              created.set_state_reason("held: the webhook is paused");
            }
            created.set_create_time_us(now_us);
            created.set_update_time_us(now_us);
            return Changed(std::move(created));
          },
          [&](const AttemptFinished& attempt) -> Transition {
            if (before == nullptr) return {};  // purged meanwhile
            return OnAttempt(*before, webhook, attempt, now);
          },
          [&](const Park& park) -> Transition {
            if (before == nullptr) return {};
            return OnPark(*before, webhook, park, now_us);
          },
          [&](const ManualRetry&) -> Transition {
            if (before == nullptr) {
              return Refused(absl::NotFoundError("delivery not found"));
            }
            return OnManualRetry(*before, webhook, now_us);
          },
          [&](const Release&) -> Transition {
            if (before == nullptr || !IsHeld(before->state())) return {};
            DeliveryRecord after =
                MovedTo(*before, kPending, "released: the webhook was resumed", now_us);
            // Due at publish time: released deliveries sort before anything
            // published since, in publish order, and are due at once.
            after.set_next_attempt_time_us(std::min(before->create_time_us(), now_us));
            return Changed(std::move(after));
          },
          [&](const Drop&) -> Transition {
            if (before == nullptr || !IsHeld(before->state())) return {};
            return Changed(MovedTo(*before, kCancelled,
                                   "cancelled: dropped when the webhook was resumed", now_us));
          },
          [&](const WebhookDeleted&) -> Transition {
            if (before == nullptr || IsFinal(before->state())) return {};
            return Changed(
                MovedTo(*before, kCancelled, "cancelled: the webhook was deleted", now_us));
          },
          [&](const Expire&) -> Transition {
            Transition expired;
            expired.remove = before != nullptr;
            return expired;
          },
      },
      input);
  if (transition.after.has_value()) {
    DeliveryRecord& after = *transition.after;
    if (!IsDue(after.state())) after.clear_next_attempt_time_us();
    if (IsFinal(after.state()) && (before == nullptr || before->state() != after.state())) {
      transition.entered_final_state = after.state();
    }
  }
  return transition;
}

bool MaySend(const DeliveryRecord& delivery, int64_t due_time_us, const WebhookRecord* webhook,
             bool event_exists) {
  return IsDue(delivery.state()) && delivery.next_attempt_time_us() == due_time_us &&
         webhook != nullptr && webhook->enabled() && event_exists;
}

}  // namespace wink::webhooks::domain
