// A small Prometheus metrics registry of our own, rendered in the text
// exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
//   Registry registry;
//   CounterFamily& published = registry.AddCounter(
//       "wink_webhooks_events_published_total", "Events published.", {"outcome"});
//   Counter& accepted = published.WithLabels({"accepted"});  // once, at setup
//   accepted.Increment();                                    // hot path
//   std::string text = registry.Render();
//
// Metric kinds: counters and gauges (one relaxed atomic each), histograms
// with fixed buckets, and callback families whose values are read from
// functions at scrape time (for what some object already knows: queue
// lengths, memory). A family has a name, a HELP text and label names; each
// distinct set of label values is one child (one time series).
//
// Cost: Counter::Increment, Gauge::Set/Add and Histogram::Observe take no
// lock and allocate nothing. WithLabels takes the family's lock and may
// allocate: call it once at setup and keep the reference (children live as
// long as the registry and never move). Families whose label values come
// from data (e.g. webhook ids) must set FamilyOptions::max_series.
//
// Programming errors (a name or label name Prometheus would reject, a name
// registered twice, the wrong number of label values, "le" as a histogram
// label, unsorted buckets) abort with a message naming the metric: they are
// bugs in fixed code, and aborting makes every test that registers them fail.
//
// Thread-safe: every method may be called from any thread. Render() sees each
// counter, gauge and bucket as of some moment during the call; a histogram's
// `_count` always equals its `+Inf` bucket.
#ifndef WINK_WEBHOOKS_SERVICE_METRICS_REGISTRY_H_
#define WINK_WEBHOOKS_SERVICE_METRICS_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace wink::webhooks::metrics {

// Label value of the child that takes every new label set once a family has
// max_series children.
inline constexpr absl::string_view kOverflowLabelValue = "other";

class Counter {
 public:
  void Increment(uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(int64_t value) { value_.store(value, std::memory_order_relaxed); }
  void Add(int64_t delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Observations counted in fixed buckets: an observation v falls into the
// first bucket whose upper bound b satisfies v <= b, or into +Inf. NaN is
// ignored.
class Histogram {
 public:
  // `bounds` (strictly increasing, finite) must outlive the histogram.
  explicit Histogram(const std::vector<double>& bounds);

  void Observe(double value);

  struct Snapshot {
    // Cumulative counts per bound, then +Inf (size bounds + 1).
    std::vector<uint64_t> cumulative;
    double sum = 0;
  };
  Snapshot snapshot() const;

 private:
  const std::vector<double>& bounds_;
  // Per bucket (not cumulative), the last one +Inf.
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  // The bits of a double: there is no atomic<double>::fetch_add before C++20.
  std::atomic<uint64_t> sum_bits_{0};
};

enum class MetricType { kCounter, kGauge, kHistogram };

struct FamilyOptions {
  // Most children (label sets) the family creates; 0 means no limit. Once
  // reached, WithLabels for a new label set returns one extra child whose
  // every label value is kOverflowLabelValue.
  size_t max_series = 0;
};

// What every family has; rendering is per kind.
class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  const std::string& name() const { return name_; }
  MetricType type() const { return type_; }

  // Appends the HELP and TYPE lines and every sample.
  void Render(std::string& out) const;

 protected:
  FamilyBase(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names);
  // Appends this family's samples.
  virtual void RenderSamples(std::string& out) const = 0;
  // Aborts unless `count` label values fit this family.
  void CheckLabelCount(size_t count) const;
  // `name{labels}` or `name{labels,extra}` (extra: already formatted, e.g.
  // le="0.5"), or just `name` when there are neither.
  void AppendSeries(std::string& out, absl::string_view suffix,
                    const std::vector<std::string>& values, absl::string_view extra = "") const;

  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
};

// Counters, gauges or histograms that share a name and label names.
template <typename Child>
class Family final : public FamilyBase {
 public:
  // The child for `values` (one per label name, in order), created at first
  // use. See FamilyOptions::max_series.
  Child& WithLabels(std::initializer_list<absl::string_view> values) {
    return WithLabels(std::vector<std::string>(values.begin(), values.end()));
  }
  Child& WithLabels(std::vector<std::string> values);

  // Internal: created by Registry.
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
         FamilyOptions options, std::vector<double> bounds = {})
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
        options_(options),
        bounds_(std::move(bounds)) {}

 private:
  void RenderSamples(std::string& out) const override;

  const FamilyOptions options_;
  const std::vector<double> bounds_;  // histograms only
  mutable absl::Mutex mu_;
  // Ordered, so the output is stable; unique_ptr, so children never move.
  std::map<std::vector<std::string>, std::unique_ptr<Child>> children_ ABSL_GUARDED_BY(mu_);
  // Children counted against max_series (the overflow child is not).
  size_t limited_children_ ABSL_GUARDED_BY(mu_) = 0;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class CallbackFamily;

// Keeps a callback registered; destroying (or Reset()ting) it unregisters
// the callback, and once that returns the callback is not running and will
// not be called again. Movable.
class CallbackRegistration {
 public:
  CallbackRegistration() = default;
  CallbackRegistration(CallbackRegistration&& other) noexcept;
  CallbackRegistration& operator=(CallbackRegistration&& other) noexcept;
  ~CallbackRegistration() { Reset(); }

  void Reset();

 private:
  friend class CallbackFamily;
  CallbackRegistration(CallbackFamily* family, uint64_t id) : family_(family), id_(id) {}
  CallbackFamily* family_ = nullptr;
  uint64_t id_ = 0;
};

// A gauge or counter family whose values are read from callbacks at scrape
// time. Several callbacks may feed the same label set (e.g. two servers in
// one test process): the series shows their sum. A label set whose
// callbacks are all gone disappears from the output.
class CallbackFamily final : public FamilyBase {
 public:
  // Adds `read` (called on the scraping thread, under this family's lock:
  // it must be quick and must not touch the registry) as a source of the
  // series `values`.
  [[nodiscard]] CallbackRegistration Register(std::vector<std::string> values,
                                              std::function<double()> read);

  // Internal: created by Registry.
  CallbackFamily(std::string name, std::string help, MetricType type,
                 std::vector<std::string> label_names)
      : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)) {}

