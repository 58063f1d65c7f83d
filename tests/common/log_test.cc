#include "service/common/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
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
  FlushLog();  // nothing of earlier tests
  ::testing::internal::CaptureStderr();
  {
    LogLine line(level, event);
    fill(line);
  }
  FlushLog();
  return ::testing::internal::GetCapturedStderr();
}

// Points stderr (fd 2) at a fresh file while it lives, so a test can read
// what reached stderr, and when, without ending the capture.
class StderrToFile {
 public:
  StderrToFile() : path_(absl::StrCat(::testing::TempDir(), "/stderr-", getpid(), "-", ++count_)) {
    FlushLog();  // nothing of earlier tests
    const int file = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(file, 0);
    saved_ = ::dup(STDERR_FILENO);
    ::dup2(file, STDERR_FILENO);
    ::close(file);
  }
  ~StderrToFile() {
    FlushLog();
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    std::remove(path_.c_str());
  }

  std::string Written() const {
    std::ifstream in(path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  static inline int count_ = 0;
  std::string path_;
  int saved_ = -1;
};

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
  FlushLog();
  ::testing::internal::CaptureStderr();
  {
    LogLine line(LogLevel::kInfo, "e");
    SetLogFormat(LogFormat::kText);
    line.Field("k", "v");
  }
  FlushLog();
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(WithoutTimestamp(out), R"({"ts":"TS","level":"INFO","event":"e","k":"v"})"
                                   "\n");
}

TEST(LogQueueTest, InfoLinesReachStderrWithoutAFlush) {
  StderrToFile stderr_file;
  LogLine(LogLevel::kInfo, "written_in_the_background");

  // Written by the background thread within milliseconds; 10 s allows for
  // a starved machine.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!absl::StrContains(stderr_file.Written(), "INFO written_in_the_background\n") &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_THAT(stderr_file.Written(), HasSubstr("INFO written_in_the_background\n"));
}

TEST(LogQueueTest, AWarningIsWrittenAtOnceAfterEveryEarlierLine) {
  StderrToFile stderr_file;
  LogLine(LogLevel::kInfo, "queued_first");
  LogLine(LogLevel::kWarning, "warned_second");
  LogLine(LogLevel::kError, "failed_third");

  // Read before the background thread's gathering time is over: the
  // warning wrote the queued line before itself.
  const std::vector<std::string> lines =
      absl::StrSplit(stderr_file.Written(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << stderr_file.Written();
  EXPECT_THAT(lines[0], EndsWith(" INFO queued_first"));
  EXPECT_THAT(lines[1], EndsWith(" WARN warned_second"));
  EXPECT_THAT(lines[2], EndsWith(" ERROR failed_third"));
}

TEST(LogQueueTest, LinesFromManyThreadsArriveWholeOnceEachAndInEachThreadsOrder) {
  constexpr int kThreads = 8;
  constexpr int kLinesPerThread = 3000;
  StderrToFile stderr_file;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLinesPerThread; ++i) {
        // Long enough that a batch crosses the pipe and page sizes.
        LogLine(i % 500 == 0 ? LogLevel::kWarning : LogLevel::kInfo, "line")
            .Field("thread", int64_t{t})
            .Field("i", int64_t{i})
            .Field("padding", std::string(100, 'x'));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  FlushLog();

  const std::vector<std::string> lines =
      absl::StrSplit(stderr_file.Written(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLinesPerThread));
  std::vector<int> next_of_thread(kThreads, 0);
  for (const std::string& line : lines) {
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    ASSERT_EQ(parts.size(), 6u) << line;
    EXPECT_EQ(parts[5], "padding=" + std::string(100, 'x')) << line;
    int thread = -1, i = -1;
    ASSERT_TRUE(absl::SimpleAtoi(absl::StripPrefix(parts[3], "thread="), &thread)) << line;
    ASSERT_TRUE(absl::SimpleAtoi(absl::StripPrefix(parts[4], "i="), &i)) << line;
    ASSERT_TRUE(thread >= 0 && thread < kThreads) << line;
    EXPECT_EQ(i, next_of_thread[thread]) << line;
    next_of_thread[thread] = i + 1;
  }
}

TEST(LogQueueDeathTest, QueuedLinesAreWrittenAtExit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        LogLine(LogLevel::kInfo, "written_at_exit");
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "INFO written_at_exit\n");
}

}  // namespace
}  // namespace wink::webhooks
