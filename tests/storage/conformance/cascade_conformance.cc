// Conformance: what webhook changes do to their deliveries: pause, resume
// (release or drop) and delete, in chunks that re-check the webhook, and the
// repair of cascades a crash interrupted.
#include <algorithm>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/common/ids.h"
#include "service/domain/webhook_lifecycle.h"
#include "service/storage/records.h"
#include "tests/storage/conformance/storage_conformance.h"

namespace wink::webhooks::storage::testing {
namespace {

TEST_P(StorageConformance, PauseRecordsWhyAndWhenAndResumeReleasesHeldDeliveriesInPublishOrder) {
  const std::string webhook = CreateWebhook("acme");
  clock_.Advance(absl::Seconds(1));
  auto paused = SetEnabled("acme", webhook, false);
  ASSERT_TRUE(paused.ok()) << paused.status();
  EXPECT_EQ(paused->disabled_reason(), domain::kDisabledReasonManual);
  EXPECT_EQ(paused->disable_time_us(), NowUs());
  EXPECT_EQ(GetWebhook("acme", webhook).SerializeAsString(), paused->SerializeAsString());

  std::vector<std::string> held;
  std::vector<int64_t> publish_times;
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Seconds(10));
    publish_times.push_back(NowUs());
    held.push_back(MustPublish("acme"));
    EXPECT_EQ(Delivery(webhook, held.back()).state(), kHeld);
  }
  EXPECT_THAT(Due(), IsEmpty());
  clock_.Advance(absl::Hours(1));
  const size_t updates_before = listener_.size();

  auto resumed = SetEnabled("acme", webhook, true);

  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_TRUE(resumed->enabled());
  EXPECT_EQ(resumed->disabled_reason(), 0);
  EXPECT_EQ(resumed->disable_time_us(), 0);
  const std::string after_resume = MustPublish("acme");
  for (int i = 0; i < 3; ++i) {
    const domain::DeliveryRecord released = Delivery(webhook, held[i]);
    EXPECT_EQ(released.state(), kPending);
    EXPECT_EQ(released.next_attempt_time_us(), publish_times[i]);
    EXPECT_EQ(released.update_time_us(), NowUs());
  }
  EXPECT_THAT(DueEvents(clock_.Now() + absl::Microseconds(1)),
              ElementsAre(held[0], held[1], held[2], after_resume));
  const std::vector<DeliveryUpdate> updates = listener_.updates();
  ASSERT_EQ(updates.size(), updates_before + 4);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(updates[updates_before + i].delivery.event_id(), held[i]);
    EXPECT_EQ(updates[updates_before + i].delivery.state(), kPending);
  }
}

TEST_P(StorageConformance, ResumeWithDropHeldDeliveriesCancelsThem) {
  const std::string webhook = CreateWebhook("acme");
  Pause("acme", webhook);
  const std::string e1 = MustPublish("acme");
  const std::string e2 = MustPublish("acme");

  Resume("acme", webhook, /*drop_held=*/true);

  for (const std::string& event : {e1, e2}) {
    const domain::DeliveryRecord dropped = Delivery(webhook, event);
    EXPECT_EQ(dropped.state(), kCancelled);
    EXPECT_THAT(dropped.state_reason(), HasSubstr("dropped"));
  }
  EXPECT_THAT(Due(), IsEmpty());
  // Their held entries went with them: another pause and resume releases none.
  Pause("acme", webhook);
  Resume("acme", webhook);
  EXPECT_EQ(Delivery(webhook, e1).state(), kCancelled);
  EXPECT_THAT(Due(), IsEmpty());
}

TEST_P(StorageConformance, DeleteCancelsUnfinishedDeliveriesAndRemovesTheirQueueEntries) {
  const std::string webhook = CreateWebhook("acme");
  const std::string other_webhook = CreateWebhook("acme");
  const std::string succeeded = MustPublish("acme");
  ASSERT_TRUE(Record(AttemptOf(webhook, succeeded, domain::AttemptOutcome::kDelivered, 200)).ok());
  const std::string retrying = MustPublish("acme");
  ASSERT_TRUE(Record(AttemptOf(webhook, retrying, domain::AttemptOutcome::kRetryLater, 500)).ok());
  const std::string pending = MustPublish("acme");
  Pause("acme", webhook);
  const std::string held = MustPublish("acme");
  ASSERT_EQ(Delivery(webhook, held).state(), kHeld);
  const size_t updates_before = listener_.size();

  ASSERT_TRUE(webhooks().Delete("acme", webhook).ok());

  EXPECT_EQ(Delivery(webhook, succeeded).state(), kSucceeded);
  for (const std::string& event : {retrying, pending, held}) {
    const domain::DeliveryRecord cancelled = Delivery(webhook, event);
    EXPECT_EQ(cancelled.state(), kCancelled) << event;
    EXPECT_EQ(cancelled.state_reason(), "cancelled: the webhook was deleted");
  }
  EXPECT_EQ(listener_.size(), updates_before + 3);
  std::vector<std::string> due_webhooks;
  for (const DueDelivery& entry : Due()) due_webhooks.push_back(entry.webhook_id);
  EXPECT_EQ(due_webhooks, std::vector<std::string>(4, other_webhook));
  EXPECT_EQ(CountStoredOffline().held_entries, 0);
}

