#include "service/http/address_policy.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/common/ip_range.h"

namespace wink::webhooks::http {
namespace {

using ::testing::HasSubstr;

IpAddress Ip(absl::string_view text) {
  auto address = IpAddress::Parse(text);
  EXPECT_TRUE(address.ok()) << text << ": " << address.status();
  return address.ok() ? *address : IpAddress{};
}

std::vector<IpRange> Ranges(std::vector<absl::string_view> texts) {
  std::vector<IpRange> ranges;
  for (absl::string_view text : texts) {
    auto range = IpRange::Parse(text);
    EXPECT_TRUE(range.ok()) << text << ": " << range.status();
    if (range.ok()) ranges.push_back(*range);
  }
  return ranges;
}

struct Refusal {
  absl::string_view address;
  absl::string_view category;  // the message says "is <category> address"
};

class AddressPolicyRefusesTest : public ::testing::TestWithParam<Refusal> {};

TEST_P(AddressPolicyRefusesTest, RefusedWithCategory) {
  const AddressPolicy policy({});
  const absl::Status status = policy.Check(Ip(GetParam().address));
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << GetParam().address;
  EXPECT_THAT(status.message(), HasSubstr(std::string(GetParam().category) + " address"));
}

// Every range of the table, probed at its first, a middle and its last
// address where that matters.
INSTANTIATE_TEST_SUITE_P(
    Ipv4, AddressPolicyRefusesTest,
    ::testing::Values(Refusal{"0.0.0.0", "this-network"}, Refusal{"0.255.255.255", "this-network"},
                      Refusal{"10.0.0.0", "private"}, Refusal{"10.255.255.255", "private"},
                      Refusal{"172.16.0.1", "private"}, Refusal{"172.31.255.255", "private"},
                      Refusal{"192.168.1.1", "private"}, Refusal{"100.64.0.1", "CGNAT"},
                      Refusal{"100.127.255.255", "CGNAT"}, Refusal{"127.0.0.1", "loopback"},
                      Refusal{"127.255.255.254", "loopback"},
                      Refusal{"169.254.169.254", "link-local"}, Refusal{"192.0.0.8", "reserved"},
                      Refusal{"192.0.2.1", "reserved"}, Refusal{"198.18.0.1", "reserved"},
                      Refusal{"198.19.255.255", "reserved"}, Refusal{"198.51.100.7", "reserved"},
                      Refusal{"203.0.113.9", "reserved"}, Refusal{"192.88.99.1", "reserved"},
                      Refusal{"224.0.0.1", "multicast"}, Refusal{"239.255.255.250", "multicast"},
                      Refusal{"240.0.0.1", "reserved"}, Refusal{"255.255.255.255", "reserved"}));

INSTANTIATE_TEST_SUITE_P(
    Ipv6, AddressPolicyRefusesTest,
    ::testing::Values(Refusal{"::", "unspecified"}, Refusal{"::1", "loopback"},
                      Refusal{"::ffff:127.0.0.1", "IPv4-mapped IPv6"},
                      Refusal{"::ffff:93.184.216.34", "IPv4-mapped IPv6"},
                      Refusal{"::7f00:1", "reserved"}, Refusal{"64:ff9b::a00:1", "NAT64"},
                      Refusal{"64:ff9b:1::1", "NAT64"}, Refusal{"100::1", "discard-only"},
                      Refusal{"2001::1", "IETF special-purpose"},
                      Refusal{"2001:1ff:ffff::1", "IETF special-purpose"},
                      Refusal{"2001:db8::1", "documentation"}, Refusal{"2002:a00:1::1", "6to4"},
                      Refusal{"fc00::1", "private"}, Refusal{"fd12:3456::1", "private"},
                      Refusal{"fe80::1", "link-local"}, Refusal{"febf:ffff::1", "link-local"},
                      Refusal{"fec0::1", "site-local"}, Refusal{"ff02::1", "multicast"},
                      Refusal{"::ffff:0:a00:1", "IPv4-translated"},
                      Refusal{"::ffff:0:7f00:1", "IPv4-translated"},
                      Refusal{"5f00::1", "SRv6"}, Refusal{"5f00:ffff::1", "SRv6"},
                      Refusal{"3fff::1", "documentation"}, Refusal{"3fff:fff::1", "documentation"}));

// The message reaches the webhook's owner: the category, never the address
// (a name's internal address is not theirs to learn).
TEST(AddressPolicyTest, ExactMessagesLeaveTheAddressOut) {
  const AddressPolicy policy({});
  EXPECT_EQ(policy.Check(Ip("10.0.0.7")),
            absl::PermissionDeniedError("destination refused: a private address"));
  EXPECT_EQ(policy.Check(Ip("169.254.169.254")),
            absl::PermissionDeniedError("destination refused: a link-local address"));
  EXPECT_EQ(policy.Check(Ip("100.64.1.2")),
            absl::PermissionDeniedError("destination refused: a CGNAT address"));
  EXPECT_EQ(policy.Check(Ip("::1")),
            absl::PermissionDeniedError("destination refused: a loopback address"));
  EXPECT_EQ(policy.Check(Ip("::ffff:127.0.0.1")),
            absl::PermissionDeniedError("destination refused: an IPv4-mapped IPv6 address"));
  EXPECT_EQ(policy.Check(Ip("fd00::5")),
            absl::PermissionDeniedError("destination refused: a private address"));
  EXPECT_EQ(policy.Refusal(Ip("10.0.0.7")), "a private address");
  EXPECT_EQ(policy.Refusal(Ip("93.184.216.34")), std::nullopt);
}

TEST(AddressPolicyTest, PublicAddressesAllowed) {
  const AddressPolicy policy({});
  for (absl::string_view address :
       {"93.184.216.34", "1.1.1.1", "8.8.8.8", "172.15.255.255", "172.32.0.0", "100.63.255.255",
        "100.128.0.0", "169.253.255.255", "192.0.1.255", "198.17.255.255", "198.20.0.0",
        "223.255.255.255", "2606:4700::1111", "2a00:1450:4001::200e", "2001:200::1",
        "2001:4860:4860::8888", "64:ff9b:2::1", "5e00::1", "5f01::1", "3ffe::1",
        "3fff:1000::1"}) {
    EXPECT_TRUE(policy.Check(Ip(address)).ok()) << address << ": " << policy.Check(Ip(address));
  }
}

TEST(AddressPolicyTest, AllowedRangeOpensExactlyThatRange) {
  const AddressPolicy policy(Ranges({"127.0.0.0/8"}));
  EXPECT_TRUE(policy.Check(Ip("127.0.0.1")).ok());
  EXPECT_TRUE(policy.Check(Ip("127.255.0.9")).ok());
  EXPECT_EQ(policy.Check(Ip("10.0.0.1")).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(policy.Check(Ip("169.254.169.254")).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(policy.Check(Ip("::1")).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(policy.Check(Ip("93.184.216.34")).ok());
}

TEST(AddressPolicyTest, AllowedIpv6Range) {
  const AddressPolicy policy(Ranges({"::1/128", "fd00:1::/32"}));
  EXPECT_TRUE(policy.Check(Ip("::1")).ok());
  EXPECT_TRUE(policy.Check(Ip("fd00:1:ffff::1")).ok());
  EXPECT_EQ(policy.Check(Ip("fd00:2::1")).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(policy.Check(Ip("127.0.0.1")).code(), absl::StatusCode::kPermissionDenied);
}

TEST(AddressPolicyTest, Ipv4MappedRefusedEvenWhenTheIpv4RangeIsAllowed) {
  const AddressPolicy policy(Ranges({"127.0.0.0/8", "10.0.0.0/8"}));
  EXPECT_TRUE(policy.Check(Ip("127.0.0.1")).ok());
  EXPECT_EQ(
      policy.Check(Ip("::ffff:127.0.0.1")),
      absl::PermissionDeniedError("destination refused: an IPv4-mapped IPv6 address"));
  EXPECT_EQ(policy.Check(Ip("::ffff:10.1.2.3")).code(), absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace wink::webhooks::http
