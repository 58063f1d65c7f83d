// Conformance: account usage and the stored quota (event_log.h StoredQuota,
// AccountUsage): counted in the publish's own write, refused before
// anything is stored, freed by retention, kept across a restart.
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/storage/conformance/storage_conformance.h"

namespace wink::webhooks::storage::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

absl::StatusOr<PublishResult> PublishUnder(EventLog& events, const StoredQuota& quota,
                                           absl::string_view account,
                                           absl::string_view idempotency_key = "") {
  PublishRequest request;
  request.account = std::string(account);
  request.event_type = "booking.created";
  request.data_json = R"({"booking":"b-1"})";
  request.idempotency_key = std::string(idempotency_key);
  request.request_fingerprint = "fingerprint";
  request.quota = quota;
  absl::Notification done;
  absl::StatusOr<PublishResult> result;
  events.Publish(std::move(request), [&](absl::StatusOr<PublishResult> published) {
    result = std::move(published);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

AccountUsage UsageOf(EventLog& events, absl::string_view account) {
  auto usage = events.UsageOf(account);
  EXPECT_TRUE(usage.ok()) << usage.status();
  return usage.value_or(AccountUsage{});
}

StoredQuota EventsQuota(int64_t max_events) {
  StoredQuota quota;
  quota.max_events = max_events;
  quota.retention = absl::Hours(24);
  return quota;
}

TEST_P(StorageConformance, StoredQuotaUsageCountsEachAccountsEventsAndTheirStoredBytes) {
  CreateWebhook("acme");
  EXPECT_EQ(UsageOf(events(), "acme").events, 0);
  EXPECT_EQ(UsageOf(events(), "acme").bytes, 0);

  MustPublish("acme");
  const AccountUsage one = UsageOf(events(), "acme");
  MustPublish("acme");
  MustPublish("other");

  EXPECT_EQ(one.events, 1);
  // The record holds the payload and more (id, type, account, time).
  EXPECT_GT(one.bytes, static_cast<int64_t>(std::string(R"({"booking":"b-1"})").size()));
  EXPECT_EQ(UsageOf(events(), "acme").events, 2);
  EXPECT_EQ(UsageOf(events(), "acme").bytes, 2 * one.bytes);
  EXPECT_EQ(UsageOf(events(), "other").events, 1);
  Reopen();
  EXPECT_EQ(UsageOf(events(), "acme").events, 2);
  EXPECT_EQ(UsageOf(events(), "acme").bytes, 2 * one.bytes);
}

TEST_P(StorageConformance, StoredQuotaAnEventPastTheEventLimitIsRefusedAndNothingIsStored) {
  const std::string webhook = CreateWebhook("acme");
  const StoredQuota quota = EventsQuota(3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(PublishUnder(events(), quota, "acme").ok());
  const AccountUsage full = UsageOf(events(), "acme");
  const auto oldest_leaves = clock_.Now() + absl::Hours(24);
  clock_.Advance(absl::Hours(1));

  auto refused = PublishUnder(events(), quota, "acme");

  ASSERT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()),
              AllOf(HasSubstr("account acme stores 3 events"),
                    HasSubstr("limits.max_stored_events_per_account (3)"),
                    HasSubstr(absl::FormatTime(absl::RFC3339_sec, oldest_leaves,
                                               absl::UTCTimeZone())),
                    HasSubstr("retry in 82800 s")));
  EXPECT_EQ(UsageOf(events(), "acme").events, full.events);
  EXPECT_EQ(UsageOf(events(), "acme").bytes, full.bytes);
  EXPECT_EQ(events().ListEvents("acme", "", "", 10)->events.size(), 3u);
  EXPECT_THAT(DueEvents().size(), 3u);
  // Another account is not affected.
  EXPECT_TRUE(PublishUnder(events(), quota, "other").ok());
}

TEST_P(StorageConformance, StoredQuotaAnEventPastTheByteLimitIsRefusedAndOneLargerThanItIsToldSo) {
  CreateWebhook("acme");
  MustPublish("acme");
  const int64_t event_bytes = UsageOf(events(), "acme").bytes;
  StoredQuota quota;
  quota.max_bytes = 2 * event_bytes + event_bytes / 2;
  quota.retention = absl::Hours(24);
  ASSERT_TRUE(PublishUnder(events(), quota, "acme").ok());

  auto refused = PublishUnder(events(), quota, "acme");

  ASSERT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()),
              AllOf(HasSubstr(absl::StrCat("stores 2 events of ", 2 * event_bytes, " bytes")),
                    HasSubstr(absl::StrCat("limits.max_stored_bytes_per_account (",
                                           quota.max_bytes, ")"))));
  EXPECT_EQ(UsageOf(events(), "acme").events, 2);

  quota.max_bytes = event_bytes - 1;
  auto too_large = PublishUnder(events(), quota, "fresh");
  ASSERT_EQ(too_large.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(too_large.status().message()), HasSubstr("send a smaller event"));
  EXPECT_EQ(UsageOf(events(), "fresh").events, 0);
}

