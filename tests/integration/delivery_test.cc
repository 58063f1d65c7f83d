// The delivery path end to end: a real server (RocksDB in a temp dir, gRPC on
// 127.0.0.1:0, fake clock) publishing to a real HTTPS receiver with a
// generated CA, observed through the public API (PublishEvent, GetEvent,
// DeliveryService) and through what the receiver saw.
//
// Waiting: server-side state is polled with a deadline (WaitFor), receiver
// traffic is awaited with HttpsReceiver::WaitForRequests, watch streams with
// a condition variable. To show that something was NOT sent, a test first
// proves there is nothing left that could send it (state, or a later
// "barrier" delivery that went through the same engine).
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "service/delivery/engine.h"
#include "service/signing/secret.h"
#include "service/signing/signature.h"
#include "tests/fakes/https_receiver.h"
#include "tests/fakes/temp_dir.h"
#include "tests/integration/test_server.h"

namespace wink::webhooks::testing {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

using Tweak = std::function<void(config::ServerConfig&)>;

constexpr char kBookingData[] = R"({"booking_id":"B-1"})";

// Polls `condition` until it holds or `timeout` passes. Returns whether it
// held.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

absl::Time FromProto(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

absl::Duration FromProto(const google::protobuf::Duration& duration) {
  return absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
}

void SetDuration(google::protobuf::Duration* out, absl::Duration value) {
  out->set_seconds(absl::ToInt64Seconds(value));
  out->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(value - absl::Seconds(out->seconds()))));
}

void SetRetrySchedule(config::ServerConfig& config, const std::vector<absl::Duration>& schedule) {
  config.mutable_delivery()->clear_retry_schedule();
  for (absl::Duration step : schedule) {
    SetDuration(config.mutable_delivery()->add_retry_schedule(), step);
  }
}

std::string DeliveryName(const std::string& webhook_name, const std::string& event_id) {
  return absl::StrCat(webhook_name, "/deliveries/", event_id);
}

std::vector<std::string> WebhookIds(const std::vector<ReceivedRequest>& requests) {
  std::vector<std::string> ids;
  for (const auto& request : requests) ids.push_back(request.Header("webhook-id"));
  return ids;
}

std::vector<std::string> Names(const google::protobuf::RepeatedPtrField<v1::Delivery>& list) {
  std::vector<std::string> names;
  for (const auto& delivery : list) names.push_back(delivery.name());
  std::sort(names.begin(), names.end());
  return names;
}

// One WatchDeliveries stream, read on a background thread.
class Watcher {
 public:
  Watcher(std::unique_ptr<v1::DeliveryService::Stub> stub, const std::string& token,
          v1::WatchDeliveriesRequest request)
      : stub_(std::move(stub)) {
    context_.AddMetadata("authorization", "Bearer " + token);
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    thread_ = std::thread([this, request = std::move(request)] {
      auto reader = stub_->WatchDeliveries(&context_, request);
      v1::WatchDeliveriesResponse response;
      while (reader->Read(&response)) {
        std::lock_guard<std::mutex> lock(mu_);
        messages_.push_back(response);
        changed_.notify_all();
      }
      const grpc::Status status = reader->Finish();
      std::lock_guard<std::mutex> lock(mu_);
      status_ = status;
      changed_.notify_all();
    });
  }

  ~Watcher() {
    Cancel();
    thread_.join();
  }

  void Cancel() { context_.TryCancel(); }

  // Waits until `condition` holds for the messages received so far (false
  // on timeout or when the stream ended without it).
  bool WaitUntil(
      const std::function<bool(const std::vector<v1::WatchDeliveriesResponse>&)>& condition,
      absl::Duration timeout = absl::Seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                      [&] { return condition(messages_) || status_.has_value(); });
    return condition(messages_);
  }

  bool WaitForCount(size_t count, absl::Duration timeout = absl::Seconds(10)) {
    return WaitUntil([count](const auto& messages) { return messages.size() >= count; }, timeout);
  }

  // The stream's final status, or nullopt if it has not ended in `timeout`.
  std::optional<grpc::Status> WaitForEnd(absl::Duration timeout = absl::Seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                      [&] { return status_.has_value(); });
    return status_;
  }

  std::vector<v1::WatchDeliveriesResponse> messages() const {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }

 private:
  std::unique_ptr<v1::DeliveryService::Stub> stub_;
  grpc::ClientContext context_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<v1::WatchDeliveriesResponse> messages_;
  std::optional<grpc::Status> status_;
  std::thread thread_;
};

// Messages of `messages` about `event_id`, as (cursor, state) pairs.
std::vector<std::pair<int64_t, v1::DeliveryState>> UpdatesOf(
    const std::vector<v1::WatchDeliveriesResponse>& messages, const std::string& event_id) {
  std::vector<std::pair<int64_t, v1::DeliveryState>> out;
  for (const auto& message : messages) {
    if (absl::EndsWith(message.delivery().event(), "/" + event_id)) {
      out.emplace_back(message.cursor(), message.delivery().state());
    }
  }
  return out;
}

// For failure messages: "cursor state event" per line.
std::string Describe(const std::vector<v1::WatchDeliveriesResponse>& messages) {
  std::string out = absl::StrCat(messages.size(), " messages:");
  for (const auto& message : messages) {
    absl::StrAppend(&out, "\n  ", message.cursor(), " ",
                    v1::DeliveryState_Name(message.delivery().state()), " ",
                    message.delivery().event());
  }
  return out;
}

bool HasState(const std::vector<v1::WatchDeliveriesResponse>& messages, const std::string& event_id,
              v1::DeliveryState state) {
  for (const auto& [cursor, s] : UpdatesOf(messages, event_id)) {
    if (s == state) return true;
  }
  return false;
}

class DeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto receiver = HttpsReceiver::Start();
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = *std::move(receiver);
  }

  void TearDown() override {
    // Receiver first: requests it holds (Hang) fail at once instead of
    // using up the server's shutdown grace period.
    if (receiver_ != nullptr) receiver_->Stop();
    server_.reset();
    receiver_.reset();
  }

  // Starts the server trusting the receiver's CA; `allow_loopback` lets
  // deliveries reach 127.0.0.0/8 (where the receiver listens).
  void StartServer(const Tweak& tweak = nullptr, bool allow_loopback = true) {
    const std::string ca_file = receiver_->ca_file();
    server_ = std::make_unique<TestServer>([&](config::ServerConfig& config) {
      if (allow_loopback) config.add_allow_private_targets("127.0.0.0/8");
      config.add_extra_ca_file(ca_file);
      if (tweak) tweak(config);
    });
  }

  // --- WebhookService ---------------------------------------------------

  v1::Webhook CreateWebhook(const std::string& account, const std::string& url,
                            const std::vector<std::string>& event_types = {},
                            const std::map<std::string, std::string>& headers = {}) {
    v1::CreateWebhookRequest request;
    request.set_parent("accounts/" + account);
    v1::Webhook* webhook = request.mutable_webhook();
    webhook->set_display_name("Hook " + url);
    webhook->set_url(url);
    for (const auto& type : event_types) webhook->add_event_types(type);
    for (const auto& [name, value] : headers) (*webhook->mutable_headers())[name] = value;
    v1::Webhook out;
    const grpc::Status status =
        server_->NewStub()->CreateWebhook(ContextWithToken(kAdminToken).get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  v1::Webhook GetWebhook(const std::string& name) {
    v1::GetWebhookRequest request;
    request.set_name(name);
    v1::Webhook out;
    const grpc::Status status =
        server_->NewStub()->GetWebhook(ContextWithToken(kAdminToken).get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  v1::Webhook SetEnabled(const std::string& name, bool enabled, bool drop_held = false) {
    v1::UpdateWebhookRequest request;
    request.mutable_webhook()->set_name(name);
    request.mutable_webhook()->set_enabled(enabled);
    request.mutable_update_mask()->add_paths("enabled");
    request.set_drop_held_deliveries(drop_held);
    v1::Webhook out;
    const grpc::Status status =
        server_->NewStub()->UpdateWebhook(ContextWithToken(kAdminToken).get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  void DeleteWebhook(const std::string& name) {
    v1::DeleteWebhookRequest request;
    request.set_name(name);
    google::protobuf::Empty out;
    const grpc::Status status =
        server_->NewStub()->DeleteWebhook(ContextWithToken(kAdminToken).get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  grpc::Status TryPublish(const std::string& token, const v1::PublishEventRequest& request,
                          v1::PublishEventResponse* out) {
    return server_->NewStub()->PublishEvent(ContextWithToken(token).get(), request, out);
  }

  v1::PublishEventResponse Publish(const std::string& account, const std::string& event_type,
                                   const std::string& data_json = kBookingData,
                                   const std::string& idempotency_key = "") {
    v1::PublishEventRequest request;
    request.set_parent("accounts/" + account);
    request.set_event_type(event_type);
    request.set_data_json(data_json);
    request.set_idempotency_key(idempotency_key);
    v1::PublishEventResponse out;
    const grpc::Status status = TryPublish(kAdminToken, request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  grpc::Status TryGetEvent(const std::string& name, v1::Event* out) {
    v1::GetEventRequest request;
    request.set_name(name);
    return server_->NewStub()->GetEvent(ContextWithToken(kAdminToken).get(), request, out);
  }

  std::vector<v1::Event> ListEvents(const std::string& account) {
    v1::ListEventsRequest request;
    request.set_parent("accounts/" + account);
    v1::ListEventsResponse out;
    const grpc::Status status =
        server_->NewStub()->ListEvents(ContextWithToken(kAdminToken).get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {out.events().begin(), out.events().end()};
  }

  // --- DeliveryService --------------------------------------------------

  grpc::Status TryGetDelivery(const std::string& name, v1::Delivery* out) {
    v1::GetDeliveryRequest request;
    request.set_name(name);
    return server_->NewDeliveryStub()->GetDelivery(ContextWithToken(kAdminToken).get(), request,
                                                   out);
  }

  v1::Delivery GetDelivery(const std::string& name) {
    v1::Delivery out;
    const grpc::Status status = TryGetDelivery(name, &out);
    EXPECT_TRUE(status.ok()) << name << ": " << status.error_message();
    return out;
  }

  // Every delivery of a webhook or an event (one page is plenty here).
  std::vector<v1::Delivery> ListDeliveries(
      const std::string& parent, v1::DeliveryState state = v1::DELIVERY_STATE_UNSPECIFIED) {
    v1::ListDeliveriesRequest request;
    request.set_parent(parent);
    request.set_page_size(1000);
    request.set_state(state);
    v1::ListDeliveriesResponse out;
    const grpc::Status status = server_->NewDeliveryStub()->ListDeliveries(
        ContextWithToken(kAdminToken).get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(out.next_page_token(), "");
    return {out.deliveries().begin(), out.deliveries().end()};
  }

  grpc::Status TryRetry(const std::string& name, v1::Delivery* out) {
    v1::RetryDeliveryRequest request;
    request.set_name(name);
    return server_->NewDeliveryStub()->RetryDelivery(ContextWithToken(kAdminToken).get(), request,
                                                     out);
  }

  // Polls GetDelivery until `done` holds; returns the last delivery read.
  v1::Delivery WaitForDelivery(const std::string& name,
                               const std::function<bool(const v1::Delivery&)>& done,
                               absl::Duration timeout = absl::Seconds(10)) {
    v1::Delivery last;
    grpc::Status status;
    const bool reached = WaitFor(
        [&] {
          last.Clear();
          status = TryGetDelivery(name, &last);
          return status.ok() && done(last);
        },
        timeout);
    EXPECT_TRUE(reached) << "delivery " << name << " did not reach the expected state; last read: "
                         << status.error_message() << " " << last.ShortDebugString();
    return last;
  }

  v1::Delivery WaitForState(const std::string& name, v1::DeliveryState state,
                            absl::Duration timeout = absl::Seconds(10)) {
    return WaitForDelivery(
        name, [state](const v1::Delivery& d) { return d.state() == state; }, timeout);
  }

  // Waits until the delivery has `attempts` attempts recorded (and is in a
  // state an attempt leads to, not PENDING).
  v1::Delivery WaitForAttempts(const std::string& name, int attempts) {
    return WaitForDelivery(name, [attempts](const v1::Delivery& d) {
      return d.attempt_count() >= attempts && d.state() != v1::DELIVERY_STATE_PENDING;
    });
  }

  std::unique_ptr<Watcher> Watch(const std::string& token, int64_t start_cursor,
                                 const std::string& webhook = "", const std::string& event = "",
                                 const std::string& account = "acme") {
    v1::WatchDeliveriesRequest request;
    request.set_parent("accounts/" + account);
    request.set_start_cursor(start_cursor);
    request.set_webhook(webhook);
    request.set_event(event);
    return std::make_unique<Watcher>(server_->NewDeliveryStub(), token, std::move(request));
  }

  // Publishes booking.created for acme with W3C trace context metadata.
  v1::PublishEventResponse PublishTraced(const std::string& traceparent,
                                         const std::string& tracestate) {
    v1::PublishEventRequest request;
    request.set_parent("accounts/acme");
    request.set_event_type("booking.created");
    request.set_data_json(kBookingData);
    std::unique_ptr<grpc::ClientContext> context = ContextWithToken(kAdminToken);
    context->AddMetadata("traceparent", traceparent);
    context->AddMetadata("tracestate", tracestate);
    v1::PublishEventResponse published;
    const grpc::Status status =
        server_->NewStub()->PublishEvent(context.get(), request, &published);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return published;
  }

  grpc::Status TrySendTestEvent(const std::string& token, const v1::SendTestEventRequest& request,
                                v1::SendTestEventResponse* out,
                                absl::Duration deadline = absl::Seconds(10)) {
    std::unique_ptr<grpc::ClientContext> context = ContextWithToken(token);
    context->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    return server_->NewStub()->SendTestEvent(context.get(), request, out);
  }

  v1::SendTestEventResponse SendTestEvent(const std::string& webhook_name, bool wait,
                                          const std::string& data_json = "") {
    v1::SendTestEventRequest request;
    request.set_name(webhook_name);
    request.set_wait_for_attempt(wait);
    if (!data_json.empty()) request.set_data_json(data_json);
    v1::SendTestEventResponse out;
    const grpc::Status status = TrySendTestEvent(kAdminToken, request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  std::unique_ptr<HttpsReceiver> receiver_;
  std::unique_ptr<TestServer> server_;
};

// --- 1. Fan-out --------------------------------------------------------------

TEST_F(DeliveryTest, FanOutReachesExactlyTheMatchingWebhooksOfTheAccount) {
  StartServer();
  const v1::Webhook a = CreateWebhook("acme", receiver_->Url("/a"), {"booking.created"});
  const v1::Webhook b = CreateWebhook("acme", receiver_->Url("/b"));
  const v1::Webhook c = CreateWebhook("acme", receiver_->Url("/c"), {"payment.completed"});
  const v1::Webhook beta = CreateWebhook("beta", receiver_->Url("/beta"));

  const v1::PublishEventResponse published = Publish("acme", "booking.created");
  const v1::Event& event = published.event();
  EXPECT_FALSE(published.replayed());
  const std::string name_a = DeliveryName(a.name(), event.id());
  const std::string name_b = DeliveryName(b.name(), event.id());
  EXPECT_THAT(Names(event.deliveries()), UnorderedElementsAre(name_a, name_b));
  for (const auto& delivery : event.deliveries()) {
    EXPECT_EQ(delivery.event(), event.name());
    EXPECT_EQ(delivery.event_type(), "booking.created");
  }

  ASSERT_TRUE(receiver_->WaitForRequests("/a", 1, absl::Seconds(10)));
  ASSERT_TRUE(receiver_->WaitForRequests("/b", 1, absl::Seconds(10)));
  for (const std::string& name : {name_a, name_b}) {
    const v1::Delivery done = WaitForState(name, v1::DELIVERY_STATE_SUCCEEDED);
    EXPECT_EQ(done.attempt_count(), 1);
    EXPECT_EQ(done.last_attempt().http_status(), 200);
    EXPECT_TRUE(done.last_attempt().succeeded());
  }

  // Nothing else exists that could be sent: C and beta have no deliveries.
  EXPECT_TRUE(ListDeliveries(c.name()).empty());
  EXPECT_TRUE(ListDeliveries(beta.name()).empty());
  EXPECT_EQ(receiver_->Requests("/a").size(), 1u);
  EXPECT_EQ(receiver_->Requests("/b").size(), 1u);
  EXPECT_TRUE(receiver_->Requests("/c").empty());
  EXPECT_TRUE(receiver_->Requests("/beta").empty());
  EXPECT_EQ(receiver_->Requests("/a")[0].method, "POST");
  EXPECT_EQ(receiver_->Requests("/a")[0].Header("webhook-id"), event.id());
  EXPECT_EQ(receiver_->Requests("/b")[0].Header("webhook-id"), event.id());

  v1::Event got;
  ASSERT_TRUE(TryGetEvent(event.name(), &got).ok());
  EXPECT_EQ(got.id(), event.id());
  EXPECT_EQ(got.event_type(), "booking.created");
  EXPECT_EQ(got.data_json(), kBookingData);
  EXPECT_THAT(Names(got.deliveries()), UnorderedElementsAre(name_a, name_b));
  for (const auto& delivery : got.deliveries()) {
    EXPECT_EQ(delivery.state(), v1::DELIVERY_STATE_SUCCEEDED);
  }

  const std::vector<v1::Delivery> by_event = ListDeliveries(event.name());
  ASSERT_EQ(by_event.size(), 2u);
  const std::vector<v1::Delivery> of_a = ListDeliveries(a.name());
  const std::vector<v1::Delivery> of_b = ListDeliveries(b.name());
  ASSERT_EQ(of_a.size(), 1u);
  ASSERT_EQ(of_b.size(), 1u);
  std::map<std::string, v1::Delivery> by_webhook = {{of_a[0].name(), of_a[0]},
                                                    {of_b[0].name(), of_b[0]}};
  for (const v1::Delivery& delivery : by_event) {
    ASSERT_EQ(by_webhook.count(delivery.name()), 1u) << delivery.name();
    const v1::Delivery& same = by_webhook[delivery.name()];
    EXPECT_EQ(delivery.webhook(), same.webhook());
    EXPECT_EQ(delivery.state(), same.state());
    EXPECT_EQ(delivery.attempt_count(), same.attempt_count());
    EXPECT_EQ(delivery.state(), v1::DELIVERY_STATE_SUCCEEDED);
    EXPECT_EQ(delivery.attempt_count(), 1);
  }
  EXPECT_EQ(of_a[0].webhook(), a.name());
  EXPECT_EQ(of_b[0].webhook(), b.name());
}

// --- 2. Signature and envelope --------------------------------------------------

TEST_F(DeliveryTest, ReceiverVerifiesSignatureAndGetsTheExactEnvelope) {
  StartServer();
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/signed"), {"booking.created"},
                                            {{"X-Api-Key", "k-123"}});
  auto key = signing::ParseSecret(webhook.secret());
  ASSERT_TRUE(key.ok()) << key.status();

  // Raw bytes: key order, number spelling and nesting must survive.
  const std::string data =
      R"({"booking_id":"B-1","amount":12.50,"currency":"EUR","guest":{"z":1,"a":[true,null]}})";
  const v1::Event event = Publish("acme", "booking.created", data).event();
  ASSERT_TRUE(receiver_->WaitForRequests("/signed", 1, absl::Seconds(10)));
  const ReceivedRequest request = receiver_->Requests("/signed")[0];

  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.Header("content-type"), "application/json");
  EXPECT_THAT(request.Header("user-agent"), StartsWith("wink-webhooks/"));
  EXPECT_EQ(request.Header("webhook-id"), event.id());
  EXPECT_EQ(request.Header("webhook-timestamp"),
            absl::StrCat(absl::ToUnixSeconds(server_->clock().Now())));
  EXPECT_EQ(request.Header("x-api-key"), "k-123");

  const std::string signature = request.Header("webhook-signature");
  EXPECT_THAT(signature, StartsWith("v1,"));
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(signature, ' ')).size(), 1u);
  const absl::Status verified = signing::VerifySignature(
      {*key}, request.Header("webhook-id"), request.Header("webhook-timestamp"), signature,
      request.body, server_->clock().Now());
  EXPECT_TRUE(verified.ok()) << verified;
  // The check is not vacuous: another key, or a changed body, fails.
  auto other_key = signing::GenerateSecretKey();
  ASSERT_TRUE(other_key.ok());
  EXPECT_EQ(signing::VerifySignature({*other_key}, request.Header("webhook-id"),
                                     request.Header("webhook-timestamp"), signature, request.body,
                                     server_->clock().Now())
                .code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(signing::VerifySignature({*key}, request.Header("webhook-id"),
                                     request.Header("webhook-timestamp"), signature,
                                     request.body + " ", server_->clock().Now())
                .code(),
            absl::StatusCode::kUnauthenticated);

  // The envelope: {"id","type","timestamp","account_id","data"}, with
  // `data` byte for byte as published.
  google::protobuf::Struct envelope;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(request.body, &envelope).ok())
      << request.body;
  const auto& fields = envelope.fields();
  EXPECT_EQ(fields.size(), 5u) << request.body;
  ASSERT_TRUE(fields.contains("id") && fields.contains("type") && fields.contains("timestamp") &&
              fields.contains("account_id") && fields.contains("data"))
      << request.body;
  EXPECT_EQ(fields.at("id").string_value(), event.id());
  EXPECT_EQ(fields.at("type").string_value(), "booking.created");
  EXPECT_EQ(fields.at("account_id").string_value(), "acme");
  absl::Time timestamp;
  std::string error;
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, fields.at("timestamp").string_value(), &timestamp,
                              &error))
      << error;
  EXPECT_EQ(timestamp, FromProto(event.create_time()));
  EXPECT_EQ(fields.at("data").struct_value().fields().at("amount").number_value(), 12.5);
  EXPECT_THAT(request.body, StartsWith("{\"id\":"));
  EXPECT_TRUE(absl::EndsWith(request.body, absl::StrCat(",\"data\":", data, "}"))) << request.body;

  // Rotation: the next delivery carries two v1 signatures, one per secret.
  v1::RotateWebhookSecretRequest rotate;
  rotate.set_name(webhook.name());
  v1::Webhook rotated;
  ASSERT_TRUE(server_->NewStub()
                  ->RotateWebhookSecret(ContextWithToken(kAdminToken).get(), rotate, &rotated)
                  .ok());
  auto new_key = signing::ParseSecret(rotated.secret());
  ASSERT_TRUE(new_key.ok()) << new_key.status();
  ASSERT_NE(*new_key, *key);

  const v1::Event second = Publish("acme", "booking.created").event();
  ASSERT_TRUE(receiver_->WaitForRequests("/signed", 2, absl::Seconds(10)));
  const ReceivedRequest after = receiver_->Requests("/signed")[1];
  EXPECT_EQ(after.Header("webhook-id"), second.id());
  const std::vector<std::string> entries = absl::StrSplit(after.Header("webhook-signature"), ' ');
  ASSERT_EQ(entries.size(), 2u) << after.Header("webhook-signature");
  int new_matches = 0;
  int old_matches = 0;
  for (const std::string& entry : entries) {
    EXPECT_THAT(entry, StartsWith("v1,"));
    const bool by_new = signing::VerifySignature({*new_key}, after.Header("webhook-id"),
                                                 after.Header("webhook-timestamp"), entry,
                                                 after.body, server_->clock().Now())
                            .ok();
    const bool by_old = signing::VerifySignature({*key}, after.Header("webhook-id"),
                                                 after.Header("webhook-timestamp"), entry,
                                                 after.body, server_->clock().Now())
                            .ok();
    EXPECT_NE(by_new, by_old) << entry;
    new_matches += by_new;
    old_matches += by_old;
  }
  EXPECT_EQ(new_matches, 1);
  EXPECT_EQ(old_matches, 1);
}

TEST_F(DeliveryTest, Ed25519WebhookSignsV1aCheckedWithItsPublicKeyAndSwitchesSchemeByRotation) {
  StartServer();
  v1::CreateWebhookRequest create;
  create.set_parent("accounts/acme");
  create.mutable_webhook()->set_display_name("Asymmetric");
  create.mutable_webhook()->set_url(receiver_->Url("/v1a"));
  create.mutable_webhook()->set_signature_scheme(v1::SIGNATURE_SCHEME_ED25519);
  v1::Webhook webhook;
  ASSERT_TRUE(server_->NewStub()
                  ->CreateWebhook(ContextWithToken(kAdminToken).get(), create, &webhook)
                  .ok());
  // The public key is shown, the private key never: no secret, and GetWebhook
  // returns the same public key.
  EXPECT_EQ(webhook.signature_scheme(), v1::SIGNATURE_SCHEME_ED25519);
  EXPECT_THAT(webhook.public_key(), StartsWith("whpk_"));
  EXPECT_EQ(webhook.secret(), "");
  const v1::Webhook got = GetWebhook(webhook.name());
  EXPECT_EQ(got.public_key(), webhook.public_key());
  EXPECT_EQ(got.signature_scheme(), v1::SIGNATURE_SCHEME_ED25519);
  EXPECT_EQ(got.secret(), "");

  const v1::Event event = Publish("acme", "booking.created").event();
  ASSERT_TRUE(receiver_->WaitForRequests("/v1a", 1, absl::Seconds(10)));
  const ReceivedRequest request = receiver_->Requests("/v1a")[0];
  EXPECT_EQ(request.Header("webhook-id"), event.id());
  EXPECT_THAT(request.Header("webhook-signature"), StartsWith("v1a,"));
  auto verifier = WebhookVerifier::Create({webhook.public_key()});
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  EXPECT_TRUE(verifier->Verify(request.headers, request.body, server_->clock().Now()).ok());
  // Not vacuous: a changed body fails.
  EXPECT_EQ(verifier->Verify(request.headers, request.body + " ", server_->clock().Now()).code(),
            absl::StatusCode::kUnauthenticated);

  // Rotating to HMAC: the new secret is returned, the scheme switches, and
  // during the overlap each delivery carries a v1 and a v1a signature.
  v1::RotateWebhookSecretRequest rotate;
  rotate.set_name(webhook.name());
  rotate.set_signature_scheme(v1::SIGNATURE_SCHEME_HMAC_SHA256);
  v1::Webhook rotated;
  ASSERT_TRUE(server_->NewStub()
                  ->RotateWebhookSecret(ContextWithToken(kAdminToken).get(), rotate, &rotated)
                  .ok());
  EXPECT_EQ(rotated.signature_scheme(), v1::SIGNATURE_SCHEME_HMAC_SHA256);
  EXPECT_THAT(rotated.secret(), StartsWith("whsec_"));
  EXPECT_EQ(rotated.public_key(), "");
  EXPECT_TRUE(rotated.has_previous_secret_expire_time());

  Publish("acme", "booking.created");
  ASSERT_TRUE(receiver_->WaitForRequests("/v1a", 2, absl::Seconds(10)));
  const ReceivedRequest after = receiver_->Requests("/v1a")[1];
  const std::vector<std::string> entries = absl::StrSplit(after.Header("webhook-signature"), ' ');
  ASSERT_EQ(entries.size(), 2u) << after.Header("webhook-signature");
  EXPECT_THAT(entries[0], StartsWith("v1,"));
  EXPECT_THAT(entries[1], StartsWith("v1a,"));
  for (const std::string& key : {rotated.secret(), webhook.public_key()}) {
    auto one = WebhookVerifier::Create({key});
    ASSERT_TRUE(one.ok()) << one.status();
    EXPECT_TRUE(one->Verify(after.headers, after.body, server_->clock().Now()).ok()) << key;
  }

  // And back to Ed25519 by rotation, with a new key pair.
  rotate.set_signature_scheme(v1::SIGNATURE_SCHEME_ED25519);
  v1::Webhook back;
  ASSERT_TRUE(server_->NewStub()
                  ->RotateWebhookSecret(ContextWithToken(kAdminToken).get(), rotate, &back)
                  .ok());
  EXPECT_EQ(back.signature_scheme(), v1::SIGNATURE_SCHEME_ED25519);
  EXPECT_THAT(back.public_key(), StartsWith("whpk_"));
  EXPECT_NE(back.public_key(), webhook.public_key());
  EXPECT_EQ(back.secret(), "");
}

TEST_F(DeliveryTest, SignatureSchemeIsValidatedAndChangesOnlyByRotation) {
  StartServer();
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/scheme"));
  EXPECT_EQ(webhook.signature_scheme(), v1::SIGNATURE_SCHEME_HMAC_SHA256);
  EXPECT_EQ(webhook.public_key(), "");

  v1::CreateWebhookRequest create;
  create.set_parent("accounts/acme");
  create.mutable_webhook()->set_display_name("Bad scheme");
  create.mutable_webhook()->set_url(receiver_->Url("/scheme"));
  create.mutable_webhook()->set_signature_scheme(static_cast<v1::SignatureScheme>(9));
  v1::Webhook out;
  grpc::Status status =
      server_->NewStub()->CreateWebhook(ContextWithToken(kAdminToken).get(), create, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("webhook.signature_scheme: unknown value 9"));

  v1::UpdateWebhookRequest update;
  update.mutable_webhook()->set_name(webhook.name());
  update.mutable_webhook()->set_signature_scheme(v1::SIGNATURE_SCHEME_ED25519);
  update.mutable_update_mask()->add_paths("signature_scheme");
  status = server_->NewStub()->UpdateWebhook(ContextWithToken(kAdminToken).get(), update, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("RotateWebhookSecret"));
  update.clear_update_mask();
  status = server_->NewStub()->UpdateWebhook(ContextWithToken(kAdminToken).get(), update, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  update.mutable_update_mask()->add_paths("public_key");
  status = server_->NewStub()->UpdateWebhook(ContextWithToken(kAdminToken).get(), update, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("output only"));

  v1::RotateWebhookSecretRequest rotate;
  rotate.set_name(webhook.name());
  rotate.set_signature_scheme(static_cast<v1::SignatureScheme>(-1));
  status = server_->NewStub()->RotateWebhookSecret(ContextWithToken(kAdminToken).get(), rotate,
                                                   &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("signature_scheme: unknown value -1"));
  // Nothing changed: still HMAC, with no overlap started.
  const v1::Webhook unchanged = GetWebhook(webhook.name());
  EXPECT_EQ(unchanged.signature_scheme(), v1::SIGNATURE_SCHEME_HMAC_SHA256);
  EXPECT_FALSE(unchanged.has_previous_secret_expire_time());
}

// --- 3. Idempotent publish ------------------------------------------------------

TEST_F(DeliveryTest, SameIdempotencyKeyPublishesOnce) {
  StartServer();
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/idem"));

  const v1::PublishEventResponse first =
      Publish("acme", "booking.created", kBookingData, "booking-B-1-created");
  EXPECT_FALSE(first.replayed());
  ASSERT_EQ(first.event().deliveries_size(), 1);
  const std::string delivery = first.event().deliveries(0).name();
  WaitForState(delivery, v1::DELIVERY_STATE_SUCCEEDED);

  const v1::PublishEventResponse again =
      Publish("acme", "booking.created", kBookingData, "booking-B-1-created");
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.event().id(), first.event().id());
  EXPECT_EQ(again.event().idempotency_key(), "booking-B-1-created");
  ASSERT_EQ(again.event().deliveries_size(), 1);
  EXPECT_EQ(again.event().deliveries(0).name(), delivery);

  // Same key, different payload: refused, naming the field.
  v1::PublishEventRequest different;
  different.set_parent("accounts/acme");
  different.set_event_type("booking.created");
  different.set_data_json(R"({"booking_id":"B-2"})");
  different.set_idempotency_key("booking-B-1-created");
  v1::PublishEventResponse out;
  const grpc::Status status = TryPublish(kAcmeToken, different, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("idempotency_key: "));

  // Barrier: a new event goes through the engine after the replay.
  const v1::Event barrier = Publish("acme", "booking.created", R"({"booking_id":"B-3"})").event();
  ASSERT_TRUE(receiver_->WaitForRequests("/idem", 2, absl::Seconds(10)));
  WaitForState(DeliveryName(webhook.name(), barrier.id()), v1::DELIVERY_STATE_SUCCEEDED);
  EXPECT_THAT(WebhookIds(receiver_->Requests("/idem")),
              ElementsAre(first.event().id(), barrier.id()));
  EXPECT_EQ(ListEvents("acme").size(), 2u);
  EXPECT_EQ(GetDelivery(delivery).attempt_count(), 1);
}

// A `data` object (Struct) is written with sorted keys: a retry, parsed anew
// into a map with another iteration order, is still the same event.
TEST_F(DeliveryTest, SameIdempotencyKeyWithAStructPayloadPublishesOnce) {
  StartServer();
  CreateWebhook("acme", receiver_->Url("/idem-struct"));
  v1::PublishEventRequest request;
  request.set_parent("accounts/acme");
  request.set_event_type("booking.created");
  request.set_idempotency_key("struct-retry");
  for (int i = 0; i < 30; ++i) {
    (*request.mutable_data()->mutable_fields())[absl::StrCat("field_", i)].set_number_value(i);
  }

  v1::PublishEventResponse first;
  ASSERT_TRUE(TryPublish(kAcmeToken, request, &first).ok());
  v1::PublishEventRequest retry;  // a new map, built in the reverse order
  retry.set_parent("accounts/acme");
  retry.set_event_type("booking.created");
  retry.set_idempotency_key("struct-retry");
  for (int i = 29; i >= 0; --i) {
    (*retry.mutable_data()->mutable_fields())[absl::StrCat("field_", i)].set_number_value(i);
  }
  v1::PublishEventResponse second;
  const grpc::Status status = TryPublish(kAcmeToken, retry, &second);

  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(second.replayed());
  EXPECT_EQ(second.event().id(), first.event().id());
  EXPECT_THAT(first.event().data_json(), StartsWith(R"({"field_0":0,"field_1":1,"field_10":10,)"));
}

// --- 4. Bad input ---------------------------------------------------------------

TEST_F(DeliveryTest, InvalidPublishRequestsAreRefusedAndStoreNothing) {
  StartServer();
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/bad"));
  auto publish = [&](const std::string& token, const std::string& parent, const std::string& type,
                     const std::function<void(v1::PublishEventRequest&)>& payload) {
    v1::PublishEventRequest request;
    request.set_parent(parent);
    request.set_event_type(type);
    if (payload) payload(request);
    v1::PublishEventResponse out;
    return TryPublish(token, request, &out);
  };
  auto json = [](const std::string& bytes) {
    return [bytes](v1::PublishEventRequest& r) { r.set_data_json(bytes); };
  };

  grpc::Status status =
      publish(kAcmeToken, "accounts/acme", "booking.exploded", json(kBookingData));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("event_type:"));

  status = publish(kAcmeToken, "accounts/acme", "booking.created", json("[1]"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("data_json:"));

  status = publish(kAcmeToken, "accounts/acme", "booking.created", json("{bad"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("data_json:"));

  status = publish(kAcmeToken, "accounts/acme", "booking.created", nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("data:"));

  status = publish(kAcmeToken, "accounts/beta", "booking.created", json(kBookingData));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  EXPECT_TRUE(ListEvents("acme").empty());
  EXPECT_TRUE(ListEvents("beta").empty());
  EXPECT_TRUE(ListDeliveries(webhook.name()).empty());
  EXPECT_TRUE(receiver_->Requests().empty());
}

// --- 5. Pause, hold, resume -------------------------------------------------------

TEST_F(DeliveryTest, HeldDeliveriesAreReleasedInPublishOrderOnResume) {
  StartServer([](config::ServerConfig& config) {
    config.mutable_delivery()->set_max_in_flight_per_webhook(1);
  });
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/paused"));
  SetEnabled(webhook.name(), false);

  std::vector<std::string> event_ids;
  for (int i = 0; i < 5; ++i) {
    const v1::Event event =
        Publish("acme", "booking.created", absl::StrCat(R"({"n":)", i, "}")).event();
    ASSERT_EQ(event.deliveries_size(), 1);
    EXPECT_EQ(event.deliveries(0).state(), v1::DELIVERY_STATE_HELD);
    event_ids.push_back(event.id());
  }
  // Held deliveries are not due: nothing can be sent while paused.
  for (const v1::Delivery& delivery : ListDeliveries(webhook.name())) {
    EXPECT_EQ(delivery.state(), v1::DELIVERY_STATE_HELD);
    EXPECT_EQ(delivery.attempt_count(), 0);
  }
  EXPECT_EQ(ListDeliveries(webhook.name(), v1::DELIVERY_STATE_HELD).size(), 5u);
  EXPECT_TRUE(receiver_->Requests("/paused").empty());

  SetEnabled(webhook.name(), true);
  ASSERT_TRUE(receiver_->WaitForRequests("/paused", 5, absl::Seconds(10)));
  EXPECT_EQ(WebhookIds(receiver_->Requests("/paused")), event_ids);
  for (const std::string& id : event_ids) {
    const v1::Delivery delivery =
        WaitForState(DeliveryName(webhook.name(), id), v1::DELIVERY_STATE_SUCCEEDED);
    EXPECT_EQ(delivery.attempt_count(), 1);
  }
}

TEST_F(DeliveryTest, ResumeWithDropHeldDeliveriesCancelsThem) {
  StartServer();
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/dropped"));
  SetEnabled(webhook.name(), false);
  std::vector<std::string> held;
  for (int i = 0; i < 5; ++i) held.push_back(Publish("acme", "booking.created").event().id());

  const v1::Webhook resumed = SetEnabled(webhook.name(), true, /*drop_held=*/true);
  EXPECT_TRUE(resumed.enabled());
  for (const std::string& id : held) {
    const v1::Delivery delivery =
        WaitForState(DeliveryName(webhook.name(), id), v1::DELIVERY_STATE_CANCELLED);
    EXPECT_THAT(delivery.state_reason(), HasSubstr("dropped"));
    EXPECT_EQ(delivery.attempt_count(), 0);
  }

  // Barrier: an event published after the resume is the only request.
  const v1::Event next = Publish("acme", "booking.created").event();
  ASSERT_TRUE(receiver_->WaitForRequests("/dropped", 1, absl::Seconds(10)));
  WaitForState(DeliveryName(webhook.name(), next.id()), v1::DELIVERY_STATE_SUCCEEDED);
  EXPECT_THAT(WebhookIds(receiver_->Requests("/dropped")), ElementsAre(next.id()));
}

// --- 6. Delete cancels ---------------------------------------------------------

TEST_F(DeliveryTest, DeleteCancelsADeliveryInFlight) {
  StartServer();
  receiver_->On("/hang").Hang();
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/hang"));
  const v1::Event event = Publish("acme", "booking.created").event();
  const std::string name = DeliveryName(webhook.name(), event.id());
  ASSERT_TRUE(receiver_->WaitForRequests("/hang", 1, absl::Seconds(10)));
  EXPECT_EQ(GetDelivery(name).state(), v1::DELIVERY_STATE_PENDING);

  DeleteWebhook(webhook.name());
  v1::Delivery cancelled = GetDelivery(name);
  EXPECT_EQ(cancelled.state(), v1::DELIVERY_STATE_CANCELLED);
  EXPECT_THAT(cancelled.state_reason(), HasSubstr("deleted"));

  // The request on the wire is aborted, and its result does not revive the
  // delivery.
  ASSERT_TRUE(WaitFor([&] { return server_->server().delivery_engine()->in_flight() == 0; }))
      << "the hanging request to the deleted webhook was not aborted";
  cancelled = GetDelivery(name);
  EXPECT_EQ(cancelled.state(), v1::DELIVERY_STATE_CANCELLED);

  // With no webhook left, a new event creates no delivery.
  const v1::PublishEventResponse next = Publish("acme", "booking.created");
  EXPECT_EQ(next.event().deliveries_size(), 0);
  EXPECT_EQ(receiver_->Requests("/hang").size(), 1u);
}

TEST_F(DeliveryTest, DeleteCancelsAScheduledRetry) {
  StartServer();
  receiver_->On("/flaky").Reply(503).Times(1);
  const v1::Webhook doomed = CreateWebhook("acme", receiver_->Url("/flaky"), {"booking.created"});
  // Control: a webhook whose retry falls due at the same time.
  receiver_->On("/control").Reply(503).Times(1);
  const v1::Webhook control =
      CreateWebhook("acme", receiver_->Url("/control"), {"booking.created"});

  const v1::Event event = Publish("acme", "booking.created").event();
  const std::string name = DeliveryName(doomed.name(), event.id());
  const std::string control_name = DeliveryName(control.name(), event.id());
  EXPECT_EQ(WaitForAttempts(name, 1).state(), v1::DELIVERY_STATE_RETRY_SCHEDULED);
  EXPECT_EQ(WaitForAttempts(control_name, 1).state(), v1::DELIVERY_STATE_RETRY_SCHEDULED);

  DeleteWebhook(doomed.name());
  const v1::Delivery cancelled = GetDelivery(name);
  EXPECT_EQ(cancelled.state(), v1::DELIVERY_STATE_CANCELLED);
  EXPECT_FALSE(cancelled.has_next_attempt_time());

  server_->AdvanceClock(absl::Seconds(10));
  ASSERT_TRUE(receiver_->WaitForRequests("/control", 2, absl::Seconds(10)));
  WaitForState(control_name, v1::DELIVERY_STATE_SUCCEEDED);
  // The scan that sent the control's retry did not send the cancelled one.
  EXPECT_EQ(receiver_->Requests("/flaky").size(), 1u);
  const v1::Delivery after = GetDelivery(name);
  EXPECT_EQ(after.state(), v1::DELIVERY_STATE_CANCELLED);
  EXPECT_EQ(after.attempt_count(), 1);
}

// --- 7. Isolation -------------------------------------------------------------

TEST_F(DeliveryTest, HangingEndpointDoesNotDelayOthers) {
  StartServer([](config::ServerConfig& config) {
    SetDuration(config.mutable_delivery()->mutable_request_timeout(), absl::Seconds(120));
    config.mutable_delivery()->set_max_in_flight_per_webhook(2);
  });
  receiver_->On("/slow").Hang();
  const v1::Webhook slow = CreateWebhook("acme", receiver_->Url("/slow"), {"booking.created"});
  const v1::Webhook fast = CreateWebhook("acme", receiver_->Url("/fast"), {"payment.completed"});

  for (int i = 0; i < 10; ++i) Publish("acme", "booking.created");
  ASSERT_TRUE(receiver_->WaitForRequests("/slow", 2, absl::Seconds(10)));
  std::vector<std::string> fast_ids;
  for (int i = 0; i < 10; ++i)
    fast_ids.push_back(Publish("acme", "payment.completed").event().id());

  // Well before the slow endpoint's 120 s timeout (seconds, even on a
  // loaded machine).
  ASSERT_TRUE(receiver_->WaitForRequests("/fast", 10, absl::Seconds(20)))
      << "fast received " << receiver_->Requests("/fast").size() << " of 10";
  EXPECT_THAT(WebhookIds(receiver_->Requests("/fast")),
              ::testing::UnorderedElementsAreArray(fast_ids));
  for (const std::string& id : fast_ids) {
    WaitForState(DeliveryName(fast.name(), id), v1::DELIVERY_STATE_SUCCEEDED);
  }
  // The slow webhook holds only its own two slots.
  EXPECT_EQ(receiver_->Requests("/slow").size(), 2u);
  EXPECT_TRUE(WaitFor([&] { return server_->server().delivery_engine()->in_flight() == 2; }))
      << server_->server().delivery_engine()->in_flight() << " requests in flight";
  const std::vector<v1::Delivery> stuck = ListDeliveries(slow.name());
  ASSERT_EQ(stuck.size(), 10u);
  for (const v1::Delivery& delivery : stuck) {
    EXPECT_EQ(delivery.state(), v1::DELIVERY_STATE_PENDING);
    EXPECT_EQ(delivery.attempt_count(), 0);
  }
}

// Receivers that keep requests open (answering just inside the timeout, or
// as here not before it) hold slots; one account's webhooks together hold
// no more than max_in_flight_per_account, so another account's deliveries
// still go at once.
TEST_F(DeliveryTest, OneAccountsSlowReceiversLeaveSlotsForOtherAccounts) {
  StartServer([](config::ServerConfig& config) {
    SetDuration(config.mutable_delivery()->mutable_request_timeout(), absl::Seconds(120));
    config.mutable_delivery()->set_max_in_flight(16);
    config.mutable_delivery()->set_max_in_flight_per_webhook(4);
    config.mutable_delivery()->set_max_in_flight_per_account(8);
  });
  std::vector<v1::Webhook> slow;
  for (int i = 0; i < 4; ++i) {
    const std::string path = absl::StrCat("/slow-", i);
    receiver_->On(path).Hang();
    slow.push_back(CreateWebhook("acme", receiver_->Url(path), {"booking.created"}));
  }
  const v1::Webhook other = CreateWebhook("beta", receiver_->Url("/beta"), {"booking.created"});
  // 4 webhooks x 4 slots would take all 16; the account gets 8.
  for (int i = 0; i < 10; ++i) Publish("acme", "booking.created");
  ASSERT_TRUE(WaitFor([&] { return server_->server().delivery_engine()->in_flight() == 8; }))
      << server_->server().delivery_engine()->in_flight() << " requests in flight";
  // The engine counts a request in flight when it hands it to curl, before
  // the receiver has read it; wait until all 8 have arrived.
  const auto acme_requests = [&] {
    size_t count = 0;
    for (int i = 0; i < 4; ++i) count += receiver_->Requests(absl::StrCat("/slow-", i)).size();
    return count;
  };
  ASSERT_TRUE(WaitFor([&] { return acme_requests() >= 8; }))
      << "acme's receivers saw " << acme_requests() << " of 8";

  std::vector<std::string> beta_ids;
  for (int i = 0; i < 5; ++i) beta_ids.push_back(Publish("beta", "booking.created").event().id());
  // Without the account limit they would wait for the 120 s timeout.
  ASSERT_TRUE(receiver_->WaitForRequests("/beta", 5, absl::Seconds(20)))
      << "beta received " << receiver_->Requests("/beta").size() << " of 5";
  EXPECT_THAT(WebhookIds(receiver_->Requests("/beta")),
              ::testing::UnorderedElementsAreArray(beta_ids));
  // acme still holds exactly its 8 (the hanging ones), none more.
  EXPECT_TRUE(WaitFor([&] { return server_->server().delivery_engine()->in_flight() == 8; }))
      << server_->server().delivery_engine()->in_flight() << " requests in flight";
  EXPECT_EQ(acme_requests(), 8u);
}

// --- 8. Retries -----------------------------------------------------------------

TEST_F(DeliveryTest, FailedAttemptsAreRetriedOnTheScheduleUntilSuccess) {
  StartServer();
  receiver_->On("/retry").Reply(503, "try later").Times(2);
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/retry"));
  const v1::Event event = Publish("acme", "booking.created").event();
  const std::string name = DeliveryName(webhook.name(), event.id());

  v1::Delivery delivery = WaitForAttempts(name, 1);
  EXPECT_EQ(delivery.state(), v1::DELIVERY_STATE_RETRY_SCHEDULED);
  EXPECT_THAT(delivery.state_reason(), HasSubstr("HTTP 503"));
  absl::Duration wait = FromProto(delivery.next_attempt_time()) - server_->clock().Now();
  EXPECT_GE(wait, absl::Seconds(4));  // 5 s +- 20 %
  EXPECT_LE(wait, absl::Seconds(6));

  server_->AdvanceClock(absl::Seconds(6));
  delivery = WaitForAttempts(name, 2);
  EXPECT_EQ(delivery.state(), v1::DELIVERY_STATE_RETRY_SCHEDULED);
  wait = FromProto(delivery.next_attempt_time()) - server_->clock().Now();
  EXPECT_GE(wait, absl::Minutes(4));  // 5 min +- 20 %
  EXPECT_LE(wait, absl::Minutes(6));

  server_->AdvanceClock(absl::Minutes(6));
  delivery = WaitForState(name, v1::DELIVERY_STATE_SUCCEEDED);
  EXPECT_EQ(delivery.attempt_count(), 3);
  EXPECT_FALSE(delivery.has_next_attempt_time());
  ASSERT_EQ(delivery.attempts_size(), 3);
  const int expected_status[] = {503, 503, 200};
  for (int i = 0; i < 3; ++i) {
    const v1::DeliveryAttempt& attempt = delivery.attempts(i);
    EXPECT_EQ(attempt.attempt_number(), i + 1);
    EXPECT_EQ(attempt.http_status(), expected_status[i]);
    EXPECT_EQ(attempt.succeeded(), i == 2);
    EXPECT_GT(FromProto(attempt.latency()), absl::ZeroDuration());
    if (i < 2) {
      EXPECT_EQ(attempt.response_body(), "try later");
      EXPECT_THAT(attempt.error(), HasSubstr("503"));
    } else {
      EXPECT_EQ(attempt.error(), "");
    }
  }
  // Same webhook-id on every attempt.
  ASSERT_EQ(receiver_->Requests("/retry").size(), 3u);
  EXPECT_THAT(WebhookIds(receiver_->Requests("/retry")),
              ElementsAre(event.id(), event.id(), event.id()));
  EXPECT_FALSE(GetWebhook(webhook.name()).has_failing_since());
}

TEST_F(DeliveryTest, RetryAfterSetsTheNextAttemptTimeWithoutJitter) {
  StartServer();
  receiver_->On("/busy").Reply(429).WithRetryAfter("120").Times(1);
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/busy"));
  const v1::Event event = Publish("acme", "booking.created").event();
  const std::string name = DeliveryName(webhook.name(), event.id());
  const v1::Delivery delivery = WaitForAttempts(name, 1);
  EXPECT_EQ(delivery.state(), v1::DELIVERY_STATE_RETRY_SCHEDULED);
  EXPECT_THAT(delivery.state_reason(), HasSubstr("HTTP 429"));
  EXPECT_EQ(FromProto(delivery.next_attempt_time()) - server_->clock().Now(), absl::Seconds(120));

  server_->AdvanceClock(absl::Seconds(120));
  EXPECT_EQ(WaitForState(name, v1::DELIVERY_STATE_SUCCEEDED).attempt_count(), 2);
}

// The receiver's owner sees why an attempt failed without --json: the
// headers that explain it are kept with the attempt, the others are not.
TEST_F(DeliveryTest, AttemptsKeepTheHeadersThatExplainAFailure) {
  StartServer();
  receiver_->On("/denied")
      .Reply(401, "signature mismatch")
      .WithHeader("WWW-Authenticate", "Bearer realm=\"hooks\"")
      .WithHeader("Retry-After", "30")
      .WithHeader("X-Request-Id", "r-1")
      .Times(1);
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/denied"));
  const v1::Event event = Publish("acme", "booking.created").event();
  const v1::Delivery delivery = WaitForAttempts(DeliveryName(webhook.name(), event.id()), 1);
  ASSERT_EQ(delivery.attempts_size(), 1);
  const v1::DeliveryAttempt& attempt = delivery.attempts(0);
  EXPECT_EQ(attempt.http_status(), 401);
  EXPECT_EQ(attempt.response_body(), "signature mismatch");
  EXPECT_THAT(attempt.response_headers(),
              UnorderedElementsAre(Pair("www-authenticate", "Bearer realm=\"hooks\""),
                                   Pair("retry-after", "30")));
  // The delivery's last attempt carries them too (the list views show it).
  EXPECT_THAT(delivery.last_attempt().response_headers(), Contains(Pair("retry-after", "30")));
}

TEST_F(DeliveryTest, RetryAfterIsCutToTheConfiguredMaximum) {
  StartServer();  // max_retry_after: 1h by default
  receiver_->On("/later").Reply(503).WithRetryAfter("7200").Times(1);
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/later"));
  const v1::Event event = Publish("acme", "booking.created").event();
  const v1::Delivery delivery = WaitForAttempts(DeliveryName(webhook.name(), event.id()), 1);
  EXPECT_EQ(delivery.state(), v1::DELIVERY_STATE_RETRY_SCHEDULED);
  EXPECT_EQ(FromProto(delivery.next_attempt_time()) - server_->clock().Now(), absl::Hours(1));
}

TEST_F(DeliveryTest, ResetsTimeoutsAndRedirectsAreFailedAttempts) {
  StartServer([](config::ServerConfig& config) {
    SetDuration(config.mutable_delivery()->mutable_connect_timeout(), absl::Seconds(1));
    SetDuration(config.mutable_delivery()->mutable_request_timeout(), absl::Seconds(1));
  });
  receiver_->On("/reset").Reset().Times(1);
  receiver_->On("/timeout").Hang().Times(1);
  receiver_->On("/redirect")
      .Reply(302)
      .WithHeader("Location", receiver_->Url("/elsewhere"))
      .Times(1);
  const v1::Webhook reset = CreateWebhook("acme", receiver_->Url("/reset"));
  const v1::Webhook timeout = CreateWebhook("acme", receiver_->Url("/timeout"));
  const v1::Webhook redirect = CreateWebhook("acme", receiver_->Url("/redirect"));
  const v1::Event event = Publish("acme", "booking.created").event();
  const std::string reset_name = DeliveryName(reset.name(), event.id());
  const std::string timeout_name = DeliveryName(timeout.name(), event.id());
  const std::string redirect_name = DeliveryName(redirect.name(), event.id());

  v1::Delivery delivery = WaitForAttempts(reset_name, 1);
  EXPECT_EQ(delivery.state(), v1::DELIVERY_STATE_RETRY_SCHEDULED);
  EXPECT_EQ(delivery.last_attempt().http_status(), 0);
  EXPECT_NE(delivery.last_attempt().error(), "");

  delivery = WaitForAttempts(timeout_name, 1);
  EXPECT_EQ(delivery.state(), v1::DELIVERY_STATE_RETRY_SCHEDULED);
  EXPECT_EQ(delivery.last_attempt().http_status(), 0);
  EXPECT_THAT(delivery.last_attempt().error(), HasSubstr("timed out"));

  delivery = WaitForAttempts(redirect_name, 1);
  EXPECT_EQ(delivery.state(), v1::DELIVERY_STATE_RETRY_SCHEDULED);
  EXPECT_EQ(delivery.last_attempt().http_status(), 302);
  EXPECT_THAT(delivery.state_reason(), HasSubstr("HTTP 302"));
  EXPECT_TRUE(receiver_->Requests("/elsewhere").empty());  // not followed

  server_->AdvanceClock(absl::Seconds(6));
  for (const std::string& name : {reset_name, timeout_name, redirect_name}) {
    EXPECT_EQ(WaitForState(name, v1::DELIVERY_STATE_SUCCEEDED).attempt_count(), 2) << name;
  }
  EXPECT_TRUE(receiver_->Requests("/elsewhere").empty());
}

// --- Recover and replay -----------------------------------------------------------

// Polls GetRecovery until the recovery is no longer RUNNING.
v1::Recovery WaitForRecovery(TestServer& server, const std::string& name) {
  v1::GetRecoveryRequest request;
  request.set_name(name);
  v1::Recovery recovery;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    const grpc::Status status = server.NewDeliveryStub()->GetRecovery(
        ContextWithToken(kAdminToken).get(), request, &recovery);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok() || recovery.state() != v1::RECOVERY_STATE_RUNNING) return recovery;
    absl::SleepFor(absl::Milliseconds(20));
  }
  ADD_FAILURE() << "recovery still running: " << recovery.DebugString();
  return recovery;
}

// After an outage: "everything that failed since 09:00", then a replay of
// what was delivered, with each re-sent delivery visible as usual.
TEST_F(DeliveryTest, RecoverResendsTheFailedDeliveriesOfTheRangeAndReplayAddsTheDelivered) {
  StartServer([](config::ServerConfig& config) {
    SetRetrySchedule(config, {absl::ZeroDuration()});  // one attempt, then FAILED
  });
  receiver_->On("/outage").Reply(503).Times(4);  // the outage: then 200 again
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/outage"));
  const v1::Webhook other = CreateWebhook("acme", receiver_->Url("/other"));
  const v1::Event before = Publish("acme", "booking.created").event();
  WaitForState(DeliveryName(webhook.name(), before.id()), v1::DELIVERY_STATE_FAILED);
  server_->AdvanceClock(absl::Minutes(10));
  const absl::Time outage_start = server_->clock().Now();
  std::vector<std::string> in_range;
  for (int i = 0; i < 3; ++i) {
    const v1::Event event = Publish("acme", "booking.created").event();
    in_range.push_back(event.id());
    WaitForState(DeliveryName(webhook.name(), event.id()), v1::DELIVERY_STATE_FAILED);
  }
  ASSERT_EQ(receiver_->Requests("/outage").size(), 4u);
  // The other webhook's deliveries of these events may still be on the wire
  // when the failures above are recorded: count its requests once they are in.
  WaitForState(DeliveryName(other.name(), before.id()), v1::DELIVERY_STATE_SUCCEEDED);
  for (const std::string& id : in_range) {
    WaitForState(DeliveryName(other.name(), id), v1::DELIVERY_STATE_SUCCEEDED);
  }
  const size_t other_before = receiver_->Requests("/other").size();

  v1::RecoverDeliveriesRequest recover;
  recover.set_parent(webhook.name());
  recover.mutable_start_time()->set_seconds(absl::ToUnixSeconds(outage_start));
  v1::Recovery started;
  grpc::Status status = server_->NewDeliveryStub()->RecoverDeliveries(
      ContextWithToken(kAdminToken).get(), recover, &started);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(started.name(), StartsWith(webhook.name() + "/recoveries/rec_"));
  EXPECT_EQ(started.state(), v1::RECOVERY_STATE_RUNNING);
  EXPECT_FALSE(started.has_end_time());

  const v1::Recovery done = WaitForRecovery(*server_, started.name());
  EXPECT_EQ(done.state(), v1::RECOVERY_STATE_SUCCEEDED) << done.error();
  EXPECT_EQ(done.found_count(), 3);
  EXPECT_EQ(done.resent_count(), 3);
  EXPECT_EQ(done.skipped_count(), 0);
  EXPECT_TRUE(done.has_end_run_time());
  for (const std::string& id : in_range) {
    const v1::Delivery delivery =
        WaitForState(DeliveryName(webhook.name(), id), v1::DELIVERY_STATE_SUCCEEDED);
    EXPECT_EQ(delivery.attempt_count(), 2);
  }
  // The event before the range stays FAILED, and the other webhook got nothing again.
  EXPECT_EQ(GetDelivery(DeliveryName(webhook.name(), before.id())).state(),
            v1::DELIVERY_STATE_FAILED);
  ASSERT_EQ(receiver_->Requests("/outage").size(), 7u);
  std::vector<std::string> resent_ids;
  for (size_t i = 4; i < 7; ++i) {
    resent_ids.push_back(receiver_->Requests("/outage")[i].Header("webhook-id"));
  }
  EXPECT_THAT(resent_ids, UnorderedElementsAre(in_range[0], in_range[1], in_range[2]));
  EXPECT_EQ(receiver_->Requests("/other").size(), other_before);

  // Nothing FAILED is left in the range: a second recovery finds nothing.
  v1::Recovery again;
  ASSERT_TRUE(server_->NewDeliveryStub()
                  ->RecoverDeliveries(ContextWithToken(kAdminToken).get(), recover, &again)
                  .ok());
  EXPECT_EQ(WaitForRecovery(*server_, again.name()).resent_count(), 0);

  // A replay of the range sends the three delivered events once more, with
  // the same webhook-id; a bounded range leaves the later events alone.
  server_->AdvanceClock(absl::Minutes(10));
  const v1::Event after = Publish("acme", "booking.created").event();
  WaitForState(DeliveryName(webhook.name(), after.id()), v1::DELIVERY_STATE_SUCCEEDED);
  recover.set_include_succeeded(true);
  recover.mutable_end_time()->set_seconds(absl::ToUnixSeconds(outage_start + absl::Minutes(5)));
  v1::Recovery replay;
  ASSERT_TRUE(server_->NewDeliveryStub()
                  ->RecoverDeliveries(ContextWithToken(kAdminToken).get(), recover, &replay)
                  .ok());
  const v1::Recovery replayed = WaitForRecovery(*server_, replay.name());
  EXPECT_EQ(replayed.state(), v1::RECOVERY_STATE_SUCCEEDED);
  EXPECT_EQ(replayed.resent_count(), 3);
  EXPECT_TRUE(replayed.include_succeeded());
  ASSERT_TRUE(receiver_->WaitForRequests("/outage", 11, absl::Seconds(10)));
  for (const std::string& id : in_range) {
    WaitForDelivery(DeliveryName(webhook.name(), id), [](const v1::Delivery& d) {
      return d.state() == v1::DELIVERY_STATE_SUCCEEDED && d.attempt_count() == 3;
    });
  }
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(receiver_->Requests("/outage").size(), 11u);  // `after` was not replayed
}

TEST_F(DeliveryTest, RecoverRefusesBadRequestsAndPausedWebhooks) {
  StartServer();
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/r"));
  auto recover = [&](const v1::RecoverDeliveriesRequest& request) {
    v1::Recovery out;
    return server_->NewDeliveryStub()->RecoverDeliveries(ContextWithToken(kAdminToken).get(),
                                                         request, &out);
  };
  v1::RecoverDeliveriesRequest request;
  request.set_parent(webhook.name());
  grpc::Status status = recover(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "start_time: required");

  request.mutable_start_time()->set_seconds(2000);
  request.mutable_end_time()->set_seconds(1000);
  status = recover(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("end_time: must be after start_time"));

  request.clear_end_time();
  request.set_parent("accounts/acme/webhooks/wh_01jdq3v8k2m7x9c4t6y1b5n0ra");
  EXPECT_EQ(recover(request).error_code(), grpc::StatusCode::NOT_FOUND);
  request.set_parent("accounts/acme");
  status = recover(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("parent: "));

  request.set_parent(webhook.name());
  SetEnabled(webhook.name(), false);
  status = recover(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("paused"));

  v1::GetRecoveryRequest get;
  v1::Recovery out;
  get.set_name(webhook.name() + "/recoveries/rec_01jdq3v8k2m7x9c4t6y1b5n0ra");
  status = server_->NewDeliveryStub()->GetRecovery(ContextWithToken(kAdminToken).get(), get, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  get.set_name(webhook.name() + "/recoveries/nope");
  status = server_->NewDeliveryStub()->GetRecovery(ContextWithToken(kAdminToken).get(), get, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("name: expected accounts/"));
}

// "Every failed delivery of my account in the last hour."
TEST_F(DeliveryTest, TheAccountDeliveryLogFiltersByStateAndTime) {
  StartServer([](config::ServerConfig& config) {
    SetRetrySchedule(config, {absl::ZeroDuration()});  // one attempt, then FAILED
  });
  receiver_->On("/down").Reply(500);
  const v1::Webhook down = CreateWebhook("acme", receiver_->Url("/down"));
  const v1::Webhook up = CreateWebhook("acme", receiver_->Url("/up"));
  const v1::Webhook beta = CreateWebhook("beta", receiver_->Url("/down"));
  const v1::Event old_event = Publish("acme", "booking.created").event();
  Publish("beta", "booking.created");
  WaitForState(DeliveryName(down.name(), old_event.id()), v1::DELIVERY_STATE_FAILED);
  server_->AdvanceClock(absl::Hours(2));
  const v1::Event new_event = Publish("acme", "booking.created").event();
  WaitForState(DeliveryName(down.name(), new_event.id()), v1::DELIVERY_STATE_FAILED);
  WaitForState(DeliveryName(up.name(), new_event.id()), v1::DELIVERY_STATE_SUCCEEDED);

  // Newest event first; beta's deliveries are not in acme's log.
  std::vector<v1::Delivery> all = ListDeliveries("accounts/acme");
  std::vector<std::string> names;
  for (const auto& delivery : all) names.push_back(delivery.name());
  const std::string first_webhook = std::min(down.name(), up.name());
  const std::string second_webhook = std::max(down.name(), up.name());
  EXPECT_THAT(names, ElementsAre(DeliveryName(first_webhook, new_event.id()),
                                 DeliveryName(second_webhook, new_event.id()),
                                 DeliveryName(first_webhook, old_event.id()),
                                 DeliveryName(second_webhook, old_event.id())));

  v1::ListDeliveriesRequest request;
  request.set_parent("accounts/acme");
  request.set_state(v1::DELIVERY_STATE_FAILED);
  const absl::Time hour_ago = server_->clock().Now() - absl::Hours(1);
  request.mutable_start_time()->set_seconds(absl::ToUnixSeconds(hour_ago));
  v1::ListDeliveriesResponse response;
  grpc::Status status = server_->NewDeliveryStub()->ListDeliveries(
      ContextWithToken(kAcmeToken).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.deliveries_size(), 1);
  EXPECT_EQ(response.deliveries(0).name(), DeliveryName(down.name(), new_event.id()));
  EXPECT_EQ(response.deliveries(0).last_attempt().http_status(), 500);
  EXPECT_EQ(response.next_page_token(), "");
  EXPECT_EQ(ListDeliveries("accounts/acme", v1::DELIVERY_STATE_FAILED).size(), 2u);

  // The end of the range is exclusive and must follow the start.
  request.mutable_end_time()->set_seconds(absl::ToUnixSeconds(hour_ago));
  status = server_->NewDeliveryStub()->ListDeliveries(ContextWithToken(kAcmeToken).get(), request,
                                                      &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("end_time: must be after start_time"));
  request.clear_start_time();
  response.Clear();
  status = server_->NewDeliveryStub()->ListDeliveries(ContextWithToken(kAcmeToken).get(), request,
                                                      &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.deliveries_size(), 1);
  EXPECT_EQ(response.deliveries(0).name(), DeliveryName(down.name(), old_event.id()));

  // Another account's log is not for acme's token.
  request.Clear();
  request.set_parent("accounts/beta");
  status = server_->NewDeliveryStub()->ListDeliveries(ContextWithToken(kAcmeToken).get(), request,
                                                      &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ListDeliveries("accounts/beta").size(), 1u);
  EXPECT_THAT(beta.name(), StartsWith("accounts/beta/"));
}

TEST_F(DeliveryTest, GivesUpAfterTheLastScheduledAttempt) {
  StartServer([](config::ServerConfig& config) {
    SetRetrySchedule(config, {absl::ZeroDuration(), absl::Seconds(1), absl::Seconds(1)});
  });
  receiver_->On("/down").Reply(500);
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/down"));
  const v1::Event event = Publish("acme", "booking.created").event();
  const std::string name = DeliveryName(webhook.name(), event.id());

  EXPECT_EQ(WaitForAttempts(name, 1).state(), v1::DELIVERY_STATE_RETRY_SCHEDULED);
  server_->AdvanceClock(absl::Seconds(2));
  EXPECT_EQ(WaitForAttempts(name, 2).state(), v1::DELIVERY_STATE_RETRY_SCHEDULED);
  server_->AdvanceClock(absl::Seconds(2));
  const v1::Delivery failed = WaitForState(name, v1::DELIVERY_STATE_FAILED);
  EXPECT_EQ(failed.attempt_count(), 3);
  EXPECT_THAT(failed.state_reason(), HasSubstr("gave up"));
  EXPECT_FALSE(failed.has_next_attempt_time());
  ASSERT_EQ(failed.attempts_size(), 3);
  for (const auto& attempt : failed.attempts()) EXPECT_EQ(attempt.http_status(), 500);

  // Nothing more is due.
  server_->AdvanceClock(absl::Hours(1));
  const v1::Event barrier = Publish("acme", "booking.created").event();
  ASSERT_TRUE(receiver_->WaitForRequests("/down", 4, absl::Seconds(10)));
  WaitForAttempts(DeliveryName(webhook.name(), barrier.id()), 1);
  EXPECT_THAT(WebhookIds(receiver_->Requests("/down")),
              ElementsAre(event.id(), event.id(), event.id(), barrier.id()));
  EXPECT_EQ(GetDelivery(name).attempt_count(), 3);
}

TEST_F(DeliveryTest, GoneDisablesTheWebhookUntilResumed) {
  StartServer();
  receiver_->On("/gone").Reply(410).Times(1);
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/gone"));
  const v1::Event event = Publish("acme", "booking.created").event();
  const v1::Delivery failed =
      WaitForState(DeliveryName(webhook.name(), event.id()), v1::DELIVERY_STATE_FAILED);
  EXPECT_EQ(failed.attempt_count(), 1);
  EXPECT_EQ(failed.last_attempt().http_status(), 410);

  const v1::Webhook disabled = GetWebhook(webhook.name());
  EXPECT_FALSE(disabled.enabled());
  EXPECT_EQ(disabled.disabled_reason(), v1::DISABLED_REASON_ENDPOINT_GONE);
  EXPECT_TRUE(disabled.has_disable_time());

  // While disabled, new events are held.
  const v1::Event held = Publish("acme", "booking.created").event();
  ASSERT_EQ(held.deliveries_size(), 1);
  EXPECT_EQ(held.deliveries(0).state(), v1::DELIVERY_STATE_HELD);

  const v1::Webhook resumed = SetEnabled(webhook.name(), true);
  EXPECT_TRUE(resumed.enabled());
  EXPECT_EQ(resumed.disabled_reason(), v1::DISABLED_REASON_UNSPECIFIED);
  EXPECT_FALSE(resumed.has_disable_time());
  EXPECT_EQ(GetWebhook(webhook.name()).disabled_reason(), v1::DISABLED_REASON_UNSPECIFIED);
  WaitForState(DeliveryName(webhook.name(), held.id()), v1::DELIVERY_STATE_SUCCEEDED);
}

TEST_F(DeliveryTest, WebhookFailingLongerThanTheWindowIsDisabled) {
  StartServer([](config::ServerConfig& config) {
    SetDuration(config.mutable_delivery()->mutable_disable_after_failing_for(), absl::Minutes(1));
    SetRetrySchedule(config, {absl::ZeroDuration(), absl::Seconds(30), absl::Seconds(30),
                              absl::Seconds(30), absl::Seconds(30), absl::Seconds(30)});
  });
  receiver_->On("/failing").Reply(500);
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/failing"));
  const absl::Time first_failure = server_->clock().Now();
  const v1::Event event = Publish("acme", "booking.created").event();
  const std::string name = DeliveryName(webhook.name(), event.id());

  WaitForAttempts(name, 1);
  v1::Webhook state = GetWebhook(webhook.name());
  EXPECT_TRUE(state.enabled());
  ASSERT_TRUE(state.has_failing_since());
  EXPECT_EQ(FromProto(state.failing_since()), first_failure);

  // Attempt 2 at +40 s: failing, but not for a minute yet.
  server_->AdvanceClock(absl::Seconds(40));
  WaitForAttempts(name, 2);
  state = GetWebhook(webhook.name());
  EXPECT_TRUE(state.enabled());
  EXPECT_EQ(FromProto(state.failing_since()), first_failure);

  // Attempt 3 at +80 s: past the window.
  server_->AdvanceClock(absl::Seconds(40));
  WaitForAttempts(name, 3);
  state = GetWebhook(webhook.name());
  EXPECT_FALSE(state.enabled());
  EXPECT_EQ(state.disabled_reason(), v1::DISABLED_REASON_FAILING);
  ASSERT_TRUE(state.has_failing_since());
  EXPECT_EQ(FromProto(state.failing_since()), first_failure);

  // New events are held, and so is the pending retry when it falls due.
  const v1::Event later = Publish("acme", "booking.created").event();
  ASSERT_EQ(later.deliveries_size(), 1);
  EXPECT_EQ(later.deliveries(0).state(), v1::DELIVERY_STATE_HELD);
  server_->AdvanceClock(absl::Seconds(40));
  const v1::Delivery parked = WaitForState(name, v1::DELIVERY_STATE_HELD);
  EXPECT_EQ(parked.attempt_count(), 3);
  EXPECT_EQ(receiver_->Requests("/failing").size(), 3u);
}

// --- 9. RetryDelivery -------------------------------------------------------------

TEST_F(DeliveryTest, RetryDeliverySendsASucceededDeliveryAgain) {
  StartServer();
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/again"));
  const v1::Event event = Publish("acme", "booking.created").event();
  const std::string name = DeliveryName(webhook.name(), event.id());
  WaitForState(name, v1::DELIVERY_STATE_SUCCEEDED);

  v1::Delivery retried;
  const grpc::Status status = TryRetry(name, &retried);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(retried.name(), name);
  EXPECT_EQ(retried.state(), v1::DELIVERY_STATE_PENDING);

  const v1::Delivery done = WaitForDelivery(name, [](const v1::Delivery& d) {
    return d.state() == v1::DELIVERY_STATE_SUCCEEDED && d.attempt_count() == 2;
  });
  EXPECT_EQ(done.attempts_size(), 2);
  ASSERT_TRUE(receiver_->WaitForRequests("/again", 2, absl::Seconds(10)));
  EXPECT_THAT(WebhookIds(receiver_->Requests("/again")), ElementsAre(event.id(), event.id()));
}

TEST_F(DeliveryTest, RetryDeliveryOfACancelledDeliveryIsRefused) {
  StartServer();
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/never"));
  SetEnabled(webhook.name(), false);
  const v1::Event event = Publish("acme", "booking.created").event();
  const std::string name = DeliveryName(webhook.name(), event.id());
  SetEnabled(webhook.name(), true, /*drop_held=*/true);
  WaitForState(name, v1::DELIVERY_STATE_CANCELLED);

  v1::Delivery out;
  const grpc::Status status = TryRetry(name, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_EQ(GetDelivery(name).state(), v1::DELIVERY_STATE_CANCELLED);
}

// --- 10. WatchDeliveries ----------------------------------------------------------

TEST_F(DeliveryTest, WatchStreamsEveryStateChangeWithIncreasingCursors) {
  StartServer();
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/watched"));
  auto watcher = Watch(kAcmeToken, 0);
  // Make sure the stream is registered before publishing: an event seen
  // through it proves it.
  const v1::Event warmup = Publish("acme", "booking.created").event();
  ASSERT_TRUE(watcher->WaitUntil(
      [&](const auto& m) { return HasState(m, warmup.id(), v1::DELIVERY_STATE_SUCCEEDED); }));

  std::vector<v1::PublishEventResponse> published;
  for (int i = 0; i < 3; ++i) published.push_back(Publish("acme", "booking.created"));
  ASSERT_TRUE(watcher->WaitUntil([&](const auto& m) {
    for (const auto& p : published) {
      if (!HasState(m, p.event().id(), v1::DELIVERY_STATE_SUCCEEDED)) return false;
    }
    return true;
  })) << watcher->messages().size()
      << " messages";

  const std::vector<v1::WatchDeliveriesResponse> messages = watcher->messages();
  for (size_t i = 1; i < messages.size(); ++i) {
    EXPECT_GT(messages[i].cursor(), messages[i - 1].cursor());
  }
  for (const auto& p : published) {
    const auto updates = UpdatesOf(messages, p.event().id());
    ASSERT_EQ(updates.size(), 2u);
    EXPECT_EQ(updates[0].second, v1::DELIVERY_STATE_PENDING);
    EXPECT_EQ(updates[1].second, v1::DELIVERY_STATE_SUCCEEDED);
    EXPECT_GT(updates[0].first, p.watch_cursor());
  }
  for (const auto& message : messages) {
    EXPECT_EQ(message.delivery().webhook(), webhook.name());
    EXPECT_EQ(message.delivery().attempts_size(), 0);
  }

  // From PublishEvent's watch_cursor: the same updates of that event.
  const v1::PublishEventResponse& second = published[1];
  auto replay = Watch(kAcmeToken, second.watch_cursor(), "", second.event().name());
  ASSERT_TRUE(replay->WaitForCount(2));
  const auto replayed = UpdatesOf(replay->messages(), second.event().id());
  EXPECT_EQ(replayed, UpdatesOf(messages, second.event().id()));
  EXPECT_EQ(replay->messages().size(), 2u);
}

TEST_F(DeliveryTest, WatchFromTheFirstEventsCursorSeesItsCreation) {
  StartServer();
  receiver_->On("/first").Reply(503);  // keeps the delivery from finishing quickly
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/first"));
  // The first event this server ever published.
  const v1::PublishEventResponse published = Publish("acme", "booking.created");
  auto watcher = Watch(kAcmeToken, published.watch_cursor(), "", published.event().name());
  EXPECT_TRUE(watcher->WaitUntil(
      [&](const auto& m) {
        return HasState(m, published.event().id(), v1::DELIVERY_STATE_PENDING);
      },
      absl::Seconds(5)))
      << "watch_cursor " << published.watch_cursor()
      << ": the stream did not show the delivery's creation (PENDING); got "
      << watcher->messages().size() << " messages";
}

TEST_F(DeliveryTest, WatchResumesFromACursorWithoutGapsOrDuplicates) {
  StartServer();
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/resume"));
  auto first = Watch(kAcmeToken, 0);
  // Start 0 means "from whenever the server takes the stream": the warmup
  // event proves it is registered; its own updates may or may not be seen.
  const v1::Event warmup = Publish("acme", "booking.created").event();
  ASSERT_TRUE(first->WaitUntil(
      [&](const auto& m) { return HasState(m, warmup.id(), v1::DELIVERY_STATE_SUCCEEDED); }));
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(Publish("acme", "booking.created").event().id());
  ASSERT_TRUE(first->WaitUntil([&](const auto& m) {
    for (const std::string& id : ids) {
      if (!HasState(m, id, v1::DELIVERY_STATE_SUCCEEDED)) return false;
    }
    return true;
  })) << Describe(first->messages());
  first->Cancel();
  const std::optional<grpc::Status> ended = first->WaitForEnd();
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->error_code(), grpc::StatusCode::CANCELLED);
  const std::vector<v1::WatchDeliveriesResponse> before = first->messages();
  const size_t warmup_updates = UpdatesOf(before, warmup.id()).size();
  ASSERT_EQ(before.size(), warmup_updates + 6) << Describe(before);

  // Published while nobody watches.
  for (int i = 0; i < 3; ++i) {
    const v1::Event event = Publish("acme", "booking.created").event();
    ids.push_back(event.id());
    WaitForState(DeliveryName(webhook.name(), event.id()), v1::DELIVERY_STATE_SUCCEEDED);
  }

  auto second = Watch(kAcmeToken, before.back().cursor());
  ASSERT_TRUE(second->WaitForCount(6)) << Describe(second->messages());
  std::vector<v1::WatchDeliveriesResponse> all = before;
  for (const auto& message : second->messages()) all.push_back(message);
  ASSERT_EQ(all.size(), warmup_updates + 12) << Describe(all);
  // Every update of the account from the first one seen on, each once:
  // consecutive cursors.
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_EQ(all[i].cursor(), all[i - 1].cursor() + 1) << "at message " << i << "\n"
                                                        << Describe(all);
  }
  for (const std::string& id : ids) {
    const auto updates = UpdatesOf(all, id);
    ASSERT_EQ(updates.size(), 2u) << id;
    EXPECT_EQ(updates[0].second, v1::DELIVERY_STATE_PENDING);
    EXPECT_EQ(updates[1].second, v1::DELIVERY_STATE_SUCCEEDED);
  }
  // The last update of each delivery agrees with ListDeliveries.
  const std::vector<v1::Delivery> listed = ListDeliveries(webhook.name());
  EXPECT_EQ(listed.size(), 7u);
  for (const v1::Delivery& delivery : listed) {
    const auto updates = UpdatesOf(all, delivery.name().substr(delivery.name().rfind('/') + 1));
    ASSERT_FALSE(updates.empty()) << delivery.name();
    EXPECT_EQ(updates.back().second, delivery.state());
  }

  // Resuming from a cursor in the middle continues exactly after it.
  const size_t resume_after = warmup_updates + 2;
  const size_t rest = all.size() - resume_after - 1;
  auto middle = Watch(kAcmeToken, all[resume_after].cursor());
  ASSERT_TRUE(middle->WaitForCount(rest)) << Describe(middle->messages());
  const auto tail = middle->messages();
  ASSERT_EQ(tail.size(), rest);
  for (size_t i = 0; i < tail.size(); ++i) {
    EXPECT_EQ(tail[i].cursor(), all[resume_after + 1 + i].cursor());
  }
}

TEST_F(DeliveryTest, WatchFiltersByWebhookAndByEvent) {
  StartServer();
  const v1::Webhook bookings =
      CreateWebhook("acme", receiver_->Url("/bookings"), {"booking.created"});
  const v1::Webhook everything = CreateWebhook("acme", receiver_->Url("/everything"));
  const v1::Webhook beta = CreateWebhook("beta", receiver_->Url("/beta"));
  auto publish_and_wait = [&](const std::string& account, const std::string& type) {
    const v1::PublishEventResponse published = Publish(account, type);
    for (const auto& delivery : published.event().deliveries()) {
      WaitForState(delivery.name(), v1::DELIVERY_STATE_SUCCEEDED);
    }
    return published;
  };
  const v1::PublishEventResponse warmup = publish_and_wait("acme", "booking.created");
  const v1::PublishEventResponse payment = publish_and_wait("acme", "payment.completed");
  const v1::PublishEventResponse other = publish_and_wait("beta", "booking.created");
  const v1::PublishEventResponse booking = publish_and_wait("acme", "booking.created");
  ASSERT_EQ(payment.event().deliveries_size(), 1);
  ASSERT_EQ(other.event().deliveries_size(), 1);
  ASSERT_EQ(booking.event().deliveries_size(), 2);

  // Every update exists before the streams start, so each stream's first
  // read covers all of them; ending the streams (restart) then shows
  // everything they let through.
  const int64_t from = payment.watch_cursor();
  ASSERT_GT(from, 0);
  auto all = Watch(kAcmeToken, from);
  auto by_webhook = Watch(kAcmeToken, from, bookings.name());
  auto by_event = Watch(kAcmeToken, from, "", payment.event().name());
  ASSERT_TRUE(all->WaitForCount(6));
  ASSERT_TRUE(by_webhook->WaitForCount(2));
  ASSERT_TRUE(by_event->WaitForCount(2));
  server_->Restart();
  for (Watcher* watcher : {all.get(), by_webhook.get(), by_event.get()}) {
    const std::optional<grpc::Status> status = watcher->WaitForEnd();
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->error_code(), grpc::StatusCode::UNAVAILABLE);
  }

  // The account: payment (1 delivery) and booking (2), not beta's event.
  const auto account_updates = all->messages();
  EXPECT_EQ(account_updates.size(), 6u);
  EXPECT_EQ(UpdatesOf(account_updates, payment.event().id()).size(), 2u);
  EXPECT_EQ(UpdatesOf(account_updates, booking.event().id()).size(), 4u);
  for (const auto& message : account_updates) {
    EXPECT_THAT(message.delivery().name(), StartsWith("accounts/acme/"));
  }

  // One webhook: only booking's delivery to `bookings`.
  const auto webhook_updates = by_webhook->messages();
  ASSERT_EQ(webhook_updates.size(), 2u);
  for (const auto& message : webhook_updates) {
    EXPECT_EQ(message.delivery().webhook(), bookings.name());
    EXPECT_EQ(message.delivery().event(), booking.event().name());
  }
  EXPECT_EQ(webhook_updates[0].delivery().state(), v1::DELIVERY_STATE_PENDING);
  EXPECT_EQ(webhook_updates[1].delivery().state(), v1::DELIVERY_STATE_SUCCEEDED);

  // One event: only payment's delivery (to `everything`).
  const auto event_updates = by_event->messages();
  ASSERT_EQ(event_updates.size(), 2u);
  for (const auto& message : event_updates) {
    EXPECT_EQ(message.delivery().event(), payment.event().name());
    EXPECT_EQ(message.delivery().webhook(), everything.name());
  }
  EXPECT_EQ(event_updates[0].delivery().state(), v1::DELIVERY_STATE_PENDING);
  EXPECT_EQ(event_updates[1].delivery().state(), v1::DELIVERY_STATE_SUCCEEDED);
  (void)beta;
  (void)warmup;
}

TEST_F(DeliveryTest, WatchRefusesBadCursorsAndForeignAccounts) {
  StartServer();
  CreateWebhook("acme", receiver_->Url("/w"));
  const v1::PublishEventResponse published = Publish("acme", "booking.created");
  WaitForState(published.event().deliveries(0).name(), v1::DELIVERY_STATE_SUCCEEDED);

  auto ahead = Watch(kAcmeToken, 1000);
  std::optional<grpc::Status> status = ahead->WaitForEnd();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(status->error_message(), HasSubstr("start_cursor"));

  auto foreign = Watch(kBetaToken, 0);
  status = foreign->WaitForEnd();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(foreign->messages().empty());
}

TEST_F(DeliveryTest, WatchEndsWithUnavailableWhenTheServerRestarts) {
  StartServer();
  CreateWebhook("acme", receiver_->Url("/w"));
  auto watcher = Watch(kAcmeToken, 0);
  const v1::Event event = Publish("acme", "booking.created").event();
  ASSERT_TRUE(watcher->WaitUntil(
      [&](const auto& m) { return HasState(m, event.id(), v1::DELIVERY_STATE_SUCCEEDED); }));
  server_->Restart();
  const std::optional<grpc::Status> status = watcher->WaitForEnd();
  ASSERT_TRUE(status.has_value()) << "the watch did not end when the server shut down";
  EXPECT_EQ(status->error_code(), grpc::StatusCode::UNAVAILABLE) << status->error_message();
}

// One tenant cannot hold every stream, and a filter that cannot match is
// refused instead of making the stream read the log for nothing.
TEST_F(DeliveryTest, WatchStreamsAreBoundedAndFiltersMustExist) {
  StartServer([](config::ServerConfig& config) {
    config.mutable_limits()->set_max_watch_streams(3);
    config.mutable_limits()->set_max_watch_streams_per_account(2);
  });
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/w"));
  const v1::Event event = Publish("acme", "booking.created").event();
  std::vector<std::unique_ptr<Watcher>> open;
  open.push_back(Watch(kAcmeToken, 0));
  open.push_back(Watch(kAcmeToken, 0, webhook.name()));
  open.push_back(Watch(kBetaToken, 0, "", "", "beta"));
  // Opened once the server counted it: the first update of a new publish
  // reaches every stream.
  Publish("acme", "booking.created");
  ASSERT_TRUE(open[0]->WaitForCount(1));
  ASSERT_TRUE(open[1]->WaitForCount(1));

  auto third_of_acme = Watch(kAcmeToken, 0);
  std::optional<grpc::Status> status = third_of_acme->WaitForEnd();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status->error_message(), HasSubstr("limits.max_watch_streams_per_account"));
  auto fourth_in_all = Watch(kAdminToken, 0, "", "", "gamma");
  status = fourth_in_all->WaitForEnd();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status->error_message(), HasSubstr("limits.max_watch_streams)"));

  // A closed stream frees its place.
  open[0]->Cancel();
  ASSERT_TRUE(open[0]->WaitForEnd().has_value());
  bool admitted = false;
  for (int i = 0; i < 100 && !admitted; ++i) {
    auto again = Watch(kAcmeToken, 0);
    admitted = !again->WaitForEnd(absl::Milliseconds(100)).has_value();
  }
  EXPECT_TRUE(admitted);

  open.clear();
  auto no_such_webhook =
      Watch(kAcmeToken, 1, "accounts/acme/webhooks/wh_01m8000000000000000000000a");
  status = no_such_webhook->WaitForEnd();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status->error_message(), StartsWith("webhook: "));
  auto no_such_event = Watch(kAcmeToken, 1, "", "accounts/acme/events/evt_01m8000000000000000000000a");
  status = no_such_event->WaitForEnd();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->error_code(), grpc::StatusCode::NOT_FOUND);
  auto existing_event = Watch(kAcmeToken, 1, "", event.name());
  EXPECT_TRUE(existing_event->WaitForCount(1));
}

// --- 11. SSRF guard ---------------------------------------------------------------

// An IP address the guard refuses is refused when the URL is set: it could
// never be delivered to.
TEST_F(DeliveryTest, UrlsWithARefusedIpAddressAreRefusedAtCreateAndUpdate) {
  StartServer(nullptr, /*allow_loopback=*/false);
  const std::string port = absl::StrCat(receiver_->port());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"https://127.0.0.1:" + port + "/x", "loopback"},
      {"https://10.0.0.1/x", "private"},
      {"https://169.254.169.254/latest/meta-data", "link-local"},
      {"https://[::ffff:127.0.0.1]:" + port + "/x", "IPv4-mapped"},
  };
  const v1::Webhook existing = CreateWebhook("acme", "https://receiver.example.com/hooks");
  for (const auto& [url, word] : cases) {
    SCOPED_TRACE(url);
    v1::CreateWebhookRequest create;
    create.set_parent("accounts/acme");
    create.mutable_webhook()->set_display_name("internal");
    create.mutable_webhook()->set_url(url);
    v1::Webhook out;
    grpc::Status status =
        server_->NewStub()->CreateWebhook(ContextWithToken(kAdminToken).get(), create, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), StartsWith("webhook.url: destination "));
    EXPECT_THAT(status.error_message(), HasSubstr(word));
    EXPECT_THAT(status.error_message(), HasSubstr("SSRF guard"));

    v1::UpdateWebhookRequest update;
    update.mutable_webhook()->set_name(existing.name());
    update.mutable_webhook()->set_url(url);
    update.mutable_update_mask()->add_paths("url");
    status = server_->NewStub()->UpdateWebhook(ContextWithToken(kAdminToken).get(), update, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), StartsWith("webhook.url: destination "));
  }
  EXPECT_EQ(GetWebhook(existing.name()).url(), "https://receiver.example.com/hooks");
}

