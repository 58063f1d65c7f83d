// The engine's in-memory scheduling rules, driven directly: round-robin,
// global and per-webhook limits, the unresponsive-receiver rule, memory
// bounds with fair-share eviction, and cancellation.
#include "service/delivery/dispatch_queue.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wink::webhooks::delivery {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

storage::DueDelivery Due(const std::string& webhook, int n) {
  return storage::DueDelivery{1000 + n, webhook, absl::StrCat("evt_", webhook, "_", n)};
}

// "webhook/n" of each delivery NextToSend gives, until it gives none.
std::vector<std::string> DrainSendable(DispatchQueue& queue) {
  std::vector<std::string> sent;
  while (std::optional<storage::DueDelivery> due = queue.NextToSend()) {
    sent.push_back(absl::StrCat(due->webhook_id, "/", due->due_time_us - 1000));
  }
  return sent;
}

TEST(DispatchQueueTest, WebhooksTakeTurnsOneDeliveryEach) {
  DispatchQueue queue(DispatchLimits{256, 16, 1000});
  for (int n = 1; n <= 3; ++n) ASSERT_EQ(queue.Add(Due("a", n)), DispatchQueue::Offer::kQueued);
  for (int n = 1; n <= 2; ++n) ASSERT_EQ(queue.Add(Due("b", n)), DispatchQueue::Offer::kQueued);
  ASSERT_EQ(queue.Add(Due("c", 1)), DispatchQueue::Offer::kQueued);

  EXPECT_THAT(DrainSendable(queue), ElementsAre("a/1", "b/1", "c/1", "a/2", "b/2", "a/3"));
  EXPECT_EQ(queue.in_flight(), 6);
  EXPECT_EQ(queue.waiting(), 0);
}

TEST(DispatchQueueTest, NothingGoesBeyondTheGlobalLimitUntilASlotIsFree) {
  DispatchQueue queue(DispatchLimits{2, 16, 1000});
  for (int n = 1; n <= 3; ++n) queue.Add(Due("a", n));
  queue.Add(Due("b", 1));

  EXPECT_THAT(DrainSendable(queue), ElementsAre("a/1", "b/1"));
  queue.ExchangeEnded(Due("a", 1), /*receiver_answered=*/true);
  queue.Forget(Due("a", 1));
  EXPECT_THAT(DrainSendable(queue), ElementsAre("a/2"));
  EXPECT_EQ(queue.in_flight(), 2);
}

// One account's webhooks share max_in_flight_per_account: slow receivers of
// one tenant cannot take every overall slot. When one of its slots frees,
// its waiting webhooks get their turn back.
TEST(DispatchQueueTest, AnAccountsWebhooksShareItsSlotsAndOtherAccountsStillGo) {
  DispatchQueue queue(DispatchLimits{256, 4, 1000, /*max_in_flight_per_account=*/6});
  for (const std::string webhook : {"a1", "a2", "a3"}) {
    for (int n = 1; n <= 4; ++n) queue.Add(Due(webhook, n), "acme");
  }
  EXPECT_THAT(DrainSendable(queue), ElementsAre("a1/1", "a2/1", "a3/1", "a1/2", "a2/2", "a3/2"));
  EXPECT_EQ(queue.InFlightOf("acme"), 6);

  queue.Add(Due("b1", 1), "beta");
  EXPECT_THAT(DrainSendable(queue), ElementsAre("b1/1"));
  EXPECT_EQ(queue.InFlightOf("beta"), 1);

  queue.ExchangeEnded(Due("a2", 1), /*receiver_answered=*/true);
  queue.Forget(Due("a2", 1));
  EXPECT_THAT(DrainSendable(queue), ElementsAre("a1/3"));
  EXPECT_EQ(queue.InFlightOf("acme"), 6);
  EXPECT_EQ(queue.in_flight(), 7);
}

