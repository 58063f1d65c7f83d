// Conformance: deliveries and attempts (service/storage/delivery_ledger.h):
// reads, recorded attempts, parking and manual retries, each applying the
// delivery rules (domain/delivery_lifecycle.h) and keeping the due queue
// true.
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
#include "service/storage/records.h"
#include "tests/storage/conformance/storage_conformance.h"

namespace wink::webhooks::storage::testing {
namespace {

TEST_P(StorageConformance, ListDeliveriesFilterByStatePageAndStayInsideTheAccount) {
  const std::string first_webhook = CreateWebhook("acme");
  const std::string second_webhook = CreateWebhook("acme");
  const std::string e1 = MustPublish("acme");
  const std::string e2 = MustPublish("acme");
  const std::string e3 = MustPublish("acme");
  ASSERT_TRUE(Record(AttemptOf(first_webhook, e2, domain::AttemptOutcome::kDelivered, 204)).ok());

  auto all = deliveries().ListDeliveriesOfWebhook("acme", first_webhook, "", 0, 10);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(EventIds(all->deliveries), ElementsAre(e1, e2, e3));
  EXPECT_EQ(all->continue_from, "");
  EXPECT_THAT(EventIds(deliveries()
                           .ListDeliveriesOfWebhook("acme", first_webhook, "", kSucceeded, 10)
                           ->deliveries),
              ElementsAre(e2));
  EXPECT_THAT(EventIds(deliveries()
                           .ListDeliveriesOfWebhook("acme", first_webhook, "", kPending, 10)
                           ->deliveries),
              ElementsAre(e1, e3));

  auto page = deliveries().ListDeliveriesOfWebhook("acme", first_webhook, "", 0, 2);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(EventIds(page->deliveries), ElementsAre(e1, e2));
  EXPECT_EQ(page->continue_from, e2);
  auto rest =
      deliveries().ListDeliveriesOfWebhook("acme", first_webhook, page->continue_from, 0, 2);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_THAT(EventIds(rest->deliveries), ElementsAre(e3));
  EXPECT_EQ(rest->continue_from, "");

  auto of_event = deliveries().ListDeliveriesOfEvent("acme", e2, "", 0, 10);
  ASSERT_TRUE(of_event.ok()) << of_event.status();
  EXPECT_THAT(WebhookIds(of_event->deliveries), ElementsAre(first_webhook, second_webhook));
  EXPECT_THAT(
      WebhookIds(deliveries().ListDeliveriesOfEvent("acme", e2, "", kPending, 10)->deliveries),
      ElementsAre(second_webhook));
  auto of_event_page = deliveries().ListDeliveriesOfEvent("acme", e2, "", 0, 1);
  ASSERT_TRUE(of_event_page.ok()) << of_event_page.status();
  EXPECT_THAT(WebhookIds(of_event_page->deliveries), ElementsAre(first_webhook));
  EXPECT_EQ(of_event_page->continue_from, first_webhook);
  EXPECT_THAT(WebhookIds(deliveries()
                             .ListDeliveriesOfEvent("acme", e2, of_event_page->continue_from, 0, 1)
                             ->deliveries),
              ElementsAre(second_webhook));

  // Another account sees nothing of acme's.
  auto foreign_webhook = deliveries().ListDeliveriesOfWebhook("other", first_webhook, "", 0, 10);
  ASSERT_TRUE(foreign_webhook.ok()) << foreign_webhook.status();
  EXPECT_THAT(foreign_webhook->deliveries, IsEmpty());
  EXPECT_EQ(foreign_webhook->continue_from, "");
  auto foreign_event = deliveries().ListDeliveriesOfEvent("other", e2, "", 0, 10);
  ASSERT_TRUE(foreign_event.ok()) << foreign_event.status();
  EXPECT_THAT(foreign_event->deliveries, IsEmpty());
  EXPECT_EQ(foreign_event->continue_from, "");
  EXPECT_EQ(deliveries().GetDelivery("other", first_webhook, e2).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(deliveries().GetDelivery("acme", first_webhook, e2).ok());
}

// RecordAttempt --------------------------------------------------------------

// (event id, webhook id) of each delivery, in order.
std::vector<std::pair<std::string, std::string>> Places(
    const std::vector<domain::DeliveryRecord>& deliveries) {
  std::vector<std::pair<std::string, std::string>> places;
  for (const auto& delivery : deliveries) places.emplace_back(delivery.event_id(), delivery.webhook_id());
  return places;
}

TEST_P(StorageConformance, TheAccountDeliveryLogIsNewestEventFirstAndStaysInsideTheAccount) {
  const std::string w1 = CreateWebhook("acme");
  const std::string w2 = CreateWebhook("acme");
  const std::string foreign_webhook = CreateWebhook("other");
  const std::string e1 = MustPublish("acme");
  clock_.Advance(absl::Seconds(10));
  const std::string e2 = MustPublish("acme");
  const std::string foreign_event = MustPublish("other");
  clock_.Advance(absl::Seconds(10));
  const std::string e3 = MustPublish("acme");
  ASSERT_TRUE(Record(AttemptOf(w1, e2, domain::AttemptOutcome::kDelivered, 204)).ok());
  const std::vector<std::pair<std::string, std::string>> everything = {
      {e3, w1}, {e3, w2}, {e2, w1}, {e2, w2}, {e1, w1}, {e1, w2}};

  auto all = deliveries().ListDeliveriesOfAccount("acme", {}, std::nullopt, 10);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(Places(all->deliveries), ElementsAreArray(everything));
  EXPECT_FALSE(all->continue_from.has_value());

  // One at a time: every delivery once, in the same order.
  std::vector<std::pair<std::string, std::string>> paged;
  std::optional<DeliveryLogPosition> after;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = deliveries().ListDeliveriesOfAccount("acme", {}, after, 1);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& place : Places(page->deliveries)) paged.push_back(place);
    after = page->continue_from;
    if (!after.has_value()) break;
  }
  EXPECT_THAT(paged, ElementsAreArray(everything));

