// Structured, line-oriented logging to stderr.
//
//   LogLine(LogLevel::kInfo, "rpc").Field("method", "GetWebhook")
//       .Field("code", "OK").Field("latency_ms", 1.25);
// prints, when the temporary is destroyed:
//   2026-11-27T20:40:27.123456Z INFO rpc method=GetWebhook code=OK latency_ms=1.25
//
// Values containing spaces, quotes, '=' or control characters are quoted
// with C escapes, so one event is always one line. Never pass a token, a
// secret or a custom header value: nothing here redacts.
//
// Thread-safe: every line is written with a single write(2).
#ifndef WINK_WEBHOOKS_SERVICE_COMMON_LOG_H_
#define WINK_WEBHOOKS_SERVICE_COMMON_LOG_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace wink::webhooks {

enum class LogLevel { kInfo, kWarning, kError };

class LogLine {
 public:
  LogLine(LogLevel level, absl::string_view event);
  ~LogLine();  // emits the line
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  LogLine& Field(absl::string_view key, absl::string_view value);
  LogLine& Field(absl::string_view key, const char* value) {
    return Field(key, absl::string_view(value));
  }
  LogLine& Field(absl::string_view key, int64_t value);
  LogLine& Field(absl::string_view key, double value);

 private:
  std::string line_;
};

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_COMMON_LOG_H_
