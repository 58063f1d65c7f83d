// Conformance: the update log (service/storage/update_log.h): gap-free
// sequences in commit order, reads from a cursor, and sequences that never
// repeat across restarts and retention.
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

TEST_P(StorageConformance, ReadUpdatesReturnsTheLogInOrderFromAfter) {
  const std::string first_webhook = CreateWebhook("acme");
  CreateWebhook("acme");
  CreateWebhook("acme");
  const std::string e1 = MustPublish("acme");
  MustPublish("acme");
  ASSERT_TRUE(Record(AttemptOf(first_webhook, e1, domain::AttemptOutcome::kDelivered, 200)).ok());
  const std::vector<DeliveryUpdate> told = listener_.updates();
  ASSERT_EQ(told.size(), 7u);

  auto head = update_log().ReadUpdates(0, 4);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_THAT(Sequences(*head), ElementsAre(2u, 3u, 4u, 5u));
  auto tail = update_log().ReadUpdates(5, 100);
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_THAT(Sequences(*tail), ElementsAre(6u, 7u, 8u));
  auto none = update_log().ReadUpdates(8, 100);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, IsEmpty());

  std::vector<DeliveryUpdate> read = *head;
  read.insert(read.end(), tail->begin(), tail->end());
  for (size_t i = 0; i < read.size(); ++i) {
    EXPECT_EQ(read[i].delivery.SerializeAsString(), told[i].delivery.SerializeAsString()) << i;
  }
  EXPECT_EQ(read[6].delivery.state(), kSucceeded);
  EXPECT_EQ(read[6].delivery.last_attempt().http_status(), 200);
  EXPECT_EQ(read[6].delivery.last_attempt().response_body(), "");
  auto oldest = update_log().OldestSequence();
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  EXPECT_EQ(*oldest, 2u);
}

TEST_P(StorageConformance, OldestUpdateSequenceOfAnEmptyLogIsZero) {
  auto oldest = update_log().OldestSequence();
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  EXPECT_EQ(*oldest, 0u);
}

// Retention ------------------------------------------------------------------

TEST_P(StorageConformance, AfterReopenTheUpdateSequenceContinuesAfterTheLastOne) {
  CreateWebhook("acme");
  CreateWebhook("acme");
  const std::string before = MustPublish("acme");
  ASSERT_EQ((update_log().LastSequence() + 1), 4u);

  Reopen();

  EXPECT_EQ((update_log().LastSequence() + 1), 4u);
  auto after = Publish("acme", "booking.created");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->event.watch_cursor(), 3u);
  EXPECT_THAT(Sequences(listener_.updates()), ElementsAre(2u, 3u, 4u, 5u));
  EXPECT_TRUE(events().GetEvent("acme", before).ok());
}

TEST_P(StorageConformance, AfterPurgingTheWholeLogAndReopeningSequencesAreNotReused) {
  CreateWebhook("acme");
  MustPublish("acme");
  MustPublish("acme");
  ASSERT_EQ((update_log().LastSequence() + 1), 4u);
  clock_.Advance(absl::Hours(48));
  ASSERT_EQ(retention().PurgeOlderThan(clock_.Now() - absl::Hours(24), 100)->events, 2);
  auto oldest = update_log().OldestSequence();
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  EXPECT_EQ(*oldest, 3u) << "the newest entry is kept";
  EXPECT_EQ(retention().PurgeOlderThan(clock_.Now() - absl::Hours(24), 100)->events, 0);
  EXPECT_EQ(*update_log().OldestSequence(), 3u);

  Reopen();

  EXPECT_EQ((update_log().LastSequence() + 1), 4u);
  auto after = Publish("acme", "booking.created");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->event.watch_cursor(), 3u);
  EXPECT_EQ(listener_.updates().back().sequence, 4u);
}

// Many writers at once: the log has every update exactly once, numbered
// without gaps in the order they were told, and each event's deliveries
// follow its watch cursor.
TEST_P(StorageConformance, ConcurrentWritersGetGapFreeSequencesInCommitOrder) {
  CreateWebhook("acme");
  const std::string paused = CreateWebhook("acme");
  Pause("acme", paused);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  const uint64_t first = update_log().LastSequence() + 1;
  absl::Mutex mu;
  std::vector<PublishResult> published;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        auto result = Publish("acme", "booking.created");
        ASSERT_TRUE(result.ok()) << result.status();
        absl::MutexLock lock(&mu);
        published.push_back(*std::move(result));
      }
    });
  }
  for (auto& thread : threads) thread.join();

  constexpr size_t kUpdates = 2 * kThreads * kPerThread;
  ASSERT_TRUE(listener_.WaitForAtLeast(kUpdates, absl::Seconds(30)));
  const std::vector<DeliveryUpdate> told = listener_.updates();
  ASSERT_EQ(told.size(), kUpdates);
  for (size_t i = 0; i < told.size(); ++i) ASSERT_EQ(told[i].sequence, first + i) << i;
  EXPECT_EQ(update_log().LastSequence(), first + kUpdates - 1);
  auto logged = update_log().ReadUpdates(first - 1, static_cast<int>(kUpdates) + 10);
  ASSERT_TRUE(logged.ok()) << logged.status();
  ASSERT_EQ(logged->size(), kUpdates);
  for (size_t i = 0; i < kUpdates; ++i) {
    ASSERT_EQ((*logged)[i].sequence, told[i].sequence);
    ASSERT_EQ((*logged)[i].delivery.SerializeAsString(), told[i].delivery.SerializeAsString());
  }
  for (const PublishResult& result : published) {
    const uint64_t cursor = result.event.watch_cursor();
    ASSERT_GE(cursor + 2, first);
    EXPECT_EQ(told[cursor + 1 - first].delivery.event_id(), result.event.id());
    EXPECT_EQ(told[cursor + 2 - first].delivery.event_id(), result.event.id());
  }
}

}  // namespace
}  // namespace wink::webhooks::storage::testing
