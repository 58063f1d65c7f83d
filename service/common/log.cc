#include "service/common/log.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/common/json.h"
#include "service/common/utf8.h"

namespace wink::webhooks {
namespace {

std::atomic<LogFormat> log_format{LogFormat::kText};

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "INFO";
}

bool NeedsQuoting(absl::string_view value) {
  return value.empty() || std::any_of(value.begin(), value.end(), [](char c) {
           const auto u = static_cast<unsigned char>(c);
           return u <= ' ' || u == '"' || u == '=' || u == '\\' || u == 0x7f;
         });
}

// A JSON string for any bytes: AppendJsonString copies bytes as they are,
// so text that is not UTF-8 (a peer's garbage echoed in an error, say) is
// hex-escaped first rather than making the whole line unparseable.
void AppendJsonValue(std::string& out, absl::string_view value) {
  if (IsValidUtf8(value)) {
    AppendJsonString(out, value);
  } else {
    AppendJsonString(out, absl::CHexEscape(value));
  }
}

std::string Timestamp() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone());
}

}  // namespace

void SetLogFormat(LogFormat format) { log_format.store(format, std::memory_order_relaxed); }

LogFormat GetLogFormat() { return log_format.load(std::memory_order_relaxed); }

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("log_format: expected \"text\" or \"json\", got \"", absl::CEscape(name), "\""));
}

LogLine::LogLine(LogLevel level, absl::string_view event) : format_(GetLogFormat()) {
  if (format_ == LogFormat::kText) {
    line_ = absl::StrCat(Timestamp(), " ", LevelName(level), " ", event);
    return;
  }
  line_ =
      absl::StrCat(R"({"ts":")", Timestamp(), R"(","level":")", LevelName(level), R"(","event":)");
  AppendJsonValue(line_, event);
}

LogLine::~LogLine() {
  line_ += format_ == LogFormat::kText ? "\n" : "}\n";
  // One write per line keeps concurrent lines from interleaving; a failed
  // write to stderr has nowhere better to be reported.
  (void)!::write(STDERR_FILENO, line_.data(), line_.size());
}

void LogLine::AppendKey(absl::string_view key) {
  if (format_ == LogFormat::kJson) {
    line_ += ',';
    // "event" already names what happened; a duplicate key would make
    // parsers keep one of the two.
    AppendJsonValue(line_, key == "event" ? "event_id" : key);
    line_ += ':';
  } else {
    absl::StrAppend(&line_, " ", key, "=");
  }
}

LogLine& LogLine::Field(absl::string_view key, absl::string_view value) {
  AppendKey(key);
  if (format_ == LogFormat::kJson) {
    AppendJsonValue(line_, value);
  } else if (NeedsQuoting(value)) {
    absl::StrAppend(&line_, "\"", absl::CEscape(value), "\"");
  } else {
    line_.append(value.data(), value.size());
  }
  return *this;
}

LogLine& LogLine::Field(absl::string_view key, int64_t value) {
  AppendKey(key);
  absl::StrAppend(&line_, value);
  return *this;
}

LogLine& LogLine::Field(absl::string_view key, double value) {
  AppendKey(key);
  // JSON has no NaN or Infinity.
  if (format_ == LogFormat::kJson && !std::isfinite(value)) {
    line_ += "null";
  } else {
    absl::StrAppend(&line_, absl::StrFormat("%.3f", value));
  }
  return *this;
}

}  // namespace wink::webhooks
