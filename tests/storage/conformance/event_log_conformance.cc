// Conformance: publishing and events (service/storage/event_log.h): fan-out
// to the matching webhooks as they are at the publish, idempotency keys, and
// the event reads.
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

using ::testing::Pair;

TEST_P(StorageConformance, PublishFansOutToTheMatchingWebhooksOfTheAccountOnly) {
  const std::string all_types = CreateWebhook("acme");
  const std::string bookings = CreateWebhook("acme", {"booking.cancelled", "booking.created"});
  const std::string invoices = CreateWebhook("acme", {"invoice.paid"});
  const std::string paused = CreateWebhook("acme");
  Pause("acme", paused);
  const std::string foreign = CreateWebhook("acmex");
  clock_.Advance(absl::Seconds(3));
  const int64_t publish_us = NowUs();

  auto result = Publish("acme", "booking.created");

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->replayed);
  EXPECT_TRUE(IsValidId(result->event.id(), kEventIdPrefix));
  EXPECT_EQ(result->event.account(), "acme");
  EXPECT_EQ(result->event.type(), "booking.created");
  EXPECT_EQ(result->event.create_time_us(), publish_us);
  EXPECT_EQ(result->event.data_json(), R"({"booking":"b-1"})");
  EXPECT_THAT(WebhookIds(result->deliveries), UnorderedElementsAre(all_types, bookings, paused));
  for (const domain::DeliveryRecord& delivery : result->deliveries) {
    SCOPED_TRACE(delivery.webhook_id());
    const domain::DeliveryRecord stored = Delivery(delivery.webhook_id(), result->event.id());
    EXPECT_EQ(stored.SerializeAsString(), delivery.SerializeAsString());
    EXPECT_EQ(stored.account(), "acme");
    EXPECT_EQ(stored.event_type(), "booking.created");
    EXPECT_EQ(stored.attempt_count(), 0);
    EXPECT_EQ(stored.create_time_us(), publish_us);
    if (delivery.webhook_id() == paused) {
      EXPECT_EQ(stored.state(), kHeld);
      EXPECT_EQ(stored.next_attempt_time_us(), 0);
    } else {
      EXPECT_EQ(stored.state(), kPending);
      EXPECT_EQ(stored.next_attempt_time_us(), publish_us);
    }
  }
  // One due entry per enabled match, due at publish time (so not before it).
  EXPECT_THAT(Due(clock_.Now()), IsEmpty());
  const std::vector<DueDelivery> due = Due(clock_.Now() + absl::Microseconds(1));
  ASSERT_EQ(due.size(), 2u);
  std::vector<std::string> due_webhooks;
  for (const DueDelivery& entry : due) {
    EXPECT_EQ(entry.due_time_us, publish_us);
    EXPECT_EQ(entry.event_id, result->event.id());
    due_webhooks.push_back(entry.webhook_id);
  }
  EXPECT_THAT(due_webhooks, UnorderedElementsAre(all_types, bookings));
  EXPECT_EQ(DeliveryStatus(invoices, result->event.id()), absl::StatusCode::kNotFound);
  EXPECT_EQ(DeliveryStatus(foreign, result->event.id()), absl::StatusCode::kNotFound);
  auto by_event = deliveries().ListDeliveriesOfEvent("acme", result->event.id(), "", 0, 10);
  ASSERT_TRUE(by_event.ok()) << by_event.status();
  EXPECT_THAT(WebhookIds(by_event->deliveries), UnorderedElementsAre(all_types, bookings, paused));
}

TEST_P(StorageConformance, PublishWithoutMatchingWebhooksStoresTheEventOnly) {
  CreateWebhook("acme", {"invoice.paid"});

  auto result = Publish("acme", "booking.created");

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->deliveries, IsEmpty());
  EXPECT_EQ(result->event.watch_cursor(), 1u);
  EXPECT_TRUE(events().GetEvent("acme", result->event.id()).ok());
  EXPECT_THAT(Due(), IsEmpty());
  EXPECT_EQ(listener_.size(), 0u);
  EXPECT_EQ((update_log().LastSequence() + 1), 2u);
}

