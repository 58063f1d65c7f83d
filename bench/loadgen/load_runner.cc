#include "bench/loadgen/load_runner.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace wink::webhooks::bench {

std::string StatusCodeName(grpc::StatusCode code) {
  // grpc::StatusCode and absl::StatusCode share their numbers.
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

double LoadResult::ok_per_second() const {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  return seconds > 0 ? ok / seconds : 0.0;
}

std::string LoadResult::FailureCounts() const {
  std::string out;
  for (int code = 0; code < kStatusCodes; ++code) {
    if (failures_by_code[code] == 0) continue;
    absl::StrAppend(&out, out.empty() ? "" : ",",
                    StatusCodeName(static_cast<grpc::StatusCode>(code)), ":",
                    failures_by_code[code]);
  }
  return out;
}

LoadRunner::LoadRunner(LoadOptions options) : options_(std::move(options)) {}

int64_t LoadRunner::NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

LoadResult LoadRunner::Run(const CallStarter& start) {
  start_ = &start;
  start_ns_ = NowNanos();
  const bool counted = options_.count > 0;
  measure_from_ns_ = start_ns_ + (counted ? 0 : absl::ToInt64Nanoseconds(options_.warmup));
  stop_at_ns_ = counted ? std::numeric_limits<int64_t>::max()
                        : measure_from_ns_ + absl::ToInt64Nanoseconds(options_.duration);
  if (options_.rate > 0) {
    RunOpenLoop();
  } else {
    for (int i = 0; i < options_.concurrency && StartNextClosedLoop(); ++i) {
    }
  }
  {
    absl::MutexLock lock(&mu_);
    while (in_flight_.load() > 0) call_finished_.Wait(&mu_);
  }

  LoadResult result;
  result.ok = ok_.load();
  result.failed = failed_.load();
  result.ok_with_warmup = ok_with_warmup_.load();
  for (int code = 0; code < LoadResult::kStatusCodes; ++code) {
    result.failures_by_code[code] = failures_by_code_[code].load();
  }
  {
    absl::MutexLock lock(&mu_);
    result.first_message = first_message_;
  }
  result.elapsed = absl::Nanoseconds(std::max<int64_t>(last_done_ns_.load() - measure_from_ns_, 0));
  result.late_starts = late_starts_;
  return result;
}

bool LoadRunner::StartNextClosedLoop() {
  const int64_t now = NowNanos();
  if (now >= stop_at_ns_) return false;
  const int64_t index = next_index_.fetch_add(1);
  if (options_.count > 0 && index >= options_.count) return false;
  StartCall(index, now);
  return true;
}

void LoadRunner::StartCall(int64_t index, int64_t due_ns) {
  in_flight_.fetch_add(1);
  (*start_)(index, [this, due_ns](const grpc::Status& status) { Finish(due_ns, status); });
}

void LoadRunner::Finish(int64_t due_ns, const grpc::Status& status) {
  const int64_t now = NowNanos();
  if (status.ok()) ok_with_warmup_.fetch_add(1, std::memory_order_relaxed);
  if (due_ns >= measure_from_ns_) {
    if (status.ok()) {
      ok_.fetch_add(1, std::memory_order_relaxed);
      latency_.Record(now - due_ns);
    } else {
      failed_.fetch_add(1, std::memory_order_relaxed);
      const int code = static_cast<int>(status.error_code());
      if (code >= 0 && code < LoadResult::kStatusCodes) {
        if (failures_by_code_[code].fetch_add(1, std::memory_order_relaxed) == 0) {
          absl::MutexLock lock(&mu_);
          first_message_[code] = status.error_message();
        }
      }
    }
    int64_t last = last_done_ns_.load(std::memory_order_relaxed);
    while (now > last && !last_done_ns_.compare_exchange_weak(last, now)) {
    }
  }
  const bool closed_loop = options_.rate <= 0;
  // The next call counts as in flight before this one stops counting, so
  // in_flight_ reaches 0 only when the run is over.
  if (closed_loop) StartNextClosedLoop();
  // Under mu_: Run() sees 0 only once this has let go of mu_, its last use
  // of the runner (the runner is destroyed soon after Run() returns; a
  // decrement outside the lock let Run() return while this thread was still
  // on its way to lock mu_, a use after free that corrupted the heap).
  absl::MutexLock lock(&mu_);
  if (in_flight_.fetch_sub(1) == 1 || !closed_loop) call_finished_.SignalAll();
}

void LoadRunner::RunOpenLoop() {
  const double interval_ns = 1e9 / options_.rate;
  for (int64_t i = 0; options_.count == 0 || i < options_.count; ++i) {
    const int64_t due = start_ns_ + static_cast<int64_t>(static_cast<double>(i) * interval_ns);
    if (due >= stop_at_ns_) break;
    const int64_t wait = due - NowNanos();
    if (wait > 0) absl::SleepFor(absl::Nanoseconds(wait));
    if (in_flight_.load() >= options_.concurrency) {
      if (due >= measure_from_ns_) ++late_starts_;
      absl::MutexLock lock(&mu_);
      while (in_flight_.load() >= options_.concurrency) call_finished_.Wait(&mu_);
    }
    if (due >= measure_from_ns_) start_lag_.Record(NowNanos() - due);
    StartCall(i, due);
  }
}

}  // namespace wink::webhooks::bench
