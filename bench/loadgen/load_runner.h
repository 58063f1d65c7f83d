// Drives asynchronous calls at a chosen concurrency or rate and measures
// them: the engine of bench/loadgen, independent of which RPC it sends.
//
// Closed loop (rate 0): `concurrency` calls are kept in flight; each
// completion starts the next one at once, so the rate is whatever the server
// sustains. Open loop (rate > 0): call i is due at start + i / rate whether or
// not earlier calls have finished, and its latency is measured from that due
// time, so a server that falls behind shows it in the latency instead of
// silently slowing the sender down ("coordinated omission"). `concurrency`
// then only caps the calls in flight; a call that has to wait for a slot is
// counted in `late_starts`.
//
//   LoadRunner runner(options);
//   LoadResult result = runner.Run([&](int64_t index, CallDone done) {
//     auto* call = new MyCall(...);              // context, request, response
//     stub->async()->Method(&call->context, &call->request, &call->response,
//                           [call, done](grpc::Status status) { delete call; done(status); });
//   });
//
// Calls started during the warm-up run like the others but are not counted.
#ifndef WINK_WEBHOOKS_BENCH_LOADGEN_LOAD_RUNNER_H_
#define WINK_WEBHOOKS_BENCH_LOADGEN_LOAD_RUNNER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "bench/latency_histogram.h"
#include "grpcpp/support/status.h"

namespace wink::webhooks::bench {

// Reports the end of one call. Must be called exactly once per started call,
// from any thread, as the call's last step: once the last `done` returns,
// Run() may return and its caller free what the calls used (channels, the
// call objects).
using CallDone = std::function<void(const grpc::Status& status)>;

// Starts call number `index` (0, 1, 2, ...) without blocking and arranges
// for `done` to run when it completes. Called from the runner's thread and
// from the threads that run `done` callbacks, concurrently.
using CallStarter = std::function<void(int64_t index, CallDone done)>;

struct LoadOptions {
  // Calls in flight (closed loop), or the most in flight (open loop). >= 1.
  int concurrency = 64;
  // Calls started per second (open loop); 0: closed loop, as fast as the
  // server answers.
  double rate = 0;
  // Measured time after the warm-up; no call starts after it. Ignored when
  // `count` is set.
  absl::Duration duration = absl::Seconds(10);
  // If > 0: start exactly this many calls (warm-up included), then stop.
  int64_t count = 0;
  // Calls started in this first stretch are not counted. Ignored (no
  // warm-up) when `count` is set.
  absl::Duration warmup = absl::Seconds(1);
};

struct LoadResult {
  static constexpr int kStatusCodes = 17;  // grpc::StatusCode 0..16

  // Measured calls (started after the warm-up) by outcome.
  int64_t ok = 0;
  int64_t failed = 0;
  // Successful calls including the warm-up: what the server has accepted.
  int64_t ok_with_warmup = 0;
  std::array<int64_t, kStatusCodes> failures_by_code{};
  // The first error message seen for each code, e.g. why UNIMPLEMENTED.
  std::array<std::string, kStatusCodes> first_message;
  // From the end of the warm-up to the last measured completion.
  absl::Duration elapsed;
  // Open loop: measured calls that started after their due time because
  // `concurrency` calls were in flight.
  int64_t late_starts = 0;

  // Successful calls per second over `elapsed`.
  double ok_per_second() const;
  // "UNAVAILABLE:3,UNIMPLEMENTED:10" (empty when none failed).
  std::string FailureCounts() const;
};

// "UNIMPLEMENTED" for grpc::StatusCode::UNIMPLEMENTED, etc.
std::string StatusCodeName(grpc::StatusCode code);

// Runs one load pattern. Not reusable: one Run() per runner.
class LoadRunner {
 public:
  explicit LoadRunner(LoadOptions options);
  LoadRunner(const LoadRunner&) = delete;
  LoadRunner& operator=(const LoadRunner&) = delete;

  // Starts calls through `start` until the duration or count is reached and
  // returns once every started call has completed.
  LoadResult Run(const CallStarter& start) ABSL_LOCKS_EXCLUDED(mu_);

  // Latency of the measured successful calls (from start, or from the due
  // time in open loop, to completion).
  const LatencyHistogram& latency() const { return latency_; }
  // Open loop: how late each measured call actually started (the sender's
  // own lag: a busy machine or a full `concurrency`), included in latency().
  const LatencyHistogram& start_lag() const { return start_lag_; }

 private:
  // Steady-clock nanoseconds.
  static int64_t NowNanos();

  // Starts the next call if the closed loop is still running; false
  // otherwise.
  bool StartNextClosedLoop();
  void StartCall(int64_t index, int64_t due_ns);
  void Finish(int64_t due_ns, const grpc::Status& status) ABSL_LOCKS_EXCLUDED(mu_);
  void RunOpenLoop() ABSL_LOCKS_EXCLUDED(mu_);

  const LoadOptions options_;
  const CallStarter* start_ = nullptr;
  int64_t start_ns_ = 0;
  int64_t measure_from_ns_ = 0;
  int64_t stop_at_ns_ = 0;

  std::atomic<int64_t> next_index_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int64_t> ok_{0};
  std::atomic<int64_t> ok_with_warmup_{0};
  std::atomic<int64_t> failed_{0};
  std::atomic<int64_t> last_done_ns_{0};
  // Only the runner's thread touches it.
  int64_t late_starts_ = 0;
  std::array<std::atomic<int64_t>, LoadResult::kStatusCodes> failures_by_code_{};
  LatencyHistogram latency_;
  LatencyHistogram start_lag_;

  // Wakes the runner's thread when calls complete.
  absl::Mutex mu_;
  absl::CondVar call_finished_;
  std::array<std::string, LoadResult::kStatusCodes> first_message_ ABSL_GUARDED_BY(mu_);
};

}  // namespace wink::webhooks::bench

#endif  // WINK_WEBHOOKS_BENCH_LOADGEN_LOAD_RUNNER_H_
