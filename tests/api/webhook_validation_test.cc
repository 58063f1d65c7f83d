#include "service/api/webhook_validation.h"

#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/map.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "gtest/gtest.h"
#include "service/api/event_catalog.h"
#include "service/common/ip_range.h"
#include "service/config/server_config.h"
#include "service/http/address_policy.h"

namespace wink::webhooks::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

using Headers = google::protobuf::Map<std::string, std::string>;
using Strings = google::protobuf::RepeatedPtrField<std::string>;

// A value that must never show up in an error message (it may be a
// credential).
constexpr absl::string_view kSecretValue = "s3cr3t-api-key";

const EventCatalog& Catalog() {
  static const EventCatalog* const catalog = [] {
    config::ServerConfig config;
    config::ApplyDefaults(config);
    return new EventCatalog(config);
  }();
  return *catalog;
}

std::string Repeat(absl::string_view unit, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) absl::StrAppend(&out, unit);
  return out;
}

Headers HeadersOf(std::vector<std::pair<std::string, std::string>> entries) {
  Headers headers;
  for (auto& [name, value] : entries) headers[name] = value;
  return headers;
}

Strings StringsOf(std::vector<std::string> values) {
  Strings out;
  for (auto& value : values) *out.Add() = std::move(value);
  return out;
}

absl::Status NormalizeStatus(std::vector<std::string> types) {
  return NormalizeEventTypes(StringsOf(std::move(types)), Catalog(), "webhook.event_types")
      .status();
}

// One row: a call that must fail with INVALID_ARGUMENT and a message that
// starts with `prefix` (the field path and what is wrong).
struct BadInput {
  std::string name;
  std::function<absl::Status()> validate;
  std::string prefix;
};

void PrintTo(const BadInput& row, std::ostream* os) { *os << row.name; }

class RejectsBadInputTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(RejectsBadInputTest, IsInvalidArgumentStartingWithTheField) {
  const absl::Status status = GetParam().validate();

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), StartsWith(GetParam().prefix));
  // Header values may be credentials; no error may echo one.
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr(kSecretValue)));
}

std::string RowName(const ::testing::TestParamInfo<BadInput>& info) { return info.param.name; }

BadInput DisplayName(std::string name, std::string value, std::string why) {
  return {std::move(name), [value] { return ValidateDisplayName(value, "webhook.display_name"); },
          absl::StrCat("webhook.display_name: ", why)};
}

INSTANTIATE_TEST_SUITE_P(
    DisplayName, RejectsBadInputTest,
    ::testing::Values(
        DisplayName("Empty", "", "required"),
        DisplayName("TooManyAscii", std::string(129, 'a'), "longer than 128"),
        DisplayName("TooManyMultiByte", Repeat("\xc3\xa9", 129), "longer than 128"),
        DisplayName("TooManyFourByte", Repeat("\xf0\x9f\x8f\xa8", 129), "longer than 128"),
        DisplayName("TruncatedUtf8", "caf\xc3", "must be valid UTF-8"),
        DisplayName("OverlongUtf8", "\xc0\x80", "must be valid UTF-8"),
        DisplayName("Surrogate", "\xed\xa0\x80", "must be valid UTF-8"),
        DisplayName("Newline", "a\nb", "must not contain control characters"),
        DisplayName("Tab", "a\tb", "must not contain control characters"),
        DisplayName("Nul", std::string("a\0b", 3), "must not contain control characters"),
        DisplayName("Delete", "a\x7f", "must not contain control characters"),
        DisplayName("Escape", "\x1b[31mred", "must not contain control characters"),
        DisplayName("C1Control",
                    "a\xc2\x85"
                    "b",
                    "must not contain control characters")),
    RowName);

BadInput Description(std::string name, std::string value, std::string why) {
  return {std::move(name), [value] { return ValidateDescription(value, "webhook.description"); },
          absl::StrCat("webhook.description: ", why)};
}

INSTANTIATE_TEST_SUITE_P(
    Description, RejectsBadInputTest,
    ::testing::Values(
        Description("TooLong", std::string(1025, 'd'), "longer than 1024"),
        Description("TooLongMultiByte", Repeat("\xe2\x82\xac", 1025), "longer than 1024"),
        Description("InvalidUtf8", "ok \xff", "must be valid UTF-8"),
        Description("CarriageReturn", "a\r\nb", "must not contain control characters"),
        Description("Nul", std::string("a\0b", 3), "must not contain control characters")),
    RowName);

