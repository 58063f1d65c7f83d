#include "service/api/watch_admission.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wink::webhooks::api {
namespace {

using ::testing::HasSubstr;

TEST(WatchAdmissionTest, CountsPerAccountAndInAllAndFreesOnLeave) {
  WatchAdmission admission(WatchLimits{/*max_streams=*/3, /*max_streams_per_account=*/2});
  EXPECT_TRUE(admission.Enter("acme").ok());
  EXPECT_TRUE(admission.Enter("acme").ok());

  const absl::Status per_account = admission.Enter("acme");
  EXPECT_EQ(per_account.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(per_account.message()),
              HasSubstr("limits.max_watch_streams_per_account"));

  EXPECT_TRUE(admission.Enter("beta").ok());
  const absl::Status in_all = admission.Enter("gamma");
  EXPECT_EQ(in_all.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(in_all.message()), HasSubstr("limits.max_watch_streams)"));
  EXPECT_EQ(admission.open(), 3);
  EXPECT_EQ(admission.open_of("gamma"), 0);

  admission.Leave("acme");
  EXPECT_EQ(admission.open_of("acme"), 1);
  EXPECT_TRUE(admission.Enter("gamma").ok());
  admission.Leave("gamma");
  admission.Leave("beta");
  admission.Leave("acme");
  EXPECT_EQ(admission.open(), 0);
  admission.Leave("acme");  // unpaired: ignored, no negative counts
  EXPECT_EQ(admission.open(), 0);
}

}  // namespace
}  // namespace wink::webhooks::api