TEST_P(StorageConformance, ResumeReleasesMoreHeldDeliveriesThanOneCascadeChunk) {
  // More than two chunks of every backend (chunks are about 1,000).
  constexpr int kEvents = 2500;
  const std::string webhook = CreateWebhook("acme");
  Pause("acme", webhook);
  absl::Mutex mu;
  int published = 0;
  int failed = 0;
  for (int i = 0; i < kEvents; ++i) {
    PublishRequest request;
    request.account = "acme";
    request.event_type = "booking.created";
    request.data_json = "{}";
    events().Publish(std::move(request), [&](absl::StatusOr<PublishResult> result) {
      absl::MutexLock lock(&mu);
      ++published;
      if (!result.ok()) ++failed;
    });
  }
  {
    absl::MutexLock lock(&mu);
    auto all_done = [&] { return published == kEvents; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all_done), absl::Seconds(60)));
    ASSERT_EQ(failed, 0);
  }
  ASSERT_EQ(listener_.size(), static_cast<size_t>(kEvents));

  Resume("acme", webhook);

  ASSERT_TRUE(listener_.WaitForAtLeast(2 * kEvents, absl::Seconds(60)))
      << "released " << listener_.size() - kEvents << " of " << kEvents;
  const std::vector<DeliveryUpdate> updates = listener_.updates();
  ASSERT_EQ(updates.size(), static_cast<size_t>(2 * kEvents));
  for (size_t i = 0; i < updates.size(); ++i) {
    ASSERT_EQ(updates[i].sequence, i + kFirstUpdateSequence);
    ASSERT_EQ(updates[i].delivery.state(), i < static_cast<size_t>(kEvents) ? kHeld : kPending)
        << i;
  }
  auto pending = deliveries().ListDeliveriesOfWebhook("acme", webhook, "", kPending, 2 * kEvents);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_EQ(pending->deliveries.size(), static_cast<size_t>(kEvents));
  // Due in publish order, which is the order of the held updates.
  std::vector<std::string> publish_order;
  for (int i = 0; i < kEvents; ++i) publish_order.push_back(updates[i].delivery.event_id());
  EXPECT_THAT(DueEvents(), ElementsAreArray(publish_order));
}

// A crash between a resume (or delete) and the end of its cascade leaves held
// deliveries behind an enabled (or missing) webhook; the repair finishes it.
TEST_P(StorageConformance, RepairHeldFinishesCascadesACrashInterrupted) {
  const std::string resumed = CreateWebhook("acme");
  const std::string deleted = CreateWebhook("acme");
  const std::string still_paused = CreateWebhook("acme");
  for (const std::string& webhook : {resumed, deleted, still_paused}) Pause("acme", webhook);
  const std::string event = MustPublish("acme");
  domain::WebhookRecord enabled = *webhooks().Get("acme", resumed);
  enabled.set_enabled(true);
  Close();  // the webhook writes, without their cascades
  ASSERT_TRUE(harness().PutWebhookRecordOnly(enabled).ok());
  ASSERT_TRUE(harness().DeleteWebhookRecordOnly("acme", deleted).ok());
  Reopen();
  ASSERT_EQ(Delivery(resumed, event).state(), kHeld);

  auto repaired = deliveries().RepairInterruptedCascades();

  ASSERT_TRUE(repaired.ok()) << repaired.status();
  EXPECT_EQ(*repaired, 2);
  EXPECT_EQ(Delivery(resumed, event).state(), kPending);
  EXPECT_EQ(Delivery(deleted, event).state(), kCancelled);
  EXPECT_EQ(Delivery(still_paused, event).state(), kHeld);
  EXPECT_EQ(*deliveries().RepairInterruptedCascades(), 0) << "nothing left to repair";
}

