#include "service/common/log.h"

#include <cmath>
#include <limits>
#include <string>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/common/json.h"

namespace wink::webhooks {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

// Emits one line and returns what reached stderr.
template <typename Fill>
std::string Capture(LogLevel level, absl::string_view event, Fill fill) {
  ::testing::internal::CaptureStderr();
  {
    LogLine line(level, event);
    fill(line);
  }
  return ::testing::internal::GetCapturedStderr();
}

// Sets the process-wide format for one test and restores text afterwards.
class JsonLogTest : public ::testing::Test {
 protected:
  void SetUp() override { SetLogFormat(LogFormat::kJson); }
  void TearDown() override { SetLogFormat(LogFormat::kText); }
};

// `line` with its timestamp (checked: RFC 3339, microseconds, UTC) replaced
// by "TS", so the rest can be compared exactly.
std::string WithoutTimestamp(const std::string& line) {
  constexpr absl::string_view kPrefix = R"({"ts":")";
  constexpr size_t kTimestampLength = sizeof("2026-11-27T20:40:27.123456Z") - 1;
  if (line.compare(0, kPrefix.size(), kPrefix.data(), kPrefix.size()) != 0 ||
      line.size() < kPrefix.size() + kTimestampLength) {
    ADD_FAILURE() << "no timestamp at the start of: " << line;
    return line;
  }
  const std::string ts = line.substr(kPrefix.size(), kTimestampLength);
  EXPECT_THAT(ts, MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                               "\\.[0-9]{6}Z"));
  return absl::StrCat(kPrefix, "TS", line.substr(kPrefix.size() + kTimestampLength));
}

TEST(LogLineTest, WritesTimestampLevelEventAndFieldsOnOneLine) {
  const std::string out = Capture(LogLevel::kInfo, "rpc", [](LogLine& line) {
    line.Field("method", "GetWebhook").Field("code", "OK").Field("latency_ms", 1.25);
  });

  EXPECT_THAT(out, MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z INFO rpc "
                                "method=GetWebhook code=OK latency_ms=1.250\n"));
}

TEST(LogLineTest, NamesEachLevel) {
  EXPECT_THAT(Capture(LogLevel::kWarning, "e", [](LogLine&) {}), HasSubstr(" WARN e\n"));
  EXPECT_THAT(Capture(LogLevel::kError, "e", [](LogLine&) {}), HasSubstr(" ERROR e\n"));
}

TEST(LogLineTest, FormatsIntegers) {
  const std::string out =
      Capture(LogLevel::kInfo, "e", [](LogLine& line) { line.Field("n", int64_t{-42}); });
  EXPECT_THAT(out, EndsWith(" n=-42\n"));
}

TEST(LogLineTest, QuotesValuesWithSpacesQuotesOrEquals) {
  const std::string out = Capture(LogLevel::kInfo, "e", [](LogLine& line) {
    line.Field("a", "two words").Field("b", "x=y").Field("c", "say \"hi\"").Field("d", "");
  });
  EXPECT_THAT(out, EndsWith(" a=\"two words\" b=\"x=y\" c=\"say \\\"hi\\\"\" d=\"\"\n"));
}

TEST(LogLineTest, EscapesControlCharactersSoOneEventIsOneLine) {
  const std::string out =
      Capture(LogLevel::kInfo, "e", [](LogLine& line) { line.Field("v", "line1\nline2\r\tend"); });
  EXPECT_THAT(out, EndsWith(" v=\"line1\\nline2\\r\\tend\"\n"));
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

TEST(LogFormatTest, ParsesTheFlagValues) {
  EXPECT_EQ(ParseLogFormat("text").value(), LogFormat::kText);
  EXPECT_EQ(ParseLogFormat("json").value(), LogFormat::kJson);
  const absl::Status bad = ParseLogFormat("JSON").status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.message(), "log_format: expected \"text\" or \"json\", got \"JSON\"");
}

TEST(LogFormatTest, TextIsTheDefault) { EXPECT_EQ(GetLogFormat(), LogFormat::kText); }

