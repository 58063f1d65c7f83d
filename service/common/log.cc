#include "service/common/log.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace wink::webhooks {
namespace {

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

}  // namespace

LogLine::LogLine(LogLevel level, absl::string_view event) {
  line_ = absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone()),
                       " ", LevelName(level), " ", event);
}

LogLine::~LogLine() {
  line_ += '\n';
  // One write per line keeps concurrent lines from interleaving; a failed
  // write to stderr has nowhere better to be reported.
  (void)!::write(STDERR_FILENO, line_.data(), line_.size());
}

LogLine& LogLine::Field(absl::string_view key, absl::string_view value) {
  if (NeedsQuoting(value)) {
    absl::StrAppend(&line_, " ", key, "=\"", absl::CEscape(value), "\"");
  } else {
    absl::StrAppend(&line_, " ", key, "=", value);
  }
  return *this;
}

LogLine& LogLine::Field(absl::string_view key, int64_t value) {
  absl::StrAppend(&line_, " ", key, "=", value);
  return *this;
}

LogLine& LogLine::Field(absl::string_view key, double value) {
  absl::StrAppend(&line_, " ", key, "=", absl::StrFormat("%.3f", value));
  return *this;
}

}  // namespace wink::webhooks
