#include "bench/latency_histogram.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace wink::webhooks::bench {

LatencyHistogram::LatencyHistogram() { Reset(); }

int LatencyHistogram::BucketOf(int64_t nanoseconds) {
  if (nanoseconds < 128) return static_cast<int>(std::max<int64_t>(nanoseconds, 0));
  const int msb = 63 - __builtin_clzll(static_cast<uint64_t>(nanoseconds));
  // Keep the 7 most significant bits: the top one is always set, so the
  // other 6 pick one of 64 buckets within this power of two.
  const int shift = msb - 6;
  const int mantissa = static_cast<int>(nanoseconds >> shift);
  return 128 + (shift - 1) * 64 + (mantissa - 64);
}

int64_t LatencyHistogram::BucketMidpoint(int bucket) {
  if (bucket < 128) return bucket;
  const int k = bucket - 128;
  const int shift = k / 64 + 1;
  const int64_t low = static_cast<int64_t>(k % 64 + 64) << shift;
  return low + (int64_t{1} << shift) / 2;
}

void LatencyHistogram::Record(int64_t nanoseconds) {
  nanoseconds = std::max<int64_t>(nanoseconds, 0);
  buckets_[BucketOf(nanoseconds)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(nanoseconds, std::memory_order_relaxed);
  int64_t seen = max_.load(std::memory_order_relaxed);
  while (nanoseconds > seen &&
         !max_.compare_exchange_weak(seen, nanoseconds, std::memory_order_relaxed)) {
  }
}

absl::Duration LatencyHistogram::mean() const {
  const int64_t n = count();
  return n == 0 ? absl::ZeroDuration()
                : absl::Nanoseconds(sum_.load(std::memory_order_relaxed) / n);
}

absl::Duration LatencyHistogram::Percentile(double quantile) const {
  // Sum the buckets rather than trust count_: a concurrent Record() may have
  // bumped one and not yet the other.
  int64_t total = 0;
  for (const auto& bucket : buckets_) total += bucket.load(std::memory_order_relaxed);
  if (total == 0) return absl::ZeroDuration();
  const int64_t rank =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(std::clamp(quantile, 0.0, 1.0) * total)));
  int64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[i].load(std::memory_order_relaxed);
    if (seen >= rank) {
      return absl::Nanoseconds(std::min(BucketMidpoint(i), max_.load(std::memory_order_relaxed)));
    }
  }
  return max();
}

std::string LatencyHistogram::SummaryMillis() const {
  auto ms = [](absl::Duration d) { return absl::ToDoubleMilliseconds(d); };
  return absl::StrFormat("p50=%.2f p99=%.2f p99.9=%.2f max=%.2f", ms(Percentile(0.5)),
                         ms(Percentile(0.99)), ms(Percentile(0.999)), ms(max()));
}

void LatencyHistogram::Reset() {
  for (auto& bucket : buckets_) bucket.store(0, std::memory_order_relaxed);
  count_.store(0, std::memory_order_relaxed);
  sum_.store(0, std::memory_order_relaxed);
  max_.store(0, std::memory_order_relaxed);
}

}  // namespace wink::webhooks::bench