  DeliveryLogFilter succeeded;
  succeeded.state = kSucceeded;
  EXPECT_THAT(Places(deliveries().ListDeliveriesOfAccount("acme", succeeded, std::nullopt, 10)
                         ->deliveries),
              ElementsAre(std::make_pair(e2, w1)));

  // [published_from, published_before): e2 only.
  DeliveryLogFilter around_e2;
  around_e2.published_from = IdTime(e2, kEventIdPrefix);
  around_e2.published_before = IdTime(e3, kEventIdPrefix);
  EXPECT_THAT(Places(deliveries().ListDeliveriesOfAccount("acme", around_e2, std::nullopt, 10)
                         ->deliveries),
              ElementsAre(std::make_pair(e2, w1), std::make_pair(e2, w2)));
  DeliveryLogFilter since_e2;
  since_e2.published_from = IdTime(e2, kEventIdPrefix);
  EXPECT_THAT(EventIds(deliveries().ListDeliveriesOfAccount("acme", since_e2, std::nullopt, 10)
                           ->deliveries),
              ElementsAre(e3, e3, e2, e2));

  auto foreign = deliveries().ListDeliveriesOfAccount("other", {}, std::nullopt, 10);
  ASSERT_TRUE(foreign.ok()) << foreign.status();
  EXPECT_THAT(Places(foreign->deliveries),
              ElementsAre(std::make_pair(foreign_event, foreign_webhook)));
  // A position from another account's log leads to nothing of acme's.
  auto crossed = deliveries().ListDeliveriesOfAccount(
      "other", {}, DeliveryLogPosition{e3, ""}, 10);
  ASSERT_TRUE(crossed.ok()) << crossed.status();
  EXPECT_THAT(Places(crossed->deliveries),
              ElementsAre(std::make_pair(foreign_event, foreign_webhook)));
  auto nobody = deliveries().ListDeliveriesOfAccount("nobody", {}, std::nullopt, 10);
  ASSERT_TRUE(nobody.ok()) << nobody.status();
  EXPECT_THAT(nobody->deliveries, IsEmpty());
  EXPECT_FALSE(nobody->continue_from.has_value());
}

// A filter that matches little must not read the whole log in one call:
// pages stop after a bounded scan and say where to go on.
TEST_P(StorageConformance, AFilteredAccountLogStopsAfterABoundedScanAndGoesOn) {
  const std::string webhook = CreateWebhook("acme");
  const std::string oldest = MustPublish("acme");
  ASSERT_TRUE(Record(AttemptOf(webhook, oldest, domain::AttemptOutcome::kDelivered, 200)).ok());
  for (int i = 0; i < 150; ++i) MustPublish("acme");

  DeliveryLogFilter succeeded;
  succeeded.state = kSucceeded;
  std::vector<std::string> found;
  std::optional<DeliveryLogPosition> after;
  int pages = 0;
  do {
    auto page = deliveries().ListDeliveriesOfAccount("acme", succeeded, after, 1);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& id : EventIds(page->deliveries)) found.push_back(id);
    after = page->continue_from;
    ++pages;
  } while (after.has_value() && pages < 20);
  EXPECT_THAT(found, ElementsAre(oldest));
  // 151 events and 151 deliveries at most 100 records a page (kScanFactor).
  EXPECT_GE(pages, 3);
  EXPECT_FALSE(after.has_value());
}

