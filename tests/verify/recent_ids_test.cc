#include "client/examples/receiver/recent_ids.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace wink::webhooks::example {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1764000000);

TEST(RecentIdsTest, RemembersAddedIds) {
  RecentIds ids(10, absl::Hours(1));
  EXPECT_FALSE(ids.Contains("msg_1", kStart));
  ids.Add("msg_1", kStart);
  EXPECT_TRUE(ids.Contains("msg_1", kStart));
  EXPECT_FALSE(ids.Contains("msg_2", kStart));
  ids.Add("msg_1", kStart);  // no second entry
  EXPECT_EQ(ids.size(), 1u);
}

TEST(RecentIdsTest, ForgetsAfterTheWindowSinceLastSeen) {
  RecentIds ids(10, absl::Hours(1));
  ids.Add("msg_1", kStart);
  ids.Add("msg_2", kStart);
  // Seen again (a retry) at +50 min: its hour starts over.
  EXPECT_TRUE(ids.Contains("msg_1", kStart + absl::Minutes(50)));
  EXPECT_TRUE(ids.Contains("msg_2", kStart + absl::Hours(1)));  // inclusive edge
  EXPECT_FALSE(ids.Contains("msg_2", kStart + absl::Hours(2) + absl::Seconds(1)));
  EXPECT_FALSE(ids.Contains("msg_1", kStart + absl::Hours(2) + absl::Seconds(1)));
  EXPECT_EQ(ids.size(), 0u);
}

TEST(RecentIdsTest, CapacityEvictsTheLeastRecentlySeen) {
  RecentIds ids(3, absl::Hours(1));
  for (int i = 1; i <= 3; ++i) ids.Add(absl::StrCat("msg_", i), kStart + absl::Seconds(i));
  EXPECT_TRUE(ids.Contains("msg_1", kStart + absl::Seconds(4)));  // now msg_2 is the oldest
  ids.Add("msg_4", kStart + absl::Seconds(5));
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_FALSE(ids.Contains("msg_2", kStart + absl::Seconds(6)));
  EXPECT_TRUE(ids.Contains("msg_1", kStart + absl::Seconds(6)));
  EXPECT_TRUE(ids.Contains("msg_3", kStart + absl::Seconds(6)));
  EXPECT_TRUE(ids.Contains("msg_4", kStart + absl::Seconds(6)));
}

TEST(RecentIdsTest, ZeroCapacityStillKeepsOne) {
  RecentIds ids(0, absl::Hours(1));
  ids.Add("msg_1", kStart);
  EXPECT_TRUE(ids.Contains("msg_1", kStart));
  ids.Add("msg_2", kStart);
  EXPECT_FALSE(ids.Contains("msg_1", kStart));
  EXPECT_TRUE(ids.Contains("msg_2", kStart));
}

}  // namespace
}  // namespace wink::webhooks::example