// Deliveries found by a scan come without their account: they count in a
// group of their own until the engine learns it, then move to it.
TEST(DispatchQueueTest, SlotsTakenBeforeTheAccountIsKnownMoveToItWhenLearnt) {
  DispatchQueue queue(DispatchLimits{256, 4, 1000, /*max_in_flight_per_account=*/4});
  for (int n = 1; n <= 3; ++n) queue.Add(Due("w1", n));
  for (int n = 1; n <= 3; ++n) queue.Add(Due("w2", n));
  EXPECT_THAT(DrainSendable(queue), ElementsAre("w1/1", "w2/1", "w1/2", "w2/2"));
  EXPECT_EQ(queue.InFlightOf(""), 4);

  queue.LearnAccount("w1", "acme");
  EXPECT_EQ(queue.InFlightOf("acme"), 2);
  EXPECT_EQ(queue.InFlightOf(""), 2);
  // w1 now counts for acme (2 of 4), and the unknown group has room again.
  EXPECT_THAT(DrainSendable(queue), ElementsAre("w1/3", "w2/3"));
  // Remembered for the webhook's later deliveries.
  queue.Add(Due("w1", 4));
  queue.LearnAccount("w2", "acme");
  EXPECT_EQ(queue.InFlightOf("acme"), 6);  // w1: 3, w2: 3
  EXPECT_THAT(DrainSendable(queue), IsEmpty());    // acme is over its 4
}

// A result being recorded keeps its overall slot: when storage stalls,
// nothing more is sent, so a lost commit can only send again what was
// within the overall limit. The webhook's own slot is free at once.
TEST(DispatchQueueTest, AResultBeingRecordedHoldsItsOverallSlotUntilForgotten) {
  DispatchQueue queue(DispatchLimits{2, 1, 1000});
  for (int n = 1; n <= 3; ++n) queue.Add(Due("a", n));
  queue.Add(Due("b", 1));
  queue.Add(Due("c", 1));

  EXPECT_THAT(DrainSendable(queue), ElementsAre("a/1", "b/1"));
  queue.ExchangeEnded(Due("a", 1), /*receiver_answered=*/true);
  queue.ExchangeEnded(Due("b", 1), /*receiver_answered=*/true);
  EXPECT_EQ(queue.in_flight(), 0);
  EXPECT_THAT(DrainSendable(queue), ElementsAre()) << "both results are still being recorded";
  queue.Forget(Due("b", 1));
  EXPECT_THAT(DrainSendable(queue), ElementsAre("c/1"));
  queue.Forget(Due("a", 1));
  EXPECT_THAT(DrainSendable(queue), ElementsAre("a/2")) << "one per webhook (limit 1)";
}

TEST(DispatchQueueTest, AWebhookAtItsLimitWaitsWhileOthersGo) {
  DispatchQueue queue(DispatchLimits{256, 2, 1000});
  for (int n = 1; n <= 5; ++n) queue.Add(Due("slow", n));
  queue.Add(Due("fast", 1));

  EXPECT_THAT(DrainSendable(queue), ElementsAre("slow/1", "fast/1", "slow/2"));
  queue.Add(Due("fast", 2));
  EXPECT_THAT(DrainSendable(queue), ElementsAre("fast/2"));
  queue.ExchangeEnded(Due("slow", 1), true);
  EXPECT_THAT(DrainSendable(queue), ElementsAre("slow/3"));
}

// A receiver that times out or refuses connections gets one request at a
// time; each answer doubles its share back up to the limit.
TEST(DispatchQueueTest, AnUnresponsiveReceiverDropsToOneUntilItAnswers) {
  DispatchQueue queue(DispatchLimits{256, 8, 1000});
  for (int n = 1; n <= 20; ++n) queue.Add(Due("a", n));
  ASSERT_EQ(DrainSendable(queue).size(), 8u);

  for (int n = 1; n <= 8; ++n) queue.ExchangeEnded(Due("a", n), /*receiver_answered=*/false);
  EXPECT_EQ(queue.LimitOf("a"), 1);
  EXPECT_THAT(DrainSendable(queue), ElementsAre("a/9"));
  EXPECT_THAT(DrainSendable(queue), IsEmpty()) << "one at a time";

  queue.ExchangeEnded(Due("a", 9), /*receiver_answered=*/true);
  EXPECT_EQ(queue.LimitOf("a"), 2);
  EXPECT_THAT(DrainSendable(queue), ElementsAre("a/10", "a/11"));
  queue.ExchangeEnded(Due("a", 10), true);
  queue.ExchangeEnded(Due("a", 11), true);
  EXPECT_EQ(queue.LimitOf("a"), 8);
}