TEST_P(StorageConformance, ADeliveredAttemptSucceedsTheDeliveryAndLeavesTheQueue) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  clock_.Advance(absl::Seconds(2));

  ASSERT_TRUE(Record(AttemptOf(webhook, event, domain::AttemptOutcome::kDelivered, 200)).ok());

  const domain::DeliveryRecord delivery = Delivery(webhook, event);
  EXPECT_EQ(delivery.state(), kSucceeded);
  EXPECT_EQ(delivery.state_reason(), "delivered: HTTP 200");
  EXPECT_EQ(delivery.attempt_count(), 1);
  EXPECT_EQ(delivery.next_attempt_time_us(), 0);
  EXPECT_EQ(delivery.update_time_us(), NowUs());
  EXPECT_EQ(delivery.last_attempt().attempt_number(), 1);
  EXPECT_EQ(delivery.last_attempt().http_status(), 200);
  EXPECT_EQ(delivery.last_attempt().response_body(), "") << "only the attempt keeps the body";
  EXPECT_THAT(Due(), IsEmpty());
  auto next = due_queue().EarliestDueTimeAfter(clock_.Now() - absl::Hours(1));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, std::nullopt);

  auto attempts = deliveries().ListAttempts(webhook, event);
  ASSERT_TRUE(attempts.ok()) << attempts.status();
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].attempt_number(), 1);
  EXPECT_EQ((*attempts)[0].version(), kAttemptRecordVersion);
  EXPECT_EQ((*attempts)[0].http_status(), 200);
  EXPECT_EQ((*attempts)[0].latency_us(), 1500);
  EXPECT_TRUE((*attempts)[0].succeeded());
  EXPECT_EQ((*attempts)[0].response_body(), "response 200");

  const std::vector<DeliveryUpdate> updates = listener_.updates();
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_EQ(updates[1].delivery.state(), kSucceeded);
  EXPECT_EQ(updates[1].delivery.last_attempt().response_body(), "");
}

TEST_P(StorageConformance, ARetryableFailureReschedulesTheDeliveryAfterTheDelay) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  clock_.Advance(absl::Seconds(1));
  const absl::Time now = clock_.Now();
  // The first retry comes 5 s after the first attempt fails; the second 1 h
  // after the second.
  RecordAttemptRequest request =
      AttemptOf(webhook, event, domain::AttemptOutcome::kRetryLater, 503);
  request.rules = Rules({absl::ZeroDuration(), absl::Seconds(5), absl::Hours(1)});

  ASSERT_TRUE(Record(std::move(request)).ok());

  const domain::DeliveryRecord delivery = Delivery(webhook, event);
  EXPECT_EQ(delivery.state(), kRetryScheduled);
  EXPECT_EQ(delivery.state_reason(), "HTTP 503; will retry");
  EXPECT_EQ(delivery.attempt_count(), 1);
  EXPECT_EQ(delivery.next_attempt_time_us(), absl::ToUnixMicros(now + absl::Seconds(5)));
  EXPECT_THAT(Due(now), IsEmpty());
  EXPECT_THAT(Due(now + absl::Seconds(5)), IsEmpty());
  const std::vector<DueDelivery> due = Due(now + absl::Seconds(6));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].due_time_us, absl::ToUnixMicros(now + absl::Seconds(5)));
  EXPECT_EQ(due[0].webhook_id, webhook);
  EXPECT_EQ(due[0].event_id, event);
  auto next = due_queue().EarliestDueTimeAfter(now);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, now + absl::Seconds(5));
  auto none_later = due_queue().EarliestDueTimeAfter(now + absl::Seconds(5));
  ASSERT_TRUE(none_later.ok()) << none_later.status();
  EXPECT_EQ(*none_later, std::nullopt);

  // The retry is attempt 2.
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(Record(AttemptOf(webhook, event, domain::AttemptOutcome::kDelivered, 200)).ok());
  auto attempts = deliveries().ListAttempts(webhook, event);
  ASSERT_TRUE(attempts.ok()) << attempts.status();
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].http_status(), 503);
  EXPECT_EQ((*attempts)[1].attempt_number(), 2);
  EXPECT_EQ(Delivery(webhook, event).state(), kSucceeded);
  EXPECT_THAT(Due(), IsEmpty());
}

TEST_P(StorageConformance, AFailureWithTheScheduleExhaustedFailsTheDelivery) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  RecordAttemptRequest request = AttemptOf(webhook, event, domain::AttemptOutcome::kRetryLater, 0);
  request.finished.attempt.set_error("connection refused");
  request.rules = Rules({absl::ZeroDuration()});  // one attempt only

  ASSERT_TRUE(Record(std::move(request)).ok());

  const domain::DeliveryRecord delivery = Delivery(webhook, event);
  EXPECT_EQ(delivery.state(), kFailed);
  EXPECT_EQ(delivery.state_reason(), "connection refused; gave up after 1 attempts");
  EXPECT_EQ(delivery.next_attempt_time_us(), 0);
  EXPECT_THAT(Due(), IsEmpty());
  EXPECT_TRUE(GetWebhook("acme", webhook).enabled());
}