// The RocksDB backend keeps each account's webhooks between publishes; every
// kind of webhook change must still reach the next publish.
TEST_P(StorageConformance, EachPublishFansOutToTheWebhooksAsTheyAreAtThatPublish) {
  // The state of the delivery of `result`'s event to each webhook it went to.
  auto fan_out = [](const absl::StatusOr<PublishResult>& result) {
    std::vector<std::pair<std::string, int>> to;
    if (!result.ok()) {
      ADD_FAILURE() << result.status();
      return to;
    }
    for (const domain::DeliveryRecord& delivery : result->deliveries) {
      to.emplace_back(delivery.webhook_id(), delivery.state());
    }
    return to;
  };
  const std::string first = CreateWebhook("acme");
  EXPECT_THAT(fan_out(Publish("acme", "booking.created")), ElementsAre(Pair(first, kPending)));
  EXPECT_THAT(fan_out(Publish("acmex", "booking.created")), IsEmpty());

  const std::string second = CreateWebhook("acme", {"booking.created"});
  EXPECT_THAT(fan_out(Publish("acme", "booking.created")),
              UnorderedElementsAre(Pair(first, kPending), Pair(second, kPending)));

  Pause("acme", first);
  EXPECT_THAT(fan_out(Publish("acme", "booking.created")),
              UnorderedElementsAre(Pair(first, kHeld), Pair(second, kPending)));

  ASSERT_TRUE(webhooks()
                  .Update("acme", second,
                          [](domain::WebhookRecord& webhook) {
                            webhook.clear_event_types();
                            webhook.add_event_types("invoice.paid");
                            return absl::OkStatus();
                          })
                  .ok());
  EXPECT_THAT(fan_out(Publish("acme", "booking.created")), ElementsAre(Pair(first, kHeld)));

  // Another account's webhook changes nothing here, and its first publish
  // sees it.
  const std::string foreign = CreateWebhook("acmex");
  EXPECT_THAT(fan_out(Publish("acme", "booking.created")), ElementsAre(Pair(first, kHeld)));
  EXPECT_THAT(fan_out(Publish("acmex", "booking.created")), ElementsAre(Pair(foreign, kPending)));

  ASSERT_TRUE(webhooks().Delete("acme", first).ok());
  EXPECT_THAT(fan_out(Publish("acme", "booking.created")), IsEmpty());
  EXPECT_THAT(fan_out(Publish("acme", "invoice.paid")), ElementsAre(Pair(second, kPending)));
}

TEST_P(StorageConformance, APublishToOneWebhookGoesToItAloneWhateverItsEventTypes) {
  const std::string all_types = CreateWebhook("acme");
  const std::string invoices = CreateWebhook("acme", {"invoice.paid"});
  const std::string foreign = CreateWebhook("beta");
  PublishRequest request = Request("acme", "webhook.test");
  request.only_webhook_id = invoices;

  auto result = PublishBatch({request});

  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 1u);
  const PublishResult& published = result->front();
  EXPECT_EQ(published.event.type(), "webhook.test");
  EXPECT_THAT(WebhookIds(published.deliveries), ElementsAre(invoices));
  EXPECT_EQ(Delivery(invoices, published.event.id()).state(), kPending);
  EXPECT_EQ(DeliveryStatus(all_types, published.event.id()), absl::StatusCode::kNotFound);
  const std::vector<DueDelivery> due = Due(clock_.Now() + absl::Microseconds(1));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].webhook_id, invoices);

  // Another account's webhook, or one that does not exist: NOT_FOUND, and
  // nothing is stored.
  for (const std::string& other : {foreign, std::string("wh_missing")}) {
    SCOPED_TRACE(other);
    request.only_webhook_id = other;
    auto refused = PublishBatch({request});
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kNotFound);
    EXPECT_THAT(std::string(refused.status().message()), HasSubstr(other));
  }
  auto listed = events().ListEvents("acme", "", "", 10);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->events.size(), 1u);
}

