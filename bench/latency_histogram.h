// A fixed-size, lock-free latency histogram for the benchmark tools (the load
// generator's RPC latencies, the receiver's publish-to-delivery latencies).
//
// Values are non-negative nanoseconds, kept in log-linear buckets: exact below
// 128 ns, then 64 buckets per power of two, so any reported percentile is
// within 1.6% of the true value. The whole range of int64 fits in ~30 KB, so
// recording never allocates and millions of samples cost no more memory than
// one.
//
//   LatencyHistogram histogram;
//   histogram.Record(absl::ToInt64Nanoseconds(latency));   // any thread
//   absl::Duration p99 = histogram.Percentile(0.99);
//
// Thread-safe: Record() is a few relaxed atomic increments and may run
// concurrently with everything else. Readers running while others record see
// a consistent-enough snapshot for reporting (counts read bucket by bucket),
// not an exact one; Reset() concurrent with Record() may keep or drop the
// samples recorded meanwhile. Benchmarks read and reset between phases.
#ifndef WINK_WEBHOOKS_BENCH_LATENCY_HISTOGRAM_H_
#define WINK_WEBHOOKS_BENCH_LATENCY_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace wink::webhooks::bench {

class LatencyHistogram {
 public:
  LatencyHistogram();
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  // Adds one sample. Negative values (clock steps between two machines'
  // clocks, or between CLOCK_REALTIME readings) count as 0.
  void Record(int64_t nanoseconds);

  // Samples recorded since construction or the last Reset().
  int64_t count() const { return count_.load(std::memory_order_relaxed); }
  absl::Duration max() const { return absl::Nanoseconds(max_.load(std::memory_order_relaxed)); }
  absl::Duration mean() const;

  // The smallest recorded value v such that a fraction `quantile` (0..1) of
  // the samples are <= v, to bucket precision (the bucket's midpoint, never
  // above max()). Zero when empty.
  absl::Duration Percentile(double quantile) const;

  // "p50=1.23 p99=4.56 p99.9=7.89 max=9.99" in milliseconds, for reports.
  std::string SummaryMillis() const;

  void Reset();

 private:
  // 128 exact buckets, then 64 per power of two from 2^7 to 2^62.
  static constexpr int kBuckets = 128 + 56 * 64;
  static int BucketOf(int64_t nanoseconds);
  static int64_t BucketMidpoint(int bucket);

  std::array<std::atomic<int64_t>, kBuckets> buckets_;
  std::atomic<int64_t> count_{0};
  std::atomic<int64_t> sum_{0};
  std::atomic<int64_t> max_{0};
};

}  // namespace wink::webhooks::bench

#endif  // WINK_WEBHOOKS_BENCH_LATENCY_HISTOGRAM_H_