TEST_P(StorageConformance, GoneFailsTheDeliveryAndDisablesTheWebhook) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  clock_.Advance(absl::Seconds(1));

  ASSERT_TRUE(
      Record(AttemptOf(webhook, event, domain::AttemptOutcome::kDisableEndpoint, 410)).ok());

  const domain::DeliveryRecord delivery = Delivery(webhook, event);
  EXPECT_EQ(delivery.state(), kFailed);
  EXPECT_THAT(delivery.state_reason(), HasSubstr("410"));
  EXPECT_THAT(Due(), IsEmpty());
  const domain::WebhookRecord disabled = GetWebhook("acme", webhook);
  EXPECT_FALSE(disabled.enabled());
  EXPECT_EQ(disabled.disabled_reason(), domain::kDisabledReasonEndpointGone);
  EXPECT_EQ(disabled.disable_time_us(), NowUs());
  EXPECT_EQ(disabled.failing_since_us(), NowUs());

  // Published while disabled: held.
  const std::string later = MustPublish("acme");
  EXPECT_EQ(Delivery(webhook, later).state(), kHeld);
}

// A result changes its webhook from the webhook as it is when the result is
// recorded. Results with no publish in between (a backlog draining, retries)
// may share what was read for the first; a change to the webhook in between
// must end that.
TEST_P(StorageConformance, AResultAfterAWebhookChangeStartsFromTheChangedWebhook) {
  const std::string webhook = CreateWebhook("acme");
  const std::string first = MustPublish("acme");
  const std::string second = MustPublish("acme");
  auto renamed = webhooks().Update("acme", webhook, [](domain::WebhookRecord& record) {
    record.set_display_name("renamed once");
    return absl::OkStatus();
  });
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  // Delivered, with no failure before: the webhook is read, not written.
  ASSERT_TRUE(Record(AttemptOf(webhook, first, domain::AttemptOutcome::kDelivered, 200)).ok());
  auto renamed_again = webhooks().Update("acme", webhook, [](domain::WebhookRecord& record) {
    record.set_display_name("renamed twice");
    (*record.mutable_headers())["x-tenant"] = "acme-2";
    return absl::OkStatus();
  });
  ASSERT_TRUE(renamed_again.ok()) << renamed_again.status();
  clock_.Advance(absl::Seconds(1));

  // 410 Gone disables the webhook: a write of the whole record.
  ASSERT_TRUE(
      Record(AttemptOf(webhook, second, domain::AttemptOutcome::kDisableEndpoint, 410)).ok());

  const domain::WebhookRecord disabled = GetWebhook("acme", webhook);
  EXPECT_FALSE(disabled.enabled());
  EXPECT_EQ(disabled.disabled_reason(), domain::kDisabledReasonEndpointGone);
  EXPECT_EQ(disabled.display_name(), "renamed twice");
  const auto header = disabled.headers().find("x-tenant");
  ASSERT_NE(header, disabled.headers().end());
  EXPECT_EQ(header->second, "acme-2");
  EXPECT_EQ(Delivery(webhook, first).state(), kSucceeded);
  EXPECT_EQ(Delivery(webhook, second).state(), kFailed);
}

// An attempt goes out as its webhook is when the attempt is loaded: a new
// URL, a pause, or an auto-disable by an earlier result, each committed
// between two attempts, shows in the second.
TEST_P(StorageConformance, AnAttemptLoadsItsWebhookAsItIsNow) {
  const std::string webhook = CreateWebhook("acme");
  const std::string first = MustPublish("acme");
  const std::string second = MustPublish("acme");
  auto load = [&](const std::string& event) {
    auto loaded = deliveries().LoadAttempt(webhook, event);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_TRUE(loaded.ok() && loaded->webhook.has_value());
    return loaded.ok() && loaded->webhook.has_value() ? *loaded->webhook : domain::WebhookRecord();
  };
  const std::string url_before = load(first).url();
  ASSERT_EQ(load(second).url(), url_before);

  auto moved = webhooks().Update("acme", webhook, [](domain::WebhookRecord& record) {
    record.set_url("https://moved.example.com/hooks");
    return absl::OkStatus();
  });
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(load(second).url(), "https://moved.example.com/hooks");

  Pause("acme", webhook);
  EXPECT_FALSE(load(second).enabled());
  Resume("acme", webhook);
  EXPECT_TRUE(load(second).enabled());

  // An earlier result disabled it (410 Gone), on the writer.
  ASSERT_TRUE(Record(AttemptOf(webhook, first, domain::AttemptOutcome::kDisableEndpoint, 410)).ok());
  const domain::WebhookRecord disabled = load(second);
  EXPECT_FALSE(disabled.enabled());
  EXPECT_EQ(disabled.disabled_reason(), domain::kDisabledReasonEndpointGone);
}

