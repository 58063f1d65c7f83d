#include "service/http/url.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wink::webhooks::http {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

HttpsUrl ParseOrDie(absl::string_view url) {
  auto parsed = ParseWebhookUrl(url, "webhook.url");
  EXPECT_TRUE(parsed.ok()) << url << ": " << parsed.status();
  return parsed.ok() ? *parsed : HttpsUrl{};
}

TEST(ParseWebhookUrlTest, AcceptsHostPathAndQuery) {
  const HttpsUrl url = ParseOrDie("https://Example.COM/hook?x=1");
  EXPECT_EQ(url.host, "example.com");
  EXPECT_EQ(url.port, 443);
  EXPECT_EQ(url.path_and_query, "/hook?x=1");
}

TEST(ParseWebhookUrlTest, ExplicitPortAndRootPath) {
  const HttpsUrl url = ParseOrDie("https://EXAMPLE.com:8443/");
  EXPECT_EQ(url.host, "example.com");
  EXPECT_EQ(url.port, 8443);
  EXPECT_EQ(url.path_and_query, "/");
}

TEST(ParseWebhookUrlTest, MissingPathBecomesSlash) {
  const HttpsUrl url = ParseOrDie("https://example.com");
  EXPECT_EQ(url.path_and_query, "/");
}

TEST(ParseWebhookUrlTest, QueryWithoutPathGetsASlash) {
  EXPECT_EQ(ParseOrDie("https://example.com?x=1").path_and_query, "/?x=1");
}

TEST(ParseWebhookUrlTest, SchemeIsCaseInsensitive) {
  EXPECT_EQ(ParseOrDie("HTTPS://example.com/a").host, "example.com");
}

TEST(ParseWebhookUrlTest, Ipv6LiteralHostLosesItsBrackets) {
  const HttpsUrl url = ParseOrDie("https://[::1]:9000/x");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, 9000);
  EXPECT_EQ(url.path_and_query, "/x");
}

TEST(ParseWebhookUrlTest, Ipv4LiteralHost) {
  const HttpsUrl url = ParseOrDie("https://192.0.2.10/in");
  EXPECT_EQ(url.host, "192.0.2.10");
  EXPECT_EQ(url.port, 443);
}

TEST(ParseWebhookUrlTest, KeepsPercentEncodingInPathAndQuery) {
  EXPECT_EQ(ParseOrDie("https://example.com/a%20b?q=%2F&r=s").path_and_query, "/a%20b?q=%2F&r=s");
}

TEST(ParseWebhookUrlTest, AcceptsPortsAtTheBounds) {
  EXPECT_EQ(ParseOrDie("https://example.com:1/").port, 1);
  EXPECT_EQ(ParseOrDie("https://example.com:65535/").port, 65535);
}

TEST(ParseWebhookUrlTest, AcceptsTheMaximumLength) {
  const std::string prefix = "https://example.com/";
  const std::string url = prefix + std::string(kMaxUrlLength - prefix.size(), 'a');
  ASSERT_EQ(url.size(), kMaxUrlLength);
  EXPECT_TRUE(ParseWebhookUrl(url, "webhook.url").ok());
}

struct BadUrl {
  std::string name;
  std::string url;
  // Besides the field prefix, the message must contain this; empty where the
  // wording comes from libcurl's own rejection.
  std::string why;
};

class ParseWebhookUrlRejectsTest : public ::testing::TestWithParam<BadUrl> {};

TEST_P(ParseWebhookUrlRejectsTest, IsInvalidArgumentNamingTheField) {
  auto parsed = ParseWebhookUrl(GetParam().url, "webhook.url");

  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << parsed.status();
  EXPECT_THAT(std::string(parsed.status().message()), StartsWith("webhook.url: "));
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(GetParam().why));
}

INSTANTIATE_TEST_SUITE_P(
    Rows, ParseWebhookUrlRejectsTest,
    ::testing::Values(
        BadUrl{"Empty", "", "required"},
        BadUrl{"Http", "http://example.com/hook", "must use https, not \"http\""},
        BadUrl{"Ftp", "ftp://example.com/hook", "must use https"},
        BadUrl{"Relative", "example.com/x", "absolute"},
        BadUrl{"SchemeRelative", "//example.com/x", "absolute"},
        BadUrl{"NoHost", "https://", "must have a host"},
        BadUrl{"NoHostWithPath", "https:///path", "must have a host"},
        BadUrl{"UserAndPassword", "https://u:p@h/", "user name or password"},
        BadUrl{"UserOnly", "https://user@example.com/", "user name or password"},
        BadUrl{"Fragment", "https://example.com/a#frag", "fragment"},
        BadUrl{"Space", "https://example.com/a b", "printable ASCII"},
        BadUrl{"Tab", "https://example.com/a\tb", "printable ASCII"},
        BadUrl{"Newline", "https://example.com/\r\nX-Injected: 1", "printable ASCII"},
        BadUrl{"Nul", std::string("https://example.com/") + '\0' + "x", "printable ASCII"},
        BadUrl{"Del", "https://example.com/\x7f", "printable ASCII"},
        BadUrl{"NonAsciiHost",
               "https://b\xc3\xbc"
               "cher.example/",
               "printable ASCII"},
        BadUrl{"TooLong", "https://example.com/" + std::string(kMaxUrlLength, 'a'),
               "longer than 2048"},
        BadUrl{"PortZero", "https://example.com:0/", "port must be between 1 and 65535"},
        BadUrl{"PortTooLarge", "https://example.com:70000/", ""},
        BadUrl{"PortNotANumber", "https://example.com:https/", ""},
        // libcurl would decode these to a different host than the one written.
        BadUrl{"PercentEncodedHost", "https://%65vil.example.com/", "percent-encoding"},
        BadUrl{"Ipv6ZoneId", "https://[fe80::1%25eth0]/", "percent-encoding"},
        BadUrl{"UserinfoWithPercent", "https://u%40x:p@example.com/", "user name or password"}),
    [](const ::testing::TestParamInfo<BadUrl>& info) { return info.param.name; });

TEST(ParseWebhookUrlTest, RejectsAnEmptyFragment) {
  auto parsed = ParseWebhookUrl("https://example.com/a#", "webhook.url");
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()),
              StartsWith("webhook.url: must not contain a fragment"));
}

TEST(ParseWebhookUrlTest, UsesTheGivenFieldName) {
  auto parsed = ParseWebhookUrl("http://x", "update.webhook.url");
  EXPECT_THAT(std::string(parsed.status().message()), StartsWith("update.webhook.url: "));
}

}  // namespace
}  // namespace wink::webhooks::http
