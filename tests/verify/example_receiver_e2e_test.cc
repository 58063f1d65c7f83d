// The example receiver behind the real server: an in-process server
// (tests/integration/test_server.h: RocksDB in a temp dir, gRPC on
// 127.0.0.1:0, fake clock) trusting the receiver's test CA and allowed to
// reach loopback, delivering to the example receiver, which verifies with the
// webhook's secret from CreateWebhook / RotateWebhookSecret.
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/examples/receiver/receiver.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/temp_dir.h"
#include "tests/fakes/test_certificates.h"
#include "tests/integration/test_server.h"
#include "wink/webhooks/verify.h"

namespace wink::webhooks::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ExampleReceiverEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto files = WriteTestCertificates(dir_.Child("certs"));
    ASSERT_TRUE(files.ok()) << files.status();
    // The real secret only exists once the webhook does, and the webhook
    // needs the receiver's port: start with a placeholder, then SetSecrets.
    auto placeholder = GenerateSecretKey();
    ASSERT_TRUE(placeholder.ok());
    example::ReceiverOptions options;
    options.listen = "127.0.0.1:0";
    options.cert_file = files->certificate_file;
    options.key_file = files->private_key_file;
    options.secrets = {FormatSecret(*placeholder)};
    // Deliveries are signed with the server's (fake) clock.
    options.now = [this] { return server_->clock().Now(); };
    options.process = [this](const example::Event& event) {
      absl::MutexLock lock(&mu_);
      processed_.push_back(event);
    };
    options.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    auto receiver = example::Receiver::Start(std::move(options));
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = *std::move(receiver);

    const std::string ca_file = files->ca_file;
    server_ = std::make_unique<TestServer>([&](config::ServerConfig& config) {
      config.add_allow_private_targets("127.0.0.0/8");
      config.add_extra_ca_file(ca_file);
    });
  }

  void TearDown() override {
    if (receiver_ != nullptr) receiver_->Stop();
    server_.reset();
  }

  v1::Webhook CreateWebhook() {
    v1::CreateWebhookRequest request;
    request.set_parent("accounts/acme");
    request.mutable_webhook()->set_display_name("Example receiver");
    request.mutable_webhook()->set_url(
        absl::StrCat("https://127.0.0.1:", receiver_->port(), "/wink/webhooks"));
    request.mutable_webhook()->add_event_types("booking.created");
    v1::Webhook webhook;
    const grpc::Status status =
        server_->NewStub()->CreateWebhook(ContextWithToken(kAcmeToken).get(), request, &webhook);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return webhook;
  }

  v1::Event Publish(const std::string& data_json) {
    v1::PublishEventRequest request;
    request.set_parent("accounts/acme");
    request.set_event_type("booking.created");
    request.set_data_json(data_json);
    v1::PublishEventResponse response;
    const grpc::Status status =
        server_->NewStub()->PublishEvent(ContextWithToken(kAcmeToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.event();
  }

  v1::Delivery GetDelivery(const std::string& name) {
    v1::GetDeliveryRequest request;
    request.set_name(name);
    v1::Delivery delivery;
    const grpc::Status status = server_->NewDeliveryStub()->GetDelivery(
        ContextWithToken(kAcmeToken).get(), request, &delivery);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return delivery;
  }

  // The latest attempt with its response body (GetDelivery lists them all).
  v1::DeliveryAttempt LastAttempt(const std::string& name) {
    const v1::Delivery delivery = GetDelivery(name);
    if (delivery.attempts().empty()) return v1::DeliveryAttempt();
    return *delivery.attempts().rbegin();
  }

  // Polls the delivery until `done` holds (false after 10 s).
  bool WaitForDelivery(const std::string& name,
                       const std::function<bool(const v1::Delivery&)>& done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!done(GetDelivery(name))) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return true;
  }

  std::vector<example::Event> Processed() {
    absl::MutexLock lock(&mu_);
    return processed_;
  }

  TempDir dir_;
  std::unique_ptr<example::Receiver> receiver_;
  std::unique_ptr<TestServer> server_;
  absl::Mutex mu_;
  std::vector<example::Event> processed_ ABSL_GUARDED_BY(mu_);
};

bool SucceededAfter(const v1::Delivery& delivery, int attempts) {
  return delivery.state() == v1::DELIVERY_STATE_SUCCEEDED && delivery.attempt_count() == attempts;
}