TEST_P(StorageConformance, PublishReportsOneUpdatePerDeliveryInSequenceOrder) {
  CreateWebhook("acme");
  CreateWebhook("acme");
  const std::string paused = CreateWebhook("acme");
  Pause("acme", paused);

  auto first = Publish("acme", "booking.created");
  auto second = Publish("acme", "booking.created");

  ASSERT_TRUE(first.ok() && second.ok());
  const std::vector<DeliveryUpdate> updates = listener_.updates();
  EXPECT_THAT(Sequences(updates), ElementsAre(2u, 3u, 4u, 5u, 6u, 7u));
  EXPECT_EQ(first->event.watch_cursor(), 1u);
  EXPECT_EQ(second->event.watch_cursor(), 4u);
  ASSERT_EQ(updates.size(), 6u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(updates[i].delivery.event_id(), first->event.id());
    EXPECT_FALSE(updates[i].delivery.has_last_attempt()) << "not attempted yet";
    EXPECT_EQ(updates[i].delivery.SerializeAsString(),
              Delivery(updates[i].delivery.webhook_id(), first->event.id()).SerializeAsString());
    EXPECT_EQ(updates[i + 3].delivery.event_id(), second->event.id());
  }
  EXPECT_EQ((update_log().LastSequence() + 1), 8u);
  // The stored event carries the cursor too (GetEvent is what a later caller
  // sees).
  EXPECT_EQ(events().GetEvent("acme", second->event.id())->watch_cursor(), 4u);
}

// Idempotency ----------------------------------------------------------------

TEST_P(StorageConformance, ReplayWithTheSameKeyAndRequestReturnsTheFirstEvent) {
  const std::string webhook = CreateWebhook("acme");
  auto first = Publish("acme", "booking.created", "key-1", "fp-1");
  ASSERT_TRUE(first.ok()) << first.status();
  const size_t updates_before = listener_.size();
  ASSERT_TRUE(
      Record(AttemptOf(webhook, first->event.id(), domain::AttemptOutcome::kDelivered, 200)).ok());

  auto replay = Publish("acme", "booking.created", "key-1", "fp-1");

  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->event.id(), first->event.id());
  EXPECT_EQ(replay->event.watch_cursor(), first->event.watch_cursor());
  // The deliveries as they are now.
  ASSERT_EQ(replay->deliveries.size(), 1u);
  EXPECT_EQ(replay->deliveries[0].webhook_id(), webhook);
  EXPECT_EQ(replay->deliveries[0].state(), kSucceeded);
  EXPECT_EQ(listener_.size(), updates_before + 1) << "only the attempt's update";
  EXPECT_THAT(EventIds(events().ListEvents("acme", "", "", 10)->events),
              ElementsAre(first->event.id()));
  EXPECT_EQ(deliveries().ListDeliveriesOfWebhook("acme", webhook, "", 0, 10)->deliveries.size(),
            1u);
}

TEST_P(StorageConformance, SameKeyWithAnotherRequestIsInvalidArgumentAndPublishesNothing) {
  CreateWebhook("acme");
  auto first = Publish("acme", "booking.created", "key-1", "fp-1");
  ASSERT_TRUE(first.ok()) << first.status();
  const uint64_t next_sequence = (update_log().LastSequence() + 1);

  auto other = Publish("acme", "booking.created", "key-1", "fp-2");

  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(other.status().message()), StartsWith("idempotency_key:"));
  EXPECT_THAT(EventIds(events().ListEvents("acme", "", "", 10)->events),
              ElementsAre(first->event.id()));
  EXPECT_EQ((update_log().LastSequence() + 1), next_sequence);
  EXPECT_EQ(listener_.size(), 1u);

  // Keys are per account.
  auto elsewhere = Publish("other", "booking.created", "key-1", "fp-2");
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status();
  EXPECT_FALSE(elsewhere->replayed);
  EXPECT_NE(elsewhere->event.id(), first->event.id());
}

