// Graceful shutdown with deliveries on the wire: attempts that finish within
// the grace period are recorded; attempts still running when it ends are
// cancelled without being recorded and are sent again after the restart.
#include <chrono>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/fakes/https_receiver.h"
#include "tests/integration/test_server.h"

namespace wink::webhooks::testing {
namespace {

class DeliveryShutdownTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto receiver = HttpsReceiver::Start();
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = *std::move(receiver);
    server_ = std::make_unique<TestServer>([this](config::ServerConfig& config) {
      config.add_allow_private_targets("127.0.0.0/8");
      config.add_extra_ca_file(receiver_->ca_file());
    });
  }

  // Creates a webhook for acme posting to `path` and publishes one event;
  // returns the delivery's name.
  std::string CreateAndPublish(const std::string& path) {
    auto stub = server_->NewStub();
    v1::CreateWebhookRequest create;
    create.set_parent("accounts/acme");
    create.mutable_webhook()->set_display_name("shutdown test");
    create.mutable_webhook()->set_url(receiver_->Url(path));
    v1::Webhook webhook;
    grpc::Status status = stub->CreateWebhook(ContextWithToken(kAcmeToken).get(), create, &webhook);
    EXPECT_TRUE(status.ok()) << status.error_message();
    v1::PublishEventRequest publish;
    publish.set_parent("accounts/acme");
    publish.set_event_type("booking.created");
    publish.set_data_json(R"({"booking_id":"B-1"})");
    v1::PublishEventResponse published;
    status = stub->PublishEvent(ContextWithToken(kAcmeToken).get(), publish, &published);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(published.event().deliveries_size(), 1);
    return published.event().deliveries_size() == 1 ? published.event().deliveries(0).name() : "";
  }

  // Polls GetDelivery until `done` holds for it, for up to 10 s.
  v1::Delivery WaitForDelivery(const std::string& name,
                               const std::function<bool(const v1::Delivery&)>& done) {
    auto stub = server_->NewDeliveryStub();
    v1::Delivery delivery;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      v1::GetDeliveryRequest request;
      request.set_name(name);
      if (stub->GetDelivery(ContextWithToken(kAcmeToken).get(), request, &delivery).ok() &&
          done(delivery)) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return delivery;
  }

  std::unique_ptr<HttpsReceiver> receiver_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(DeliveryShutdownTest, AttemptFinishingWithinTheGracePeriodIsRecorded) {
  // Answers 200 after 300 ms: the shutdown (1 s grace in Restart) starts
  // while the request is on the wire and must wait for it.
  receiver_->On("/slow").Reply(200).After(absl::Milliseconds(300));
  const std::string name = CreateAndPublish("/slow");
  ASSERT_TRUE(receiver_->WaitForRequests("/slow", 1, absl::Seconds(10)));

  server_->Restart();

  const v1::Delivery delivery = WaitForDelivery(
      name, [](const v1::Delivery& d) { return d.state() == v1::DELIVERY_STATE_SUCCEEDED; });
  EXPECT_EQ(delivery.state(), v1::DELIVERY_STATE_SUCCEEDED);
  EXPECT_EQ(delivery.attempt_count(), 1);
  ASSERT_EQ(delivery.attempts_size(), 1);
  EXPECT_EQ(delivery.attempts(0).http_status(), 200);
  // Recorded before the restart, so not sent again.
  EXPECT_EQ(receiver_->Requests("/slow").size(), 1u);
}

TEST_F(DeliveryShutdownTest, AttemptStillRunningAtTheEndIsCancelledAndSentAgainAfterRestart) {
  receiver_->On("/hang").Hang().Times(1);  // the first request never gets an answer
  const std::string name = CreateAndPublish("/hang");
  ASSERT_TRUE(receiver_->WaitForRequests("/hang", 1, absl::Seconds(10)));

  server_->Restart();  // 1 s grace, then the hanging request is cancelled

  // The restarted server finds the delivery still due and sends it again,
  // with the same webhook-id; the cancelled request left no attempt behind.
  ASSERT_TRUE(receiver_->WaitForRequests("/hang", 2, absl::Seconds(10)));
  const v1::Delivery delivery = WaitForDelivery(
      name, [](const v1::Delivery& d) { return d.state() == v1::DELIVERY_STATE_SUCCEEDED; });
  EXPECT_EQ(delivery.state(), v1::DELIVERY_STATE_SUCCEEDED);
  EXPECT_EQ(delivery.attempt_count(), 1);
  const auto requests = receiver_->Requests("/hang");
  EXPECT_EQ(requests[0].Header("webhook-id"), requests[1].Header("webhook-id"));
}

}  // namespace
}  // namespace wink::webhooks::testing