TEST_F(ExampleReceiverEndToEndTest, VerifiesAndProcessesADeliveryExactlyOnce) {
  const v1::Webhook webhook = CreateWebhook();
  ASSERT_TRUE(receiver_->SetSecrets({webhook.secret()}).ok());
  const std::string data = R"({"booking_id":"B-7","nights":3})";
  const v1::Event event = Publish(data);
  const std::string delivery = absl::StrCat(webhook.name(), "/deliveries/", event.id());
  ASSERT_TRUE(WaitForDelivery(delivery, [](const v1::Delivery& d) { return SucceededAfter(d, 1); }))
      << GetDelivery(delivery).DebugString();

  // A redelivery of the same event (same webhook-id, new signature) is
  // answered 200 and not processed again.
  v1::RetryDeliveryRequest retry;
  retry.set_name(delivery);
  v1::Delivery retried;
  const grpc::Status status = server_->NewDeliveryStub()->RetryDelivery(
      ContextWithToken(kAcmeToken).get(), retry, &retried);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(WaitForDelivery(delivery, [](const v1::Delivery& d) { return SucceededAfter(d, 2); }))
      << GetDelivery(delivery).DebugString();
  EXPECT_THAT(LastAttempt(delivery).response_body(), HasSubstr("duplicate"));
  receiver_->Stop();  // the 200s came before processing: let the worker finish

  const std::vector<example::Event> processed = Processed();
  ASSERT_EQ(processed.size(), 1u);
  EXPECT_EQ(processed[0].webhook_id, event.id());
  EXPECT_EQ(processed[0].type, "booking.created");
  EXPECT_THAT(processed[0].body, HasSubstr(absl::StrCat(R"("data":)", data)));
  const example::ReceiverStats stats = receiver_->stats();
  EXPECT_EQ(stats.accepted, 1);
  EXPECT_EQ(stats.duplicates, 1);
  EXPECT_EQ(stats.unauthorized, 0);
}

// A receiver with the wrong secret answers 401: the server records the
// failed attempt and schedules a retry; nothing is processed.
TEST_F(ExampleReceiverEndToEndTest, WrongSecretIsRefusedAndRetriedLater) {
  const v1::Webhook webhook = CreateWebhook();  // the receiver keeps its placeholder
  const v1::Event event = Publish(R"({"booking_id":"B-8"})");
  const std::string delivery = absl::StrCat(webhook.name(), "/deliveries/", event.id());
  ASSERT_TRUE(WaitForDelivery(delivery, [](const v1::Delivery& d) {
    return d.state() == v1::DELIVERY_STATE_RETRY_SCHEDULED;
  })) << GetDelivery(delivery).DebugString();
  const v1::DeliveryAttempt refused = LastAttempt(delivery);
  EXPECT_EQ(refused.http_status(), 401);
  EXPECT_THAT(refused.response_body(), HasSubstr("webhook-signature: no matching signature"));
  EXPECT_EQ(receiver_->stats().unauthorized, 1);

  // Given the right secret, the scheduled retry goes through.
  ASSERT_TRUE(receiver_->SetSecrets({webhook.secret()}).ok());
  server_->AdvanceClock(absl::Hours(1));
  ASSERT_TRUE(WaitForDelivery(delivery, [](const v1::Delivery& d) {
    return d.state() == v1::DELIVERY_STATE_SUCCEEDED;
  })) << GetDelivery(delivery).DebugString();
  receiver_->Stop();
  ASSERT_EQ(Processed().size(), 1u);
  EXPECT_EQ(Processed()[0].webhook_id, event.id());
}

// Rotation: the service signs with the old and the new secret during the
// overlap, so a receiver that already switched to the new one verifies.
TEST_F(ExampleReceiverEndToEndTest, ReceiverWithOnlyTheRotatedSecretVerifies) {
  const v1::Webhook webhook = CreateWebhook();
  v1::RotateWebhookSecretRequest rotate;
  rotate.set_name(webhook.name());
  v1::Webhook rotated;
  const grpc::Status status =
      server_->NewStub()->RotateWebhookSecret(ContextWithToken(kAcmeToken).get(), rotate, &rotated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_NE(rotated.secret(), webhook.secret());
  ASSERT_TRUE(receiver_->SetSecrets({rotated.secret()}).ok());

  const v1::Event event = Publish(R"({"booking_id":"B-9"})");
  const std::string delivery = absl::StrCat(webhook.name(), "/deliveries/", event.id());
  ASSERT_TRUE(WaitForDelivery(delivery, [](const v1::Delivery& d) { return SucceededAfter(d, 1); }))
      << GetDelivery(delivery).DebugString();
  receiver_->Stop();
  std::vector<std::string> ids;
  for (const example::Event& processed : Processed()) ids.push_back(processed.webhook_id);
  EXPECT_THAT(ids, ElementsAre(event.id()));
}

}  // namespace
}  // namespace wink::webhooks::testing
