#include "service/delivery/retry_policy.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/http/http_client.h"
#include "service/storage/event_store.h"

namespace wink::webhooks::delivery {
namespace {

using ::wink::webhooks::storage::AttemptOutcome;

// Fri, 27 Nov 2026 22:00:00 GMT.
const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2026, 11, 27, 22, 0, 0), absl::UTCTimeZone());

http::HttpResponse Status(int status, std::string retry_after = "") {
  http::HttpResponse response;
  response.status = status;
  response.retry_after = std::move(retry_after);
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
      {http::TransportError::kDestinationRefused, "destination 10.0.0.7 is a private address"},
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
  response.retry_after = "7";

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

// RetryPolicy ---------------------------------------------------------------

TEST(RetryPolicyTest, MaxAttemptsIsTheScheduleLength) {
  EXPECT_EQ(RetryPolicy(DefaultSchedule(), absl::Hours(1)).max_attempts(), 8);
  EXPECT_EQ(RetryPolicy({absl::ZeroDuration()}, absl::Hours(1)).max_attempts(), 1);
}

TEST(RetryPolicyTest, FirstRetryIsFiveSecondsWithJitter) {
  const RetryPolicy policy(DefaultSchedule(), absl::Hours(1));

  for (double r : {0.0, 0.5, 0.999}) {
    const std::optional<absl::Duration> delay = policy.NextDelay(1, std::nullopt, r);

    ASSERT_TRUE(delay.has_value()) << r;
    EXPECT_EQ(*delay, absl::Seconds(5) * (1 + 0.2 * (2 * r - 1))) << r;
    EXPECT_GE(*delay, absl::Seconds(4)) << r;
    EXPECT_LE(*delay, absl::Seconds(6)) << r;
  }
  EXPECT_EQ(policy.NextDelay(1, std::nullopt, 0.0), absl::Seconds(4));
  EXPECT_EQ(policy.NextDelay(1, std::nullopt, 0.5), absl::Seconds(5));
  EXPECT_GT(policy.NextDelay(1, std::nullopt, 0.999), absl::Milliseconds(5990));
}

TEST(RetryPolicyTest, FollowsTheScheduleWithoutJitterAtTheMiddle) {
  const RetryPolicy policy(DefaultSchedule(), absl::Hours(1));
  const std::vector<absl::Duration> schedule = DefaultSchedule();

  for (int attempts_made = 1; attempts_made < 8; ++attempts_made) {
    EXPECT_EQ(policy.NextDelay(attempts_made, std::nullopt, 0.5), schedule[attempts_made])
        << attempts_made;
  }
}

TEST(RetryPolicyTest, JitterFractionIsConfigurable) {
  const RetryPolicy none(DefaultSchedule(), absl::Hours(1), /*jitter_fraction=*/0.0);
  const RetryPolicy half(DefaultSchedule(), absl::Hours(1), /*jitter_fraction=*/0.5);

  EXPECT_EQ(none.NextDelay(2, std::nullopt, 0.0), absl::Minutes(5));
  EXPECT_EQ(none.NextDelay(2, std::nullopt, 0.999), absl::Minutes(5));
  EXPECT_EQ(half.NextDelay(3, std::nullopt, 0.0), absl::Minutes(15));
}

TEST(RetryPolicyTest, ExhaustedScheduleIsNullopt) {
  const RetryPolicy policy(DefaultSchedule(), absl::Hours(1));

  EXPECT_TRUE(policy.NextDelay(7, std::nullopt, 0.5).has_value());
  EXPECT_EQ(policy.NextDelay(8, std::nullopt, 0.5), std::nullopt);
  EXPECT_EQ(policy.NextDelay(9, std::nullopt, 0.5), std::nullopt);
  // A receiver's Retry-After does not add attempts.
  EXPECT_EQ(policy.NextDelay(8, absl::Seconds(7), 0.5), std::nullopt);
}

TEST(RetryPolicyTest, RetryAfterReplacesTheScheduleWithoutJitter) {
  const RetryPolicy policy(DefaultSchedule(), absl::Hours(1));

  EXPECT_EQ(policy.NextDelay(1, absl::Seconds(7), 0.0), absl::Seconds(7));
  EXPECT_EQ(policy.NextDelay(1, absl::Seconds(7), 0.999), absl::Seconds(7));
  EXPECT_EQ(policy.NextDelay(6, absl::Minutes(3), 0.5), absl::Minutes(3));
}

TEST(RetryPolicyTest, RetryAfterIsClampedToOneSecondAndMaxRetryAfter) {
  const RetryPolicy policy(DefaultSchedule(), absl::Hours(1));

  EXPECT_EQ(policy.NextDelay(1, absl::ZeroDuration(), 0.5), absl::Seconds(1));
  EXPECT_EQ(policy.NextDelay(1, absl::Milliseconds(300), 0.5), absl::Seconds(1));
  EXPECT_EQ(policy.NextDelay(1, absl::Hours(1), 0.5), absl::Hours(1));
  EXPECT_EQ(policy.NextDelay(1, absl::Hours(2), 0.5), absl::Hours(1));
  EXPECT_EQ(policy.NextDelay(1, absl::InfiniteDuration(), 0.5), absl::Hours(1));
}

TEST(RetryPolicyTest, JudgeAndNextDelayTogether) {
  const RetryPolicy policy(DefaultSchedule(), absl::Minutes(10));

  const Verdict verdict = Judge(Status(503, std::string(30, '9')), kNow);

  EXPECT_EQ(policy.NextDelay(1, verdict.retry_after, 0.5), absl::Minutes(10));
}

}  // namespace
}  // namespace wink::webhooks::delivery
