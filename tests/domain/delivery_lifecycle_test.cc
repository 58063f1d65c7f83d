// The delivery state machine: every state x every input as one table, then
// the details each cell cannot show (reasons, times, the webhook's failure
// streak) and the races the rules settle.
#include "service/domain/delivery_lifecycle.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wink::webhooks::domain {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1795818000);
const int64_t kNowUs = absl::ToUnixMicros(kNow);
// When the deliveries of the table were published, and when the due ones are
// due.
const int64_t kCreatedUs = kNowUs - 3'600'000'000;
const int64_t kDueUs = kNowUs - 60'000'000;

// The states of the table; "none" is a delivery that does not exist.
constexpr absl::string_view kStates[] = {"none",      "PENDING", "HELD",     "RETRY_SCHEDULED",
                                         "SUCCEEDED", "FAILED",  "CANCELLED"};

std::optional<DeliveryRecord> DeliveryIn(absl::string_view state) {
  if (state == "none") return std::nullopt;
  DeliveryRecord delivery;
  delivery.set_account("acme");
  delivery.set_webhook_id("wh_1");
  delivery.set_event_id("evt_1");
  delivery.set_event_type("booking.created");
  delivery.set_create_time_us(kCreatedUs);
  delivery.set_update_time_us(kCreatedUs);
  DeliveryStateRecord value = internal::v1::DELIVERY_STATE_RECORD_UNSPECIFIED;
  internal::v1::DeliveryStateRecord_Parse(absl::StrCat("DELIVERY_STATE_RECORD_", state), &value);
  EXPECT_NE(value, internal::v1::DELIVERY_STATE_RECORD_UNSPECIFIED) << state;
  delivery.set_state(value);
  if (IsDue(value)) delivery.set_next_attempt_time_us(kDueUs);
  if (value != kPending && value != kHeld) {
    delivery.set_attempt_count(1);
    delivery.mutable_last_attempt()->set_attempt_number(1);
  }
  return delivery;
}

WebhookRecord Webhook(bool enabled) {
  WebhookRecord webhook;
  webhook.set_account("acme");
  webhook.set_id("wh_1");
  webhook.set_enabled(enabled);
  return webhook;
}

// Rules whose schedule allows only one attempt: any failure exhausts it.
const DeliveryRules& OneAttemptRules() {
  static const DeliveryRules* const rules = [] {
    auto* one = new DeliveryRules();
    one->retry_policy = RetryPolicy({absl::ZeroDuration()}, absl::Hours(1));
    return one;
  }();
  return *rules;
}

AttemptFinished Attempt(AttemptOutcome outcome, int http_status, int64_t due_time_us = kDueUs) {
  AttemptFinished finished;
  finished.due_time_us = due_time_us;
  finished.outcome = outcome;
  finished.attempt.set_start_time_us(kNowUs - 2000);
  finished.attempt.set_latency_us(1500);
  finished.attempt.set_http_status(http_status);
  finished.attempt.set_response_body("receiver says");
  finished.random01 = 0.5;
  return finished;
}

// One column of the table: an input, and the webhook as the transition sees
// it (nullopt: deleted).
struct Column {
  std::string name;
  DeliveryInput input;
  std::optional<WebhookRecord> webhook;
};

std::vector<Column> Columns() {
  AttemptFinished exhausted = Attempt(AttemptOutcome::kRetryLater, 503);
  exhausted.rules = &OneAttemptRules();
  const Publish publish{"acme", "evt_1", "booking.created"};
  return {
      {"Publish/enabled", publish, Webhook(true)},
      {"Publish/paused", publish, Webhook(false)},
      {"Attempt/2xx", Attempt(AttemptOutcome::kDelivered, 200), Webhook(true)},
      {"Attempt/5xx", Attempt(AttemptOutcome::kRetryLater, 503), Webhook(true)},
      {"Attempt/5xx-last", exhausted, Webhook(true)},
      {"Attempt/410", Attempt(AttemptOutcome::kDisableEndpoint, 410), Webhook(true)},
      {"Attempt/stale", Attempt(AttemptOutcome::kDelivered, 200, kDueUs - 1), Webhook(true)},
      {"Park/paused", Park{kDueUs, true}, Webhook(false)},
      {"Park/deleted", Park{kDueUs, true}, std::nullopt},
      {"Park/purged", Park{kDueUs, false}, Webhook(true)},
      {"Park/sendable", Park{kDueUs, true}, Webhook(true)},
      {"Park/stale", Park{kDueUs - 1, true}, Webhook(false)},
      {"Retry/enabled", ManualRetry{}, Webhook(true)},
      {"Retry/paused", ManualRetry{}, Webhook(false)},
      {"Retry/deleted", ManualRetry{}, std::nullopt},
      {"Release", Release{}, Webhook(true)},
      {"Drop", Drop{}, Webhook(true)},
      {"WebhookDeleted", WebhookDeleted{}, std::nullopt},
      {"Expire", Expire{}, std::nullopt},
  };
}

