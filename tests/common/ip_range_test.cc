#include "service/common/ip_range.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wink::webhooks {
namespace {

using ::testing::HasSubstr;

IpAddress Addr(absl::string_view text) {
  auto address = IpAddress::Parse(text);
  EXPECT_TRUE(address.ok()) << text << ": " << address.status();
  return address.ok() ? *address : IpAddress{};
}

IpRange Range(absl::string_view text) {
  auto range = IpRange::Parse(text);
  EXPECT_TRUE(range.ok()) << text << ": " << range.status();
  return range.ok() ? *range : IpRange(IpAddress{}, 128);
}

TEST(IpAddressTest, ParsesV4AsV4MappedBytes) {
  const IpAddress address = Addr("10.1.2.3");

  EXPECT_TRUE(address.is_v4);
  const std::array<uint8_t, 16> expected = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3};
  EXPECT_EQ(address.bytes, expected);
  EXPECT_EQ(address.ToString(), "10.1.2.3");
}

TEST(IpAddressTest, ParsesV6) {
  const IpAddress address = Addr("fd00::1");

  EXPECT_FALSE(address.is_v4);
  EXPECT_EQ(address.bytes[0], 0xfd);
  EXPECT_EQ(address.bytes[15], 1);
  EXPECT_EQ(address.ToString(), "fd00::1");
}

TEST(IpAddressTest, V4MappedV6LiteralEqualsTheV4Address) {
  // The SSRF guard must treat ::ffff:10.0.0.1 exactly like 10.0.0.1.
  EXPECT_EQ(Addr("::ffff:10.0.0.1"), Addr("10.0.0.1"));
}

