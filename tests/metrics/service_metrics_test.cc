#include "service/metrics/service_metrics.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/metrics/scrape.h"

namespace wink::webhooks::metrics {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Key;
using ::testing::Pair;
using ::wink::webhooks::testing::ParseSamples;

// A fresh registry per test, so values are exact.
class ServiceMetricsTest : public ::testing::Test {
 protected:
  std::map<std::string, double> Samples() { return ParseSamples(registry_.Render()); }

  Registry registry_;
  ServiceMetrics metrics_{registry_};
};

TEST_F(ServiceMetricsTest, CountsPublishOutcomesAndLatency) {
  metrics_.RecordPublished(PublishOutcome::kAccepted);
  metrics_.RecordPublished(PublishOutcome::kAccepted, 4);
  metrics_.RecordPublished(PublishOutcome::kReplayed);
  metrics_.RecordPublishLatency(absl::Milliseconds(3));
  const auto samples = Samples();
  EXPECT_EQ(samples.at("wink_webhooks_events_published_total{outcome=\"accepted\"}"), 5);
  EXPECT_EQ(samples.at("wink_webhooks_events_published_total{outcome=\"replayed\"}"), 1);
  EXPECT_EQ(samples.at("wink_webhooks_events_published_total{outcome=\"rejected\"}"), 0);
  EXPECT_EQ(samples.at("wink_webhooks_publish_latency_seconds_bucket{le=\"0.0025\"}"), 0);
  EXPECT_EQ(samples.at("wink_webhooks_publish_latency_seconds_bucket{le=\"0.005\"}"), 1);
  EXPECT_EQ(samples.at("wink_webhooks_publish_latency_seconds_count"), 1);
  EXPECT_DOUBLE_EQ(samples.at("wink_webhooks_publish_latency_seconds_sum"), 0.003);
}

TEST_F(ServiceMetricsTest, CountsAttemptsByClassAndFinishedDeliveries) {
  metrics_.RecordAttempt(AttemptClass::k2xx, absl::Milliseconds(20));
  metrics_.RecordAttempt(AttemptClass::k5xx, absl::Seconds(2));
  metrics_.RecordAttempt(AttemptClass::kRefused, absl::ZeroDuration());
  metrics_.RecordDeliveryFinished(DeliveryOutcome::kSucceeded);
  metrics_.RecordDeliveryFinished(DeliveryOutcome::kCancelled);
  metrics_.RecordDelivered(absl::Seconds(6));
  metrics_.RecordSendDelay(absl::Microseconds(300));
  metrics_.RecordSendDelay(absl::Milliseconds(40));
  const auto samples = Samples();
  EXPECT_EQ(samples.at("wink_webhooks_delivery_attempts_total{class=\"2xx\"}"), 1);
  EXPECT_EQ(samples.at("wink_webhooks_delivery_attempts_total{class=\"5xx\"}"), 1);
  EXPECT_EQ(samples.at("wink_webhooks_delivery_attempts_total{class=\"refused\"}"), 1);
  EXPECT_EQ(samples.at("wink_webhooks_delivery_attempts_total{class=\"timeout\"}"), 0);
  EXPECT_EQ(samples.at("wink_webhooks_delivery_attempt_duration_seconds_count"), 3);
  EXPECT_EQ(samples.at("wink_webhooks_delivery_attempt_duration_seconds_bucket{le=\"0.025\"}"), 2);
  EXPECT_EQ(samples.at("wink_webhooks_deliveries_finished_total{outcome=\"succeeded\"}"), 1);
  EXPECT_EQ(samples.at("wink_webhooks_deliveries_finished_total{outcome=\"failed\"}"), 0);
  EXPECT_EQ(samples.at("wink_webhooks_deliveries_finished_total{outcome=\"cancelled\"}"), 1);
  EXPECT_EQ(samples.at("wink_webhooks_publish_to_delivery_latency_seconds_bucket{le=\"5\"}"), 0);
  EXPECT_EQ(samples.at("wink_webhooks_publish_to_delivery_latency_seconds_bucket{le=\"10\"}"), 1);
  EXPECT_EQ(samples.at("wink_webhooks_delivery_send_delay_seconds_bucket{le=\"0.001\"}"), 1);
  EXPECT_EQ(samples.at("wink_webhooks_delivery_send_delay_seconds_bucket{le=\"0.025\"}"), 1);
  EXPECT_EQ(samples.at("wink_webhooks_delivery_send_delay_seconds_bucket{le=\"0.05\"}"), 2);
  EXPECT_DOUBLE_EQ(samples.at("wink_webhooks_delivery_send_delay_seconds_sum"), 0.0403);
}

TEST_F(ServiceMetricsTest, CountsRpcsByMethodAndCode) {
  metrics_.RecordRpc("GetWebhook", absl::StatusCode::kOk);
  metrics_.RecordRpc("GetWebhook", absl::StatusCode::kOk);
  metrics_.RecordRpc("GetWebhook", absl::StatusCode::kNotFound);
  metrics_.RecordRpc("PublishEvent", absl::StatusCode::kUnauthenticated);
  metrics_.RecordRpc("PublishEvent", static_cast<absl::StatusCode>(99));  // -> UNKNOWN
  EXPECT_THAT(registry_.Render(),
              HasSubstr("# TYPE wink_webhooks_rpcs_total counter\n"
                        "wink_webhooks_rpcs_total{method=\"GetWebhook\",code=\"NOT_FOUND\"} 1\n"
                        "wink_webhooks_rpcs_total{method=\"GetWebhook\",code=\"OK\"} 2\n"
                        "wink_webhooks_rpcs_total{method=\"PublishEvent\","
                        "code=\"UNAUTHENTICATED\"} 1\n"
                        "wink_webhooks_rpcs_total{method=\"PublishEvent\",code=\"UNKNOWN\"} 1\n"
                        "# HELP"));
}

TEST_F(ServiceMetricsTest, PerWebhookFailuresStopAtTheCardinalityBound) {
  for (size_t i = 0; i < kMaxWebhookSeries + 5; ++i) {
    metrics_.RecordWebhookFailure(absl::StrCat("wh_", 1000 + i));
  }
  metrics_.RecordWebhookFailure("wh_1000");  // one of the first 100: its own series
  metrics_.RecordWebhookFailure("wh_1104");  // past the bound: "other"
  size_t series = 0;
  for (const auto& [name, value] : Samples()) {
    if (name.rfind("wink_webhooks_webhook_failed_attempts_total{", 0) == 0) ++series;
  }
  EXPECT_EQ(series, kMaxWebhookSeries + 1);
  const auto samples = Samples();
  EXPECT_EQ(samples.at("wink_webhooks_webhook_failed_attempts_total{webhook=\"wh_1000\"}"), 2);
  EXPECT_EQ(samples.at("wink_webhooks_webhook_failed_attempts_total{webhook=\"wh_1099\"}"), 1);
  EXPECT_EQ(samples.at("wink_webhooks_webhook_failed_attempts_total{webhook=\"other\"}"), 6);
  EXPECT_EQ(samples.count("wink_webhooks_webhook_failed_attempts_total{webhook=\"wh_1100\"}"), 0u);
}

TEST_F(ServiceMetricsTest, CallbackGaugesShowWhatTheirOwnersReport) {
  CallbackRegistration in_flight = metrics_.deliveries_in_flight().Register({}, [] { return 7.0; });
  CallbackRegistration queued = metrics_.deliveries_queued().Register({}, [] { return 12.0; });
  metrics_.build_info().WithLabels({"9.9.9"}).Set(1);
  EXPECT_THAT(Samples(), Contains(Pair("wink_webhooks_deliveries_in_flight", 7)));
  EXPECT_THAT(Samples(), Contains(Pair("wink_webhooks_deliveries_queued", 12)));
  EXPECT_THAT(Samples(), Contains(Pair("wink_webhooks_build_info{version=\"9.9.9\"}", 1)));
  in_flight.Reset();
  EXPECT_THAT(Samples(), ::testing::Not(Contains(Key("wink_webhooks_deliveries_in_flight"))));
}

TEST(GlobalMetricsTest, HasProcessBasics) {
  const auto samples = ParseSamples(RenderGlobal());
  EXPECT_GT(samples.at("process_resident_memory_bytes"), 1 << 20);
  EXPECT_GT(samples.at("process_virtual_memory_bytes"),
            samples.at("process_resident_memory_bytes"));
  EXPECT_GE(samples.at("process_open_fds"), 3);  // stdin, stdout, stderr
  EXPECT_GE(samples.at("process_cpu_seconds_total"), 0);
  const double start = samples.at("process_start_time_seconds");
  const double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  EXPECT_LE(start, now);
  EXPECT_GT(start, now - 3600);
  EXPECT_EQ(&Global(), &Global());
}

}  // namespace
}  // namespace wink::webhooks::metrics
