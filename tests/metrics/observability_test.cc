// Metrics and logs of the whole service: the in-process server (RocksDB in a
// temp dir, gRPC on 127.0.0.1:0, fake clock, metrics endpoint on port 0)
// delivering to the real HTTPS test receiver, scraped over a real socket.
//
// The metrics are process-wide and only grow, so every assertion is about
// the change between a scrape before and a scrape after (or about series
// only this test can have created, e.g. one labelled with a new webhook id).
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/common/json.h"
#include "service/common/log.h"
#include "service/config/server_config.h"
#include "service/metrics/metrics_server.h"
#include "service/server/server.h"
#include "tests/fakes/https_receiver.h"
#include "tests/fakes/temp_dir.h"
#include "tests/integration/test_server.h"
#include "tests/metrics/scrape.h"

namespace wink::webhooks::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

using Samples = std::map<std::string, double>;

constexpr char kHeaderValue[] = "hdr-value-that-must-not-be-logged";

// Polls `condition` until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

// The value of `series` in `samples`, 0 if absent (a labelled series
// appears at its first use).
double Value(const Samples& samples, const std::string& series) {
  const auto it = samples.find(series);
  return it == samples.end() ? 0 : it->second;
}

class ObservabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<HttpsReceiver>> started = HttpsReceiver::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    receiver_ = *std::move(started);
    server_ = std::make_unique<TestServer>([this](config::ServerConfig& config) {
      config.set_metrics_listen_address("127.0.0.1:0");
      // Deliveries reach the receiver on loopback, trusting its CA.
      config.add_allow_private_targets("127.0.0.0/8");
      config.add_extra_ca_file(receiver_->ca_file());
    });
    ASSERT_GT(server_->server().metrics_port(), 0);
  }

  void TearDown() override {
    receiver_->Stop();
    server_.reset();
  }

  Samples Scrape() {
    auto reply = HttpGet(server_->server().metrics_port(), "/metrics");
    EXPECT_TRUE(reply.ok()) << reply.status();
    if (!reply.ok()) return {};
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->headers["content-type"], metrics::kTextFormatContentType);
    return ParseSamples(reply->body);
  }

  // Scrapes until `series` has grown by `delta` since `before` (some
  // counters move just after the state a test can observe is durable).
  Samples ScrapeUntil(const Samples& before, const std::string& series, double delta) {
    Samples now;
    const bool reached = WaitFor([&] {
      now = Scrape();
      return Value(now, series) - Value(before, series) >= delta;
    });
    EXPECT_TRUE(reached) << series << " did not grow by " << delta;
    return now;
  }

  v1::Webhook CreateWebhook(const std::string& path) {
    v1::CreateWebhookRequest request;
    request.set_parent("accounts/acme");
    request.mutable_webhook()->set_display_name("Hook " + path);
    request.mutable_webhook()->set_url(receiver_->Url(path));
    (*request.mutable_webhook()->mutable_headers())["X-Api-Key"] = kHeaderValue;
    v1::Webhook out;
    const grpc::Status status =
        server_->NewStub()->CreateWebhook(ContextWithToken(kAcmeToken).get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  grpc::Status Publish(const std::string& event_type, const std::string& idempotency_key,
                       v1::PublishEventResponse* out) {
    v1::PublishEventRequest request;
    request.set_parent("accounts/acme");
    request.set_event_type(event_type);
    request.set_data_json(R"({"booking_id":"B-7"})");
    request.set_idempotency_key(idempotency_key);
    return server_->NewStub()->PublishEvent(ContextWithToken(kAcmeToken).get(), request, out);
  }

  v1::Delivery WaitForState(const std::string& webhook_name, const std::string& event_id,
                            v1::DeliveryState state, int attempts) {
    v1::GetDeliveryRequest request;
    request.set_name(absl::StrCat(webhook_name, "/deliveries/", event_id));
    v1::Delivery delivery;
    const bool reached = WaitFor([&] {
      delivery.Clear();
      const grpc::Status status = server_->NewDeliveryStub()->GetDelivery(
          ContextWithToken(kAcmeToken).get(), request, &delivery);
      return status.ok() && delivery.state() == state && delivery.attempt_count() == attempts;
    });
    EXPECT_TRUE(reached) << request.name() << ": " << delivery.ShortDebugString();
    return delivery;
  }

  std::unique_ptr<HttpsReceiver> receiver_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(ObservabilityTest, ScrapeShowsPublishesAttemptsDeliveriesAndRpcs) {
  const Samples before = Scrape();
  receiver_->On("/flaky").Reply(500, "not yet").Times(1);
  const v1::Webhook ok = CreateWebhook("/ok");
  const v1::Webhook flaky = CreateWebhook("/flaky");
  const std::string flaky_id = flaky.name().substr(flaky.name().rfind('/') + 1);

  v1::PublishEventResponse published;
  ASSERT_TRUE(Publish("booking.created", "key-1", &published).ok());
  v1::PublishEventResponse replayed;
  ASSERT_TRUE(Publish("booking.created", "key-1", &replayed).ok());
  ASSERT_TRUE(replayed.replayed());
  v1::PublishEventResponse refused;
  EXPECT_EQ(Publish("no.such_type", "", &refused).error_code(), grpc::INVALID_ARGUMENT);
  v1::GetWebhookRequest missing;
  missing.set_name("accounts/acme/webhooks/wh_00000000000000000000000000");
  v1::Webhook unused;
  EXPECT_EQ(server_->NewStub()
                ->GetWebhook(ContextWithToken(kAcmeToken).get(), missing, &unused)
                .error_code(),
            grpc::NOT_FOUND);

  // The first attempts: 200 to /ok, 500 to /flaky (retry in 5 s +- 20%).
  const std::string event_id = published.event().id();
  WaitForState(ok.name(), event_id, v1::DELIVERY_STATE_SUCCEEDED, 1);
  WaitForState(flaky.name(), event_id, v1::DELIVERY_STATE_RETRY_SCHEDULED, 1);
  server_->AdvanceClock(absl::Seconds(6));
  WaitForState(flaky.name(), event_id, v1::DELIVERY_STATE_SUCCEEDED, 2);

  const Samples after =
      ScrapeUntil(before, "wink_webhooks_deliveries_finished_total{outcome=\"succeeded\"}", 2);
  auto delta = [&](const std::string& series) {
    return Value(after, series) - Value(before, series);
  };
  EXPECT_EQ(delta("wink_webhooks_events_published_total{outcome=\"accepted\"}"), 1);
  EXPECT_EQ(delta("wink_webhooks_events_published_total{outcome=\"replayed\"}"), 1);
  EXPECT_EQ(delta("wink_webhooks_events_published_total{outcome=\"rejected\"}"), 1);
  // Both successful calls; the refused one is not a publish latency.
  EXPECT_EQ(delta("wink_webhooks_publish_latency_seconds_count"), 2);
  EXPECT_EQ(delta("wink_webhooks_publish_latency_seconds_bucket{le=\"+Inf\"}"), 2);

  EXPECT_EQ(delta("wink_webhooks_delivery_attempts_total{class=\"2xx\"}"), 2);
  EXPECT_EQ(delta("wink_webhooks_delivery_attempts_total{class=\"5xx\"}"), 1);
  EXPECT_EQ(delta("wink_webhooks_delivery_attempts_total{class=\"4xx\"}"), 0);
  EXPECT_EQ(delta("wink_webhooks_delivery_attempts_total{class=\"network_error\"}"), 0);
  EXPECT_EQ(delta("wink_webhooks_delivery_attempt_duration_seconds_count"), 3);
  EXPECT_EQ(delta("wink_webhooks_deliveries_finished_total{outcome=\"succeeded\"}"), 2);
  EXPECT_EQ(delta("wink_webhooks_deliveries_finished_total{outcome=\"failed\"}"), 0);
  EXPECT_EQ(delta("wink_webhooks_deliveries_finished_total{outcome=\"cancelled\"}"), 0);
  // Only the failure of /flaky, under its own webhook id (a new series).
  EXPECT_EQ(Value(after, absl::StrCat("wink_webhooks_webhook_failed_attempts_total{webhook=\"",
                                      flaky_id, "\"}")),
            1);
  const std::string ok_id = ok.name().substr(ok.name().rfind('/') + 1);
  EXPECT_EQ(after.count(absl::StrCat("wink_webhooks_webhook_failed_attempts_total{webhook=\"",
                                     ok_id, "\"}")),
            0u);

  // Event creation to delivery on the fake clock: /ok at once (0 s), /flaky
  // after the clock moved 6 s.
  const std::string latency = "wink_webhooks_publish_to_delivery_latency_seconds";
  EXPECT_EQ(delta(latency + "_count"), 2);
  EXPECT_EQ(delta(latency + "_bucket{le=\"0.01\"}"), 1);
  EXPECT_EQ(delta(latency + "_bucket{le=\"5\"}"), 1);
  EXPECT_EQ(delta(latency + "_bucket{le=\"10\"}"), 2);
  EXPECT_DOUBLE_EQ(delta(latency + "_sum"), 6);
  // Each request's lateness: none for the first attempts (the clock stood
  // still), up to 2 s for /flaky's retry (due 4-6 s after its failure, sent
  // once the clock moved 6 s).
  const std::string send_delay = "wink_webhooks_delivery_send_delay_seconds";
  EXPECT_EQ(delta(send_delay + "_count"), 3);
  EXPECT_GE(delta(send_delay + "_bucket{le=\"0.001\"}"), 2);
  EXPECT_EQ(delta(send_delay + "_bucket{le=\"2.5\"}"), 3);

  EXPECT_EQ(delta("wink_webhooks_rpcs_total{method=\"CreateWebhook\",code=\"OK\"}"), 2);
  EXPECT_EQ(delta("wink_webhooks_rpcs_total{method=\"PublishEvent\",code=\"OK\"}"), 2);
  EXPECT_EQ(delta("wink_webhooks_rpcs_total{method=\"PublishEvent\",code=\"INVALID_ARGUMENT\"}"),
            1);
  EXPECT_EQ(delta("wink_webhooks_rpcs_total{method=\"GetWebhook\",code=\"NOT_FOUND\"}"), 1);
  EXPECT_GE(delta("wink_webhooks_rpcs_total{method=\"GetDelivery\",code=\"OK\"}"), 3);

  // Gauges: nothing left to send; storage committed something.
  EXPECT_EQ(Value(after, "wink_webhooks_deliveries_in_flight"), 0);
  EXPECT_EQ(Value(after, "wink_webhooks_deliveries_queued"), 0);
  EXPECT_EQ(after.count("wink_webhooks_due_entries_estimate"), 1u);
  EXPECT_EQ(after.count("wink_webhooks_storage_write_queue_operations"), 1u);
  EXPECT_GE(delta("wink_webhooks_storage_commit_operations_count"), 5);
  // The writes above waited in the writer's queue and ran in groups.
  EXPECT_GE(delta("wink_webhooks_storage_write_wait_seconds_count"), 5);
  EXPECT_GE(delta("wink_webhooks_storage_group_run_seconds_count"), 1);
  EXPECT_GE(delta("wink_webhooks_storage_group_finish_seconds_count"), 1);
  EXPECT_EQ(
      Value(after, absl::StrCat("wink_webhooks_build_info{version=\"", kServerVersion, "\"}")), 1);
  EXPECT_GT(Value(after, "process_resident_memory_bytes"), 0);
}

TEST_F(ObservabilityTest, DeletingAWebhookWithARequestInFlightCountsOneCancellation) {
  const Samples before = Scrape();
  receiver_->On("/hang").Hang();
  const v1::Webhook hang = CreateWebhook("/hang");
  v1::PublishEventResponse published;
  ASSERT_TRUE(Publish("booking.created", "", &published).ok());
  ASSERT_TRUE(receiver_->WaitForRequests("/hang", 1, absl::Seconds(10)));
  Samples during;
  EXPECT_TRUE(WaitFor([&] {
    during = Scrape();
    return Value(during, "wink_webhooks_deliveries_in_flight") == 1;
  })) << "in flight: "
      << Value(during, "wink_webhooks_deliveries_in_flight");
  // Its due entry stays until the attempt is recorded.
  EXPECT_GE(Value(during, "wink_webhooks_due_entries_estimate"), 1);

  // The delete cancels the delivery (one transition to CANCELLED); the
  // aborted request is then recorded as an attempt on the cancelled
  // delivery, which must not count it again.
  v1::DeleteWebhookRequest remove;
  remove.set_name(hang.name());
  google::protobuf::Empty empty;
  ASSERT_TRUE(
      server_->NewStub()->DeleteWebhook(ContextWithToken(kAcmeToken).get(), remove, &empty).ok());
  WaitForState(hang.name(), published.event().id(), v1::DELIVERY_STATE_CANCELLED, 1);
  // Committed after the attempt: once it is acknowledged, everything the
  // attempt's commit counted is visible.
  v1::PublishEventResponse barrier;
  ASSERT_TRUE(Publish("booking.created", "", &barrier).ok());

  const Samples after = Scrape();
  auto delta = [&](const std::string& series) {
    return Value(after, series) - Value(before, series);
  };
  EXPECT_EQ(delta("wink_webhooks_deliveries_finished_total{outcome=\"cancelled\"}"), 1);
  EXPECT_EQ(delta("wink_webhooks_delivery_attempts_total{class=\"cancelled\"}"), 1);
  EXPECT_EQ(Value(after, "wink_webhooks_deliveries_in_flight"), 0);
  const std::string hang_id = hang.name().substr(hang.name().rfind('/') + 1);
  EXPECT_EQ(after.count(absl::StrCat("wink_webhooks_webhook_failed_attempts_total{webhook=\"",
                                     hang_id, "\"}")),
            0u);
}

TEST_F(ObservabilityTest, OtherPathsAreNotFound) {
  auto reply = HttpGet(server_->server().metrics_port(), "/health");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 404);
  EXPECT_THAT(reply->body, Not(HasSubstr("wink_webhooks")));
}

// Every line of a run in the JSON format parses, and none carries the
// token, a signing secret or a custom header value.
TEST_F(ObservabilityTest, JsonLogLinesParseAndCarryNoSecrets) {
  SetLogFormat(LogFormat::kJson);
  FlushLog();  // lines of the setup, in the text format
  ::testing::internal::CaptureStderr();
  const v1::Webhook webhook = CreateWebhook("/logged");
  v1::RotateWebhookSecretRequest rotate;
  rotate.set_name(webhook.name());
  v1::Webhook rotated;
  const grpc::Status rotate_status =
      server_->NewStub()->RotateWebhookSecret(ContextWithToken(kAcmeToken).get(), rotate, &rotated);
  v1::PublishEventResponse published;
  const grpc::Status publish_status = Publish("booking.created", "", &published);
  {
    // A watch stream that ends logs one line too.
    auto context = ContextWithToken(kAcmeToken);
    v1::WatchDeliveriesRequest watch;
    watch.set_parent("accounts/acme");
    watch.set_start_cursor(1);
    auto reader = server_->NewDeliveryStub()->WatchDeliveries(context.get(), watch);
    v1::WatchDeliveriesResponse update;
    reader->Read(&update);
    context->TryCancel();
    while (reader->Read(&update)) {
    }
    reader->Finish();
  }
  if (publish_status.ok()) {
    WaitForState(webhook.name(), published.event().id(), v1::DELIVERY_STATE_SUCCEEDED, 1);
  }
  // Shutdown waits for every call to be done (the watch's line included).
  server_->server().Shutdown(absl::Seconds(1));
  FlushLog();
  const std::string log = ::testing::internal::GetCapturedStderr();
  SetLogFormat(LogFormat::kText);
  ASSERT_TRUE(rotate_status.ok()) << rotate_status.error_message();
  ASSERT_TRUE(publish_status.ok()) << publish_status.error_message();
  ASSERT_THAT(webhook.secret(), StartsWith("whsec_"));
  ASSERT_THAT(rotated.secret(), StartsWith("whsec_"));

  int rpc_lines = 0;
  int attempt_lines = 0;
  int watch_lines = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    if (!absl::StartsWith(line, "{\"ts\":")) continue;  // not ours (gRPC's own)
    EXPECT_TRUE(CheckJsonObject(line, "line").ok()) << line;
    EXPECT_THAT(line, Not(HasSubstr(kAcmeToken)));
    EXPECT_THAT(line, Not(HasSubstr(webhook.secret())));
    EXPECT_THAT(line, Not(HasSubstr(rotated.secret())));
    EXPECT_THAT(line, Not(HasSubstr(kHeaderValue)));
    if (absl::StrContains(line, R"("event":"rpc")")) ++rpc_lines;
    if (absl::StrContains(line, R"("event":"delivery_attempt")")) ++attempt_lines;
    if (absl::StrContains(line, R"("method":"WatchDeliveries")")) ++watch_lines;
  }
  EXPECT_GE(rpc_lines, 3) << log;  // create, rotate, publish (+ the watch)
  EXPECT_EQ(attempt_lines, 1) << log;
  EXPECT_EQ(watch_lines, 1) << log;
}

