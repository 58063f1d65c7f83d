#include "service/common/token_bucket.h"

#include "gtest/gtest.h"

namespace wink::webhooks {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

TEST(TokenBucketTest, ANewBucketGivesItsBurstThenOneTokenPerInterval) {
  TokenBucket bucket;
  EXPECT_EQ(bucket.Take(2, 3, kStart), absl::ZeroDuration());
  EXPECT_EQ(bucket.Take(2, 3, kStart), absl::ZeroDuration());
  EXPECT_EQ(bucket.Take(2, 3, kStart), absl::ZeroDuration());
  // Empty: the next token comes after 1/2 s.
  EXPECT_EQ(bucket.Take(2, 3, kStart), absl::Milliseconds(500));
  EXPECT_EQ(bucket.Take(2, 3, kStart + absl::Milliseconds(250)), absl::Milliseconds(250));
  EXPECT_EQ(bucket.Take(2, 3, kStart + absl::Milliseconds(500)), absl::ZeroDuration());
  EXPECT_EQ(bucket.Take(2, 3, kStart + absl::Milliseconds(500)), absl::Milliseconds(500));
}

TEST(TokenBucketTest, AQuietSpellRefillsUpToTheBurstOnly) {
  TokenBucket bucket;
  for (int i = 0; i < 2; ++i) ASSERT_EQ(bucket.Take(1, 2, kStart), absl::ZeroDuration());
  const absl::Time later = kStart + absl::Hours(1);
  EXPECT_EQ(bucket.Take(1, 2, later), absl::ZeroDuration());
  EXPECT_EQ(bucket.Take(1, 2, later), absl::ZeroDuration());
  EXPECT_EQ(bucket.Take(1, 2, later), absl::Seconds(1));
}

TEST(TokenBucketTest, ALowerBurstCapsTheTokensKeptAndAClockGoingBackAddsNone) {
  TokenBucket bucket;
  ASSERT_EQ(bucket.Take(10, 10, kStart), absl::ZeroDuration());  // 9 left
  EXPECT_EQ(bucket.Take(10, 1, kStart), absl::ZeroDuration());   // capped at 1, then 0
  EXPECT_EQ(bucket.Take(10, 1, kStart), absl::Milliseconds(100));
  EXPECT_EQ(bucket.Take(10, 1, kStart - absl::Seconds(5)), absl::Milliseconds(100));
}

}  // namespace
}  // namespace wink::webhooks
