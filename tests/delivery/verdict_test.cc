#include "service/delivery/verdict.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/http/http_client.h"
#include "service/domain/retry_policy.h"

namespace wink::webhooks::delivery {
namespace {

using ::wink::webhooks::domain::AttemptOutcome;
using ::wink::webhooks::domain::RetryPolicy;

// Fri, 27 Nov 2026 22:00:00 GMT.
const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2026, 11, 27, 22, 0, 0), absl::UTCTimeZone());

http::HttpResponse Status(int status, std::string retry_after = "") {
  http::HttpResponse response;
  response.status = status;
  if (!retry_after.empty()) response.notable_headers["retry-after"] = std::move(retry_after);
  return response;
}

http::HttpResponse Failure(http::TransportError error, std::string text) {
  http::HttpResponse response;
  response.transport_error = error;
  response.error = std::move(text);
  return response;
}

// The default schedule of server_config.proto.
std::vector<absl::Duration> DefaultSchedule() {
  return {absl::ZeroDuration(), absl::Seconds(5), absl::Minutes(5), absl::Minutes(30),
          absl::Hours(2),       absl::Hours(5),   absl::Hours(10),  absl::Hours(10)};
}

// Judge -----------------------------------------------------------------

class JudgeSuccessTest : public ::testing::TestWithParam<int> {};