// Going idle does not give a dead endpoint its full share back.
TEST(DispatchQueueTest, AReducedLimitSurvivesAnEmptyQueue) {
  DispatchQueue queue(DispatchLimits{256, 8, 1000});
  queue.Add(Due("a", 1));
  DrainSendable(queue);
  queue.ExchangeEnded(Due("a", 1), /*receiver_answered=*/false);
  queue.Forget(Due("a", 1));

  queue.Add(Due("a", 2));
  queue.Add(Due("a", 3));

  EXPECT_EQ(queue.LimitOf("a"), 1);
  EXPECT_THAT(DrainSendable(queue), ElementsAre("a/2"));
}

TEST(DispatchQueueTest, ADeliveryInMemoryIsNotTakenTwice) {
  DispatchQueue queue(DispatchLimits{256, 16, 1000});
  ASSERT_EQ(queue.Add(Due("a", 1)), DispatchQueue::Offer::kQueued);
  EXPECT_TRUE(queue.Knows("a", "evt_a_1"));
  EXPECT_EQ(queue.Add(Due("a", 1)), DispatchQueue::Offer::kKnown);
  DrainSendable(queue);
  queue.ExchangeEnded(Due("a", 1), true);
  EXPECT_EQ(queue.Add(Due("a", 1)), DispatchQueue::Offer::kKnown) << "until its result is durable";

  queue.Forget(Due("a", 1));

  EXPECT_FALSE(queue.Knows("a", "evt_a_1"));
  EXPECT_EQ(queue.Add(Due("a", 1)), DispatchQueue::Offer::kQueued);
}

// What the engine may leave out when it sets its next scan: a due entry
// already in memory at that due time, or one of a webhook that asks for a
// refill anyway. Anything else needs a scan at its due time.
TEST(DispatchQueueTest, WillBeTakenOnlyWhatIsInMemoryAtThatTimeOrLeftToARefill) {
  DispatchQueue queue(DispatchLimits{256, 16, 8});  // 2 waiting per webhook
  ASSERT_EQ(queue.Add(Due("a", 1)), DispatchQueue::Offer::kQueued);
  EXPECT_TRUE(queue.WillBeTaken(Due("a", 1)));
  storage::DueDelivery later = Due("a", 1);
  later.due_time_us += 1000;
  EXPECT_FALSE(queue.WillBeTaken(later)) << "due again at another time: its own scan";
  EXPECT_FALSE(queue.WillBeTaken(Due("a", 2))) << "not in memory";
  EXPECT_FALSE(queue.WillBeTaken(Due("b", 1))) << "a webhook without a queue";

  ASSERT_EQ(queue.Add(Due("a", 2)), DispatchQueue::Offer::kQueued);
  ASSERT_EQ(queue.Add(Due("a", 3)), DispatchQueue::Offer::kWebhookFull);
  EXPECT_TRUE(queue.WillBeTaken(Due("a", 3))) << "its webhook asks for a refill";
  EXPECT_TRUE(queue.WillBeTaken(Due("a", 4)));

  // Sending drains the queue to half: the refill is asked for now, and
  // until that scan runs nothing more is left to it.
  ASSERT_TRUE(queue.NextToSend().has_value());
  ASSERT_TRUE(queue.NextToSend().has_value());
  EXPECT_TRUE(queue.WantsRefill());
  EXPECT_FALSE(queue.WillBeTaken(Due("a", 3)));
  EXPECT_TRUE(queue.WillBeTaken(Due("a", 1))) << "on the wire, still in memory";
}

