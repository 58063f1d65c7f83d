#include "service/domain/retry_policy.h"

#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace wink::webhooks::domain {
namespace {

// The default schedule of server_config.proto.
std::vector<absl::Duration> DefaultSchedule() {
  return {absl::ZeroDuration(), absl::Seconds(5), absl::Minutes(5), absl::Minutes(30),
          absl::Hours(2),       absl::Hours(5),   absl::Hours(10),  absl::Hours(10)};
}

// RetryPolicy ---------------------------------------------------------------

TEST(RetryPolicyTest, MaxAttemptsIsTheScheduleLength) {
  EXPECT_EQ(RetryPolicy(DefaultSchedule(), absl::Hours(1)).max_attempts(), 8);
  EXPECT_EQ(RetryPolicy({absl::ZeroDuration()}, absl::Hours(1)).max_attempts(), 1);
}

TEST(RetryPolicyTest, FirstRetryIsFiveSecondsWithJitter) {
  const RetryPolicy policy(DefaultSchedule(), absl::Hours(1));

  for (double r : {0.0, 0.5, 0.999}) {
    const std::optional<absl::Duration> delay = policy.NextDelay(1, std::nullopt, r);

    ASSERT_TRUE(delay.has_value()) << r;
    EXPECT_EQ(*delay, absl::Seconds(5) * (1 + 0.2 * (2 * r - 1))) << r;
    EXPECT_GE(*delay, absl::Seconds(4)) << r;
    EXPECT_LE(*delay, absl::Seconds(6)) << r;
  }
  EXPECT_EQ(policy.NextDelay(1, std::nullopt, 0.0), absl::Seconds(4));
  EXPECT_EQ(policy.NextDelay(1, std::nullopt, 0.5), absl::Seconds(5));
  EXPECT_GT(policy.NextDelay(1, std::nullopt, 0.999), absl::Milliseconds(5990));
}

TEST(RetryPolicyTest, FollowsTheScheduleWithoutJitterAtTheMiddle) {
  const RetryPolicy policy(DefaultSchedule(), absl::Hours(1));
  const std::vector<absl::Duration> schedule = DefaultSchedule();

  for (int attempts_made = 1; attempts_made < 8; ++attempts_made) {
    EXPECT_EQ(policy.NextDelay(attempts_made, std::nullopt, 0.5), schedule[attempts_made])
        << attempts_made;
  }
}

TEST(RetryPolicyTest, JitterFractionIsConfigurable) {
  const RetryPolicy none(DefaultSchedule(), absl::Hours(1), /*jitter_fraction=*/0.0);
  const RetryPolicy half(DefaultSchedule(), absl::Hours(1), /*jitter_fraction=*/0.5);

  EXPECT_EQ(none.NextDelay(2, std::nullopt, 0.0), absl::Minutes(5));
  EXPECT_EQ(none.NextDelay(2, std::nullopt, 0.999), absl::Minutes(5));
  EXPECT_EQ(half.NextDelay(3, std::nullopt, 0.0), absl::Minutes(15));
}

TEST(RetryPolicyTest, ExhaustedScheduleIsNullopt) {
  const RetryPolicy policy(DefaultSchedule(), absl::Hours(1));

  EXPECT_TRUE(policy.NextDelay(7, std::nullopt, 0.5).has_value());
  EXPECT_EQ(policy.NextDelay(8, std::nullopt, 0.5), std::nullopt);
  EXPECT_EQ(policy.NextDelay(9, std::nullopt, 0.5), std::nullopt);
  // A receiver's Retry-After does not add attempts.
  EXPECT_EQ(policy.NextDelay(8, absl::Seconds(7), 0.5), std::nullopt);
}

TEST(RetryPolicyTest, RetryAfterReplacesTheScheduleWithoutJitter) {
  const RetryPolicy policy(DefaultSchedule(), absl::Hours(1));

  EXPECT_EQ(policy.NextDelay(1, absl::Seconds(7), 0.0), absl::Seconds(7));
  EXPECT_EQ(policy.NextDelay(1, absl::Seconds(7), 0.999), absl::Seconds(7));
  EXPECT_EQ(policy.NextDelay(6, absl::Minutes(3), 0.5), absl::Minutes(3));
}

TEST(RetryPolicyTest, RetryAfterIsClampedToOneSecondAndMaxRetryAfter) {
  const RetryPolicy policy(DefaultSchedule(), absl::Hours(1));

  EXPECT_EQ(policy.NextDelay(1, absl::ZeroDuration(), 0.5), absl::Seconds(1));
  EXPECT_EQ(policy.NextDelay(1, absl::Milliseconds(300), 0.5), absl::Seconds(1));
  EXPECT_EQ(policy.NextDelay(1, absl::Hours(1), 0.5), absl::Hours(1));
  EXPECT_EQ(policy.NextDelay(1, absl::Hours(2), 0.5), absl::Hours(1));
  EXPECT_EQ(policy.NextDelay(1, absl::InfiniteDuration(), 0.5), absl::Hours(1));
}

}  // namespace
}  // namespace wink::webhooks::domain