// At delivery the guard checks what is actually connected to: names that
// resolve to a refused address, and IP addresses allowed when the webhook
// was created but no longer.
TEST_F(DeliveryTest, PrivateDestinationsAreRefusedWithoutTheAllowlist) {
  StartServer();  // loopback allowed while the webhooks are created
  const std::string port = absl::StrCat(receiver_->port());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"https://127.0.0.1:" + port + "/x", "loopback"},
      {"https://localhost:" + port + "/x", "loopback"},
  };
  std::vector<v1::Webhook> webhooks;
  for (const auto& [url, word] : cases) webhooks.push_back(CreateWebhook("acme", url));
  server_->Restart(
      [](config::ServerConfig& config) { config.clear_allow_private_targets(); });
  const v1::Event event = Publish("acme", "booking.created").event();
  ASSERT_EQ(event.deliveries_size(), static_cast<int>(cases.size()));

  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].first);
    const v1::Delivery delivery = WaitForAttempts(DeliveryName(webhooks[i].name(), event.id()), 1);
    EXPECT_EQ(delivery.state(), v1::DELIVERY_STATE_RETRY_SCHEDULED);
    ASSERT_EQ(delivery.attempts_size(), 1);
    EXPECT_EQ(delivery.attempts(0).http_status(), 0);
    EXPECT_THAT(delivery.attempts(0).error(), HasSubstr(cases[i].second));
    EXPECT_FALSE(delivery.attempts(0).succeeded());
  }
  EXPECT_TRUE(receiver_->Requests().empty());
  EXPECT_EQ(receiver_->connections_accepted(), 0);
}