TEST(DispatchQueueTest, WhileMemoryIsFullWhatDidNotFitIsLeftToTheRefill) {
  DispatchQueue queue(DispatchLimits{256, 16, 8});
  for (int w = 0; w < 8; ++w) {
    ASSERT_EQ(queue.Add(Due(absl::StrCat("w", w), 1)), DispatchQueue::Offer::kQueued);
  }
  EXPECT_FALSE(queue.WillBeTaken(Due("late", 1)));

  ASSERT_EQ(queue.Add(Due("late", 1)), DispatchQueue::Offer::kMemoryFull);

  EXPECT_TRUE(queue.WillBeTaken(Due("late", 1)));
  EXPECT_TRUE(queue.WillBeTaken(Due("late", 2)));
  queue.ScanStarted();
  EXPECT_FALSE(queue.WillBeTaken(Due("late", 1))) << "a new scan decides again";
}

// A scan that runs after an attempt's result is durable but before the
// engine forgets the delivery sees it due again (say a Retry-After the clock
// has already reached) and must skip it; forgetting it then asks for another
// scan, or it would wait for the next periodic one (with a fake clock in
// tests: forever). Its own entry, seen again while in flight, asks nothing.
TEST(DispatchQueueTest, ADeliveryOfferedAsDueAgainWhileInMemoryAsksForAScanWhenForgotten) {
  DispatchQueue queue(DispatchLimits{256, 16, 1000});
  ASSERT_EQ(queue.Add(Due("a", 1)), DispatchQueue::Offer::kQueued);
  DrainSendable(queue);
  queue.ScanStarted();
  EXPECT_EQ(queue.Add(Due("a", 1)), DispatchQueue::Offer::kKnown);  // the same entry
  queue.ExchangeEnded(Due("a", 1), true);
  queue.Forget(Due("a", 1));
  EXPECT_FALSE(queue.WantsRefill());

  ASSERT_EQ(queue.Add(Due("b", 1)), DispatchQueue::Offer::kQueued);
  DrainSendable(queue);
  storage::DueDelivery retry = Due("b", 1);
  retry.due_time_us += 120'000'000;
  EXPECT_EQ(queue.Add(retry), DispatchQueue::Offer::kKnown);  // recorded, not yet forgotten
  queue.ExchangeEnded(Due("b", 1), true);
  queue.Forget(Due("b", 1));
  EXPECT_TRUE(queue.WantsRefill());
  EXPECT_EQ(queue.Add(retry), DispatchQueue::Offer::kQueued);
}

// One webhook may have a quarter of the memory waiting; the rest stays on
// disk and the queue asks for a refill once it has drained to half.
TEST(DispatchQueueTest, AFullWebhookQueueLeavesTheRestOnDiskAndAsksForARefill) {
  DispatchQueue queue(DispatchLimits{256, 1, /*max_queued=*/16});  // 4 per webhook
  for (int n = 1; n <= 4; ++n) ASSERT_EQ(queue.Add(Due("a", n)), DispatchQueue::Offer::kQueued);
  EXPECT_EQ(queue.Add(Due("a", 5)), DispatchQueue::Offer::kWebhookFull);
  EXPECT_FALSE(queue.WantsRefill());

  ASSERT_THAT(DrainSendable(queue), ElementsAre("a/1"));  // 3 left waiting
  EXPECT_FALSE(queue.WantsRefill());
  queue.ExchangeEnded(Due("a", 1), true);
  queue.Forget(Due("a", 1));
  ASSERT_THAT(DrainSendable(queue), ElementsAre("a/2"));  // 2 left: not below half
  EXPECT_FALSE(queue.WantsRefill());
  queue.ExchangeEnded(Due("a", 2), true);
  ASSERT_THAT(DrainSendable(queue), ElementsAre("a/3"));  // 1 left
  EXPECT_TRUE(queue.WantsRefill());

  queue.ScanStarted();
  EXPECT_FALSE(queue.WantsRefill());
}