TEST_P(StorageConformance, AFailureStreakDisablesTheWebhookOnceItLastsLongEnough) {
  const absl::Duration limit = absl::Hours(1);
  const std::string webhook = CreateWebhook("acme");
  auto fail = [&](const std::string& event) {
    RecordAttemptRequest request =
        AttemptOf(webhook, event, domain::AttemptOutcome::kRetryLater, 500);
    request.rules = Rules({absl::ZeroDuration(), absl::Seconds(5), absl::Seconds(5)}, limit);
    return Record(std::move(request));
  };

  const std::string e1 = MustPublish("acme");
  const int64_t first_failure_us = NowUs();
  ASSERT_TRUE(fail(e1).ok());
  EXPECT_EQ(GetWebhook("acme", webhook).failing_since_us(), first_failure_us);
  clock_.Advance(absl::Minutes(30));
  ASSERT_TRUE(fail(e1).ok());
  EXPECT_EQ(GetWebhook("acme", webhook).failing_since_us(), first_failure_us)
      << "the streak keeps its start";

  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(Record(AttemptOf(webhook, e1, domain::AttemptOutcome::kDelivered, 200)).ok());
  EXPECT_EQ(GetWebhook("acme", webhook).failing_since_us(), 0) << "a success ends the streak";

  const std::string e2 = MustPublish("acme");
  const int64_t streak_start_us = NowUs();
  ASSERT_TRUE(fail(e2).ok());
  EXPECT_EQ(GetWebhook("acme", webhook).failing_since_us(), streak_start_us);
  clock_.Advance(limit - absl::Microseconds(1));
  ASSERT_TRUE(fail(e2).ok());
  EXPECT_TRUE(GetWebhook("acme", webhook).enabled());

  clock_.Advance(absl::Microseconds(1));
  ASSERT_TRUE(fail(e2).ok());

  const domain::WebhookRecord disabled = GetWebhook("acme", webhook);
  EXPECT_FALSE(disabled.enabled());
  EXPECT_EQ(disabled.disabled_reason(), domain::kDisabledReasonFailing);
  EXPECT_EQ(disabled.disable_time_us(), NowUs());
  EXPECT_EQ(disabled.failing_since_us(), streak_start_us);
}

// An attempt's result rewrites its webhook (the failure streak) from the
// webhook as the write sees it: a change made after the account was last
// published to (and its webhooks read) must survive it.
TEST_P(StorageConformance, AnAttemptsResultKeepsWhatChangedInItsWebhookSinceTheLastPublish) {
  const std::string webhook = CreateWebhook("acme");
  const std::string sibling = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  auto renamed = webhooks().Update("acme", webhook, [](domain::WebhookRecord& w) {
    w.set_display_name("Renamed after the publish");
    return absl::OkStatus();
  });
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  clock_.Advance(absl::Seconds(1));

  ASSERT_TRUE(Record(AttemptOf(webhook, event, domain::AttemptOutcome::kRetryLater, 500)).ok());
  ASSERT_TRUE(Record(AttemptOf(sibling, event, domain::AttemptOutcome::kRetryLater, 500)).ok());

  const domain::WebhookRecord after = GetWebhook("acme", webhook);
  EXPECT_EQ(after.display_name(), "Renamed after the publish");
  EXPECT_EQ(after.failing_since_us(), NowUs());
  const domain::WebhookRecord sibling_after = GetWebhook("acme", sibling);
  EXPECT_EQ(sibling_after.display_name(), "");
  EXPECT_EQ(sibling_after.failing_since_us(), NowUs());
  EXPECT_EQ(Delivery(webhook, event).state(), kRetryScheduled);
  EXPECT_EQ(Delivery(sibling, event).state(), kRetryScheduled);
}

TEST_P(StorageConformance, AnAttemptForAnOutdatedDueTimeIsRecordedButLeavesTheState) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  // The engine starts an attempt for the publish-time due entry...
  const RecordAttemptRequest started =
      AttemptOf(webhook, event, domain::AttemptOutcome::kDelivered, 200);
  // ...while a caller retries the delivery, which moves it.
  clock_.Advance(absl::Seconds(1));
  auto retried = deliveries().RetryNow("acme", webhook, event);
  ASSERT_TRUE(retried.ok()) << retried.status();
  const int64_t retry_due_us = NowUs();

  ASSERT_TRUE(Record(started).ok());

  const domain::DeliveryRecord delivery = Delivery(webhook, event);
  EXPECT_EQ(delivery.state(), kPending);
  EXPECT_EQ(delivery.state_reason(), "retry requested");
  EXPECT_EQ(delivery.next_attempt_time_us(), retry_due_us);
  EXPECT_EQ(delivery.attempt_count(), 1);
  EXPECT_EQ(delivery.last_attempt().http_status(), 200);
  auto attempts = deliveries().ListAttempts(webhook, event);
  ASSERT_TRUE(attempts.ok()) << attempts.status();
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].attempt_number(), 1);
  const std::vector<DueDelivery> due = Due();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].due_time_us, retry_due_us);
}