// --- 12. Durability across restarts -------------------------------------------------

TEST_F(DeliveryTest, HeldDeliveriesSurviveARestart) {
  StartServer([](config::ServerConfig& config) {
    config.mutable_delivery()->set_max_in_flight_per_webhook(1);  // arrival order = send order
  });
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/durable"));
  SetEnabled(webhook.name(), false);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(Publish("acme", "booking.created").event().id());

  server_->Restart();
  EXPECT_EQ(ListDeliveries(webhook.name(), v1::DELIVERY_STATE_HELD).size(), 3u);
  SetEnabled(webhook.name(), true);
  ASSERT_TRUE(receiver_->WaitForRequests("/durable", 3, absl::Seconds(10)));
  EXPECT_EQ(WebhookIds(receiver_->Requests("/durable")), ids);
  for (const std::string& id : ids) {
    WaitForState(DeliveryName(webhook.name(), id), v1::DELIVERY_STATE_SUCCEEDED);
  }
}

TEST_F(DeliveryTest, ScheduledRetrySurvivesARestart) {
  // A receiver we can stop and start again on the same port and with the
  // same certificate directory (so the server keeps trusting it).
  TempDir certificates;
  HttpsReceiver::Options options;
  options.certificate_dir = certificates.path();
  auto first = HttpsReceiver::Start(options);
  ASSERT_TRUE(first.ok()) << first.status();
  receiver_ = *std::move(first);
  StartServer();
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/later"));
  const int port = receiver_->port();
  receiver_->Stop();

  const v1::Event event = Publish("acme", "booking.created").event();
  const std::string name = DeliveryName(webhook.name(), event.id());
  const v1::Delivery refused = WaitForAttempts(name, 1);
  EXPECT_EQ(refused.state(), v1::DELIVERY_STATE_RETRY_SCHEDULED);
  EXPECT_EQ(refused.last_attempt().http_status(), 0);
  EXPECT_THAT(refused.last_attempt().error(), HasSubstr("refused"));

  options.port = port;
  auto second = HttpsReceiver::Start(options);
  ASSERT_TRUE(second.ok()) << second.status();
  receiver_ = *std::move(second);
  server_->Restart();
  EXPECT_EQ(GetDelivery(name).state(), v1::DELIVERY_STATE_RETRY_SCHEDULED);
  server_->AdvanceClock(absl::Seconds(6));
  ASSERT_TRUE(receiver_->WaitForRequests("/later", 1, absl::Seconds(10)));
  EXPECT_EQ(receiver_->Requests("/later")[0].Header("webhook-id"), event.id());
  const v1::Delivery done = WaitForState(name, v1::DELIVERY_STATE_SUCCEEDED);
  EXPECT_EQ(done.attempt_count(), 2);
}