// What a transition did, in the table's words: an error code, "removed",
// "counted" (an attempt recorded, the state as it was), the new state, or
// "-" (nothing at all).
std::string Describe(const DeliveryRecord* before, const Transition& transition) {
  if (!transition.status.ok()) return absl::StatusCodeToString(transition.status.code());
  if (transition.remove) return "removed";
  if (!transition.after.has_value()) return "-";
  const DeliveryRecord& after = *transition.after;
  if (before != nullptr && transition.attempt.has_value() && after.state() == before->state() &&
      after.next_attempt_time_us() == before->next_attempt_time_us()) {
    return "counted";
  }
  std::string name = internal::v1::DeliveryStateRecord_Name(after.state());
  return name.substr(std::string("DELIVERY_STATE_RECORD_").size());
}

// Rows in kStates order, columns in Columns() order.
const std::vector<std::vector<std::string>> kExpected = {
    // clang-format off
    //            Publish          Attempt                                                           Park                                                          Retry                                             Release    Drop        WebhookDeleted Expire
    //            enabled  paused  2xx          5xx                5xx-last  410       stale      paused  deleted      purged       sendable stale  enabled    paused                 deleted                   
    /* none */   {"PENDING", "HELD", "-",       "-",               "-",      "-",      "-",       "-",    "-",         "-",         "-",     "-",   "NOT_FOUND", "NOT_FOUND",          "NOT_FOUND",             "-",       "-",        "-",          "-"},
    /* PENDING */{"-",     "-",    "SUCCEEDED", "RETRY_SCHEDULED", "FAILED", "FAILED", "counted", "HELD", "CANCELLED", "CANCELLED", "-",     "-",   "PENDING", "FAILED_PRECONDITION", "FAILED_PRECONDITION", "-",       "-",        "CANCELLED",  "removed"},
    /* HELD */   {"-",     "-",    "counted",   "counted",         "counted","counted","counted", "-",    "-",         "-",         "-",     "-",   "PENDING", "FAILED_PRECONDITION", "FAILED_PRECONDITION", "PENDING", "CANCELLED","CANCELLED",  "removed"},
    /* RETRY */  {"-",     "-",    "SUCCEEDED", "RETRY_SCHEDULED", "FAILED", "FAILED", "counted", "HELD", "CANCELLED", "CANCELLED", "-",     "-",   "PENDING", "FAILED_PRECONDITION", "FAILED_PRECONDITION", "-",       "-",        "CANCELLED",  "removed"},
    /* SUCCEED */{"-",     "-",    "counted",   "counted",         "counted","counted","counted", "-",    "-",         "-",         "-",     "-",   "PENDING", "FAILED_PRECONDITION", "FAILED_PRECONDITION", "-",       "-",        "-",          "removed"},
    /* FAILED */ {"-",     "-",    "counted",   "counted",         "counted","counted","counted", "-",    "-",         "-",         "-",     "-",   "PENDING", "FAILED_PRECONDITION", "FAILED_PRECONDITION", "-",       "-",        "-",          "removed"},
    /* CANCEL */ {"-",     "-",    "counted",   "counted",         "counted","counted","counted", "-",    "-",         "-",         "-",     "-",   "FAILED_PRECONDITION", "FAILED_PRECONDITION", "FAILED_PRECONDITION", "-", "-",      "-",          "removed"},
    // clang-format on
};