TEST_F(ObservabilityTest, ThePublishAndItsAttemptsLogTheTraceId) {
  const v1::Webhook webhook = CreateWebhook("/traced");
  SetLogFormat(LogFormat::kJson);
  FlushLog();  // lines of the setup, in the text format
  ::testing::internal::CaptureStderr();
  v1::PublishEventRequest request;
  request.set_parent("accounts/acme");
  request.set_event_type("booking.created");
  request.set_data_json(R"({"booking_id":"B-8"})");
  std::unique_ptr<grpc::ClientContext> context = ContextWithToken(kAcmeToken);
  context->AddMetadata("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  v1::PublishEventResponse published;
  const grpc::Status status = server_->NewStub()->PublishEvent(context.get(), request, &published);
  if (status.ok()) {
    WaitForState(webhook.name(), published.event().id(), v1::DELIVERY_STATE_SUCCEEDED, 1);
  }
  server_->server().Shutdown(absl::Seconds(1));
  FlushLog();
  const std::string log = ::testing::internal::GetCapturedStderr();
  SetLogFormat(LogFormat::kText);
  ASSERT_TRUE(status.ok()) << status.error_message();

  int traced_publish_lines = 0;
  int traced_attempt_lines = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    if (!absl::StrContains(line, R"("trace_id":"0af7651916cd43dd8448eb211c80319c")")) continue;
    if (absl::StrContains(line, R"("method":"PublishEvent")")) ++traced_publish_lines;
    if (absl::StrContains(line, R"("event":"delivery_attempt")")) ++traced_attempt_lines;
  }
  EXPECT_EQ(traced_publish_lines, 1) << log;
  EXPECT_EQ(traced_attempt_lines, 1) << log;
}