TEST_P(StorageConformance, AnAttemptForAPurgedDeliveryIsIgnored) {
  const std::string webhook = CreateWebhook("acme");

  RecordAttemptRequest request;
  request.webhook_id = webhook;
  request.event_id = "evt_00000000000000000000000000";
  request.finished.outcome = domain::AttemptOutcome::kDelivered;
  request.finished.attempt.set_http_status(200);

  EXPECT_TRUE(Record(std::move(request)).ok());

  EXPECT_EQ(deliveries().ListAttempts(webhook, "evt_00000000000000000000000000")->size(), 0u);
  EXPECT_EQ(listener_.size(), 0u);
}

// Park -----------------------------------------------------------------------

TEST_P(StorageConformance, ParkForAPausedWebhookHoldsTheDeliveryUntilResume) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  const int64_t publish_us = NowUs();
  Pause("acme", webhook);  // pausing leaves due deliveries to the engine
  EXPECT_EQ(Delivery(webhook, event).state(), kPending);
  clock_.Advance(absl::Seconds(1));

  ASSERT_TRUE(Park(Due()[0]).ok());

  EXPECT_EQ(Delivery(webhook, event).state(), kHeld);
  EXPECT_EQ(Delivery(webhook, event).next_attempt_time_us(), 0);
  EXPECT_THAT(Due(), IsEmpty());
  EXPECT_EQ(listener_.updates().back().delivery.state(), kHeld);

  clock_.Advance(absl::Seconds(1));
  Resume("acme", webhook);
  const domain::DeliveryRecord released = Delivery(webhook, event);
  EXPECT_EQ(released.state(), kPending);
  EXPECT_EQ(released.next_attempt_time_us(), publish_us);
  EXPECT_THAT(DueEvents(), ElementsAre(event));
}

TEST_P(StorageConformance, ParkLeavesTheDeliveryDueWhenTheWebhookWasResumedMeanwhile) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  Pause("acme", webhook);   // the engine sees it paused and parks...
  Resume("acme", webhook);  // ...but the resume commits first

  ASSERT_TRUE(Park(Due()[0]).ok());

  EXPECT_EQ(Delivery(webhook, event).state(), kPending);
  EXPECT_THAT(DueEvents(), ElementsAre(event));
}

TEST_P(StorageConformance, ParkForADeletedWebhookCancelsTheDelivery) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  Close();
  ASSERT_TRUE(harness().DeleteWebhookRecordOnly("acme", webhook).ok());
  Reopen();

  ASSERT_TRUE(Park(Due()[0]).ok());

  const domain::DeliveryRecord delivery = Delivery(webhook, event);
  EXPECT_EQ(delivery.state(), kCancelled);
  EXPECT_EQ(delivery.state_reason(), "cancelled: the webhook was deleted");
  EXPECT_THAT(Due(), IsEmpty());
}

TEST_P(StorageConformance, ParkOfAnOutdatedDueEntryLeavesTheDeliveryAlone) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  const DueDelivery outdated = Due()[0];
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(deliveries().RetryNow("acme", webhook, event).ok());
  // RocksDB: the current entry goes to a file of its own (flushed at the
  // reopen), so that were it put again, its deletion below would bring the
  // first put back, and the check after the test would find it.
  Reopen();
  const size_t updates_before = listener_.size();

  ASSERT_TRUE(Park(outdated).ok());

  EXPECT_EQ(Delivery(webhook, event).state(), kPending);
  const std::vector<DueDelivery> due = Due();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].due_time_us, NowUs());
  EXPECT_EQ(listener_.size(), updates_before);
  ASSERT_TRUE(Record(AttemptOf(webhook, event, domain::AttemptOutcome::kDelivered, 200)).ok());
  EXPECT_THAT(Due(), IsEmpty());
}

// RetryNow -------------------------------------------------------------------

TEST_P(StorageConformance, RetryNowMakesAFailedDeliveryDueNow) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  RecordAttemptRequest request =
      AttemptOf(webhook, event, domain::AttemptOutcome::kRetryLater, 500);
  request.rules = Rules({absl::ZeroDuration()});  // one attempt only
  ASSERT_TRUE(Record(std::move(request)).ok());
  ASSERT_EQ(Delivery(webhook, event).state(), kFailed);
  clock_.Advance(absl::Minutes(10));

  auto retried = deliveries().RetryNow("acme", webhook, event);

  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->state(), kPending);
  EXPECT_EQ(retried->next_attempt_time_us(), NowUs());
  EXPECT_EQ(retried->attempt_count(), 1) << "earlier attempts still count";
  EXPECT_EQ(Delivery(webhook, event).SerializeAsString(), retried->SerializeAsString());
  const std::vector<DueDelivery> due = Due(clock_.Now() + absl::Microseconds(1));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].due_time_us, NowUs());
  EXPECT_EQ(listener_.updates().back().delivery.state(), kPending);
}