TEST_F(JsonLogTest, WritesOneJsonObjectPerLineWithNumbersAsNumbers) {
  const std::string out = Capture(LogLevel::kInfo, "rpc", [](LogLine& line) {
    line.Field("method", "GetWebhook")
        .Field("code", "OK")
        .Field("latency_ms", 1.25)
        .Field("attempts", int64_t{-3});
  });
  EXPECT_EQ(WithoutTimestamp(out),
            R"({"ts":"TS","level":"INFO","event":"rpc","method":"GetWebhook","code":"OK",)"
            R"("latency_ms":1.250,"attempts":-3})"
            "\n");
}

TEST_F(JsonLogTest, NamesEachLevel) {
  EXPECT_EQ(WithoutTimestamp(Capture(LogLevel::kWarning, "e", [](LogLine&) {})),
            "{\"ts\":\"TS\",\"level\":\"WARN\",\"event\":\"e\"}\n");
  EXPECT_EQ(WithoutTimestamp(Capture(LogLevel::kError, "e", [](LogLine&) {})),
            "{\"ts\":\"TS\",\"level\":\"ERROR\",\"event\":\"e\"}\n");
}

TEST_F(JsonLogTest, EscapesStringsSoOneEventIsOneValidLine) {
  const std::string out = Capture(LogLevel::kInfo, "e", [](LogLine& line) {
    line.Field("quote", "say \"hi\"")
        .Field("backslash", "C:\\dir")
        .Field("controls", "a\nb\r\tc\x01")
        .Field("utf8", "Z\xc3\xbcrich")
        .Field("empty", "");
  });
  EXPECT_EQ(WithoutTimestamp(out), R"({"ts":"TS","level":"INFO","event":"e","quote":"say \"hi\"",)"
                                   R"("backslash":"C:\\dir","controls":"a\nb\r\tc\u0001",)"
                                   "\"utf8\":\"Z\xc3\xbcrich\",\"empty\":\"\"}\n");
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_TRUE(CheckJsonObject(out, "line").ok()) << out;
}

TEST_F(JsonLogTest, HexEscapesBytesThatAreNotUtf8) {
  const std::string out = Capture(LogLevel::kInfo, "e", [](LogLine& line) {
    line.Field("raw", absl::string_view("ok\xff\xfe\"", 5));
  });
  EXPECT_EQ(WithoutTimestamp(out),
            R"({"ts":"TS","level":"INFO","event":"e","raw":"ok\\xff\\xfe\\\""})"
            "\n");
  EXPECT_TRUE(CheckJsonObject(out, "line").ok()) << out;
}

TEST_F(JsonLogTest, AFieldNamedEventBecomesEventIdSoKeysStayUnique) {
  const std::string out = Capture(LogLevel::kWarning, "delivery_attempt", [](LogLine& line) {
    line.Field("webhook", "wh_1").Field("event", "evt_2").Field("status", int64_t{503});
  });
  EXPECT_EQ(WithoutTimestamp(out),
            R"({"ts":"TS","level":"WARN","event":"delivery_attempt","webhook":"wh_1",)"
            R"("event_id":"evt_2","status":503})"
            "\n");
}

TEST(LogLineTest, TextKeepsAFieldNamedEvent) {
  const std::string out = Capture(LogLevel::kInfo, "delivery_attempt",
                                  [](LogLine& line) { line.Field("event", "e1"); });
  EXPECT_THAT(out, EndsWith(" INFO delivery_attempt event=e1\n"));
}

TEST_F(JsonLogTest, NonFiniteDoublesAreNull) {
  const std::string out = Capture(LogLevel::kInfo, "e", [](LogLine& line) {
    line.Field("nan", std::nan(""))
        .Field("inf", std::numeric_limits<double>::infinity())
        .Field("zero", 0.0);
  });
  EXPECT_EQ(WithoutTimestamp(out),
            R"({"ts":"TS","level":"INFO","event":"e","nan":null,"inf":null,"zero":0.000})"
            "\n");
}

TEST_F(JsonLogTest, KeepsTheFormatALineStartedWith) {
  ::testing::internal::CaptureStderr();
  {
    LogLine line(LogLevel::kInfo, "e");
    SetLogFormat(LogFormat::kText);
    line.Field("k", "v");
  }
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(WithoutTimestamp(out), R"({"ts":"TS","level":"INFO","event":"e","k":"v"})"
                                   "\n");
}

}  // namespace
}  // namespace wink::webhooks