// The SSRF guard of a production server: no private range allowed.
const http::AddressPolicy& StrictDestinations() {
  static const auto* const policy = new http::AddressPolicy({});
  return *policy;
}

BadInput Url(std::string name, std::string value, std::string why) {
  return {std::move(name),
          [value] { return ValidateUrl(value, StrictDestinations(), "webhook.url"); },
          absl::StrCat("webhook.url: ", why)};
}

INSTANTIATE_TEST_SUITE_P(
    Url, RejectsBadInputTest,
    ::testing::Values(Url("Empty", "", "required"),
                      Url("Http", "http://example.com/", "must use https"),
                      Url("Relative", "example.com/x", "must be an absolute https:// URL"),
                      Url("UserInfo", "https://u:p@example.com/", "must not contain a user"),
                      Url("Fragment", "https://example.com/#x", "must not contain a fragment"),
                      Url("Space", "https://example.com/a b", "must be printable ASCII"),
                      Url("TooLong", "https://example.com/" + std::string(2048, 'a'),
                          "longer than 2048"),
                      Url("PortTooLarge", "https://example.com:70000/", ""),
                      // IP literals the SSRF guard refuses could never be delivered to.
                      Url("CloudMetadata", "https://169.254.169.254/latest/meta-data",
                          "destination 169.254.169.254 is"),
                      Url("Loopback", "https://127.0.0.1:8443/hooks", "destination 127.0.0.1 is"),
                      Url("LoopbackV6", "https://[::1]/hooks", "destination ::1 is"),
                      Url("Private", "https://10.0.0.7/hooks", "destination 10.0.0.7 is"),
                      Url("MappedV6", "https://[::ffff:8.8.8.8]/", "destination ::ffff:")),
    RowName);

TEST(ValidateUrlTest, NamesTheSsrfRuleForARefusedAddress) {
  const absl::Status status =
      ValidateUrl("https://169.254.169.254/", StrictDestinations(), "webhook.url");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("SSRF guard"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("allow_private_targets"));
}

TEST(ValidateUrlTest, AllowedPrivateRangesAndHostNamesPass) {
  const http::AddressPolicy development({*IpRange::Parse("127.0.0.0/8")});
  EXPECT_TRUE(ValidateUrl("https://127.0.0.1:8443/hooks", development, "webhook.url").ok());
  EXPECT_FALSE(ValidateUrl("https://10.0.0.7/hooks", development, "webhook.url").ok());
  // Names are checked at delivery, against what they resolve to then.
  EXPECT_TRUE(ValidateUrl("https://localhost/hooks", StrictDestinations(), "webhook.url").ok());
  EXPECT_TRUE(ValidateUrl("https://93.184.216.34/hooks", StrictDestinations(), "webhook.url").ok());
}

BadInput EventTypes(std::string name, std::vector<std::string> types, std::string prefix) {
  return {std::move(name), [types] { return NormalizeStatus(types); }, std::move(prefix)};
}

INSTANTIATE_TEST_SUITE_P(
    EventTypes, RejectsBadInputTest,
    ::testing::Values(EventTypes("Unknown", {"booking.created", "booking.exploded"},
                                 "webhook.event_types[1]: unknown event type \"booking.exploded\""),
                      EventTypes("WrongCase", {"Booking.Created"},
                                 "webhook.event_types[0]: unknown"),
                      EventTypes("Empty", {""}, "webhook.event_types[0]: unknown"),
                      EventTypes("Wildcard", {"booking.*"}, "webhook.event_types[0]: unknown")),
    RowName);

BadInput HeaderRow(std::string name, std::vector<std::pair<std::string, std::string>> entries,
                   std::string prefix) {
  return {std::move(name),
          [entries] { return ValidateHeaders(HeadersOf(entries), "webhook.headers"); },
          std::move(prefix)};
}

BadInput Reserved(std::string header) {
  std::string row = header;
  for (char& c : row) {
    if (c == '-') c = '_';
  }
  return HeaderRow(absl::StrCat("Reserved_", row), {{header, std::string(kSecretValue)}},
                   absl::StrCat("webhook.headers[\"", header, "\"]: is reserved"));
}