// --- 13. Retention ---------------------------------------------------------------

TEST_F(DeliveryTest, ExpiredEventsAndDeliveriesArePurged) {
  StartServer([](config::ServerConfig& config) {
    SetDuration(config.mutable_event_retention(), absl::Hours(1));
  });
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/old"));
  const v1::Event event = Publish("acme", "booking.created").event();
  const std::string name = DeliveryName(webhook.name(), event.id());
  WaitForState(name, v1::DELIVERY_STATE_SUCCEEDED);

  server_->AdvanceClock(absl::Hours(2));
  absl::StatusOr<int> purged = server_->server().delivery_engine()->PurgeExpired();
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, 1);

  v1::Event got;
  EXPECT_EQ(TryGetEvent(event.name(), &got).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::Delivery delivery;
  EXPECT_EQ(TryGetDelivery(name, &delivery).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(ListEvents("acme").empty());
  EXPECT_TRUE(ListDeliveries(webhook.name()).empty());
}

TEST_F(DeliveryTest, PurgeRemovesOnlyEventsOlderThanTheRetention) {
  StartServer([](config::ServerConfig& config) {
    SetDuration(config.mutable_event_retention(), absl::Hours(1));
  });
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/old"));
  const v1::Event old_event = Publish("acme", "booking.created").event();
  WaitForState(DeliveryName(webhook.name(), old_event.id()), v1::DELIVERY_STATE_SUCCEEDED);
  server_->AdvanceClock(absl::Minutes(90));
  const v1::Event young = Publish("acme", "booking.created").event();
  WaitForState(DeliveryName(webhook.name(), young.id()), v1::DELIVERY_STATE_SUCCEEDED);
  server_->AdvanceClock(absl::Minutes(30));  // old: 2 h, young: 30 min

  absl::StatusOr<int> purged = server_->server().delivery_engine()->PurgeExpired();
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, 1);
  v1::Event got;
  EXPECT_EQ(TryGetEvent(old_event.name(), &got).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::Delivery delivery;
  EXPECT_EQ(TryGetDelivery(DeliveryName(webhook.name(), old_event.id()), &delivery).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(TryGetEvent(young.name(), &got).ok());
  EXPECT_EQ(GetDelivery(DeliveryName(webhook.name(), young.id())).state(),
            v1::DELIVERY_STATE_SUCCEEDED);
  EXPECT_EQ(ListEvents("acme").size(), 1u);
}

TEST_F(DeliveryTest, CursorsKeepIncreasingAfterThePurgeAndARestart) {
  StartServer([](config::ServerConfig& config) {
    SetDuration(config.mutable_event_retention(), absl::Hours(1));
  });
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/cursor"));
  const v1::PublishEventResponse first = Publish("acme", "booking.created");
  WaitForState(DeliveryName(webhook.name(), first.event().id()), v1::DELIVERY_STATE_SUCCEEDED);
  // Its two updates (PENDING, SUCCEEDED) are the log's newest.
  const int64_t newest = first.watch_cursor() + 2;

  server_->AdvanceClock(absl::Hours(2));
  absl::StatusOr<int> purged = server_->server().delivery_engine()->PurgeExpired();
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, 1);
  server_->Restart();

  const v1::PublishEventResponse second = Publish("acme", "booking.created");
  EXPECT_GE(second.watch_cursor(), newest)
      << "update-log sequence numbers restarted after the purge: a watcher resuming from cursor "
      << newest << " would skip the new updates";
}

// --- 14. Test events ---------------------------------------------------------------

TEST_F(DeliveryTest, ATestEventGoesToOneWebhookWhateverItsTypesAndAnswersWithTheFirstAttempt) {
  StartServer();
  const v1::Webhook tested =
      CreateWebhook("acme", receiver_->Url("/tested"), {"booking.created"});
  const v1::Webhook other = CreateWebhook("acme", receiver_->Url("/other"));
  auto key = signing::ParseSecret(tested.secret());
  ASSERT_TRUE(key.ok()) << key.status();

  const v1::SendTestEventResponse sent = SendTestEvent(tested.name(), /*wait=*/true);

  EXPECT_TRUE(sent.attempt_finished());
  EXPECT_EQ(sent.event().event_type(), "webhook.test");
  ASSERT_EQ(sent.event().deliveries_size(), 1);
  EXPECT_EQ(sent.event().deliveries(0).webhook(), tested.name());
  EXPECT_EQ(sent.delivery().name(), DeliveryName(tested.name(), sent.event().id()));
  EXPECT_EQ(sent.delivery().state(), v1::DELIVERY_STATE_SUCCEEDED);
  EXPECT_EQ(sent.delivery().attempt_count(), 1);
  ASSERT_EQ(sent.delivery().attempts_size(), 1);
  EXPECT_EQ(sent.delivery().attempts(0).http_status(), 200);
  EXPECT_TRUE(sent.delivery().attempts(0).succeeded());
  EXPECT_GT(sent.watch_cursor(), 0);

  // What the receiver got: a signed webhook.test envelope naming the webhook.
  const std::vector<ReceivedRequest> requests = receiver_->Requests("/tested");
  ASSERT_EQ(requests.size(), 1u);
  const ReceivedRequest& request = requests[0];
  EXPECT_EQ(request.Header("webhook-id"), sent.event().id());
  const absl::Status verified = signing::VerifySignature(
      {*key}, request.Header("webhook-id"), request.Header("webhook-timestamp"),
      request.Header("webhook-signature"), request.body, server_->clock().Now());
  EXPECT_TRUE(verified.ok()) << verified;
  google::protobuf::Struct envelope;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(request.body, &envelope).ok())
      << request.body;
  EXPECT_EQ(envelope.fields().at("type").string_value(), "webhook.test");
  const auto& data = envelope.fields().at("data").struct_value().fields();
  EXPECT_EQ(data.at("webhook").string_value(), tested.name());
  EXPECT_EQ(data.at("message").string_value(), "Test event from Wink Webhooks");

  // The webhook that takes every type got nothing: the event has no delivery
  // to it, and a later event reaches it alone.
  v1::Event stored;
  ASSERT_TRUE(TryGetEvent(sent.event().name(), &stored).ok());
  ASSERT_EQ(stored.deliveries_size(), 1);
  EXPECT_EQ(stored.deliveries(0).webhook(), tested.name());
  const v1::Event barrier = Publish("acme", "booking.cancelled").event();
  WaitForState(DeliveryName(other.name(), barrier.id()), v1::DELIVERY_STATE_SUCCEEDED);
  EXPECT_THAT(WebhookIds(receiver_->Requests("/other")), ElementsAre(barrier.id()));
}

