// The enabled toggle's bookkeeping, and when a cascade still applies: the
// rule that keeps a release and a later drop from mixing.
#include "service/domain/webhook_lifecycle.h"

#include <variant>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace wink::webhooks::domain {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1795818000);

WebhookRecord Webhook(bool enabled, uint32_t generation = 4) {
  WebhookRecord webhook;
  webhook.set_account("acme");
  webhook.set_id("wh_1");
  webhook.set_enabled(enabled);
  webhook.set_resume_generation(generation);
  return webhook;
}

TEST(SettleEnabledChangeTest, APauseRecordsWhyAndWhen) {
  const WebhookRecord before = Webhook(true);
  WebhookRecord manual = Webhook(false);
  WebhookRecord by_rule = Webhook(false);
  by_rule.set_disabled_reason(kDisabledReasonFailing);

  EXPECT_EQ(SettleEnabledChange(before, manual, false, kNow), Cascade::kNone);
  EXPECT_EQ(SettleEnabledChange(before, by_rule, false, kNow), Cascade::kNone);

  EXPECT_EQ(manual.disabled_reason(), kDisabledReasonManual);
  EXPECT_EQ(manual.disable_time_us(), absl::ToUnixMicros(kNow));
  EXPECT_EQ(by_rule.disabled_reason(), kDisabledReasonFailing);
}

TEST(SettleEnabledChangeTest, AResumeClearsThePauseAndTheStreakAndStartsACascade) {
  WebhookRecord before = Webhook(false, /*generation=*/4);
  before.set_disabled_reason(kDisabledReasonFailing);
  before.set_disable_time_us(1);
  before.set_failing_since_us(1);
  WebhookRecord release = before;
  release.set_enabled(true);
  WebhookRecord drop = release;

  EXPECT_EQ(SettleEnabledChange(before, release, false, kNow), Cascade::kReleaseHeld);
  EXPECT_EQ(SettleEnabledChange(before, drop, true, kNow), Cascade::kDropHeld);

  EXPECT_EQ(release.disabled_reason(), 0);
  EXPECT_EQ(release.disable_time_us(), 0);
  EXPECT_EQ(release.failing_since_us(), 0);
  EXPECT_EQ(release.resume_generation(), 5u);
}

// The intent is stored with the resume, so a crash cannot turn a drop into
// a release (issue 11: the repair used to send what the caller dropped).
TEST(SettleEnabledChangeTest, AResumeRecordsWhetherItDropsAndAPauseForgetsIt) {
  const WebhookRecord paused = Webhook(false);
  WebhookRecord drop = paused;
  drop.set_enabled(true);
  WebhookRecord release = drop;
  SettleEnabledChange(paused, drop, /*drop_held_deliveries=*/true, kNow);
  SettleEnabledChange(paused, release, /*drop_held_deliveries=*/false, kNow);
  EXPECT_TRUE(drop.resume_drops_held());
  EXPECT_FALSE(release.resume_drops_held());

  WebhookRecord paused_again = drop;
  paused_again.set_enabled(false);
  SettleEnabledChange(drop, paused_again, false, kNow);
  EXPECT_FALSE(paused_again.resume_drops_held());
}

TEST(InterruptedCascadeTest, FinishesWhatWasAsked) {
  WebhookRecord dropped = Webhook(true);
  dropped.set_resume_drops_held(true);
  const WebhookRecord released = Webhook(true);
  WebhookRecord paused = Webhook(false);
  paused.set_resume_drops_held(true);  // stale: a pause keeps its held deliveries

  EXPECT_EQ(InterruptedCascade(&dropped), Cascade::kDropHeld);
  EXPECT_EQ(InterruptedCascade(&released), Cascade::kReleaseHeld);
  EXPECT_EQ(InterruptedCascade(&paused), Cascade::kNone);
  EXPECT_EQ(InterruptedCascade(nullptr), Cascade::kCancelAll);
}

TEST(SettleEnabledChangeTest, OtherChangesStartNothing) {
  WebhookRecord enabled = Webhook(true);
  WebhookRecord renamed = enabled;
  renamed.set_display_name("renamed");
  WebhookRecord paused = Webhook(false);
  WebhookRecord still_paused = paused;

  EXPECT_EQ(SettleEnabledChange(enabled, renamed, true, kNow), Cascade::kNone);
  EXPECT_EQ(SettleEnabledChange(paused, still_paused, true, kNow), Cascade::kNone);
  EXPECT_EQ(renamed.resume_generation(), 4u);
}

// Cascade x the webhook as the next chunk finds it.
TEST(CascadeStillAppliesTest, EveryCascadeAgainstEveryWebhookState) {
  const WebhookRecord same_resume = Webhook(true, 4);
  const WebhookRecord resumed_again = Webhook(true, 5);
  const WebhookRecord paused_again = Webhook(false, 4);
  struct Case {
    Cascade cascade;
    const WebhookRecord* webhook;
    bool applies;
  };
  const Case cases[] = {
      {Cascade::kReleaseHeld, &same_resume, true},
      {Cascade::kReleaseHeld, &resumed_again, false},  // the later resume takes over
      {Cascade::kReleaseHeld, &paused_again, false},
      {Cascade::kReleaseHeld, nullptr, false},
      {Cascade::kDropHeld, &same_resume, true},
      {Cascade::kDropHeld, &resumed_again, false},
      {Cascade::kDropHeld, &paused_again, false},
      {Cascade::kDropHeld, nullptr, false},
      {Cascade::kCancelAll, nullptr, true},
      {Cascade::kCancelAll, &same_resume, false},  // re-created under the same id
      {Cascade::kNone, &same_resume, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(CascadeStillApplies(c.cascade, c.webhook, 4), c.applies)
        << static_cast<int>(c.cascade) << " "
        << (c.webhook == nullptr ? "deleted" : c.webhook->ShortDebugString());
  }
}

TEST(CascadeInputTest, EachCascadeHasItsInput) {
  EXPECT_TRUE(std::holds_alternative<Release>(CascadeInput(Cascade::kReleaseHeld)));
  EXPECT_TRUE(std::holds_alternative<Drop>(CascadeInput(Cascade::kDropHeld)));
  EXPECT_TRUE(std::holds_alternative<WebhookDeleted>(CascadeInput(Cascade::kCancelAll)));
}

}  // namespace
}  // namespace wink::webhooks::domain
