#include "service/metrics/registry.h"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wink::webhooks::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RegistryTest, RendersASmallRegistryExactly) {
  Registry registry;
  CounterFamily& requests =
      registry.AddCounter("app_requests_total", "Requests handled.", {"method", "code"});
  requests.WithLabels({"Get", "OK"}).Increment(3);
  requests.WithLabels({"Create", "NOT_FOUND"}).Increment();
  registry.AddGauge("app_queue_length", "Items waiting.").WithLabels({}).Set(-2);
  Histogram& latency =
      registry.AddHistogram("app_latency_seconds", "Latency.", {}, {0.1, 1}).WithLabels({});
  latency.Observe(0.05);
  latency.Observe(0.5);
  latency.Observe(7);
  CallbackFamily& memory =
      registry.AddCallbacks("app_memory_bytes", "Memory in use.", MetricType::kGauge, {"pool"});
  CallbackRegistration small = memory.Register({"small"}, [] { return 1536.0; });
  CallbackRegistration ratio = memory.Register({"big"}, [] { return 0.25; });

  EXPECT_EQ(registry.Render(),
            "# HELP app_requests_total Requests handled.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{method=\"Create\",code=\"NOT_FOUND\"} 1\n"
            "app_requests_total{method=\"Get\",code=\"OK\"} 3\n"
            "# HELP app_queue_length Items waiting.\n"
            "# TYPE app_queue_length gauge\n"
            "app_queue_length -2\n"
            "# HELP app_latency_seconds Latency.\n"
            "# TYPE app_latency_seconds histogram\n"
            "app_latency_seconds_bucket{le=\"0.1\"} 1\n"
            "app_latency_seconds_bucket{le=\"1\"} 2\n"
            "app_latency_seconds_bucket{le=\"+Inf\"} 3\n"
            "app_latency_seconds_sum 7.55\n"
            "app_latency_seconds_count 3\n"
            "# HELP app_memory_bytes Memory in use.\n"
            "# TYPE app_memory_bytes gauge\n"
            "app_memory_bytes{pool=\"big\"} 0.25\n"
            "app_memory_bytes{pool=\"small\"} 1536\n");
}

TEST(RegistryTest, UnusedLabelledFamiliesShowOnlyHelpAndType) {
  Registry registry;
  registry.AddCounter("app_errors_total", "Errors.", {"kind"});
  EXPECT_EQ(registry.Render(),
            "# HELP app_errors_total Errors.\n# TYPE app_errors_total counter\n");
}

TEST(RegistryTest, HistogramBucketsIncludeTheirUpperBound) {
  Registry registry;
  HistogramFamily& family = registry.AddHistogram("h", "Bounds.", {"kind"}, {0.5, 1, 2.5});
  Histogram& h = family.WithLabels({"x"});
  h.Observe(-1);   // below everything: first bucket
  h.Observe(0.5);  // exactly on a bound: that bucket
  h.Observe(0.50000001);
  h.Observe(1);
  h.Observe(2.5);
  h.Observe(2.5000001);  // above the last bound: +Inf only
  h.Observe(std::numeric_limits<double>::infinity());
  h.Observe(std::nan(""));  // ignored

  const Histogram::Snapshot snapshot = h.snapshot();
  EXPECT_EQ(snapshot.cumulative, (std::vector<uint64_t>{2, 4, 5, 7}));
  EXPECT_THAT(registry.Render(), HasSubstr("h_bucket{kind=\"x\",le=\"0.5\"} 2\n"
                                           "h_bucket{kind=\"x\",le=\"1\"} 4\n"
                                           "h_bucket{kind=\"x\",le=\"2.5\"} 5\n"
                                           "h_bucket{kind=\"x\",le=\"+Inf\"} 7\n"
                                           "h_sum{kind=\"x\"} +Inf\n"
                                           "h_count{kind=\"x\"} 7\n"));
}

TEST(RegistryTest, HistogramSumAddsObservations) {
  Registry registry;
  Histogram& h = registry.AddHistogram("h", "Sum.", {}, {1}).WithLabels({});
  h.Observe(0.25);
  h.Observe(0.5);
  h.Observe(-0.125);
  EXPECT_EQ(h.snapshot().sum, 0.625);
  EXPECT_THAT(registry.Render(), HasSubstr("h_sum 0.625\nh_count 3\n"));
}

TEST(RegistryTest, EscapesLabelValuesAndHelp) {
  Registry registry;
  registry.AddCounter("esc_total", "Back\\slash and\nnewline, \"quotes\" stay.", {"v"})
      .WithLabels({"a\\b \"c\"\nd"})
      .Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP esc_total Back\\\\slash and\\nnewline, \"quotes\" stay.\n"
            "# TYPE esc_total counter\n"
            "esc_total{v=\"a\\\\b \\\"c\\\"\\nd\"} 1\n");
}

TEST(RegistryTest, EscapeLabelValueLeavesOtherBytesAlone) {
  EXPECT_EQ(EscapeLabelValue("plain value\t\xc3\xa9"), "plain value\t\xc3\xa9");
  EXPECT_EQ(EscapeLabelValue("\\\"\n"), "\\\\\\\"\\n");
}