TEST_P(StorageConformance, AKeyIsRememberedForItsRetentionThenPublishesAnew) {
  CreateWebhook("acme");
  auto first = Publish("acme", "booking.created", "key-1", "fp-1", absl::Hours(1));
  ASSERT_TRUE(first.ok()) << first.status();

  clock_.Advance(absl::Hours(1) - absl::Microseconds(1));
  auto still_remembered = Publish("acme", "booking.created", "key-1", "fp-1", absl::Hours(1));
  ASSERT_TRUE(still_remembered.ok()) << still_remembered.status();
  EXPECT_TRUE(still_remembered->replayed);
  EXPECT_EQ(still_remembered->event.id(), first->event.id());

  clock_.Advance(absl::Microseconds(1));
  auto anew = Publish("acme", "booking.created", "key-1", "fp-2", absl::Hours(1));
  ASSERT_TRUE(anew.ok()) << anew.status();
  EXPECT_FALSE(anew->replayed);
  EXPECT_NE(anew->event.id(), first->event.id());
  EXPECT_EQ(anew->deliveries.size(), 1u);

  // The key now stands for the new event.
  auto replay = Publish("acme", "booking.created", "key-1", "fp-2", absl::Hours(1));
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->event.id(), anew->event.id());
}

// Reads ----------------------------------------------------------------------

TEST_P(StorageConformance, ListEventsIsNewestFirstAndPagesWithContinueFrom) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    MustPublish("acm");
    ids.push_back(MustPublish("acme"));
    MustPublish("acmex");
    clock_.Advance(absl::Milliseconds(1));
  }

  auto first = events().ListEvents("acme", "", "", 2);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(EventIds(first->events), ElementsAre(ids[4], ids[3]));
  EXPECT_EQ(first->continue_from, ids[3]);

  auto second = events().ListEvents("acme", first->continue_from, "", 2);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(EventIds(second->events), ElementsAre(ids[2], ids[1]));
  EXPECT_EQ(second->continue_from, ids[1]);

  auto last = events().ListEvents("acme", second->continue_from, "", 2);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_THAT(EventIds(last->events), ElementsAre(ids[0]));
  EXPECT_EQ(last->continue_from, "");

  auto everything = events().ListEvents("acme", "", "", 5);
  ASSERT_TRUE(everything.ok()) << everything.status();
  EXPECT_THAT(EventIds(everything->events), ElementsAre(ids[4], ids[3], ids[2], ids[1], ids[0]));
  EXPECT_EQ(everything->continue_from, "") << "nothing older is left";
}

// Big events: a page stops at kMaxPageBytes instead of reading a thousand
// of them into memory (one ListEvents call took RSS from 94 to 454 MB).
TEST_P(StorageConformance, ListEventsStopsReadingAtItsByteBudget) {
  constexpr int kEvents = 12;
  const std::string blob(200 * 1024, 'x');
  std::vector<PublishRequest> requests;
  for (int i = 0; i < kEvents; ++i) {
    PublishRequest request = Request("acme", "booking.created");
    request.data_json = absl::StrCat(R"({"n":)", i, R"(,"blob":")", blob, R"("})");
    requests.push_back(std::move(request));
  }
  auto published = PublishBatch(std::move(requests));
  ASSERT_TRUE(published.ok()) << published.status();
  std::vector<std::string> newest_first;
  for (auto it = published->rbegin(); it != published->rend(); ++it) {
    newest_first.push_back(it->event.id());
  }

  std::vector<std::string> listed;
  std::string before;
  int pages = 0;
  do {
    auto page = events().ListEvents("acme", before, "", 1000);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_FALSE(page->events.empty());
    size_t bytes = 0;
    for (const auto& event : page->events) bytes += event.data_json().size();
    EXPECT_LE(bytes, kMaxPageBytes) << "page " << pages;
    for (const auto& id : EventIds(page->events)) listed.push_back(id);
    before = page->continue_from;
    ++pages;
  } while (!before.empty() && pages < kEvents + 1);
  EXPECT_THAT(listed, ElementsAreArray(newest_first));
  EXPECT_GE(pages, 3);  // 12 x 200 KiB in pages of at most 1 MiB
}