// When memory is full, a webhook below its fair share takes the place of
// the newest waiting delivery of the longest queue, so a few big backlogs do
// not shut the others out.
TEST(DispatchQueueTest, AWebhookBelowItsFairShareEvictsFromTheLongestQueue) {
  DispatchQueue queue(DispatchLimits{256, 1, /*max_queued=*/8});  // 2 waiting per webhook
  queue.Add(Due("big", 1));
  queue.Add(Due("big", 2));
  queue.Add(Due("big2", 1));
  queue.Add(Due("big2", 2));
  queue.Add(Due("big3", 1));
  queue.Add(Due("big3", 2));
  queue.Add(Due("small", 1));
  queue.Add(Due("tiny", 1));
  ASSERT_EQ(queue.waiting(), 8);

  // New webhook: fair share 8/5 = 1, it has 0: one of the full queues of 2
  // gives up its newest.
  EXPECT_EQ(queue.Add(Due("new", 1)), DispatchQueue::Offer::kQueued);
  EXPECT_EQ(queue.waiting(), 8);
  int evicted = 0;
  for (const std::string& big : {"big", "big2", "big3"}) {
    EXPECT_TRUE(queue.Knows(big, absl::StrCat("evt_", big, "_1"))) << "the oldest stays";
    if (!queue.Knows(big, absl::StrCat("evt_", big, "_2"))) ++evicted;
  }
  EXPECT_EQ(evicted, 1);
  // At its fair share now: memory is full for it.
  EXPECT_EQ(queue.Add(Due("new", 2)), DispatchQueue::Offer::kMemoryFull);
  EXPECT_EQ(queue.waiting(), 8);
  EXPECT_FALSE(queue.WantsRefill());

  // Once half the memory is free, a refill is asked for.
  const std::vector<std::string> sent = DrainSendable(queue);
  ASSERT_EQ(sent.size(), 6u);  // one per webhook (limit 1)
  for (int i = 0; i < 4; ++i) {
    const std::string webhook = sent[i].substr(0, sent[i].find('/'));
    const storage::DueDelivery due = Due(webhook, std::stoi(sent[i].substr(sent[i].find('/') + 1)));
    queue.ExchangeEnded(due, true);
    queue.Forget(due);
  }
  EXPECT_TRUE(queue.WantsRefill());
}

// Eight webhooks whose backlogs were released one after the other: the
// first ones filled memory up to their cap, the later ones evicted them down
// to the fair share. A queue cut to its fair share is already below half its
// cap, so it used to ask for a refill at its first send, and the engine read
// 2 x max_queued entries of the due queue for every few POSTs (a backlog
// over eight webhooks drained at 186 POSTs/s against 5,715 over one). A
// refill is asked for once a queue drains to half its fair share, while
// every webhook still has deliveries waiting.
TEST(DispatchQueueTest, ABacklogOverManyWebhooksAsksForARefillOncePerManySends) {
  constexpr int kMaxQueued = 800;  // a quarter (200) per webhook; 100 each for eight
  constexpr int kWebhooks = 8;
  DispatchQueue queue(DispatchLimits{256, 4, kMaxQueued, 64});
  for (int w = 0; w < kWebhooks; ++w) {
    for (int n = 1; n <= 1000; ++n) queue.Add(Due(absl::StrCat("w", w), n));
  }
  ASSERT_EQ(queue.waiting(), kMaxQueued);
  queue.ScanStarted();

  int sends = 0;
  while (!queue.WantsRefill()) {
    std::optional<storage::DueDelivery> due = queue.NextToSend();
    ASSERT_TRUE(due.has_value()) << "drained without asking for a refill, after " << sends;
    ++sends;
    queue.ExchangeEnded(*due, true);
    queue.Forget(*due);
  }
  // Every webhook's queue drains at the same pace: the first falls below
  // half of its 100 after about 8 x 50 sends.
  EXPECT_GE(sends, kMaxQueued / 4);
  EXPECT_LE(sends, kMaxQueued * 3 / 4);
  for (int w = 0; w < kWebhooks; ++w) {
    EXPECT_TRUE(queue.Knows(absl::StrCat("w", w), absl::StrCat("evt_w", w, "_100")))
        << "w" << w << " still has deliveries waiting when the refill is asked for";
  }
}