TEST(MetricsStartupTest, EndpointIsOffUnlessConfigured) {
  TestServer server;
  EXPECT_EQ(server.server().metrics_port(), 0);
  EXPECT_EQ(server.server().metrics_address(), "");
}

TEST(MetricsStartupTest, ATakenMetricsPortStopsTheStartAndLeavesNothingBehind) {
  auto squatter = metrics::MetricsServer::Start("127.0.0.1:0", [] { return std::string(); });
  ASSERT_TRUE(squatter.ok()) << squatter.status();
  const std::string taken = absl::StrCat("127.0.0.1:", (*squatter)->port());
  TempDir dir;
  config::ConfigOverrides overrides;
  overrides.listen_address = "127.0.0.1:0";
  overrides.data_dir = dir.Child("data");
  overrides.metrics_listen_address = taken;
  overrides.admin_token_sha256 = {std::string(64, 'a')};
  auto config = config::LoadServerConfig("", overrides);
  ASSERT_TRUE(config.ok()) << config.status();

  auto refused = Server::Start(*config);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr(absl::StrCat("cannot listen for metrics on \"", taken, "\"")));

  // The data directory was not left locked: the same config on a free
  // port starts.
  config->set_metrics_listen_address("127.0.0.1:0");
  auto started = Server::Start(*config);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_GT((*started)->metrics_port(), 0);
  EXPECT_EQ((*started)->metrics_address(), absl::StrCat("127.0.0.1:", (*started)->metrics_port()));
  (*started)->Shutdown(absl::Seconds(1));
}

}  // namespace
}  // namespace wink::webhooks::testing
