#include "service/common/log.h"

#include <string>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wink::webhooks {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

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

}  // namespace
}  // namespace wink::webhooks