// A rate limit with no token left: the delivery goes back to the head of
// its webhook's line, its slot goes to others, and the webhook sends nothing
// until the time it was given.
TEST(DispatchQueueTest, ADeferredWebhookWaitsUntilItsTimeWithItsDeliveryFirstInLine) {
  DispatchQueue queue(DispatchLimits{1, 16, 1000});
  queue.Add(Due("a", 1));
  queue.Add(Due("a", 2));
  queue.Add(Due("b", 1));
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  ASSERT_THAT(DrainSendable(queue), ElementsAre("a/1"));  // the one overall slot

  queue.Defer(Due("a", 1), now + absl::Seconds(1));

  EXPECT_EQ(queue.in_flight(), 0);
  EXPECT_TRUE(queue.Knows("a", "evt_a_1"));
  EXPECT_EQ(queue.NextDeferredRelease(), now + absl::Seconds(1));
  EXPECT_THAT(DrainSendable(queue), ElementsAre("b/1"));
  queue.ExchangeEnded(Due("b", 1), /*receiver_answered=*/true);
  queue.Forget(Due("b", 1));
  queue.ReleaseDeferred(now + absl::Milliseconds(999));
  EXPECT_THAT(DrainSendable(queue), IsEmpty());

  queue.ReleaseDeferred(now + absl::Seconds(1));
  EXPECT_EQ(queue.NextDeferredRelease(), std::nullopt);
  EXPECT_THAT(DrainSendable(queue), ElementsAre("a/1"));
  queue.ExchangeEnded(Due("a", 1), /*receiver_answered=*/true);
  queue.Forget(Due("a", 1));
  EXPECT_THAT(DrainSendable(queue), ElementsAre("a/2"));
}

// A rate-limit token pays for one request: a delivery deferred after it was
// charged keeps it until it is sent, and its next attempt needs another.
TEST(DispatchQueueTest, ARateLimitTokenStaysWithADeferredDeliveryUntilItsRequestIsSent) {
  DispatchQueue queue(DispatchLimits{256, 16, 1000});
  queue.Add(Due("a", 1));
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  ASSERT_THAT(DrainSendable(queue), ElementsAre("a/1"));
  EXPECT_FALSE(queue.RateCharged(Due("a", 1)));
  queue.MarkRateCharged(Due("a", 1));

  queue.Defer(Due("a", 1), now + absl::Seconds(1));
  EXPECT_TRUE(queue.RateCharged(Due("a", 1)));
  queue.ReleaseDeferred(now + absl::Seconds(1));
  ASSERT_THAT(DrainSendable(queue), ElementsAre("a/1"));
  EXPECT_TRUE(queue.RateCharged(Due("a", 1)));

  EXPECT_FALSE(queue.Sent(Due("a", 1), /*request_id=*/7));
  EXPECT_FALSE(queue.RateCharged(Due("a", 1)));
}

// Several taken at once and deferred one after the other keep their order.
TEST(DispatchQueueTest, DeliveriesDeferredTogetherKeepTheirOrder) {
  DispatchQueue queue(DispatchLimits{256, 16, 1000});
  for (int n = 1; n <= 4; ++n) queue.Add(Due("a", n));
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  ASSERT_THAT(DrainSendable(queue), ElementsAre("a/1", "a/2", "a/3", "a/4"));
  queue.Defer(Due("a", 2), now + absl::Seconds(1));
  queue.Defer(Due("a", 3), now + absl::Seconds(2));  // the webhook's time stays the first
  queue.Defer(Due("a", 4), now + absl::Seconds(2));

  EXPECT_EQ(queue.NextDeferredRelease(), now + absl::Seconds(1));
  queue.ReleaseDeferred(now + absl::Seconds(1));
  EXPECT_THAT(DrainSendable(queue), ElementsAre("a/2", "a/3", "a/4"));
}

