#include "service/common/log.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/common/json.h"
#include "service/common/thread_name.h"
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

// RFC 3339 in UTC with microseconds. The part up to the seconds changes once
// a second, so each thread formats it once a second (cctz's formatting was a
// visible share of a log line's cost).
std::string Timestamp() {
  thread_local int64_t formatted_second = std::numeric_limits<int64_t>::min();
  thread_local std::string formatted;  // "2026-11-27T20:40:27"
  const int64_t now_us = absl::ToUnixMicros(absl::Now());
  int64_t second = now_us / 1000000;
  int64_t micros = now_us % 1000000;
  if (micros < 0) {  // before 1970: floor, not truncation
    --second;
    micros += 1000000;
  }
  if (second != formatted_second) {
    formatted = absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(second),
                                 absl::UTCTimeZone());
    formatted_second = second;
  }
  return absl::StrCat(formatted, ".", absl::Dec(micros, absl::kZeroPad6), "Z");
}

// Writes all of `bytes` to stderr. A failed write has nowhere better to be
// reported.
void WriteToStderr(absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(STDERR_FILENO, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;
    bytes.remove_prefix(static_cast<size_t>(written));
  }
}

// The lines waiting for the background writer. Never destroyed: threads may
// log while the process exits.
class LogQueue {
 public:
  static LogQueue& Get() {
    static LogQueue* const queue = new LogQueue();
    return *queue;
  }

  // Queues `line`; writes everything queued, in order, if `write_now` or
  // when the background thread has fallen far behind.
  void Add(absl::string_view line, bool write_now) {
    bool behind;
    {
      absl::MutexLock lock(&mu_);
      queued_.append(line.data(), line.size());
      behind = queued_.size() >= kMaxQueuedBytes;
    }
    if (write_now || behind) Flush();
  }

  void Flush() {
    // Holding write_mu_ from taking the lines until they are written keeps
    // batches in the order their lines were queued.
    absl::MutexLock write_lock(&write_mu_);
    {
      absl::MutexLock lock(&mu_);
      if (queued_.empty()) return;
      writing_.swap(queued_);
    }
    WriteToStderr(writing_);
    writing_.clear();  // keeps the capacity for the next batch
  }

 private:
  // After the first line of a batch, the background thread waits this long
  // for more before writing: at most 1 / kGatherTime writes a second however
  // busy the service is, at the price of INFO lines appearing this late.
  // Each batch costs two thread switches; at 2 ms they were ~1.5% of a core
  // under steady traffic, whatever its rate.
  static constexpr absl::Duration kGatherTime = absl::Milliseconds(10);
  // A writer that far behind (stderr blocked, the thread starved) makes the
  // callers write, which bounds the memory and slows the loggers down.
  static constexpr size_t kMaxQueuedBytes = 1 << 20;

  LogQueue() {
    std::thread([this] { WriteInBackground(); }).detach();
    std::atexit(FlushLog);
  }

  void WriteInBackground() {
    NameThisThread("wink-log");
    auto has_lines = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !queued_.empty(); };
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(&has_lines));
      }
      absl::SleepFor(kGatherTime);
      Flush();
    }
  }

  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::string writing_ ABSL_GUARDED_BY(write_mu_);
  absl::Mutex mu_;
  std::string queued_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

void SetLogFormat(LogFormat format) { log_format.store(format, std::memory_order_relaxed); }

LogFormat GetLogFormat() { return log_format.load(std::memory_order_relaxed); }

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("log_format: expected \"text\" or \"json\", got \"", absl::CEscape(name), "\""));
}

void FlushLog() { LogQueue::Get().Flush(); }

LogLine::LogLine(LogLevel level, absl::string_view event)
    : format_(GetLogFormat()), write_now_(level != LogLevel::kInfo) {
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
  LogQueue::Get().Add(line_, write_now_);
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
