#include "service/config/command_line.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wink::webhooks::config {
namespace {

using ::testing::ElementsAre;

constexpr absl::string_view kListFlags[] = {"extra_ca_file", "allow_private_targets"};

std::vector<std::string> Join(std::vector<std::string> args) {
  return JoinRepeatedListFlags(args, kListFlags);
}

TEST(JoinRepeatedListFlagsTest, JoinsEveryOccurrenceWhereTheFirstWas) {
  EXPECT_THAT(Join({"server", "--listen=127.0.0.1:0", "--extra_ca_file", "a.pem", "--data_dir=d",
                    "--extra_ca_file=b.pem", "-extra_ca_file", "c.pem,d.pem"}),
              ElementsAre("server", "--listen=127.0.0.1:0", "--extra_ca_file=a.pem,b.pem,c.pem,d.pem",
                          "--data_dir=d"));
}

TEST(JoinRepeatedListFlagsTest, KeepsEachListFlagApartAndOthersUntouched) {
  EXPECT_THAT(Join({"server", "--allow_private_targets=127.0.0.0/8", "--extra_ca_file=a.pem",
                    "--allow_private_targets", "::1", "--log_format", "json"}),
              ElementsAre("server", "--allow_private_targets=127.0.0.0/8,::1",
                          "--extra_ca_file=a.pem", "--log_format", "json"));
}

TEST(JoinRepeatedListFlagsTest, AFlagGivenOnceStaysAsItWas) {
  EXPECT_THAT(Join({"server", "--extra_ca_file", "a.pem"}),
              ElementsAre("server", "--extra_ca_file=a.pem"));
  EXPECT_THAT(Join({"server"}), ElementsAre("server"));
}

TEST(JoinRepeatedListFlagsTest, LeavesWhatFollowsADoubleDashAlone) {
  EXPECT_THAT(Join({"server", "--extra_ca_file=a.pem", "--", "--extra_ca_file=b.pem"}),
              ElementsAre("server", "--extra_ca_file=a.pem", "--", "--extra_ca_file=b.pem"));
}

TEST(JoinRepeatedListFlagsTest, AMissingValueAtTheEndIsLeftForTheFlagParserToReport) {
  // Passed on as it is, so that Abseil reports the missing value.
  EXPECT_THAT(Join({"server", "--extra_ca_file=a.pem", "--extra_ca_file"}),
              ElementsAre("server", "--extra_ca_file=a.pem", "--extra_ca_file"));
}

}  // namespace
}  // namespace wink::webhooks::config