TEST_F(DeliveryTest, ATestEventReportsAFailedFirstAttemptAndCarriesTheGivenPayload) {
  receiver_->On("/down").Reply(500, "maintenance");
  StartServer();
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/down"));
  const std::string data = R"({"probe": 1.50, "z":[true]})";

  const v1::SendTestEventResponse sent = SendTestEvent(webhook.name(), /*wait=*/true, data);

  EXPECT_TRUE(sent.attempt_finished());
  EXPECT_EQ(sent.event().data_json(), data);
  EXPECT_EQ(sent.delivery().state(), v1::DELIVERY_STATE_RETRY_SCHEDULED);
  ASSERT_EQ(sent.delivery().attempts_size(), 1);
  EXPECT_EQ(sent.delivery().attempts(0).http_status(), 500);
  EXPECT_EQ(sent.delivery().attempts(0).response_body(), "maintenance");
  EXPECT_FALSE(sent.delivery().attempts(0).succeeded());
  const std::vector<ReceivedRequest> requests = receiver_->Requests("/down");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_THAT(requests[0].body, HasSubstr(absl::StrCat(R"("data":)", data)));
}

TEST_F(DeliveryTest, ATestEventAnswersBeforeTheAttemptWhenNotWaitingOrWhenTheWaitEnds) {
  receiver_->On("/hang").Hang();
  StartServer();
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/hang"));

  const v1::SendTestEventResponse unwaited = SendTestEvent(webhook.name(), /*wait=*/false);
  EXPECT_FALSE(unwaited.attempt_finished());
  EXPECT_EQ(unwaited.delivery().state(), v1::DELIVERY_STATE_PENDING);
  EXPECT_EQ(unwaited.delivery().attempts_size(), 0);

  // The wait ends 1 s before the caller's deadline, with the delivery as it
  // is: its attempt is still hanging.
  v1::SendTestEventRequest request;
  request.set_name(webhook.name());
  request.set_wait_for_attempt(true);
  v1::SendTestEventResponse waited;
  const absl::Time start = absl::Now();
  const grpc::Status status =
      TrySendTestEvent(kAdminToken, request, &waited, /*deadline=*/absl::Seconds(3));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GE(absl::Now() - start, absl::Seconds(1));
  EXPECT_FALSE(waited.attempt_finished());
  EXPECT_EQ(waited.delivery().state(), v1::DELIVERY_STATE_PENDING);
  EXPECT_EQ(waited.delivery().attempt_count(), 0);
}