TEST(DeliveryLifecycleTest, EveryStateUnderEveryInput) {
  const std::vector<Column> columns = Columns();
  ASSERT_EQ(kExpected.size(), std::size(kStates));
  for (size_t row = 0; row < std::size(kStates); ++row) {
    ASSERT_EQ(kExpected[row].size(), columns.size()) << kStates[row];
    const std::optional<DeliveryRecord> before = DeliveryIn(kStates[row]);
    for (size_t col = 0; col < columns.size(); ++col) {
      const Column& column = columns[col];
      SCOPED_TRACE(absl::StrCat(kStates[row], " x ", column.name));
      const DeliveryRecord* before_ptr = before.has_value() ? &*before : nullptr;
      const WebhookRecord* webhook = column.webhook.has_value() ? &*column.webhook : nullptr;

      const Transition transition = NextDelivery(before_ptr, webhook, column.input, kNow);

      EXPECT_EQ(Describe(before_ptr, transition), kExpected[row][col]);
      // What holds in every cell:
      if (!transition.status.ok()) {
        EXPECT_FALSE(transition.after.has_value() || transition.attempt.has_value() ||
                     transition.webhook_after.has_value() || transition.remove);
      }
      const bool is_attempt = std::holds_alternative<AttemptFinished>(column.input);
      EXPECT_EQ(transition.attempt.has_value(), is_attempt && before.has_value());
      if (transition.attempt.has_value()) {
        EXPECT_EQ(transition.attempt->attempt_number(), before->attempt_count() + 1);
        EXPECT_EQ(transition.attempt->response_body(), "receiver says");
      }
      if (transition.after.has_value()) {
        const DeliveryRecord& after = *transition.after;
        EXPECT_EQ(after.update_time_us(), kNowUs);
        EXPECT_EQ(IsDue(after.state()), after.next_attempt_time_us() != 0);
        EXPECT_EQ(after.last_attempt().response_body(), "") << "the update log keeps no bodies";
        EXPECT_EQ(after.event_id(), "evt_1");
        EXPECT_EQ(after.webhook_id(), "wh_1");
        const bool entered_final =
            IsFinal(after.state()) && (before_ptr == nullptr || before->state() != after.state());
        EXPECT_EQ(transition.entered_final_state.has_value(), entered_final);
      } else {
        EXPECT_FALSE(transition.entered_final_state.has_value());
      }
    }
  }
}

// Details --------------------------------------------------------------------

TEST(DeliveryLifecycleTest, PublishCreatesADeliveryDueNowOrHeld) {
  const WebhookRecord enabled = Webhook(true);
  const WebhookRecord paused = Webhook(false);
  const Publish publish{"acme", "evt_9", "booking.created"};

  const Transition due = NextDelivery(nullptr, &enabled, publish, kNow);
  const Transition held = NextDelivery(nullptr, &paused, publish, kNow);

  ASSERT_TRUE(due.after.has_value() && held.after.has_value());
  EXPECT_EQ(due.after->account(), "acme");
  EXPECT_EQ(due.after->event_type(), "booking.created");
  EXPECT_EQ(due.after->next_attempt_time_us(), kNowUs);
  EXPECT_EQ(due.after->create_time_us(), kNowUs);
  EXPECT_EQ(due.after->attempt_count(), 0);
  EXPECT_EQ(held.after->state_reason(), "held: the webhook is paused");
  EXPECT_EQ(NextDelivery(nullptr, nullptr, publish, kNow).after, std::nullopt)
      << "no delivery for a webhook that is gone";
}

TEST(DeliveryLifecycleTest, AttemptReasonsNameWhatHappened) {
  const DeliveryRecord before = *DeliveryIn("PENDING");
  const WebhookRecord webhook = Webhook(true);
  AttemptFinished refused = Attempt(AttemptOutcome::kRetryLater, 0);
  refused.attempt.set_error("connection refused");
  refused.rules = &OneAttemptRules();

  EXPECT_EQ(NextDelivery(&before, &webhook, Attempt(AttemptOutcome::kDelivered, 204), kNow)
                .after->state_reason(),
            "delivered: HTTP 204");
  EXPECT_EQ(NextDelivery(&before, &webhook, Attempt(AttemptOutcome::kRetryLater, 503), kNow)
                .after->state_reason(),
            "HTTP 503; will retry");
  EXPECT_EQ(NextDelivery(&before, &webhook, refused, kNow).after->state_reason(),
            "connection refused; gave up after 1 attempts");
  EXPECT_THAT(NextDelivery(&before, &webhook, Attempt(AttemptOutcome::kDisableEndpoint, 410), kNow)
                  .after->state_reason(),
              HasSubstr("410 Gone"));
}