INSTANTIATE_TEST_SUITE_P(ReservedHeaders, RejectsBadInputTest,
                         ::testing::Values(Reserved("Host"), Reserved("content-type"),
                                           Reserved("Content-Length"), Reserved("user-agent"),
                                           Reserved("Webhook-Id"), Reserved("webhook-signature"),
                                           Reserved("WEBHOOK-TIMESTAMP"), Reserved("connection"),
                                           Reserved("transfer-encoding"), Reserved("TE"),
                                           Reserved("Upgrade"), Reserved("Proxy-Authorization"),
                                           Reserved("Content-Encoding"), Reserved("Expect")),
                         RowName);

std::vector<std::pair<std::string, std::string>> ManyHeaders(int count) {
  std::vector<std::pair<std::string, std::string>> entries;
  for (int i = 0; i < count; ++i) {
    entries.emplace_back(absl::StrCat("X-H", i), std::string(kSecretValue));
  }
  return entries;
}

INSTANTIATE_TEST_SUITE_P(
    Headers, RejectsBadInputTest,
    ::testing::Values(
        HeaderRow("NameWithSpace", {{"bad header", "v"}},
                  "webhook.headers[\"bad header\"]: header names are"),
        HeaderRow("NameWithColon", {{"a:b", "v"}}, "webhook.headers[\"a:b\"]: header names are"),
        HeaderRow("EmptyName", {{"", "v"}}, "webhook.headers[\"\"]: header names are"),
        HeaderRow("EmptyValue", {{"X-Empty", ""}},
                  "webhook.headers[\"X-Empty\"]: value must not be empty"),
        HeaderRow("UnderscoreSpellingOfReserved", {{"Content_Type", "v"}},
                  "webhook.headers[\"Content_Type\"]: is reserved"),
        HeaderRow("NameWithNewline", {{"X-A\r\nX-B", "v"}},
                  "webhook.headers[\"X-A\\r\\nX-B\"]: header names are"),
        HeaderRow("NameNonAscii", {{"X-Caf\xc3\xa9", "v"}}, "webhook.headers[\"X-Caf"),
        HeaderRow("NameTooLong", {{std::string(65, 'x'), "v"}}, "webhook.headers[\"xxxx"),
        HeaderRow("DuplicateIgnoringCase",
                  {{"X-A", std::string(kSecretValue)}, {"x-a", std::string(kSecretValue)}},
                  "webhook.headers[\"x-a\"]: repeats another header's name"),
        HeaderRow("TooMany", ManyHeaders(21), "webhook.headers: at most 20 custom headers, got 21"),
        HeaderRow("ValueWithCr", {{"X-Key", absl::StrCat(kSecretValue, "\r")}},
                  "webhook.headers[\"X-Key\"]: value must be visible ASCII"),
        HeaderRow("ValueWithLf", {{"X-Key", absl::StrCat(kSecretValue, "\nX-Evil: 1")}},
                  "webhook.headers[\"X-Key\"]: value must be visible ASCII"),
        HeaderRow("ValueWithNul", {{"X-Key", absl::StrCat(kSecretValue, std::string(1, '\0'))}},
                  "webhook.headers[\"X-Key\"]: value must be visible ASCII"),
        HeaderRow("ValueNonAscii", {{"X-Key", absl::StrCat(kSecretValue, "\xc3\xa9")}},
                  "webhook.headers[\"X-Key\"]: value must be visible ASCII"),
        HeaderRow("ValueTooLong", {{"X-Key", absl::StrCat(kSecretValue, std::string(1024, 'v'))}},
                  "webhook.headers[\"X-Key\"]: value longer than 1024")),
    RowName);

BadInput RequestId(std::string name, std::string value) {
  return {std::move(name), [value] { return ValidateRequestId(value, "request_id"); },
          "request_id: must be 1-128 characters"};
}

INSTANTIATE_TEST_SUITE_P(RequestId, RejectsBadInputTest,
                         ::testing::Values(RequestId("TooLong", std::string(129, 'r')),
                                           RequestId("Space", "abc def"), RequestId("Slash", "a/b"),
                                           RequestId("NonAscii", "caf\xc3\xa9"),
                                           RequestId("Newline", "abc\n")),
                         RowName);

TEST(ValidateDisplayNameTest, Accepts128CodePointsOfAnyWidth) {
  EXPECT_TRUE(ValidateDisplayName(std::string(128, 'a'), "f").ok());
  EXPECT_TRUE(ValidateDisplayName(Repeat("\xc3\xa9", 128), "f").ok());          // 256 bytes
  EXPECT_TRUE(ValidateDisplayName(Repeat("\xf0\x9f\x8f\xa8", 128), "f").ok());  // 512 bytes
  EXPECT_TRUE(ValidateDisplayName("H\xc3\xb4tel du Parc \xe2\x80\x94 booking", "f").ok());
}