TEST_F(DeliveryTest, TestEventRefusalsNameTheProblemAndStoreNothing) {
  StartServer();
  const v1::Webhook paused = CreateWebhook("acme", receiver_->Url("/paused"));
  SetEnabled(paused.name(), false);
  const v1::Webhook beta = CreateWebhook("beta", receiver_->Url("/beta"));

  const auto refusal = [&](const std::string& token, const std::string& name,
                           const std::string& data_json = "") {
    v1::SendTestEventRequest request;
    request.set_name(name);
    if (!data_json.empty()) request.set_data_json(data_json);
    v1::SendTestEventResponse out;
    return TrySendTestEvent(token, request, &out);
  };
  grpc::Status status = refusal(kAdminToken, paused.name());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("paused"));
  status = refusal(kAdminToken, "accounts/acme/webhooks/wh_01jd0000000000000000000000");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  status = refusal(kAcmeToken, beta.name());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  status = refusal(kAdminToken, "accounts/acme/hooks/x");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("name"));
  status = refusal(kAdminToken, beta.name(), "[1,2]");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("data_json"));
  // Only SendTestEvent sends the test type: it is not in the catalogue.
  v1::PublishEventRequest publish;
  publish.set_parent("accounts/acme");
  publish.set_event_type("webhook.test");
  publish.set_data_json("{}");
  v1::PublishEventResponse published;
  status = TryPublish(kAdminToken, publish, &published);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("event_type"));

  EXPECT_THAT(ListEvents("acme"), ::testing::IsEmpty());
  EXPECT_THAT(ListEvents("beta"), ::testing::IsEmpty());
}

// --- 15. Trace context -------------------------------------------------------------