TEST(DeliveryLifecycleTest, ARetryIsScheduledByTheRulesWithTheGivenJitterOrRetryAfter) {
  DeliveryRecord before = *DeliveryIn("RETRY_SCHEDULED");  // attempt 1 failed already
  const WebhookRecord webhook = Webhook(true);
  DeliveryRules rules;
  rules.retry_policy =
      RetryPolicy({absl::ZeroDuration(), absl::Seconds(5), absl::Minutes(5), absl::Minutes(30)},
                  absl::Minutes(10));
  AttemptFinished second = Attempt(AttemptOutcome::kRetryLater, 500);
  second.rules = &rules;
  second.random01 = 0.0;  // -20%

  const Transition jittered = NextDelivery(&before, &webhook, second, kNow);
  second.retry_after = absl::Hours(3);
  const Transition asked = NextDelivery(&before, &webhook, second, kNow);

  ASSERT_TRUE(jittered.after.has_value() && asked.after.has_value());
  EXPECT_EQ(jittered.attempt->attempt_number(), 2);
  EXPECT_EQ(jittered.after->next_attempt_time_us(), absl::ToUnixMicros(kNow + absl::Minutes(4)))
      << "the second retry is schedule[2] = 5 min, less 20%";
  EXPECT_EQ(asked.after->next_attempt_time_us(), absl::ToUnixMicros(kNow + absl::Minutes(10)))
      << "Retry-After, cut to max_retry_after";
}

TEST(DeliveryLifecycleTest, ParkAndCascadeReasons) {
  const DeliveryRecord pending = *DeliveryIn("PENDING");
  const DeliveryRecord held = *DeliveryIn("HELD");
  const WebhookRecord enabled = Webhook(true);
  const WebhookRecord paused = Webhook(false);

  EXPECT_EQ(NextDelivery(&pending, &paused, Park{kDueUs, true}, kNow).after->state_reason(),
            "held: the webhook is paused");
  EXPECT_EQ(NextDelivery(&pending, nullptr, Park{kDueUs, true}, kNow).after->state_reason(),
            "cancelled: the webhook was deleted");
  EXPECT_EQ(NextDelivery(&pending, &enabled, Park{kDueUs, false}, kNow).after->state_reason(),
            "cancelled: the event was purged");
  EXPECT_EQ(NextDelivery(&held, &enabled, Drop{}, kNow).after->state_reason(),
            "cancelled: dropped when the webhook was resumed");
  EXPECT_EQ(NextDelivery(&held, nullptr, WebhookDeleted{}, kNow).after->state_reason(),
            "cancelled: the webhook was deleted");
  EXPECT_EQ(NextDelivery(&pending, &enabled, ManualRetry{}, kNow).after->state_reason(),
            "retry requested");
}

TEST(DeliveryLifecycleTest, AReleasedDeliveryIsDueAtItsPublishTime) {
  const DeliveryRecord held = *DeliveryIn("HELD");
  const WebhookRecord enabled = Webhook(true);

  const Transition released = NextDelivery(&held, &enabled, Release{}, kNow);

  ASSERT_TRUE(released.after.has_value());
  EXPECT_EQ(released.after->next_attempt_time_us(), kCreatedUs)
      << "before anything published since, in publish order";
  EXPECT_EQ(released.after->state_reason(), "released: the webhook was resumed");
  // A publish time ahead of now (a clock stepped back) is not waited for.
  DeliveryRecord future = held;
  future.set_create_time_us(kNowUs + 1'000'000);
  EXPECT_EQ(NextDelivery(&future, &enabled, Release{}, kNow).after->next_attempt_time_us(), kNowUs);
}

