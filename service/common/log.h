// Structured, line-oriented logging to stderr, one line per event, in one of
// two formats chosen once for the whole process (SetLogFormat):
//
//   LogLine(LogLevel::kInfo, "rpc").Field("method", "GetWebhook")
//       .Field("code", "OK").Field("latency_ms", 1.25);
// prints, when the temporary is destroyed, in the text format (default):
//   2026-11-27T20:40:27.123456Z INFO rpc method=GetWebhook code=OK latency_ms=1.250
// and in the JSON format:
//   {"ts":"2026-11-27T20:40:27.123456Z","level":"INFO","event":"rpc",
//    "method":"GetWebhook","code":"OK","latency_ms":1.250}
// (one line; wrapped here).
//
// Text: values containing spaces, quotes, '=' or control characters are
// quoted with C escapes. JSON: one object per line; string values are JSON
// strings (quotes, backslashes and control characters escaped; a value that
// is not valid UTF-8 is written C-hex-escaped, e.g. "\\xff", so the line stays
// valid JSON), integers and doubles are JSON numbers (a non-finite double is
// null). Keys are written as given, in call order, except that a field named
// "event" (the delivery code's event id) becomes "event_id", so the JSON keys
// stay unique; "ts" and "level" must not be used as field names. Either way
// one event is always exactly one line.
//
// Never pass a token, a secret or a custom header value: nothing here
// redacts.
//
// Thread-safe, and lines never interleave. INFO lines are queued and written
// by a background thread ("wink-log") within ~10 milliseconds, many lines
// per write(2): a hot path (an RPC's finish, a delivery attempt) pays for
// building its line, not for a system call. WARN and ERROR lines are written
// before ~LogLine returns, after every line queued before them, so they never
// overtake earlier lines and a line explaining a failure is out before the
// process acts on it. Queued lines are written at normal exit (atexit) and by
// FlushLog(); a process that is killed (SIGKILL) or crashes loses the INFO
// lines of its last few milliseconds. The log is not the durable record of
// anything: delivery attempts are stored.
#ifndef WINK_WEBHOOKS_SERVICE_COMMON_LOG_H_
#define WINK_WEBHOOKS_SERVICE_COMMON_LOG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wink::webhooks {

enum class LogLevel { kInfo, kWarning, kError };

enum class LogFormat { kText, kJson };

// Sets the format of every line started afterwards (a line being built keeps
// the format it started with). Default kText. Meant to be called once, early
// in main(); safe from any thread.
void SetLogFormat(LogFormat format);
LogFormat GetLogFormat();

// "text" -> kText, "json" -> kJson. INVALID_ARGUMENT
// "log_format: expected \"text\" or \"json\", got \"...\"" otherwise.
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name);

// Writes every line queued so far before returning. For code that reads
// stderr back in-process (tests) or leaves without atexit handlers
// (std::_Exit) after INFO lines.
void FlushLog();

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
  // Written with three decimals (milliseconds are the usual unit).
  LogLine& Field(absl::string_view key, double value);

 private:
  // Appends ` key=` (text) or `,"key":` (JSON).
  void AppendKey(absl::string_view key);

  const LogFormat format_;
  // WARN and ERROR lines are written at once (see above).
  const bool write_now_;
  std::string line_;
};

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_COMMON_LOG_H_