// A retry of a delivery already due now leaves it due at the same time: its
// queue entries stay as they are, not written a second time (the first put
// of a RocksDB queue key put twice would come back after its deletion).
TEST_P(StorageConformance, RetryNowOfADeliveryDueNowKeepsItsOneQueueEntry) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  ASSERT_EQ(Delivery(webhook, event).next_attempt_time_us(), NowUs());
  // RocksDB: the queue entries go to a file of their own (flushed at the
  // reopen), so that were they put again, their deletion below would bring
  // the first puts back, and the check after the test would find them.
  Reopen();

  auto retried = deliveries().RetryNow("acme", webhook, event);

  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->state(), kPending);
  EXPECT_EQ(retried->next_attempt_time_us(), NowUs());
  ASSERT_THAT(DueEvents(), ElementsAre(event));
  ASSERT_TRUE(Record(AttemptOf(webhook, event, domain::AttemptOutcome::kDelivered, 200)).ok());
  EXPECT_EQ(Delivery(webhook, event).state(), kSucceeded);
  EXPECT_THAT(DueEvents(), IsEmpty());
  const StoredCounts stored = CountStoredOffline();
  EXPECT_EQ(stored.due_entries, 0);
}

TEST_P(StorageConformance, RetryNowRefusesCancelledPausedAndDeletedOnesAndOtherAccounts) {
  const std::string webhook = CreateWebhook("acme");
  const std::string cancelled = MustPublish("acme");
  ASSERT_TRUE(webhooks()
                  .Update(
                      "acme", webhook, [](domain::WebhookRecord&) { return absl::OkStatus(); },
                      UpdateWebhookOptions{})
                  .ok());
  Pause("acme", webhook);
  ASSERT_TRUE(Park(Due()[0]).ok());  // held
  ASSERT_TRUE(webhooks()
                  .Update(
                      "acme", webhook,
                      [](domain::WebhookRecord& record) {
                        record.set_enabled(true);
                        return absl::OkStatus();
                      },
                      UpdateWebhookOptions{/*drop_held_deliveries=*/true})
                  .ok());
  ASSERT_EQ(Delivery(webhook, cancelled).state(), kCancelled);
  const std::string delivered = MustPublish("acme");
  ASSERT_TRUE(Record(AttemptOf(webhook, delivered, domain::AttemptOutcome::kDelivered, 200)).ok());

  auto of_cancelled = deliveries().RetryNow("acme", webhook, cancelled);
  EXPECT_EQ(of_cancelled.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(of_cancelled.status().message()), HasSubstr("cancelled"));

  auto of_foreign = deliveries().RetryNow("other", webhook, delivered);
  EXPECT_EQ(of_foreign.status().code(), absl::StatusCode::kNotFound);
  auto of_unknown = deliveries().RetryNow("acme", webhook, "evt_00000000000000000000000000");
  EXPECT_EQ(of_unknown.status().code(), absl::StatusCode::kNotFound);

  Pause("acme", webhook);
  auto of_paused = deliveries().RetryNow("acme", webhook, delivered);
  EXPECT_EQ(of_paused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(of_paused.status().message()), HasSubstr("paused"));

  ASSERT_TRUE(webhooks().Delete("acme", webhook).ok());
  auto of_deleted = deliveries().RetryNow("acme", webhook, delivered);
  EXPECT_EQ(of_deleted.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(of_deleted.status().message()), HasSubstr("deleted"));

  EXPECT_EQ(Delivery(webhook, delivered).state(), kSucceeded) << "nothing changed";
  EXPECT_THAT(Due(), IsEmpty());
}

// Webhook changes and their cascades -----------------------------------------

// The queues follow the states: after every kind of change, the due queue
// holds exactly the PENDING and RETRY_SCHEDULED deliveries at their next
// attempt time, and the held entries are exactly the HELD ones.
TEST_P(StorageConformance, DueAndHeldEntriesFollowTheDeliveryStates) {
  const std::string first = CreateWebhook("acme");
  const std::string second = CreateWebhook("acme");
  auto expect_queues_match_states = [&](const std::string& step) {
    SCOPED_TRACE(step);
    std::vector<std::string> expected_due;
    int held = 0;
    for (const std::string& webhook : {first, second}) {
      auto page = deliveries().ListDeliveriesOfWebhook("acme", webhook, "", 0, 100);
      ASSERT_TRUE(page.ok()) << page.status();
      for (const domain::DeliveryRecord& delivery : page->deliveries) {
        if (domain::IsDue(delivery.state())) {
          expected_due.push_back(absl::StrCat(delivery.next_attempt_time_us(), " ",
                                              delivery.webhook_id(), " ", delivery.event_id()));
        } else {
          EXPECT_EQ(delivery.next_attempt_time_us(), 0) << delivery.ShortDebugString();
        }
        if (delivery.state() == kHeld) ++held;
      }
    }
    std::vector<std::string> due;
    for (const DueDelivery& entry : Due()) {
      due.push_back(absl::StrCat(entry.due_time_us, " ", entry.webhook_id, " ", entry.event_id));
    }
    EXPECT_THAT(due, UnorderedElementsAreArray(expected_due));
    EXPECT_EQ(CountStoredOffline().held_entries, held);
  };

  const std::string e1 = MustPublish("acme");
  const std::string e2 = MustPublish("acme");
  expect_queues_match_states("published");
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(Record(AttemptOf(first, e1, domain::AttemptOutcome::kRetryLater, 503)).ok());
  ASSERT_TRUE(Record(AttemptOf(second, e1, domain::AttemptOutcome::kDelivered, 200)).ok());
  expect_queues_match_states("attempted");
  Pause("acme", first);
  for (const DueDelivery& entry : Due()) {
    if (entry.webhook_id == first) ASSERT_TRUE(Park(entry).ok());
  }
  const std::string e3 = MustPublish("acme");
  expect_queues_match_states("paused and parked");
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(deliveries().RetryNow("acme", second, e1).ok());
  expect_queues_match_states("retried");
  Resume("acme", first);
  expect_queues_match_states("resumed");
  ASSERT_TRUE(webhooks().Delete("acme", second).ok());
  expect_queues_match_states("deleted");
  EXPECT_EQ(Delivery(second, e2).state(), kCancelled);
  EXPECT_EQ(Delivery(first, e3).state(), kPending);
}