TEST(DeliveryLifecycleTest, ManualRetryOfACancelledDeliverySaysWhyItWasCancelled) {
  DeliveryRecord cancelled = *DeliveryIn("CANCELLED");
  cancelled.set_state_reason("cancelled: the webhook was deleted");
  const WebhookRecord enabled = Webhook(true);

  const Transition refused = NextDelivery(&cancelled, &enabled, ManualRetry{}, kNow);

  EXPECT_EQ(refused.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status.message()), HasSubstr("the webhook was deleted"));
}

// The webhook's failure streak ------------------------------------------------

TEST(DeliveryLifecycleTest, AFailureStartsTheStreakAndASuccessEndsIt) {
  const DeliveryRecord before = *DeliveryIn("PENDING");
  WebhookRecord webhook = Webhook(true);

  const Transition failed =
      NextDelivery(&before, &webhook, Attempt(AttemptOutcome::kRetryLater, 500), kNow);
  ASSERT_TRUE(failed.webhook_after.has_value());
  EXPECT_EQ(failed.webhook_after->failing_since_us(), kNowUs);
  EXPECT_TRUE(failed.webhook_after->enabled());

  webhook.set_failing_since_us(kNowUs - 1000);
  EXPECT_EQ(NextDelivery(&before, &webhook, Attempt(AttemptOutcome::kRetryLater, 500), kNow)
                .webhook_after,
            std::nullopt)
      << "the streak keeps its start";
  const Transition delivered =
      NextDelivery(&before, &webhook, Attempt(AttemptOutcome::kDelivered, 200), kNow);
  ASSERT_TRUE(delivered.webhook_after.has_value());
  EXPECT_EQ(delivered.webhook_after->failing_since_us(), 0);
  webhook.clear_failing_since_us();
  EXPECT_EQ(
      NextDelivery(&before, &webhook, Attempt(AttemptOutcome::kDelivered, 200), kNow).webhook_after,
      std::nullopt)
      << "nothing to write for a healthy webhook";
}

TEST(DeliveryLifecycleTest, ALongStreakOrGoneDisablesTheWebhook) {
  const DeliveryRecord before = *DeliveryIn("PENDING");
  DeliveryRules rules;
  rules.disable_after_failing_for = absl::Hours(1);
  WebhookRecord webhook = Webhook(true);
  AttemptFinished failure = Attempt(AttemptOutcome::kRetryLater, 500);
  failure.rules = &rules;

  webhook.set_failing_since_us(absl::ToUnixMicros(kNow - absl::Hours(1) + absl::Microseconds(1)));
  EXPECT_EQ(NextDelivery(&before, &webhook, failure, kNow).webhook_after, std::nullopt);
  webhook.set_failing_since_us(absl::ToUnixMicros(kNow - absl::Hours(1)));
  const Transition too_long = NextDelivery(&before, &webhook, failure, kNow);
  ASSERT_TRUE(too_long.webhook_after.has_value());
  EXPECT_FALSE(too_long.webhook_after->enabled());
  EXPECT_EQ(too_long.webhook_after->disabled_reason(), kDisabledReasonFailing);
  EXPECT_EQ(too_long.webhook_after->disable_time_us(), kNowUs);

  const WebhookRecord healthy = Webhook(true);
  const Transition gone =
      NextDelivery(&before, &healthy, Attempt(AttemptOutcome::kDisableEndpoint, 410), kNow);
  ASSERT_TRUE(gone.webhook_after.has_value());
  EXPECT_FALSE(gone.webhook_after->enabled());
  EXPECT_EQ(gone.webhook_after->disabled_reason(), kDisabledReasonEndpointGone);
  EXPECT_EQ(gone.webhook_after->failing_since_us(), kNowUs);

  // Already paused by its owner: the reason stays theirs.
  WebhookRecord paused = Webhook(false);
  paused.set_disabled_reason(kDisabledReasonManual);
  const Transition while_paused =
      NextDelivery(&before, &paused, Attempt(AttemptOutcome::kDisableEndpoint, 410), kNow);
  ASSERT_TRUE(while_paused.webhook_after.has_value());
  EXPECT_EQ(while_paused.webhook_after->disabled_reason(), kDisabledReasonManual);
}

// Races the rules settle --------------------------------------------------------

