// Conformance: retention (service/storage/retention.h).
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

TEST_P(StorageConformance, PurgeDeletesOldEventsWithEverythingTheyLeftAndKeepsYoungOnes) {
  const std::string webhook = CreateWebhook("acme");
  const std::string paused = CreateWebhook("acme");
  Pause("acme", paused);
  const std::string old_retrying = MustPublish("acme");
  ASSERT_TRUE(
      Record(AttemptOf(webhook, old_retrying, domain::AttemptOutcome::kRetryLater, 500)).ok());
  const std::string old_pending = MustPublish("acme");
  const std::string old_elsewhere = MustPublish("other");
  clock_.Advance(absl::Hours(48));
  const std::string young = MustPublish("acme");
  ASSERT_TRUE(Record(AttemptOf(webhook, young, domain::AttemptOutcome::kRetryLater, 500)).ok());
  const uint64_t first_young_sequence = events().GetEvent("acme", young)->watch_cursor() + 1;

  auto purged = retention().PurgeOlderThan(clock_.Now() - absl::Hours(24), 100);

  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(purged->events, 3);
  for (const std::string& event : {old_retrying, old_pending}) {
    EXPECT_EQ(events().GetEvent("acme", event).status().code(), absl::StatusCode::kNotFound);
    for (const std::string& to : {webhook, paused}) {
      EXPECT_EQ(DeliveryStatus(to, event), absl::StatusCode::kNotFound);
    }
    EXPECT_THAT(deliveries().ListDeliveriesOfEvent("acme", event, "", 0, 10)->deliveries,
                IsEmpty());
  }
  EXPECT_EQ(events().GetEvent("other", old_elsewhere).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(*deliveries().ListAttempts(webhook, old_retrying), IsEmpty());
  EXPECT_THAT(EventIds(events().ListEvents("acme", "", "", 10)->events), ElementsAre(young));
  EXPECT_THAT(DueEvents(), ElementsAre(young));
  EXPECT_EQ(Delivery(webhook, young).state(), kRetryScheduled);
  EXPECT_EQ(Delivery(paused, young).state(), kHeld);
  EXPECT_EQ(deliveries().ListAttempts(webhook, young)->size(), 1u);
  auto oldest = update_log().OldestSequence();
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  EXPECT_EQ(*oldest, first_young_sequence);
  EXPECT_THAT(
      Sequences(*update_log().ReadUpdates(0, 100)),
      ElementsAre(first_young_sequence, first_young_sequence + 1, first_young_sequence + 2));

  auto again = retention().PurgeOlderThan(clock_.Now() - absl::Hours(24), 100);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->events, 0);

  // Only the young event's entries are left: one event, two deliveries (one
  // held, one due after one attempt).
  const StoredCounts left = CountStoredOffline();
  EXPECT_EQ(left.events, 1);
  EXPECT_EQ(left.deliveries, 2);
  EXPECT_EQ(left.attempts, 1);
  EXPECT_EQ(left.due_entries, 1);
  EXPECT_EQ(left.held_entries, 1);
}

TEST_P(StorageConformance, PurgeDeletesAtMostLimitEventsPerCall) {
  for (int i = 0; i < 3; ++i) MustPublish("acme");
  clock_.Advance(absl::Hours(48));
  const absl::Time cutoff = clock_.Now() - absl::Hours(24);

  EXPECT_EQ(retention().PurgeOlderThan(cutoff, 2)->events, 2);
  EXPECT_EQ(retention().PurgeOlderThan(cutoff, 2)->events, 1);
  EXPECT_EQ(retention().PurgeOlderThan(cutoff, 2)->events, 0);
  EXPECT_THAT(events().ListEvents("acme", "", "", 10)->events, IsEmpty());
}

// Reopening ------------------------------------------------------------------

}  // namespace
}  // namespace wink::webhooks::storage::testing
