#include "service/api/publish_rate_limiter.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_clock.h"

namespace wink::webhooks::api {
namespace {

using ::testing::HasSubstr;
using ::wink::webhooks::testing::FakeClock;

TEST(PublishRateLimiterTest, EachAccountHasItsBucketRefilledAtTheRate) {
  FakeClock clock;
  PublishRateLimiter limiter(PublishRateLimits{/*events_per_second=*/10, /*burst=*/5}, clock);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Admit("acme", 1).ok()) << i;
  const absl::Status refused = limiter.Admit("acme", 1);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("limits.publish_rate_per_account"));
  EXPECT_THAT(std::string(refused.message()), HasSubstr("retry in 0.1 s"));
  EXPECT_TRUE(limiter.Admit("beta", 5).ok()) << "another account's bucket is its own";

  clock.Advance(absl::Milliseconds(100));  // one token back
  EXPECT_TRUE(limiter.Admit("acme", 1).ok());
  EXPECT_FALSE(limiter.Admit("acme", 1).ok());
  clock.Advance(absl::Hours(1));  // never more than the burst
  EXPECT_TRUE(limiter.Admit("acme", 5).ok());
  EXPECT_FALSE(limiter.Admit("acme", 1).ok());
}

TEST(PublishRateLimiterTest, ABatchLargerThanTheBurstIsRefusedSayingSo) {
  FakeClock clock;
  PublishRateLimiter limiter(PublishRateLimits{100, 10}, clock);
  const absl::Status refused = limiter.Admit("acme", 11);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("limits.publish_burst_per_account"));
  EXPECT_TRUE(limiter.Admit("acme", 10).ok()) << "the refused batch took nothing";
}

TEST(PublishRateLimiterTest, NoRateMeansNoLimit) {
  FakeClock clock;
  PublishRateLimiter limiter(PublishRateLimits{}, clock);
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(limiter.Admit("acme", 100).ok());
}

}  // namespace
}  // namespace wink::webhooks::api