TEST_P(StorageConformance, StoredQuotaAReplayIsAnsweredAtTheLimit) {
  CreateWebhook("acme");
  const StoredQuota quota = EventsQuota(1);
  auto first = PublishUnder(events(), quota, "acme", "key-1");
  ASSERT_TRUE(first.ok()) << first.status();

  auto replay = PublishUnder(events(), quota, "acme", "key-1");

  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->event.id(), first->event.id());
  EXPECT_EQ(PublishUnder(events(), quota, "acme", "key-2").status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(UsageOf(events(), "acme").events, 1);
}

TEST_P(StorageConformance, StoredQuotaABatchThatWouldPassTheLimitIsRefusedWhole) {
  CreateWebhook("acme");
  const StoredQuota quota = EventsQuota(4);
  ASSERT_TRUE(PublishUnder(events(), quota, "acme").ok());
  ASSERT_TRUE(PublishUnder(events(), quota, "acme").ok());
  std::vector<PublishRequest> batch;
  for (int i = 0; i < 3; ++i) {
    batch.push_back(Request("acme", "booking.created"));
    batch.back().quota = quota;
  }

  auto refused = PublishBatch(std::move(batch));

  ASSERT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()),
              AllOf(HasSubstr("requests[2]."), HasSubstr("stores 4 events")));
  EXPECT_EQ(UsageOf(events(), "acme").events, 2);
  EXPECT_EQ(events().ListEvents("acme", "", "", 10)->events.size(), 2u);
}

TEST_P(StorageConformance, StoredQuotaRetentionFreesTheUsageOfWhatItPurges) {
  CreateWebhook("acme");
  const StoredQuota quota = EventsQuota(2);
  ASSERT_TRUE(PublishUnder(events(), quota, "acme").ok());
  ASSERT_TRUE(PublishUnder(events(), quota, "acme").ok());
  ASSERT_TRUE(PublishUnder(events(), quota, "other").ok());
  clock_.Advance(absl::Hours(25));
  ASSERT_EQ(PublishUnder(events(), quota, "acme").status().code(), absl::StatusCode::kResourceExhausted);
  const AccountUsage other_before = UsageOf(events(), "other");

  auto purged = retention().PurgeOlderThan(clock_.Now() - absl::Hours(24), 100);

  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(purged->events, 3);
  EXPECT_EQ(UsageOf(events(), "acme").events, 0);
  EXPECT_EQ(UsageOf(events(), "acme").bytes, 0);
  EXPECT_EQ(UsageOf(events(), "other").events, 0);
  EXPECT_GT(other_before.bytes, 0);
  EXPECT_TRUE(PublishUnder(events(), quota, "acme").ok());
  EXPECT_EQ(UsageOf(events(), "acme").events, 1);
  // A second purge finds nothing, and takes nothing off.
  auto again = retention().PurgeOlderThan(clock_.Now() - absl::Hours(24), 100);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->events, 0);
  EXPECT_EQ(UsageOf(events(), "acme").events, 1);
}

TEST_P(StorageConformance, StoredQuotaUsageIsCountedOnceWhenOpeningDataWrittenWithoutIt) {
  CreateWebhook("acme");
  MustPublish("acme");
  MustPublish("acme");
  MustPublish("other");
  const AccountUsage acme = UsageOf(events(), "acme");
  const AccountUsage other = UsageOf(events(), "other");
  Close();
  ASSERT_TRUE(harness().ForgetAccountUsage().ok());

  Reopen();

  EXPECT_EQ(UsageOf(events(), "acme").events, 2);
  EXPECT_EQ(UsageOf(events(), "acme").bytes, acme.bytes);
  EXPECT_EQ(UsageOf(events(), "other").events, 1);
  EXPECT_EQ(UsageOf(events(), "other").bytes, other.bytes);
  MustPublish("acme");
  Reopen();  // counted once: the next open adds nothing
  EXPECT_EQ(UsageOf(events(), "acme").events, 3);
}

}  // namespace
}  // namespace wink::webhooks::storage::testing
