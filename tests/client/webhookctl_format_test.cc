// webhookctl's output formats on hand-made messages: what `deliveries get`
// shows of an attempt (status, latency, body excerpt, response headers) and
// the status of a webhook. Covers what the server does not send yet
// (DeliveryAttempt.response_headers) and bodies no test receiver sends.
#include "client/webhookctl/format.h"

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wink::webhooks::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

google::protobuf::Duration Duration(absl::Duration d) {
  google::protobuf::Duration out;
  out.set_seconds(absl::IDivDuration(d, absl::Seconds(1), &d));
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
  return out;
}

google::protobuf::Timestamp Time(const std::string& rfc3339) {
  absl::Time time;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &time, &error)) << error;
  google::protobuf::Timestamp out;
  const absl::Duration since_epoch = time - absl::UnixEpoch();
  absl::Duration rest = since_epoch;
  out.set_seconds(absl::IDivDuration(since_epoch, absl::Seconds(1), &rest));
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(rest)));
  return out;
}

TEST(WebhookctlFormatTest, LatencySaysItsUnit) {
  EXPECT_EQ(FormatLatency(Duration(absl::ZeroDuration())), "0 ms");
  EXPECT_EQ(FormatLatency(Duration(absl::Microseconds(300))), "<1 ms");
  EXPECT_EQ(FormatLatency(Duration(absl::Microseconds(231'400))), "231 ms");
  EXPECT_EQ(FormatLatency(Duration(absl::Microseconds(999'700))), "1.0 s");
  EXPECT_EQ(FormatLatency(Duration(absl::Milliseconds(1'234))), "1.2 s");
  EXPECT_EQ(FormatLatency(Duration(absl::Seconds(15))), "15.0 s");
  EXPECT_EQ(FormatLatency(Duration(absl::Seconds(125))), "125 s");
}

TEST(WebhookctlFormatTest, BodyTextIsTrimmedWithControlCharactersEscaped) {
  EXPECT_EQ(BodyExcerpt(""), "");
  EXPECT_EQ(BodyExcerpt(" \n{\"error\":\"bad signature\"}\r\n"), "{\"error\":\"bad signature\"}");
  EXPECT_EQ(BodyExcerpt("line 1\nline 2\tend"), "line 1\\nline 2\\tend");
  // Terminal escapes are shown, not obeyed: ESC, BEL, DEL, C1 NEL.
  EXPECT_EQ(BodyExcerpt("\x1b[31mred\x07\x7f \xc2\x85!"), "\\x1b[31mred\\x07\\x7f \\u0085!");
  EXPECT_EQ(BodyExcerpt("Zimmer für zwei ✓"), "Zimmer für zwei ✓");
}

TEST(WebhookctlFormatTest, LongBodyIsCutAtACharacterWithAMarker) {
  EXPECT_EQ(BodyExcerpt(std::string(kBodyExcerptChars, 'a')), std::string(kBodyExcerptChars, 'a'));
  EXPECT_EQ(BodyExcerpt(std::string(300, 'a')),
            std::string(kBodyExcerptChars, 'a') + "… (300 bytes in all)");
  // Characters, not bytes: 250 two-byte characters.
  std::string umlauts;
  for (int i = 0; i < 250; ++i) umlauts += "ü";
  std::string expected;
  for (size_t i = 0; i < kBodyExcerptChars; ++i) expected += "ü";
  EXPECT_EQ(BodyExcerpt(umlauts), expected + "… (500 bytes in all)");
}

TEST(WebhookctlFormatTest, BodyBytesThatAreNotUtf8AreCounted) {
  EXPECT_EQ(BodyExcerpt(std::string("\x89PNG\r\n\x1a\n\0\0", 10)), "10 bytes, not UTF-8");
  EXPECT_EQ(BodyExcerpt("caf\xc3"), "4 bytes, not UTF-8");      // cut character
  EXPECT_EQ(BodyExcerpt("\xed\xa0\x80"), "3 bytes, not UTF-8");  // surrogate
  EXPECT_EQ(BodyExcerpt("\xc0\xaf"), "2 bytes, not UTF-8");      // overlong '/'
}

TEST(WebhookctlFormatTest, ACharacterTheServiceCutAt4KiBIsNotHeldAgainstTheBody) {
  // The service keeps the first 4096 bytes: here "é" lost its second byte.
  const std::string body = std::string(4095, 'x') + "\xc3";
  EXPECT_EQ(BodyExcerpt(body), std::string(kBodyExcerptChars, 'x') + "… (4096 bytes or more)");
}

TEST(WebhookctlFormatTest, AttemptResultSaysTheStatusOnce) {
  v1::DeliveryAttempt attempt;
  attempt.set_http_status(401);
  attempt.set_error("HTTP 401");
  EXPECT_EQ(AttemptResult(attempt), "HTTP 401");
  attempt.set_http_status(302);
  attempt.set_error("HTTP 302 (redirects are not followed)");
  EXPECT_EQ(AttemptResult(attempt), "HTTP 302 (redirects are not followed)");
  attempt.set_http_status(500);
  attempt.clear_error();
  EXPECT_EQ(AttemptResult(attempt), "HTTP 500");
  attempt.set_http_status(0);
  attempt.set_error("timed out after 15s");
  EXPECT_EQ(AttemptResult(attempt), "timed out after 15s");
  attempt.set_http_status(204);
  attempt.clear_error();
  attempt.set_succeeded(true);
  EXPECT_EQ(AttemptResult(attempt), "HTTP 204 ok");
}

TEST(WebhookctlFormatTest, AttemptHeadLinesAlignedThenTheAnswerIndented) {
  v1::Delivery delivery;
  EXPECT_THAT(AttemptLines(delivery), IsEmpty());

  v1::DeliveryAttempt& first = *delivery.add_attempts();
  first.set_attempt_number(1);
  *first.mutable_start_time() = Time("2024-05-01T12:00:00.25Z");
  *first.mutable_latency() = Duration(absl::Milliseconds(231));
  first.set_http_status(503);
  first.set_error("HTTP 503");
  first.set_response_body("{\"error\":\"maintenance\"}\n");
  (*first.mutable_response_headers())["retry-after"] = "120";
  (*first.mutable_response_headers())["content-type"] = "application/json";
  (*first.mutable_response_headers())["www-authenticate"] = "Bearer realm=\"acme\"";
  (*first.mutable_response_headers())["location"] = "https://x.example/\r\nSet-Cookie: a\xff";

  v1::DeliveryAttempt& second = *delivery.add_attempts();
  second.set_attempt_number(2);
  *second.mutable_start_time() = Time("2024-05-01T12:02:00Z");
  *second.mutable_latency() = Duration(absl::Milliseconds(1'234));
  second.set_error("timed out after 15s");

  v1::DeliveryAttempt& third = *delivery.add_attempts();
  third.set_attempt_number(3);
  *third.mutable_start_time() = Time("2024-05-01T12:10:00Z");
  *third.mutable_latency() = Duration(absl::Milliseconds(80));
  third.set_http_status(200);
  third.set_succeeded(true);
  third.set_response_body("\x89PNG\r\n");

  EXPECT_THAT(AttemptLines(delivery),
              ElementsAre("#1  2024-05-01T12:00:00.250Z  231 ms  HTTP 503",
                          "    body: {\"error\":\"maintenance\"}",
                          "    Content-Type: application/json",
                          "    Location: https://x.example/\\r\\nSet-Cookie: a\\xff",
                          "    Retry-After: 120",
                          "    WWW-Authenticate: Bearer realm=\"acme\"",
                          "#2  2024-05-01T12:02:00.000Z  1.2 s   timed out after 15s",
                          "#3  2024-05-01T12:10:00.000Z  80 ms   HTTP 200 ok",
                          "    body: 6 bytes, not UTF-8"));
}

TEST(WebhookctlFormatTest, WebhookStatusSaysSinceWhenItFails) {
  v1::Webhook webhook;
  webhook.set_enabled(true);
  EXPECT_EQ(WebhookStatus(webhook), "enabled");

  *webhook.mutable_failing_since() = Time("2024-05-01T12:00:00.25Z");
  EXPECT_EQ(WebhookStatus(webhook), "enabled, failing since 2024-05-01T12:00:00.250Z");

  webhook.set_enabled(false);
  webhook.set_disabled_reason(v1::DISABLED_REASON_MANUAL);
  EXPECT_EQ(WebhookStatus(webhook), "paused, failing since 2024-05-01T12:00:00.250Z");

  webhook.set_disabled_reason(v1::DISABLED_REASON_FAILING);
  EXPECT_EQ(WebhookStatus(webhook), "paused (failing since 2024-05-01T12:00:00.250Z)");

  webhook.set_disabled_reason(v1::DISABLED_REASON_ENDPOINT_GONE);
  EXPECT_EQ(WebhookStatus(webhook),
            "paused (endpoint gone), failing since 2024-05-01T12:00:00.250Z");

  webhook.clear_failing_since();
  EXPECT_EQ(WebhookStatus(webhook), "paused (endpoint gone)");
}

// Scopes as --scope takes them; a scope this build does not know (a newer
// server's) as its number rather than an empty cell.
TEST(ApplicationFormatTest, ScopesAndState) {
  v1::Application application;
  EXPECT_EQ(ScopesText(application), "(all)");
  application.add_scopes(v1::SCOPE_READ);
  application.add_scopes(v1::SCOPE_MANAGE);
  EXPECT_EQ(ScopesText(application), "read, manage");
  EXPECT_EQ(ScopesText(application, ","), "read,manage");
  application.add_scopes(static_cast<v1::Scope>(9));
  EXPECT_EQ(ScopesText(application), "read, manage, 9");
  EXPECT_EQ(ApplicationStateName(v1::APPLICATION_STATE_REVOKED), "REVOKED");
  EXPECT_EQ(ApplicationStateName(v1::APPLICATION_STATE_EXPIRED), "EXPIRED");
}

}  // namespace
}  // namespace wink::webhooks::ctl