// A webhook can carry up to 100 KiB of headers; a page of them is bounded
// the same way.
TEST_P(StorageConformance, ListWebhooksStopsReadingAtItsByteBudget) {
  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i) {
    domain::WebhookRecord webhook = NewWebhook("acme");
    for (int h = 0; h < 60; ++h) {
      (*webhook.mutable_headers())[absl::StrCat("x-header-", h)] = std::string(1000, 'v');
    }
    auto created = webhooks().Create(webhook, Options());
    ASSERT_TRUE(created.ok()) << created.status();
    ids.push_back(created->webhook.id());
  }
  std::vector<std::string> listed;
  std::string after;
  int pages = 0;
  bool more = true;
  while (more && pages < 31) {
    auto page = webhooks().List("acme", after, 1000);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_FALSE(page->webhooks.empty());
    size_t bytes = 0;
    for (const auto& webhook : page->webhooks) bytes += webhook.ByteSizeLong();
    EXPECT_LE(bytes, kMaxPageBytes) << "page " << pages;
    for (const auto& webhook : page->webhooks) listed.push_back(webhook.id());
    after = page->webhooks.back().id();
    more = page->has_more;
    ++pages;
  }
  EXPECT_THAT(listed, ElementsAreArray(ids));
  EXPECT_GE(pages, 2);  // 30 x ~61 KB
}

TEST_P(StorageConformance, ListEventsFiltersByEventType) {
  std::vector<std::string> invoices;
  for (int i = 0; i < 3; ++i) {
    MustPublish("acme", "booking.created");
    invoices.push_back(MustPublish("acme", "invoice.paid"));
  }
  MustPublish("acme", "booking.created");

  auto page = events().ListEvents("acme", "", "invoice.paid", 10);

  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(EventIds(page->events), ElementsAre(invoices[2], invoices[1], invoices[0]));
  EXPECT_EQ(page->continue_from, "");
  for (const domain::EventRecord& event : page->events) EXPECT_EQ(event.type(), "invoice.paid");

  auto first_only = events().ListEvents("acme", "", "invoice.paid", 1);
  ASSERT_TRUE(first_only.ok()) << first_only.status();
  EXPECT_THAT(EventIds(first_only->events), ElementsAre(invoices[2]));
  auto next = events().ListEvents("acme", first_only->continue_from, "invoice.paid", 1);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_THAT(EventIds(next->events), ElementsAre(invoices[1]));
}

TEST_P(StorageConformance, GetEventReturnsTheAccountsEventAndNotFoundForOtherAccounts) {
  const std::string id = MustPublish("acme");

  auto got = events().GetEvent("acme", id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id(), id);
  EXPECT_EQ(got->data_json(), R"({"booking":"b-1"})");
  EXPECT_EQ(got->version(), kEventRecordVersion);

  auto foreign = events().GetEvent("other", id);
  EXPECT_EQ(foreign.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(foreign.status().message()), HasSubstr(id));
  EXPECT_EQ(events().GetEvent("acm", id).status().code(), absl::StatusCode::kNotFound);
}

// Batch publish ---------------------------------------------------------------