// What an ordered webhook sends next (DueQueue::FirstOfWebhook): its oldest
// unfinished delivery by event id, whatever the due times.
TEST_P(StorageConformance, FirstOfWebhookIsItsOldestUnfinishedDeliveryWhateverTheDueTimes) {
  const std::string webhook = CreateWebhook("acme");
  const std::string other = CreateWebhook("acme");
  auto first_of = [&](const std::string& webhook_id) -> std::string {
    auto first = due_queue().FirstOfWebhook(webhook_id);
    EXPECT_TRUE(first.ok()) << first.status();
    if (!first.ok() || !first->has_value()) return "none";
    EXPECT_EQ((*first)->webhook_id, webhook_id);
    EXPECT_EQ((*first)->due_time_us,
              Delivery(webhook_id, (*first)->event_id).next_attempt_time_us());
    return (*first)->event_id;
  };
  EXPECT_EQ(first_of(webhook), "none");
  const std::string e1 = MustPublish("acme");
  const std::string e2 = MustPublish("acme");
  const std::string e3 = MustPublish("acme");
  ASSERT_LT(e1, e2);
  ASSERT_LT(e2, e3);
  EXPECT_EQ(first_of(webhook), e1);

  // e1 retries in an hour: still first, though e2 and e3 are due before it.
  clock_.Advance(absl::Seconds(1));
  RecordAttemptRequest retry = AttemptOf(webhook, e1, domain::AttemptOutcome::kRetryLater, 503);
  retry.rules = Rules({absl::ZeroDuration(), absl::Hours(1)});
  ASSERT_TRUE(Record(std::move(retry)).ok());
  EXPECT_EQ(Delivery(webhook, e1).next_attempt_time_us(),
            NowUs() + absl::ToInt64Microseconds(absl::Hours(1)));
  EXPECT_EQ(first_of(webhook), e1);

  ASSERT_TRUE(Record(AttemptOf(webhook, e1, domain::AttemptOutcome::kDelivered, 200)).ok());
  EXPECT_EQ(first_of(webhook), e2);
  // Another webhook's deliveries are its own.
  ASSERT_TRUE(Record(AttemptOf(other, e1, domain::AttemptOutcome::kDelivered, 200)).ok());
  EXPECT_EQ(first_of(other), e2);

  // Failed for good: the next goes.
  RecordAttemptRequest fail = AttemptOf(webhook, e2, domain::AttemptOutcome::kRetryLater, 503);
  fail.rules = Rules({absl::ZeroDuration()});
  ASSERT_TRUE(Record(std::move(fail)).ok());
  ASSERT_EQ(Delivery(webhook, e2).state(), kFailed);
  EXPECT_EQ(first_of(webhook), e3);

  // A manual retry of an older delivery puts it first again.
  ASSERT_TRUE(deliveries().RetryNow("acme", webhook, e2).ok());
  EXPECT_EQ(first_of(webhook), e2);

  // Held deliveries are not due; released ones are again, in order.
  Pause("acme", webhook);
  for (const DueDelivery& entry : Due()) {
    if (entry.webhook_id == webhook) ASSERT_TRUE(Park(entry).ok());
  }
  EXPECT_EQ(first_of(webhook), "none");
  Resume("acme", webhook);
  EXPECT_EQ(first_of(webhook), e2);

  Reopen();
  EXPECT_EQ(first_of(webhook), e2);
  ASSERT_TRUE(webhooks().Delete("acme", webhook).ok());
  EXPECT_EQ(first_of(webhook), "none");
  EXPECT_EQ(first_of(other), e2);
}

}  // namespace
}  // namespace wink::webhooks::storage::testing