// The webhook was paused while a request was on the wire: the answer still
// counts (the receiver got it); a failure is retried later, when the engine
// parks it instead of sending.
TEST(DeliveryLifecycleTest, AnAttemptFinishingAfterAPauseMovesTheDeliveryAsUsual) {
  const DeliveryRecord before = *DeliveryIn("PENDING");
  const WebhookRecord paused = Webhook(false);

  EXPECT_EQ(
      NextDelivery(&before, &paused, Attempt(AttemptOutcome::kDelivered, 200), kNow).after->state(),
      kSucceeded);
  const Transition failed =
      NextDelivery(&before, &paused, Attempt(AttemptOutcome::kRetryLater, 500), kNow);
  EXPECT_EQ(failed.after->state(), kRetryScheduled);
  EXPECT_EQ(
      NextDelivery(&*failed.after, &paused, Park{failed.after->next_attempt_time_us(), true}, kNow)
          .after->state(),
      kHeld);
}

// The webhook was deleted while a request was on the wire: the delivery is
// CANCELLED already; the attempt is counted and changes nothing else.
TEST(DeliveryLifecycleTest, AnAttemptFinishingAfterADeleteIsOnlyCounted) {
  const DeliveryRecord pending = *DeliveryIn("PENDING");
  const DeliveryRecord cancelled = *NextDelivery(&pending, nullptr, WebhookDeleted{}, kNow).after;

  const Transition late =
      NextDelivery(&cancelled, nullptr, Attempt(AttemptOutcome::kDelivered, 200), kNow);

  EXPECT_EQ(late.after->state(), kCancelled);
  EXPECT_EQ(late.after->attempt_count(), 1);
  EXPECT_EQ(late.webhook_after, std::nullopt);
  EXPECT_EQ(late.entered_final_state, std::nullopt) << "cancelled once, counted once";
}

// A caller retried the delivery while its attempt was on the wire: the
// retry's due time stands, the finished attempt is counted.
TEST(DeliveryLifecycleTest, AnAttemptFinishingAfterAManualRetryKeepsTheRetry) {
  const DeliveryRecord failed = *DeliveryIn("RETRY_SCHEDULED");
  const WebhookRecord webhook = Webhook(true);
  const DeliveryRecord retried = *NextDelivery(&failed, &webhook, ManualRetry{}, kNow).after;

  const Transition late =
      NextDelivery(&retried, &webhook, Attempt(AttemptOutcome::kRetryLater, 500, kDueUs), kNow);

  EXPECT_EQ(late.after->state(), kPending);
  EXPECT_EQ(late.after->next_attempt_time_us(), kNowUs);
  EXPECT_EQ(late.after->attempt_count(), 2);
  EXPECT_EQ(late.after->state_reason(), "retry requested");
}

// The engine saw the webhook paused and parks; a resume committed first: the
// park decides on the webhook as of its own write, so nothing is stranded
// HELD behind an enabled webhook.
TEST(DeliveryLifecycleTest, AParkRacingAResumeLeavesTheDeliveryDue) {
  const DeliveryRecord pending = *DeliveryIn("PENDING");
  const WebhookRecord resumed = Webhook(true);

  const Transition park = NextDelivery(&pending, &resumed, Park{kDueUs, true}, kNow);

  EXPECT_EQ(park.after, std::nullopt);
}

TEST(MaySendTest, OnlyADueDeliveryOfAnEnabledWebhookWithItsEvent) {
  const DeliveryRecord pending = *DeliveryIn("PENDING");
  const WebhookRecord enabled = Webhook(true);
  const WebhookRecord paused = Webhook(false);

  EXPECT_TRUE(MaySend(pending, kDueUs, &enabled, true));
  EXPECT_FALSE(MaySend(pending, kDueUs - 1, &enabled, true)) << "stale queue entry";
  EXPECT_FALSE(MaySend(pending, kDueUs, &paused, true));
  EXPECT_FALSE(MaySend(pending, kDueUs, nullptr, true));
  EXPECT_FALSE(MaySend(pending, kDueUs, &enabled, false));
  EXPECT_FALSE(MaySend(*DeliveryIn("HELD"), 0, &enabled, true));
  EXPECT_FALSE(MaySend(*DeliveryIn("SUCCEEDED"), 0, &enabled, true));
}

}  // namespace
}  // namespace wink::webhooks::domain