TEST_P(StorageConformance, ABatchFansOutEveryEventInRequestOrder) {
  const std::string all = CreateWebhook("acme");
  const std::string invoices = CreateWebhook("acme", {"invoice.paid"});
  const uint64_t last_before = update_log().LastSequence();

  auto results = PublishBatch({Request("acme", "booking.created"), Request("acme", "invoice.paid"),
                               Request("acme", "booking.cancelled")});

  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 3u);
  EXPECT_THAT(WebhookIds((*results)[0].deliveries), ElementsAre(all));
  EXPECT_THAT(WebhookIds((*results)[1].deliveries), UnorderedElementsAre(all, invoices));
  EXPECT_THAT(WebhookIds((*results)[2].deliveries), ElementsAre(all));
  EXPECT_LT((*results)[0].event.id(), (*results)[1].event.id());
  EXPECT_LT((*results)[1].event.id(), (*results)[2].event.id());
  // Each event's updates follow its cursor, in request order, without gaps.
  EXPECT_EQ((*results)[0].event.watch_cursor(), last_before);
  EXPECT_EQ((*results)[1].event.watch_cursor(), last_before + 1);
  EXPECT_EQ((*results)[2].event.watch_cursor(), last_before + 3);
  EXPECT_EQ(update_log().LastSequence(), last_before + 4);
  EXPECT_THAT(DueEvents(),
              UnorderedElementsAre((*results)[0].event.id(), (*results)[1].event.id(),
                                   (*results)[1].event.id(), (*results)[2].event.id()));
}

// Each request of a batch looks up its own idempotency key: one used before
// replays its event among requests published anew, with and without keys.
TEST_P(StorageConformance, ABatchReplaysTheEventsOfKeysUsedBeforeAndPublishesTheRest) {
  const std::string webhook = CreateWebhook("acme");
  auto earlier = Publish("acme", "booking.created", "key-1", "fp-1");
  ASSERT_TRUE(earlier.ok()) << earlier.status();

  auto results = PublishBatch({Request("acme", "booking.updated", "key-2", "fp-2"),
                               Request("acme", "booking.created", "key-1", "fp-1"),
                               Request("acme", "booking.cancelled")});

  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 3u);
  EXPECT_FALSE((*results)[0].replayed);
  EXPECT_TRUE((*results)[1].replayed);
  EXPECT_EQ((*results)[1].event.id(), earlier->event.id());
  EXPECT_THAT(WebhookIds((*results)[1].deliveries), ElementsAre(webhook));
  EXPECT_FALSE((*results)[2].replayed);
  EXPECT_THAT(EventIds(events().ListEvents("acme", "", "", 10)->events),
              ElementsAre((*results)[2].event.id(), (*results)[0].event.id(),
                          earlier->event.id()));
  // The new key is remembered as any other.
  auto again = Publish("acme", "booking.updated", "key-2", "fp-2");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->event.id(), (*results)[0].event.id());
}

// A batch is atomic: when one event fails, none is stored, no delivery is
// due and no update is told or logged.
TEST_P(StorageConformance, ABatchWithOneBadEventStoresNothing) {
  CreateWebhook("acme");
  auto earlier = Publish("acme", "booking.created", "key-1", "fp-1");
  ASSERT_TRUE(earlier.ok()) << earlier.status();
  const uint64_t last_before = update_log().LastSequence();
  const size_t told_before = listener_.size();
  const std::vector<std::string> due_before = DueEvents();

  auto results = PublishBatch({Request("acme", "booking.created"),
                               Request("acme", "booking.updated", "key-2", "fp-2"),
                               Request("acme", "booking.created", "key-1", "another request")});

  EXPECT_EQ(results.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(results.status().message()), StartsWith("requests[2].idempotency_key:"));
  EXPECT_THAT(EventIds(events().ListEvents("acme", "", "", 10)->events),
              ElementsAre(earlier->event.id()));
  EXPECT_EQ(update_log().LastSequence(), last_before);
  EXPECT_EQ(listener_.size(), told_before);
  EXPECT_EQ(DueEvents(), due_before);
  // Its keys were not remembered: key-2 publishes anew.
  auto again = Publish("acme", "booking.updated", "key-2", "fp-3");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->replayed);
}

}  // namespace
}  // namespace wink::webhooks::storage::testing