// A resume that asked to drop the held deliveries, interrupted by a crash,
// is finished as a drop: nothing the caller dropped is sent.
TEST_P(StorageConformance, RepairFinishesAnInterruptedDropAsADrop) {
  const std::string dropped = CreateWebhook("acme");
  const std::string released = CreateWebhook("acme");
  Pause("acme", dropped);
  Pause("acme", released);
  const std::string event = MustPublish("acme");
  // The webhook writes of the two resumes, as the store makes them, without
  // their cascades.
  std::vector<domain::WebhookRecord> resumed;
  for (const auto& [id, drop] : {std::pair{dropped, true}, std::pair{released, false}}) {
    const domain::WebhookRecord before = *webhooks().Get("acme", id);
    domain::WebhookRecord after = before;
    after.set_enabled(true);
    domain::SettleEnabledChange(before, after, drop, clock_.Now());
    resumed.push_back(after);
  }
  Close();
  for (const auto& webhook : resumed) ASSERT_TRUE(harness().PutWebhookRecordOnly(webhook).ok());
  Reopen();
  ASSERT_EQ(Delivery(dropped, event).state(), kHeld);

  auto repaired = deliveries().RepairInterruptedCascades();

  ASSERT_TRUE(repaired.ok()) << repaired.status();
  EXPECT_EQ(*repaired, 2);
  EXPECT_EQ(Delivery(dropped, event).state(), kCancelled);
  EXPECT_EQ(Delivery(released, event).state(), kPending);
  EXPECT_THAT(DueEvents(), ElementsAre(event));  // only the released one is due
}

// Publishes `count` events to `account` without waiting for each; returns
// when all are durable.
void PublishMany(EventLog& events, absl::string_view account, int count) {
  absl::Mutex mu;
  int published = 0;
  int failed = 0;
  for (int i = 0; i < count; ++i) {
    PublishRequest request;
    request.account = std::string(account);
    request.event_type = "booking.created";
    request.data_json = "{}";
    events.Publish(std::move(request), [&](absl::StatusOr<PublishResult> result) {
      absl::MutexLock lock(&mu);
      ++published;
      if (!result.ok()) ++failed;
    });
  }
  absl::MutexLock lock(&mu);
  auto all_done = [&] { return published == count; };
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all_done), absl::Seconds(60)));
  ASSERT_EQ(failed, 0);
}

// A release cut short by a pause, then a resume that drops: every held
// delivery leaves HELD exactly once, either released (a prefix, in publish
// order) or dropped (the rest), never both and never left behind.
TEST_P(StorageConformance, AReleaseAndALaterDropNeverMix) {
  constexpr int kEvents = 2500;
  const std::string webhook = CreateWebhook("acme");
  Pause("acme", webhook);
  PublishMany(events(), "acme", kEvents);
  ASSERT_EQ(listener_.size(), static_cast<size_t>(kEvents));

  Resume("acme", webhook);
  Pause("acme", webhook);
  Resume("acme", webhook, /*drop_held=*/true);

  ASSERT_TRUE(listener_.WaitForAtLeast(2 * kEvents, absl::Seconds(60)))
      << "moved " << listener_.size() - kEvents << " of " << kEvents;
  auto page = deliveries().ListDeliveriesOfWebhook("acme", webhook, "", 0, 2 * kEvents);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->deliveries.size(), static_cast<size_t>(kEvents));
  int released = 0;
  for (const domain::DeliveryRecord& delivery : page->deliveries) {  // publish order
    if (delivery.state() == kPending) {
      ASSERT_EQ(released, &delivery - page->deliveries.data()) << "released ones come first";
      ++released;
    } else {
      ASSERT_EQ(delivery.state(), kCancelled) << delivery.ShortDebugString();
      EXPECT_THAT(delivery.state_reason(), HasSubstr("dropped"));
    }
  }
  EXPECT_GE(released, 1) << "the first chunk commits with the resume";
  EXPECT_EQ(DueEvents().size(), static_cast<size_t>(released));
  EXPECT_EQ(CountStoredOffline().held_entries, 0);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(listener_.size(), static_cast<size_t>(2 * kEvents)) << "one move each, no more";
}

// A pause stops a release between chunks; the next resume releases the
// rest, each delivery once, in publish order.
TEST_P(StorageConformance, APauseStopsAReleaseAndTheNextResumeFinishesIt) {
  constexpr int kEvents = 2500;
  const std::string webhook = CreateWebhook("acme");
  Pause("acme", webhook);
  PublishMany(events(), "acme", kEvents);
  std::vector<std::string> publish_order;
  for (const DeliveryUpdate& update : listener_.updates()) {
    publish_order.push_back(update.delivery.event_id());
  }

  Resume("acme", webhook);
  Pause("acme", webhook);
  Resume("acme", webhook);

  ASSERT_TRUE(listener_.WaitForAtLeast(2 * kEvents, absl::Seconds(60)));
  EXPECT_THAT(DueEvents(), ElementsAreArray(publish_order));
  auto pending = deliveries().ListDeliveriesOfWebhook("acme", webhook, "", kPending, 2 * kEvents);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_EQ(pending->deliveries.size(), static_cast<size_t>(kEvents));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(listener_.size(), static_cast<size_t>(2 * kEvents)) << "each released once";
}

TEST_P(StorageConformance, DeleteTellsListenersBeforeItReturns) {
  const std::string webhook = CreateWebhook("acme");

  ASSERT_TRUE(webhooks().Delete("acme", webhook).ok());

  EXPECT_THAT(listener_.deleted_webhooks(), ElementsAre(webhook));
}

}  // namespace
}  // namespace wink::webhooks::storage::testing