TEST(RegistryTest, FormatsValues) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(-7), "-7");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(0.0005), "0.0005");
  EXPECT_EQ(FormatValue(-2.5), "-2.5");
  EXPECT_EQ(FormatValue(123456.789), "123456.789");
  EXPECT_EQ(FormatValue(1e20), "1e+20");
  EXPECT_EQ(FormatValue(1.5e-9), "1.5e-09");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(RegistryTest, BoundedFamilyCountsNewLabelSetsUnderOtherOnceFull) {
  Registry registry;
  CounterFamily& failures =
      registry.AddCounter("failures_total", "Per webhook.", {"webhook"}, FamilyOptions{3});
  for (const char* id : {"wh_a", "wh_b", "wh_c", "wh_d", "wh_e", "wh_a", "wh_d"}) {
    failures.WithLabels({id}).Increment();
  }
  EXPECT_EQ(&failures.WithLabels({"wh_d"}), &failures.WithLabels({"wh_e"}));
  EXPECT_EQ(registry.Render(),
            "# HELP failures_total Per webhook.\n"
            "# TYPE failures_total counter\n"
            "failures_total{webhook=\"other\"} 3\n"
            "failures_total{webhook=\"wh_a\"} 2\n"
            "failures_total{webhook=\"wh_b\"} 1\n"
            "failures_total{webhook=\"wh_c\"} 1\n");
}

TEST(RegistryTest, ChildrenAreStableAndShared) {
  Registry registry;
  CounterFamily& family = registry.AddCounter("c_total", "C.", {"k"});
  Counter& first = family.WithLabels({"x"});
  for (int i = 0; i < 100; ++i) family.WithLabels({std::to_string(i)});
  EXPECT_EQ(&first, &family.WithLabels({"x"}));
}

TEST(RegistryTest, CallbacksForOneSeriesAreSummedAndGoAwayWhenReset) {
  Registry registry;
  CallbackFamily& family = registry.AddCallbacks("in_flight", "In flight.", MetricType::kGauge);
  CallbackRegistration a = family.Register({}, [] { return 2.0; });
  CallbackRegistration b = family.Register({}, [] { return 3.0; });
  EXPECT_THAT(registry.Render(), HasSubstr("\nin_flight 5\n"));

  CallbackRegistration moved = std::move(b);
  b.Reset();  // moved from: nothing to undo
  EXPECT_THAT(registry.Render(), HasSubstr("\nin_flight 5\n"));
  moved.Reset();
  EXPECT_THAT(registry.Render(), HasSubstr("\nin_flight 2\n"));
  a.Reset();
  EXPECT_EQ(registry.Render(), "# HELP in_flight In flight.\n# TYPE in_flight gauge\n");
}

TEST(RegistryTest, CallbackCountersRenderAsCounters) {
  Registry registry;
  CallbackRegistration cpu =
      registry.AddCallbacks("cpu_seconds_total", "CPU.", MetricType::kCounter).Register({}, [] {
        return 1.5;
      });
  EXPECT_EQ(registry.Render(),
            "# HELP cpu_seconds_total CPU.\n# TYPE cpu_seconds_total counter\n"
            "cpu_seconds_total 1.5\n");
}

TEST(RegistryTest, ConcurrentUpdatesAreAllCounted) {
  Registry registry;
  Counter& counter = registry.AddCounter("n_total", "N.").WithLabels({});
  Gauge& gauge = registry.AddGauge("g", "G.").WithLabels({});
  Histogram& histogram = registry.AddHistogram("h", "H.", {}, {1, 2}).WithLabels({});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        counter.Increment();
        gauge.Add(i % 2 == 0 ? 1 : -1);
        histogram.Observe(1.5);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter.value(), uint64_t{kThreads * kPerThread});
  EXPECT_EQ(gauge.value(), 0);
  const Histogram::Snapshot snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.cumulative,
            (std::vector<uint64_t>{0, kThreads * kPerThread, kThreads * kPerThread}));
  EXPECT_EQ(snapshot.sum, 1.5 * kThreads * kPerThread);
}

using RegistryDeathTest = ::testing::Test;

TEST(RegistryDeathTest, RefusesWhatPrometheusWouldReject) {
  Registry registry;
  EXPECT_DEATH(registry.AddCounter("1st_total", "x"), "1st_total: invalid metric name");
  EXPECT_DEATH(registry.AddCounter("a-b", "x"), "a-b: invalid metric name");
  EXPECT_DEATH(registry.AddCounter("ok_total", "x", {"bad-label"}),
               "ok_total: invalid label name \"bad-label\"");
  EXPECT_DEATH(registry.AddCounter("ok_total", "x", {"__reserved"}), "invalid label name");
  EXPECT_DEATH(registry.AddHistogram("h", "x", {"le"}, {1}), "h: \"le\" is reserved");
  EXPECT_DEATH(registry.AddHistogram("h", "x", {}, {2, 1}), "h: bucket bounds");
  registry.AddCounter("twice_total", "x", {"k"});
  EXPECT_DEATH(registry.AddGauge("twice_total", "x"), "twice_total: registered twice");
  EXPECT_DEATH(registry.AddCounter("n_total", "x", {"a", "b"}).WithLabels({"only-one"}),
               "n_total: expected 2 label values, got 1");
}

}  // namespace
}  // namespace wink::webhooks::metrics