constexpr char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST_F(DeliveryTest, TheTraceContextOfAPublishIsSentOnEveryAttempt) {
  receiver_->On("/traced").Reply(503).Times(1);
  StartServer();
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/traced"));

  const v1::PublishEventResponse published =
      PublishTraced(kTraceparent, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(published.event().traceparent(), kTraceparent);
  EXPECT_EQ(published.event().tracestate(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  v1::Event stored;
  ASSERT_TRUE(TryGetEvent(published.event().name(), &stored).ok());
  EXPECT_EQ(stored.traceparent(), kTraceparent);

  // The first attempt fails, the retry succeeds: both carry the context.
  const std::string name = DeliveryName(webhook.name(), published.event().id());
  WaitForAttempts(name, 1);
  server_->AdvanceClock(absl::Seconds(6));
  WaitForState(name, v1::DELIVERY_STATE_SUCCEEDED);
  const std::vector<ReceivedRequest> requests = receiver_->Requests("/traced");
  ASSERT_EQ(requests.size(), 2u);
  for (const ReceivedRequest& sent : requests) {
    EXPECT_EQ(sent.Header("traceparent"), kTraceparent);
    EXPECT_EQ(sent.Header("tracestate"), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  }
}

TEST_F(DeliveryTest, AnInvalidTraceparentIsIgnoredAndTheTraceHeadersAreReserved) {
  StartServer();
  const v1::Webhook webhook = CreateWebhook("acme", receiver_->Url("/untraced"));

  const v1::PublishEventResponse published = PublishTraced("00-not-a-trace", "rojo=1");
  EXPECT_EQ(published.event().traceparent(), "");
  EXPECT_EQ(published.event().tracestate(), "");
  ASSERT_TRUE(receiver_->WaitForRequests("/untraced", 1, absl::Seconds(10)));
  const ReceivedRequest sent = receiver_->Requests("/untraced")[0];
  for (const auto& [header, value] : sent.headers) {
    EXPECT_NE(header, "traceparent");
    EXPECT_NE(header, "tracestate");
  }

  // A webhook cannot set them itself: every event brings its own.
  v1::CreateWebhookRequest create;
  create.set_parent("accounts/acme");
  create.mutable_webhook()->set_display_name("Traced");
  create.mutable_webhook()->set_url(receiver_->Url("/x"));
  (*create.mutable_webhook()->mutable_headers())["Traceparent"] = kTraceparent;
  v1::Webhook created;
  const grpc::Status refused =
      server_->NewStub()->CreateWebhook(ContextWithToken(kAdminToken).get(), create, &created);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), HasSubstr("reserved"));
}

// --- 16. Rate limit per webhook ------------------------------------------------------

TEST_F(DeliveryTest, ARateLimitedWebhookGetsItsBurstThenOneRequestPerToken) {
  StartServer();
  v1::CreateWebhookRequest create;
  create.set_parent("accounts/acme");
  create.mutable_webhook()->set_display_name("Slow receiver");
  create.mutable_webhook()->set_url(receiver_->Url("/limited"));
  create.mutable_webhook()->add_event_types("booking.created");
  create.mutable_webhook()->mutable_rate_limit()->set_requests_per_second(1);
  create.mutable_webhook()->mutable_rate_limit()->set_burst(2);
  v1::Webhook limited;
  ASSERT_TRUE(
      server_->NewStub()->CreateWebhook(ContextWithToken(kAdminToken).get(), create, &limited).ok());
  EXPECT_EQ(limited.rate_limit().requests_per_second(), 1);
  EXPECT_EQ(GetWebhook(limited.name()).rate_limit().burst(), 2);
  const v1::Webhook free = CreateWebhook("acme", receiver_->Url("/free"), {"booking.cancelled"});

  std::vector<std::string> events;
  for (int i = 0; i < 5; ++i) events.push_back(Publish("acme", "booking.created").event().id());

  // The burst goes at once; the rest wait (the server's clock stands still),
  // while another webhook is not held up.
  ASSERT_TRUE(receiver_->WaitForRequests("/limited", 2, absl::Seconds(10)));
  const v1::Event barrier = Publish("acme", "booking.cancelled").event();
  WaitForState(DeliveryName(free.name(), barrier.id()), v1::DELIVERY_STATE_SUCCEEDED);
  EXPECT_EQ(receiver_->Requests("/limited").size(), 2u);
  EXPECT_EQ(GetDelivery(DeliveryName(limited.name(), events[2])).state(),
            v1::DELIVERY_STATE_PENDING);

  // One token a second, in publish order.
  server_->AdvanceClock(absl::Seconds(1));
  ASSERT_TRUE(receiver_->WaitForRequests("/limited", 3, absl::Seconds(10)));
  server_->AdvanceClock(absl::Seconds(1));
  ASSERT_TRUE(receiver_->WaitForRequests("/limited", 4, absl::Seconds(10)));
  server_->AdvanceClock(absl::Seconds(1));
  ASSERT_TRUE(receiver_->WaitForRequests("/limited", 5, absl::Seconds(10)));
  const std::vector<std::string> ids = WebhookIds(receiver_->Requests("/limited"));
  EXPECT_THAT(std::vector<std::string>(ids.begin() + 2, ids.end()),
              ElementsAre(events[2], events[3], events[4]));
  WaitForState(DeliveryName(limited.name(), events[4]), v1::DELIVERY_STATE_SUCCEEDED);
}

TEST_F(DeliveryTest, RetriesCountTowardTheRateLimit) {
  receiver_->On("/limited").Reply(503).Times(1);
  StartServer();
  v1::CreateWebhookRequest create;
  create.set_parent("accounts/acme");
  create.mutable_webhook()->set_display_name("Slow receiver");
  create.mutable_webhook()->set_url(receiver_->Url("/limited"));
  create.mutable_webhook()->mutable_rate_limit()->set_requests_per_second(1);
  v1::Webhook limited;
  ASSERT_TRUE(
      server_->NewStub()->CreateWebhook(ContextWithToken(kAdminToken).get(), create, &limited).ok());
  const std::string first = Publish("acme", "booking.created").event().id();
  WaitForAttempts(DeliveryName(limited.name(), first), 1);  // 503: a retry in ~5 s

  // The retry and a new event are both due; one token: one request.
  server_->AdvanceClock(absl::Seconds(6));
  const std::string second = Publish("acme", "booking.created").event().id();
  ASSERT_TRUE(receiver_->WaitForRequests("/limited", 2, absl::Seconds(10)));
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(receiver_->Requests("/limited").size(), 2u);

  server_->AdvanceClock(absl::Seconds(1));
  ASSERT_TRUE(receiver_->WaitForRequests("/limited", 3, absl::Seconds(10)));
  WaitForState(DeliveryName(limited.name(), first), v1::DELIVERY_STATE_SUCCEEDED);
  WaitForState(DeliveryName(limited.name(), second), v1::DELIVERY_STATE_SUCCEEDED);
}

TEST_F(DeliveryTest, ARateLimitIsCheckedAndCanBeRemoved) {
  StartServer();
  v1::CreateWebhookRequest create;
  create.set_parent("accounts/acme");
  create.mutable_webhook()->set_display_name("Limited");
  create.mutable_webhook()->set_url(receiver_->Url("/x"));
  v1::Webhook out;
  for (const auto& [per_second, burst, field] :
       std::vector<std::tuple<int, int, std::string>>{
           {0, 0, "webhook.rate_limit.requests_per_second"},
           {10001, 0, "webhook.rate_limit.requests_per_second"},
           {5, -1, "webhook.rate_limit.burst"},
           {5, 10001, "webhook.rate_limit.burst"}}) {
    create.mutable_webhook()->mutable_rate_limit()->set_requests_per_second(per_second);
    create.mutable_webhook()->mutable_rate_limit()->set_burst(burst);
    const grpc::Status status =
        server_->NewStub()->CreateWebhook(ContextWithToken(kAdminToken).get(), create, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << per_second << "/" << burst;
    EXPECT_THAT(status.error_message(), StartsWith(field + ":"));
  }
  create.mutable_webhook()->mutable_rate_limit()->set_requests_per_second(5);
  create.mutable_webhook()->mutable_rate_limit()->set_burst(0);
  ASSERT_TRUE(
      server_->NewStub()->CreateWebhook(ContextWithToken(kAdminToken).get(), create, &out).ok());
  EXPECT_EQ(out.rate_limit().requests_per_second(), 5);

  v1::UpdateWebhookRequest update;
  update.mutable_webhook()->set_name(out.name());
  update.mutable_update_mask()->add_paths("rate_limit");
  v1::Webhook updated;
  ASSERT_TRUE(
      server_->NewStub()->UpdateWebhook(ContextWithToken(kAdminToken).get(), update, &updated).ok());
  EXPECT_FALSE(updated.has_rate_limit());
  EXPECT_FALSE(GetWebhook(out.name()).has_rate_limit());
}

// --- Ordered delivery (Webhook.ordered_delivery) ------------------------------

// `customize` (may be null) sets more of the webhook before it is created.
v1::Webhook CreateOrderedWebhook(TestServer& server, const std::string& url,
                                 const std::vector<std::string>& event_types = {},
                                 const std::function<void(v1::Webhook&)>& customize = nullptr) {
  v1::CreateWebhookRequest create;
  create.set_parent("accounts/acme");
  create.mutable_webhook()->set_display_name("In order");
  create.mutable_webhook()->set_url(url);
  create.mutable_webhook()->set_ordered_delivery(true);
  for (const auto& type : event_types) create.mutable_webhook()->add_event_types(type);
  if (customize) customize(*create.mutable_webhook());
  v1::Webhook out;
  const grpc::Status status =
      server.NewStub()->CreateWebhook(ContextWithToken(kAdminToken).get(), create, &out);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(out.ordered_delivery());
  return out;
}

TEST_F(DeliveryTest, AnOrderedWebhookGetsPublishOrderAcrossRetriesAndARestart) {
  // The receiver keeps its port and certificates across the server restart.
  receiver_->On("/ordered").Reply(503).Times(2);
  StartServer([](config::ServerConfig& config) {
    SetRetrySchedule(config, {absl::ZeroDuration(), absl::Seconds(5), absl::Seconds(5),
                              absl::Seconds(5)});
  });
  const v1::Webhook ordered =
      CreateOrderedWebhook(*server_, receiver_->Url("/ordered"), {"booking.created"});
  // Default: concurrent, and it also gets the "barrier" events.
  const v1::Webhook concurrent = CreateWebhook("acme", receiver_->Url("/concurrent"));
  EXPECT_FALSE(concurrent.ordered_delivery());
  std::vector<std::string> events;
  for (int i = 0; i < 5; ++i) events.push_back(Publish("acme", "booking.created").event().id());

  // The first fails (503, a retry in ~5 s); the later ones, due now, wait
  // behind it, while the concurrent webhook gets all five.
  WaitForAttempts(DeliveryName(ordered.name(), events[0]), 1);
  ASSERT_TRUE(receiver_->WaitForRequests("/concurrent", 5, absl::Seconds(10)));
  auto expect_only_the_first_was_sent = [&](size_t requests) {
    EXPECT_THAT(WebhookIds(receiver_->Requests("/ordered")),
                ::testing::Each(::testing::Eq(events[0])));
    EXPECT_EQ(receiver_->Requests("/ordered").size(), requests);
    for (size_t i = 1; i < events.size(); ++i) {
      const v1::Delivery waiting = GetDelivery(DeliveryName(ordered.name(), events[i]));
      EXPECT_EQ(waiting.state(), v1::DELIVERY_STATE_PENDING) << i;
      EXPECT_EQ(waiting.attempt_count(), 0) << i;
    }
  };
  expect_only_the_first_was_sent(1);

  // After a restart the later ones are still due before the first's retry:
  // they keep waiting (a barrier event through the same engine shows the
  // engine ran meanwhile).
  server_->Restart();
  Publish("acme", "payment.completed");
  ASSERT_TRUE(receiver_->WaitForRequests("/concurrent", 6, absl::Seconds(10)));
  expect_only_the_first_was_sent(1);

  // The retry fails again; then succeeds; then the rest go, in order.
  server_->AdvanceClock(absl::Seconds(7));
  WaitForAttempts(DeliveryName(ordered.name(), events[0]), 2);
  Publish("acme", "payment.completed");
  ASSERT_TRUE(receiver_->WaitForRequests("/concurrent", 7, absl::Seconds(10)));
  expect_only_the_first_was_sent(2);
  server_->AdvanceClock(absl::Seconds(7));
  ASSERT_TRUE(receiver_->WaitForRequests("/ordered", 7, absl::Seconds(20)));
  EXPECT_THAT(WebhookIds(receiver_->Requests("/ordered")),
              ElementsAre(events[0], events[0], events[0], events[1], events[2], events[3],
                          events[4]));
  for (const std::string& event : events) {
    EXPECT_EQ(WaitForState(DeliveryName(ordered.name(), event), v1::DELIVERY_STATE_SUCCEEDED)
                  .attempt_count(),
              event == events[0] ? 3 : 1);
  }
}

TEST_F(DeliveryTest, AnOrderedDeliveryThatFailsForGoodLetsTheNextGoAndResumeKeepsTheOrder) {
  receiver_->On("/ordered").Reply(500).Times(2);
  StartServer([](config::ServerConfig& config) {
    SetRetrySchedule(config, {absl::ZeroDuration(), absl::Seconds(5)});  // two attempts
  });
  const v1::Webhook ordered = CreateOrderedWebhook(*server_, receiver_->Url("/ordered"));
  SetEnabled(ordered.name(), false);
  std::vector<std::string> events;
  for (int i = 0; i < 4; ++i) events.push_back(Publish("acme", "booking.created").event().id());
  for (const std::string& event : events) {
    EXPECT_EQ(GetDelivery(DeliveryName(ordered.name(), event)).state(), v1::DELIVERY_STATE_HELD);
  }
  SetEnabled(ordered.name(), true);

  WaitForAttempts(DeliveryName(ordered.name(), events[0]), 1);
  server_->AdvanceClock(absl::Seconds(7));
  EXPECT_EQ(WaitForState(DeliveryName(ordered.name(), events[0]), v1::DELIVERY_STATE_FAILED)
                .attempt_count(),
            2);
  ASSERT_TRUE(receiver_->WaitForRequests("/ordered", 5, absl::Seconds(10)));
  EXPECT_THAT(WebhookIds(receiver_->Requests("/ordered")),
              ElementsAre(events[0], events[0], events[1], events[2], events[3]));

  // A manual retry of the failed one goes first, before a newer event.
  receiver_->On("/ordered").Reply(503).Times(1);
  v1::Delivery retried;
  ASSERT_TRUE(TryRetry(DeliveryName(ordered.name(), events[0]), &retried).ok());
  const std::string newer = Publish("acme", "booking.created").event().id();
  ASSERT_TRUE(receiver_->WaitForRequests("/ordered", 7, absl::Seconds(10)));
  const std::vector<std::string> ids = WebhookIds(receiver_->Requests("/ordered"));
  EXPECT_THAT(std::vector<std::string>(ids.begin() + 5, ids.end()), ElementsAre(events[0], newer));
  // (Its third attempt is beyond the schedule: failed for good again.)
  EXPECT_EQ(WaitForState(DeliveryName(ordered.name(), events[0]), v1::DELIVERY_STATE_FAILED)
                .attempt_count(),
            3);
}

TEST_F(DeliveryTest, AManualRetryOfTheDeliveryAnOrderedWebhookWaitsForSendsItAndTheRestAtOnce) {
  receiver_->On("/ordered").Reply(503).Times(1);
  StartServer();
  const v1::Webhook ordered = CreateOrderedWebhook(*server_, receiver_->Url("/ordered"));
  const std::string first = Publish("acme", "booking.created").event().id();
  const std::string second = Publish("acme", "booking.created").event().id();
  WaitForAttempts(DeliveryName(ordered.name(), first), 1);  // 503: its retry is ~5 s away
  // (The fake clock does not move: only the manual retry can end the wait.)
  EXPECT_EQ(GetDelivery(DeliveryName(ordered.name(), second)).attempt_count(), 0);

  v1::Delivery retried;
  ASSERT_TRUE(TryRetry(DeliveryName(ordered.name(), first), &retried).ok());
  ASSERT_TRUE(receiver_->WaitForRequests("/ordered", 3, absl::Seconds(10)));
  EXPECT_THAT(WebhookIds(receiver_->Requests("/ordered")), ElementsAre(first, first, second));
  WaitForState(DeliveryName(ordered.name(), second), v1::DELIVERY_STATE_SUCCEEDED);
}

TEST_F(DeliveryTest, AnOrderedDeliveryWaitingBehindAnOlderOneKeepsItsRateLimitToken) {
  receiver_->On("/ordered").Reply(503).Times(1);
  StartServer();
  const v1::Webhook ordered = CreateOrderedWebhook(
      *server_, receiver_->Url("/ordered"), {"booking.created"}, [](v1::Webhook& webhook) {
        webhook.mutable_rate_limit()->set_requests_per_second(1);
        webhook.mutable_rate_limit()->set_burst(2);
      });
  // The first takes a token and fails (503: its retry is ~5 s away); the
  // second takes the other token and waits behind it. The server's clock
  // stands still, so no token arrives until it is advanced.
  const std::string first = Publish("acme", "booking.created").event().id();
  WaitForAttempts(DeliveryName(ordered.name(), first), 1);
  const v1::Webhook other = CreateWebhook("acme", receiver_->Url("/other"), {"payment.completed"});
  const std::string second = Publish("acme", "booking.created").event().id();
  // A barrier through the same engine; the second is checked meanwhile.
  const v1::Event barrier = Publish("acme", "payment.completed").event();
  WaitForState(DeliveryName(other.name(), barrier.id()), v1::DELIVERY_STATE_SUCCEEDED);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(GetDelivery(DeliveryName(ordered.name(), second)).attempt_count(), 0);

  // A manual retry makes the first due now, with no token left: it goes
  // when the next token arrives, and the second right after it, with the
  // token it took while it waited (not a token more).
  v1::Delivery retried;
  ASSERT_TRUE(TryRetry(DeliveryName(ordered.name(), first), &retried).ok());
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(receiver_->Requests("/ordered").size(), 1u);
  server_->AdvanceClock(absl::Seconds(1));
  ASSERT_TRUE(receiver_->WaitForRequests("/ordered", 3, absl::Seconds(10)));
  EXPECT_THAT(WebhookIds(receiver_->Requests("/ordered")), ElementsAre(first, first, second));
  WaitForState(DeliveryName(ordered.name(), second), v1::DELIVERY_STATE_SUCCEEDED);
}

TEST_F(DeliveryTest, OrderedDeliveryIsSetOnCreateAndTurnedOffWithAnUpdateMask) {
  StartServer();
  const v1::Webhook ordered = CreateOrderedWebhook(*server_, receiver_->Url("/x"));
  EXPECT_TRUE(GetWebhook(ordered.name()).ordered_delivery());

  v1::UpdateWebhookRequest update;
  update.mutable_webhook()->set_name(ordered.name());
  update.mutable_update_mask()->add_paths("ordered_delivery");
  v1::Webhook updated;
  ASSERT_TRUE(server_->NewStub()
                  ->UpdateWebhook(ContextWithToken(kAdminToken).get(), update, &updated)
                  .ok());
  EXPECT_FALSE(updated.ordered_delivery());
  EXPECT_FALSE(GetWebhook(ordered.name()).ordered_delivery());

  // Without a mask, a true value is an update (false is the default).
  v1::UpdateWebhookRequest back_on;
  back_on.mutable_webhook()->set_name(ordered.name());
  back_on.mutable_webhook()->set_ordered_delivery(true);
  ASSERT_TRUE(server_->NewStub()
                  ->UpdateWebhook(ContextWithToken(kAdminToken).get(), back_on, &updated)
                  .ok());
  EXPECT_TRUE(GetWebhook(ordered.name()).ordered_delivery());
}

}  // namespace
}  // namespace wink::webhooks::testing