TEST(ValidateDescriptionTest, AcceptsEmptyTabsNewlinesAnd1024CodePoints) {
  EXPECT_TRUE(ValidateDescription("", "f").ok());
  EXPECT_TRUE(ValidateDescription("line 1\n\tline 2", "f").ok());
  EXPECT_TRUE(ValidateDescription(std::string(1024, 'd'), "f").ok());
  EXPECT_TRUE(ValidateDescription(Repeat("\xe2\x82\xac", 1024), "f").ok());
}

TEST(ValidateUrlTest, AcceptsAnHttpsUrl) {
  EXPECT_TRUE(ValidateUrl("https://example.com/hooks?x=1", StrictDestinations(), "webhook.url").ok());
}

TEST(NormalizeEventTypesTest, UnknownTypeErrorListsTheKnownTypes) {
  const absl::Status status = NormalizeStatus({"booking.exploded"});
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(absl::StrCat("known types: ", Catalog().names_list())));
  EXPECT_THAT(std::string(status.message()), HasSubstr("booking.cancelled, booking.checked_in"));
}

TEST(NormalizeEventTypesTest, RemovesDuplicatesAndSorts) {
  auto types = NormalizeEventTypes(
      StringsOf({"payment.completed", "booking.created", "payment.completed", "booking.created"}),
      Catalog(), "webhook.event_types");

  ASSERT_TRUE(types.ok()) << types.status();
  EXPECT_THAT(*types, ElementsAre("booking.created", "payment.completed"));
}

TEST(NormalizeEventTypesTest, EmptyListStaysEmpty) {
  auto types = NormalizeEventTypes(Strings(), Catalog(), "webhook.event_types");
  ASSERT_TRUE(types.ok()) << types.status();
  EXPECT_THAT(*types, IsEmpty());
}

TEST(ValidateHeadersTest, AcceptsTwentyValidHeaders) {
  const absl::Status status = ValidateHeaders(HeadersOf(ManyHeaders(20)), "webhook.headers");
  EXPECT_TRUE(status.ok()) << status;
}

TEST(ValidateHeadersTest, AcceptsTokenNamesAndVisibleValues) {
  const absl::Status status =
      ValidateHeaders(HeadersOf({{"Authorization", "Bearer abc"},
                                 {"X-Api-Key", "k"},
                                 {"x!#$%&'*+-.^_`|~1", "v"},
                                 {std::string(64, 'n'), std::string(1024, 'v')},
                                 {"X-Spaces", " a\tb ~"}}),
                      "webhook.headers");
  EXPECT_TRUE(status.ok()) << status;
}

TEST(ValidateHeadersTest, EmptyMapIsValid) {
  EXPECT_TRUE(ValidateHeaders(Headers(), "webhook.headers").ok());
}

TEST(IsReservedHeaderNameTest, ReservesServiceAndHopByHopHeaders) {
  for (const char* name : {"Host", "content-type", "Content-Length", "user-agent", "Webhook-Id",
                           "webhook-signature", "webhook-anything", "connection",
                           "transfer-encoding", "Keep-Alive", "Trailer", "Accept-Encoding"}) {
    EXPECT_TRUE(IsReservedHeaderName(name)) << name;
  }
}

TEST(IsReservedHeaderNameTest, AllowsCustomHeaders) {
  for (const char* name :
       {"Authorization", "X-Api-Key", "X-Webhook-Id", "Webhook", "Webhooks", "Hosts", ""}) {
    EXPECT_FALSE(IsReservedHeaderName(name)) << name;
  }
}

TEST(ValidateRequestIdTest, AcceptsUuidsAndOtherTokens) {
  EXPECT_TRUE(ValidateRequestId("", "request_id").ok()) << "request_id is optional";
  EXPECT_TRUE(ValidateRequestId("3f2b8c1e-9d4a-4b7e-8f21-6a5c0d9e7b13", "request_id").ok());
  EXPECT_TRUE(ValidateRequestId("order:42.retry_1", "request_id").ok());
  EXPECT_TRUE(ValidateRequestId(std::string(128, 'r'), "request_id").ok());
}

}  // namespace
}  // namespace wink::webhooks::api