 private:
  friend class CallbackRegistration;
  struct Source {
    std::vector<std::string> values;
    std::function<double()> read;
  };
  void Unregister(uint64_t id);
  void RenderSamples(std::string& out) const override;

  mutable absl::Mutex mu_;
  std::map<uint64_t, Source> sources_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Adds a family. `name` must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
  // [a-zA-Z_][a-zA-Z0-9_]* without a leading "__"; HELP text is free. A
  // family without labels renders its one child even before first use; a
  // labelled one renders the children created so far. The family lives as
  // long as the registry.
  CounterFamily& AddCounter(absl::string_view name, absl::string_view help,
                            std::vector<std::string> label_names = {}, FamilyOptions options = {});
  GaugeFamily& AddGauge(absl::string_view name, absl::string_view help,
                        std::vector<std::string> label_names = {}, FamilyOptions options = {});
  // `bounds`: bucket upper bounds, strictly increasing, finite (+Inf is
  // implied).
  HistogramFamily& AddHistogram(absl::string_view name, absl::string_view help,
                                std::vector<std::string> label_names, std::vector<double> bounds,
                                FamilyOptions options = {});
  // `type` is kGauge or kCounter (a value that only grows, e.g. CPU time).
  CallbackFamily& AddCallbacks(absl::string_view name, absl::string_view help, MetricType type,
                               std::vector<std::string> label_names = {});

  // Every family in registration order, in the text format.
  std::string Render() const;

 private:
  void Add(std::unique_ptr<FamilyBase> family);
  template <typename Child>
  Family<Child>& AddFamily(absl::string_view name, absl::string_view help, MetricType type,
                           std::vector<std::string> label_names, FamilyOptions options,
                           std::vector<double> bounds = {});

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_ ABSL_GUARDED_BY(mu_);
};

// Text-format helpers, exposed for tests.
// A sample value: integers without a fraction, others in the shortest form
// that reads back exactly, and "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);
// A label value escaped for inside double quotes: \ -> \\, " -> \", newline
// -> \n.
std::string EscapeLabelValue(absl::string_view value);

}  // namespace wink::webhooks::metrics

#endif  // WINK_WEBHOOKS_SERVICE_METRICS_REGISTRY_H_