TEST(DispatchQueueTest, ADeletedWebhooksRequestsOnTheWireAreHandedBackToAbort) {
  DispatchQueue queue(DispatchLimits{256, 16, 1000});
  queue.Add(Due("gone", 1));
  queue.Add(Due("gone", 2));
  queue.Add(Due("gone", 3));
  queue.Add(Due("kept", 1));
  DrainSendable(queue);  // gone/1, kept/1, gone/2, gone/3
  EXPECT_FALSE(queue.Sent(Due("gone", 1), 101));
  EXPECT_FALSE(queue.Sent(Due("gone", 2), 102));
  EXPECT_FALSE(queue.Sent(Due("kept", 1), 201));

  EXPECT_THAT(queue.CancelWebhook("gone"), UnorderedElementsAre(101u, 102u));

  EXPECT_TRUE(queue.CancelRequested(Due("gone", 3)));
  EXPECT_TRUE(queue.Sent(Due("gone", 3), 103)) << "built before the delete: abort at once";
  EXPECT_FALSE(queue.CancelRequested(Due("kept", 1)));
  EXPECT_THAT(queue.CancelWebhook("gon"), IsEmpty()) << "ids are not prefixes of each other";
}

TEST(DispatchQueueTest, ACancelledDeliveryOnTheWireIsHandedBack) {
  DispatchQueue queue(DispatchLimits{256, 16, 1000});
  queue.Add(Due("a", 1));
  queue.Add(Due("a", 2));
  DrainSendable(queue);
  queue.Sent(Due("a", 1), 7);

  EXPECT_EQ(queue.CancelDelivery("a", "evt_a_1"), std::optional<uint64_t>(7));
  EXPECT_EQ(queue.CancelDelivery("a", "evt_a_2"), std::nullopt) << "not sent yet";
  EXPECT_TRUE(queue.CancelRequested(Due("a", 2)));
  EXPECT_EQ(queue.CancelDelivery("b", "evt_b_1"), std::nullopt) << "unknown";
}

// A delivery parked instead of sent never had its exchange: forgetting it
// frees its slot.
TEST(DispatchQueueTest, ForgettingADeliveryStillHoldingItsSlotFreesIt) {
  DispatchQueue queue(DispatchLimits{1, 16, 1000});
  queue.Add(Due("a", 1));
  queue.Add(Due("b", 1));
  ASSERT_THAT(DrainSendable(queue), ElementsAre("a/1"));

  queue.Forget(Due("a", 1));

  EXPECT_EQ(queue.in_flight(), 0);
  EXPECT_THAT(DrainSendable(queue), ElementsAre("b/1"));
}

TEST(DispatchQueueTest, AnOrderedWebhookSendsInEventIdOrderOneAtATimeUntilRecorded) {
  DispatchQueue queue(DispatchLimits{256, 16, 1000});
  queue.SetOrdered("o", true);
  // A scan finds them by due time: a retry of the oldest comes last.
  for (int n : {2, 3, 1}) ASSERT_EQ(queue.Add(Due("o", n)), DispatchQueue::Offer::kQueued);
  for (int n = 1; n <= 2; ++n) queue.Add(Due("b", n));

  EXPECT_THAT(DrainSendable(queue), ElementsAre("o/1", "b/1", "b/2"));
  // The exchange ended, but its result (maybe a retry) is not known yet.
  queue.ExchangeEnded(Due("o", 1), /*receiver_answered=*/true);
  EXPECT_THAT(DrainSendable(queue), IsEmpty());
  queue.Forget(Due("o", 1));
  EXPECT_THAT(DrainSendable(queue), ElementsAre("o/2"));
  queue.ExchangeEnded(Due("o", 2), /*receiver_answered=*/true);
  queue.Forget(Due("o", 2));
  EXPECT_THAT(DrainSendable(queue), ElementsAre("o/3"));
}

