// BatchPublishEvents end to end: a real server (RocksDB in a temp dir, gRPC
// on 127.0.0.1:0) delivering to a real HTTPS receiver. The batch must behave
// as that many PublishEvent calls made at once, and be atomic: a bad request
// anywhere stores nothing.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/https_receiver.h"
#include "tests/integration/test_server.h"

namespace wink::webhooks::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

class BatchPublishTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto receiver = HttpsReceiver::Start();
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = *std::move(receiver);
    const std::string ca_file = receiver_->ca_file();
    server_ = std::make_unique<TestServer>([&](config::ServerConfig& config) {
      config.add_allow_private_targets("127.0.0.0/8");
      config.add_extra_ca_file(ca_file);
    });
  }
  void TearDown() override {
    receiver_->Stop();
    server_.reset();
  }

  v1::Webhook CreateWebhook(const std::string& path, const std::vector<std::string>& types) {
    v1::CreateWebhookRequest request;
    request.set_parent("accounts/acme");
    request.mutable_webhook()->set_display_name(path);
    request.mutable_webhook()->set_url(receiver_->Url(path));
    for (const auto& type : types) request.mutable_webhook()->add_event_types(type);
    v1::Webhook out;
    const grpc::Status status =
        server_->NewStub()->CreateWebhook(ContextWithToken(kAdminToken).get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  static v1::PublishEventRequest Event(const std::string& type, const std::string& data_json,
                                       const std::string& key = "") {
    v1::PublishEventRequest request;
    request.set_event_type(type);
    request.set_data_json(data_json);
    request.set_idempotency_key(key);
    return request;
  }

  grpc::Status BatchPublish(const std::vector<v1::PublishEventRequest>& events,
                            v1::BatchPublishEventsResponse* out,
                            const std::string& token = kAdminToken,
                            const std::string& parent = "accounts/acme") {
    v1::BatchPublishEventsRequest request;
    request.set_parent(parent);
    for (const auto& event : events) *request.add_requests() = event;
    return server_->NewStub()->BatchPublishEvents(ContextWithToken(token).get(), request, out);
  }

  grpc::Status Publish(const v1::PublishEventRequest& event, v1::PublishEventResponse* out) {
    v1::PublishEventRequest request = event;
    request.set_parent("accounts/acme");
    return server_->NewStub()->PublishEvent(ContextWithToken(kAdminToken).get(), request, out);
  }

  // The ids of acme's stored events, oldest first.
  std::vector<std::string> StoredEventIds() {
    v1::ListEventsRequest request;
    request.set_parent("accounts/acme");
    request.set_page_size(1000);
    v1::ListEventsResponse out;
    const grpc::Status status =
        server_->NewStub()->ListEvents(ContextWithToken(kAdminToken).get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> ids;
    for (const auto& event : out.events()) ids.push_back(event.id());
    std::reverse(ids.begin(), ids.end());
    return ids;
  }

  std::unique_ptr<HttpsReceiver> receiver_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(BatchPublishTest, EachEventIsFannedOutAsByPublishEventInRequestOrder) {
  const v1::Webhook all = CreateWebhook("/all", {});
  const v1::Webhook bookings = CreateWebhook("/bookings", {"booking.created"});

  v1::BatchPublishEventsResponse response;
  const grpc::Status status = BatchPublish(
      {Event("booking.created", R"({"n":1})"), Event("payment.completed", R"({"n":2})"),
       Event("booking.created", R"({"n":3})")},
      &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.responses_size(), 3);

  std::vector<std::string> ids;
  for (const auto& one : response.responses()) {
    EXPECT_FALSE(one.replayed());
    ids.push_back(one.event().id());
  }
  EXPECT_EQ(response.responses(0).event().event_type(), "booking.created");
  EXPECT_EQ(response.responses(1).event().event_type(), "payment.completed");
  EXPECT_EQ(response.responses(2).event().data_json(), R"({"n":3})");
  EXPECT_EQ(response.responses(0).event().deliveries_size(), 2);
  EXPECT_EQ(response.responses(1).event().deliveries_size(), 1);
  EXPECT_EQ(response.responses(1).event().deliveries(0).webhook(), all.name());
  EXPECT_EQ(response.responses(2).event().deliveries_size(), 2);
  // Cursors grow with request order, so watching from the first sees all.
  EXPECT_LT(response.responses(0).watch_cursor(), response.responses(1).watch_cursor());
  EXPECT_LT(response.responses(1).watch_cursor(), response.responses(2).watch_cursor());
  EXPECT_EQ(StoredEventIds(), ids);

  ASSERT_TRUE(receiver_->WaitForRequests("/all", 3, absl::Seconds(10)));
  ASSERT_TRUE(receiver_->WaitForRequests("/bookings", 2, absl::Seconds(10)));
  std::vector<std::string> bodies;
  for (const auto& request : receiver_->Requests("/all")) {
    bodies.push_back(request.Header("webhook-id"));
  }
  EXPECT_THAT(bodies, UnorderedElementsAre(ids[0], ids[1], ids[2]));
  std::vector<std::string> booking_ids;
  for (const auto& request : receiver_->Requests("/bookings")) {
    booking_ids.push_back(request.Header("webhook-id"));
    EXPECT_THAT(request.body, HasSubstr(R"("type":"booking.created")"));
  }
  EXPECT_THAT(booking_ids, UnorderedElementsAre(ids[0], ids[2]));
}

TEST_F(BatchPublishTest, RetryingTheSameBatchReplaysEveryEvent) {
  CreateWebhook("/all", {});
  const std::vector<v1::PublishEventRequest> batch = {
      Event("booking.created", R"({"n":1})", "key-1"),
      Event("booking.cancelled", R"({"n":2})", "key-2")};
  v1::BatchPublishEventsResponse first;
  ASSERT_TRUE(BatchPublish(batch, &first).ok());
  v1::BatchPublishEventsResponse second;
  ASSERT_TRUE(BatchPublish(batch, &second).ok());

  ASSERT_EQ(second.responses_size(), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(second.responses(i).replayed()) << i;
    EXPECT_EQ(second.responses(i).event().id(), first.responses(i).event().id());
    EXPECT_EQ(second.responses(i).event().deliveries_size(), 1);
  }
  EXPECT_EQ(StoredEventIds(), (std::vector<std::string>{first.responses(0).event().id(),
                                                        first.responses(1).event().id()}));
}

TEST_F(BatchPublishTest, AKeyAlreadyUsedByPublishEventIsReplayedInsideABatch) {
  CreateWebhook("/all", {});
  v1::PublishEventResponse single;
  ASSERT_TRUE(Publish(Event("booking.created", R"({"n":1})", "shared-key"), &single).ok());

  v1::BatchPublishEventsResponse response;
  ASSERT_TRUE(BatchPublish({Event("booking.updated", R"({"n":2})", "new-key"),
                            Event("booking.created", R"({"n":1})", "shared-key")},
                           &response)
                  .ok());
  EXPECT_FALSE(response.responses(0).replayed());
  EXPECT_TRUE(response.responses(1).replayed());
  EXPECT_EQ(response.responses(1).event().id(), single.event().id());
  EXPECT_EQ(StoredEventIds().size(), 2u);
}

TEST_F(BatchPublishTest, OneBadEventRefusesTheWholeBatchAndStoresNothing) {
  CreateWebhook("/all", {});
  v1::PublishEventResponse earlier;
  ASSERT_TRUE(Publish(Event("booking.created", R"({"n":1})", "used-key"), &earlier).ok());
  const std::vector<std::string> before = StoredEventIds();

  struct Case {
    std::vector<v1::PublishEventRequest> events;
    std::string message_prefix;
  };
  v1::PublishEventRequest foreign_parent = Event("booking.created", "{}");
  foreign_parent.set_parent("accounts/beta");
  const std::vector<Case> cases = {
      {{Event("booking.created", "{}"), Event("booking.created", "{}"),
        Event("no.such.type", "{}")},
       "requests[2].event_type: unknown event type"},
      {{Event("booking.created", "{}"), Event("booking.created", "[1]")}, "requests[1].data_json:"},
      {{Event("booking.created", "{}", "dup"), Event("booking.updated", "{}", "dup")},
       "requests[1].idempotency_key: repeats requests[0].idempotency_key"},
      {{Event("booking.created", "{}"), Event("booking.created", "{}", "bad key!")},
       "requests[1].idempotency_key:"},
      {{Event("booking.created", "{}"), foreign_parent}, "requests[1].parent:"},
      // Found only inside the writer's operation: the first event was
      // already staged when the second failed, and is rolled back.
      {{Event("booking.updated", R"({"fresh":true})", "fresh-key"),
        Event("booking.created", R"({"different":true})", "used-key")},
       "requests[1].idempotency_key: already used for a different event"},
      {{}, "requests: required"},
  };
  for (const Case& c : cases) {
    v1::BatchPublishEventsResponse response;
    const grpc::Status status = BatchPublish(c.events, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.message_prefix;
    EXPECT_THAT(status.error_message(), StartsWith(c.message_prefix));
  }
  EXPECT_EQ(StoredEventIds(), before);

  // The key of the rolled-back event is free: it was never stored.
  v1::BatchPublishEventsResponse response;
  ASSERT_TRUE(
      BatchPublish({Event("booking.updated", R"({"fresh":true})", "fresh-key")}, &response).ok());
  EXPECT_FALSE(response.responses(0).replayed());
}

TEST_F(BatchPublishTest, BatchesAreBoundedAndScopedToTheCallersAccount) {
  std::vector<v1::PublishEventRequest> too_many(101, Event("booking.created", "{}"));
  v1::BatchPublishEventsResponse response;
  grpc::Status status = BatchPublish(too_many, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "requests: has 101 events; at most 100 are allowed");

  status = BatchPublish({Event("booking.created", "{}")}, &response, kBetaToken);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  status = BatchPublish({Event("booking.created", "{}")}, &response, "");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  status = BatchPublish({Event("booking.created", "{}")}, &response, kAdminToken, "acme");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("parent:"));
  EXPECT_TRUE(StoredEventIds().empty());

  std::vector<v1::PublishEventRequest> hundred(100, Event("booking.created", "{}"));
  ASSERT_TRUE(BatchPublish(hundred, &response, kAcmeToken).ok());
  EXPECT_EQ(response.responses_size(), 100);
  EXPECT_EQ(StoredEventIds().size(), 100u);
}

}  // namespace
}  // namespace wink::webhooks::testing