TEST(IpAddressTest, RejectsNonLiterals) {
  for (absl::string_view text : {"", "10.0.0", "10.0.0.256", "1.2.3.4:80", "[::1]", "::1%eth0",
                                 "example.com", " 1.2.3.4", "10.0.0.0/8"}) {
    auto address = IpAddress::Parse(text);
    EXPECT_EQ(address.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

TEST(IpRangeTest, ParsesV4Cidr) {
  EXPECT_EQ(Range("127.0.0.0/8").ToString(), "127.0.0.0/8");
  EXPECT_EQ(Range("0.0.0.0/0").ToString(), "0.0.0.0/0");
  EXPECT_EQ(Range("192.168.1.0/24").ToString(), "192.168.1.0/24");
}

TEST(IpRangeTest, ParsesV6Cidr) {
  EXPECT_EQ(Range("fd00::/8").ToString(), "fd00::/8");
  EXPECT_EQ(Range("::1/128").ToString(), "::1/128");
  EXPECT_EQ(Range("::/0").ToString(), "::/0");
}

TEST(IpRangeTest, BareAddressIsASingleHostRange) {
  const IpRange v4 = Range("10.1.2.3");
  EXPECT_EQ(v4.ToString(), "10.1.2.3/32");
  EXPECT_TRUE(v4.Contains(Addr("10.1.2.3")));
  EXPECT_FALSE(v4.Contains(Addr("10.1.2.4")));

  const IpRange v6 = Range("::1");
  EXPECT_EQ(v6.ToString(), "::1/128");
  EXPECT_TRUE(v6.Contains(Addr("::1")));
  EXPECT_FALSE(v6.Contains(Addr("::2")));
}

TEST(IpRangeTest, AcceptsPrefixLengthsAtTheBounds) {
  EXPECT_TRUE(IpRange::Parse("0.0.0.0/0").ok());
  EXPECT_TRUE(IpRange::Parse("10.0.0.1/32").ok());
  EXPECT_TRUE(IpRange::Parse("::/0").ok());
  EXPECT_TRUE(IpRange::Parse("::1/128").ok());
}

TEST(IpRangeTest, RejectsPrefixLengthsOutOfRange) {
  for (absl::string_view text : {"10.0.0.0/33", "10.0.0.0/-1", "::/129", "::/-1", "10.0.0.0/",
                                 "10.0.0.0/abc", "10.0.0.0/8/8", "::/1000000000000"}) {
    auto range = IpRange::Parse(text);
    EXPECT_EQ(range.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(range.status().message()), HasSubstr("prefix length")) << text;
  }
}

TEST(IpRangeTest, RejectsWhitespaceAndSignsInThePrefixLength) {
  for (absl::string_view text :
       {"10.0.0.0/ 8", "10.0.0.0/8 ", "10.0.0.0/8\n", "10.0.0.0/+8", "::/ 0"}) {
    auto range = IpRange::Parse(text);
    EXPECT_EQ(range.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(range.status().message()), HasSubstr("prefix length")) << text;
  }
}

TEST(IpRangeTest, RejectsBadAddresses) {
  for (absl::string_view text : {"", "/8", "10.0.0/8", "example.com/8", "10.0.0.0 /8"}) {
    auto range = IpRange::Parse(text);
    EXPECT_EQ(range.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(range.status().message()), HasSubstr("not a CIDR range")) << text;
  }
}

TEST(IpRangeTest, RejectsHostBitsBeyondThePrefix) {
  for (absl::string_view text :
       {"10.0.0.1/8", "127.0.0.1/8", "192.168.1.1/24", "fd00::1/8", "::1/127", "11.0.0.0/7"}) {
    auto range = IpRange::Parse(text);
    EXPECT_EQ(range.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(range.status().message()), HasSubstr("host bits")) << text;
  }
}

struct ContainsCase {
  const char* range;
  const char* address;
  bool contained;
};

class IpRangeContainsTest : public ::testing::TestWithParam<ContainsCase> {};

TEST_P(IpRangeContainsTest, MatchesCidrSemantics) {
  const ContainsCase& c = GetParam();
  EXPECT_EQ(Range(c.range).Contains(Addr(c.address)), c.contained)
      << c.range << " contains " << c.address;
}

INSTANTIATE_TEST_SUITE_P(Loopback, IpRangeContainsTest,
                         ::testing::Values(ContainsCase{"127.0.0.0/8", "127.0.0.1", true},
                                           ContainsCase{"127.0.0.0/8", "127.255.255.255", true},
                                           ContainsCase{"127.0.0.0/8", "126.255.255.255", false},
                                           ContainsCase{"127.0.0.0/8", "128.0.0.0", false},
                                           ContainsCase{"::1/128", "::1", true},
                                           ContainsCase{"::1/128", "::2", false},
                                           ContainsCase{"::1/128", "::", false}));

INSTANTIATE_TEST_SUITE_P(Private, IpRangeContainsTest,
                         ::testing::Values(ContainsCase{"10.0.0.0/8", "10.0.0.0", true},
                                           ContainsCase{"10.0.0.0/8", "10.255.255.255", true},
                                           ContainsCase{"10.0.0.0/8", "11.0.0.0", false},
                                           ContainsCase{"10.0.0.0/8", "9.255.255.255", false},
                                           ContainsCase{"172.16.0.0/12", "172.31.255.255", true},
                                           ContainsCase{"172.16.0.0/12", "172.32.0.0", false},
                                           ContainsCase{"fd00::/8", "fd00::1", true},
                                           ContainsCase{"fd00::/8", "fdff:ffff::1", true},
                                           ContainsCase{"fd00::/8", "fc00::1", false},
                                           ContainsCase{"fd00::/8", "fe80::1", false}));

INSTANTIATE_TEST_SUITE_P(
    V4Mapped, IpRangeContainsTest,
    ::testing::Values(
        // A v4-mapped literal is the v4 address.
        ContainsCase{"10.0.0.0/8", "::ffff:10.1.2.3", true},
        ContainsCase{"127.0.0.0/8", "::ffff:127.0.0.1", true},
        // An IPv4 range covers only the v4-mapped block, never other IPv6
        // addresses whose low 32 bits happen to match.
        ContainsCase{"10.0.0.0/8", "::a00:1", false},         // IPv4-compatible 10.0.0.1
        ContainsCase{"10.0.0.0/8", "64:ff9b::a00:1", false},  // NAT64 10.0.0.1
        ContainsCase{"127.0.0.0/8", "::1", false}, ContainsCase{"0.0.0.0/0", "::1", false},
        ContainsCase{"0.0.0.0/0", "2001:db8::1", false}, ContainsCase{"0.0.0.0/0", "8.8.8.8", true},
        // And an IPv6 range does not cover IPv4 addresses outside it.
        ContainsCase{"fd00::/8", "10.0.0.1", false}, ContainsCase{"::1/128", "127.0.0.1", false}));

}  // namespace
}  // namespace wink::webhooks