TEST_P(JudgeSuccessTest, TwoHundredsAreDeliveredWithoutError) {
  const Verdict verdict = Judge(Status(GetParam(), "7"), kNow);

  EXPECT_EQ(verdict.outcome, AttemptOutcome::kDelivered);
  EXPECT_EQ(verdict.error, "");
  EXPECT_EQ(verdict.retry_after, std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(Statuses, JudgeSuccessTest, ::testing::Values(200, 204, 299));

TEST(JudgeTest, GoneDisablesTheEndpoint) {
  const Verdict verdict = Judge(Status(410), kNow);

  EXPECT_EQ(verdict.outcome, AttemptOutcome::kDisableEndpoint);
  EXPECT_EQ(verdict.error, "HTTP 410 Gone");
  EXPECT_EQ(verdict.retry_after, std::nullopt);
}

class JudgeRedirectTest : public ::testing::TestWithParam<int> {};

TEST_P(JudgeRedirectTest, RedirectsRetryAndSayTheyAreNotFollowed) {
  const Verdict verdict = Judge(Status(GetParam()), kNow);

  EXPECT_EQ(verdict.outcome, AttemptOutcome::kRetryLater);
  EXPECT_EQ(verdict.error, absl::StrCat("HTTP ", GetParam(), " (redirects are not followed)"));
  EXPECT_EQ(verdict.retry_after, std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(Statuses, JudgeRedirectTest, ::testing::Values(300, 301, 302, 307, 399));

class JudgeErrorStatusTest : public ::testing::TestWithParam<int> {};

TEST_P(JudgeErrorStatusTest, OtherStatusesRetryNamingTheStatus) {
  const Verdict verdict = Judge(Status(GetParam()), kNow);

  EXPECT_EQ(verdict.outcome, AttemptOutcome::kRetryLater);
  EXPECT_EQ(verdict.error, absl::StrCat("HTTP ", GetParam()));
  EXPECT_EQ(verdict.retry_after, std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(Statuses, JudgeErrorStatusTest,
                         ::testing::Values(100, 199, 400, 401, 404, 409, 429, 500, 502, 503, 504));

TEST(JudgeTest, TooManyRequestsWithDelaySecondsGivesRetryAfter) {
  const Verdict verdict = Judge(Status(429, "7"), kNow);

  EXPECT_EQ(verdict.outcome, AttemptOutcome::kRetryLater);
  EXPECT_EQ(verdict.error, "HTTP 429");
  EXPECT_EQ(verdict.retry_after, absl::Seconds(7));
}

TEST(JudgeTest, UnavailableWithHttpDateGivesTheTimeUntilThen) {
  const Verdict verdict = Judge(Status(503, "Fri, 27 Nov 2026 22:00:30 GMT"), kNow);

  EXPECT_EQ(verdict.outcome, AttemptOutcome::kRetryLater);
  EXPECT_EQ(verdict.error, "HTTP 503");
  EXPECT_EQ(verdict.retry_after, absl::Seconds(30));
}

TEST(JudgeTest, UnavailableWithPastHttpDateGivesZero) {
  const Verdict verdict = Judge(Status(503, "Fri, 27 Nov 2026 21:59:00 GMT"), kNow);

  EXPECT_EQ(verdict.outcome, AttemptOutcome::kRetryLater);
  EXPECT_EQ(verdict.retry_after, absl::ZeroDuration());
}

TEST(JudgeTest, GarbageRetryAfterIsIgnored) {
  const Verdict verdict = Judge(Status(429, "soon, please"), kNow);

  EXPECT_EQ(verdict.outcome, AttemptOutcome::kRetryLater);
  EXPECT_EQ(verdict.error, "HTTP 429");
  EXPECT_EQ(verdict.retry_after, std::nullopt);
}

TEST(JudgeTest, RetryAfterOnOtherStatusesIsIgnored) {
  for (int status : {500, 502, 400, 301}) {
    const Verdict verdict = Judge(Status(status, "7"), kNow);

    EXPECT_EQ(verdict.outcome, AttemptOutcome::kRetryLater) << status;
    EXPECT_EQ(verdict.retry_after, std::nullopt) << status;
  }
}

TEST(JudgeTest, TransportErrorsRetryWithTheResponsesErrorText) {
  const struct {
    http::TransportError error;
    std::string text;
  } kCases[] = {
      {http::TransportError::kTimeout, "timed out after 15s"},
      {http::TransportError::kConnectFailure, "connection refused"},
      {http::TransportError::kDnsFailure, "could not resolve hooks.example.com"},
      {http::TransportError::kDestinationRefused, "destination refused: a private address"},
      {http::TransportError::kTlsFailure, "certificate verify failed"},
      {http::TransportError::kConnectionReset, "connection reset by peer"},
      {http::TransportError::kCancelled, "cancelled"},
      {http::TransportError::kOther, "something else"},
  };
  for (const auto& c : kCases) {
    const Verdict verdict = Judge(Failure(c.error, c.text), kNow);

    EXPECT_EQ(verdict.outcome, AttemptOutcome::kRetryLater) << c.text;
    EXPECT_EQ(verdict.error, c.text);
    EXPECT_EQ(verdict.retry_after, std::nullopt) << c.text;
  }
}

TEST(JudgeTest, TransportErrorWithoutTextSaysTheRequestFailed) {
  const Verdict verdict = Judge(Failure(http::TransportError::kOther, ""), kNow);

  EXPECT_EQ(verdict.outcome, AttemptOutcome::kRetryLater);
  EXPECT_EQ(verdict.error, "request failed");
}

TEST(JudgeTest, TransportErrorWinsOverAStatusAndRetryAfter) {
  http::HttpResponse response = Failure(http::TransportError::kConnectionReset, "reset");
  response.status = 200;
  response.notable_headers["retry-after"] = "7";

  const Verdict verdict = Judge(response, kNow);

  EXPECT_EQ(verdict.outcome, AttemptOutcome::kRetryLater);
  EXPECT_EQ(verdict.error, "reset");
  EXPECT_EQ(verdict.retry_after, std::nullopt);
}

// ParseRetryAfter -----------------------------------------------------------

TEST(ParseRetryAfterTest, DelaySeconds) {
  EXPECT_EQ(ParseRetryAfter("0", kNow), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("7", kNow), absl::Seconds(7));
  EXPECT_EQ(ParseRetryAfter("007", kNow), absl::Seconds(7));
  EXPECT_EQ(ParseRetryAfter("86400", kNow), absl::Hours(24));
}

TEST(ParseRetryAfterTest, SurroundingWhitespaceIsIgnored) {
  EXPECT_EQ(ParseRetryAfter(" 7 ", kNow), absl::Seconds(7));
  EXPECT_EQ(ParseRetryAfter("\t120\r\n", kNow), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter("  Fri, 27 Nov 2026 22:01:00 GMT  ", kNow), absl::Minutes(1));
}

TEST(ParseRetryAfterTest, HugeDigitStringsAreInfinite) {
  EXPECT_EQ(ParseRetryAfter("99999999999999999999", kNow), absl::InfiniteDuration());
  EXPECT_EQ(ParseRetryAfter(std::string(400, '9'), kNow), absl::InfiniteDuration());
}

TEST(ParseRetryAfterTest, HttpDates) {
  EXPECT_EQ(ParseRetryAfter("Fri, 27 Nov 2026 22:00:30 GMT", kNow), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Sat, 28 Nov 2026 22:00:00 GMT", kNow), absl::Hours(24));
  EXPECT_EQ(ParseRetryAfter("Fri, 27 Nov 2026 22:00:00 GMT", kNow), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("Thu, 01 Jan 1970 00:00:00 GMT", kNow), absl::ZeroDuration());
}

TEST(ParseRetryAfterTest, NeitherSecondsNorDateIsNullopt) {
  for (const char* value : {"", "   ", "-1", "+7", "1.5", "7s", "7 8", "0x10", "soon",
                            "2026-11-27T22:00:30Z", "Fri, 27 Nov 2026 22:00:30"}) {
    EXPECT_EQ(ParseRetryAfter(value, kNow), std::nullopt) << '"' << value << '"';
  }
}

TEST(RetryPolicyTest, JudgeAndNextDelayTogether) {
  const RetryPolicy policy(DefaultSchedule(), absl::Minutes(10));

  const Verdict verdict = Judge(Status(503, std::string(30, '9')), kNow);

  EXPECT_EQ(policy.NextDelay(1, verdict.retry_after, 0.5), absl::Minutes(10));
}

}  // namespace
}  // namespace wink::webhooks::delivery
