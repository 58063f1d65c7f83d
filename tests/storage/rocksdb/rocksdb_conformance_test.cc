// The RocksDB backend passes the storage conformance suite
// (tests/storage/conformance), and keeps what only it promises with the
// suite's helpers.
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/storage/conformance/storage_conformance.h"
#include "tests/storage/rocksdb/rocksdb_harness.h"

namespace wink::webhooks::storage::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(RocksDb, StorageConformance, ::testing::Values(rocks::RocksDbUnderTest()),
                         BackendName);

// RocksDB only: a PostgreSQL backend's size is the planner's estimate.
class RocksDbDueQueueSize : public StorageConformance {};
INSTANTIATE_TEST_SUITE_P(RocksDb, RocksDbDueQueueSize, ::testing::Values(rocks::RocksDbUnderTest()),
                         BackendName);

// The due queue's size (the gauge wink_webhooks_due_entries_estimate) is the
// number of due deliveries, also right after entries are deleted (RocksDB's
// own estimate counted each deletion as one more entry until a flush), and
// after a reopen, once the count in the background is done.
TEST_P(RocksDbDueQueueSize, IsTheNumberOfDueDeliveriesAfterEveryChangeAndAReopen) {
  const std::string webhook = CreateWebhook("acme");
  const std::string first = MustPublish("acme");
  const std::string second = MustPublish("acme");
  const std::string third = MustPublish("acme");
  EXPECT_EQ(due_queue().EstimatedSize(), 3u);

  ASSERT_TRUE(Record(AttemptOf(webhook, first, domain::AttemptOutcome::kDelivered, 200)).ok());
  ASSERT_TRUE(Record(AttemptOf(webhook, second, domain::AttemptOutcome::kRetryLater, 500)).ok());
  EXPECT_EQ(Delivery(webhook, second).state(), kRetryScheduled);
  EXPECT_EQ(due_queue().EstimatedSize(), 2u);

  Pause("acme", webhook);
  ASSERT_TRUE(Park(Due()[0]).ok());  // held now
  EXPECT_EQ(due_queue().EstimatedSize(), 1u);

  Reopen();
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (due_queue().EstimatedSize() != 1u && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(due_queue().EstimatedSize(), 1u);
  Resume("acme", webhook);  // releases the held one
  ASSERT_EQ(DueEvents().size(), 2u);
  EXPECT_EQ(due_queue().EstimatedSize(), 2u);
}

}  // namespace
}  // namespace wink::webhooks::storage::testing