TEST(DispatchQueueTest, AnOlderDeliveryComingInEndsAnOrderedWebhooksDeferral) {
  DispatchQueue queue(DispatchLimits{256, 16, 1000});
  const absl::Time now = absl::FromUnixSeconds(1000);
  queue.SetOrdered("o", true);
  queue.Add(Due("o", 2));
  queue.Add(Due("o", 3));
  ASSERT_THAT(DrainSendable(queue), ElementsAre("o/2"));
  // o/2 waits for o/1, which retries in an hour...
  queue.Defer(Due("o", 2), now + absl::Hours(1));
  EXPECT_THAT(DrainSendable(queue), IsEmpty());
  // ...until a manual retry makes o/1 due now: it goes at once, then o/2.
  ASSERT_EQ(queue.Add(Due("o", 1)), DispatchQueue::Offer::kQueued);
  EXPECT_THAT(DrainSendable(queue), ElementsAre("o/1"));
  queue.ExchangeEnded(Due("o", 1), /*receiver_answered=*/true);
  queue.Forget(Due("o", 1));
  EXPECT_THAT(DrainSendable(queue), ElementsAre("o/2"));
  // A younger one does not end a deferral.
  queue.Defer(Due("o", 2), now + absl::Hours(1));
  queue.Add(Due("o", 4));
  EXPECT_THAT(DrainSendable(queue), IsEmpty());
}

TEST(DispatchQueueTest, TheEndOfAnOrderedWebhooksDeliveryEndsItsDeferral) {
  DispatchQueue queue(DispatchLimits{256, 16, 1000});
  const absl::Time now = absl::FromUnixSeconds(1000);
  // Taken together before the webhook was known to be ordered.
  queue.Add(Due("o", 1));
  queue.Add(Due("o", 2));
  ASSERT_THAT(DrainSendable(queue), ElementsAre("o/1", "o/2"));
  queue.SetOrdered("o", true);
  // o/2 must wait for o/1, on the wire: for a while, or until o/1 ends.
  queue.Defer(Due("o", 2), now + absl::Seconds(1));
  queue.ExchangeEnded(Due("o", 1), /*receiver_answered=*/true);
  EXPECT_THAT(DrainSendable(queue), IsEmpty());
  queue.Forget(Due("o", 1));
  EXPECT_THAT(DrainSendable(queue), ElementsAre("o/2"));
}

TEST(DispatchQueueTest, OrderingTurnedOnSortsTheLineAndOffGivesTheFullLimitBack) {
  DispatchQueue queue(DispatchLimits{256, 16, 1000});
  for (int n : {3, 1, 2}) queue.Add(Due("o", n));
  queue.SetOrdered("o", true);
  EXPECT_THAT(DrainSendable(queue), ElementsAre("o/1"));
  queue.SetOrdered("o", false);
  EXPECT_THAT(DrainSendable(queue), ElementsAre("o/2", "o/3"));
}

TEST(DispatchQueueTest, AnOrderedDeliveryDeferredGoesBackBehindAnOlderOneTakenIn) {
  DispatchQueue queue(DispatchLimits{256, 16, 1000});
  const absl::Time now = absl::FromUnixSeconds(1000);
  queue.SetOrdered("o", true);
  queue.Add(Due("o", 2));
  queue.Add(Due("o", 3));
  ASSERT_THAT(DrainSendable(queue), ElementsAre("o/2"));
  // The engine found o/1 unfinished in storage: took it in, and deferred o/2.
  ASSERT_EQ(queue.Add(Due("o", 1)), DispatchQueue::Offer::kQueued);
  queue.Defer(Due("o", 2), now);
  EXPECT_THAT(DrainSendable(queue), IsEmpty());
  queue.ReleaseDeferred(now);
  EXPECT_THAT(DrainSendable(queue), ElementsAre("o/1"));
  queue.ExchangeEnded(Due("o", 1), /*receiver_answered=*/true);
  queue.Forget(Due("o", 1));
  EXPECT_THAT(DrainSendable(queue), ElementsAre("o/2"));
}

}  // namespace
}  // namespace wink::webhooks::delivery
