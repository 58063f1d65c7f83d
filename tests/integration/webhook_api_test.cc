// WebhookService end to end: a real server on 127.0.0.1:0 with RocksDB in a
// temp dir, called through the generated stubs.
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "service/common/ids.h"
#include "tests/integration/test_server.h"

namespace wink::webhooks::testing {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::StartsWith;

v1::Webhook SampleWebhook(const std::string& display_name = "PMS Booking Sync") {
  v1::Webhook webhook;
  webhook.set_display_name(display_name);
  webhook.set_url("https://pms.example.com/hooks/wink?source=wink");
  webhook.add_event_types("booking.created");
  webhook.add_event_types("booking.cancelled");
  webhook.set_description("Keeps the PMS in sync with new and cancelled bookings.");
  (*webhook.mutable_headers())["X-Api-Key"] = "k-123";
  return webhook;
}

class WebhookApiTest : public ::testing::Test {
 protected:
  explicit WebhookApiTest(std::function<void(config::ServerConfig&)> tweak = nullptr)
      : server_(std::move(tweak)), stub_(server_.NewStub()) {}

  grpc::Status Create(const std::string& token, const std::string& parent,
                      const v1::Webhook& webhook, v1::Webhook* out,
                      const std::string& request_id = "") {
    v1::CreateWebhookRequest request;
    request.set_parent(parent);
    *request.mutable_webhook() = webhook;
    request.set_request_id(request_id);
    return stub_->CreateWebhook(ContextWithToken(token).get(), request, out);
  }

  // Creates a webhook for acme that must succeed.
  v1::Webhook MustCreate(const v1::Webhook& webhook = SampleWebhook(),
                         const std::string& account = "acme") {
    v1::Webhook out;
    const grpc::Status status = Create(kAdminToken, "accounts/" + account, webhook, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  grpc::Status Get(const std::string& token, const std::string& name, v1::Webhook* out) {
    v1::GetWebhookRequest request;
    request.set_name(name);
    return stub_->GetWebhook(ContextWithToken(token).get(), request, out);
  }

  grpc::Status List(const std::string& token, const std::string& parent, int page_size,
                    const std::string& page_token, v1::ListWebhooksResponse* out) {
    v1::ListWebhooksRequest request;
    request.set_parent(parent);
    request.set_page_size(page_size);
    request.set_page_token(page_token);
    return stub_->ListWebhooks(ContextWithToken(token).get(), request, out);
  }

  // Every webhook of `account`, following page tokens.
  std::vector<v1::Webhook> ListAll(const std::string& account) {
    std::vector<v1::Webhook> all;
    std::string token;
    do {
      v1::ListWebhooksResponse page;
      const grpc::Status status = List(kAdminToken, "accounts/" + account, 1000, token, &page);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      all.insert(all.end(), page.webhooks().begin(), page.webhooks().end());
      token = page.next_page_token();
    } while (!token.empty());
    return all;
  }

  grpc::Status Update(const std::string& token, const v1::Webhook& webhook,
                      const std::vector<std::string>& paths, v1::Webhook* out) {
    v1::UpdateWebhookRequest request;
    *request.mutable_webhook() = webhook;
    for (const auto& path : paths) request.mutable_update_mask()->add_paths(path);
    return stub_->UpdateWebhook(ContextWithToken(token).get(), request, out);
  }

  grpc::Status Delete(const std::string& token, const std::string& name) {
    v1::DeleteWebhookRequest request;
    request.set_name(name);
    google::protobuf::Empty out;
    return stub_->DeleteWebhook(ContextWithToken(token).get(), request, &out);
  }

  grpc::Status Rotate(const std::string& token, const std::string& name, v1::Webhook* out) {
    v1::RotateWebhookSecretRequest request;
    request.set_name(name);
    return stub_->RotateWebhookSecret(ContextWithToken(token).get(), request, out);
  }

  // The webhook as Get returns it, compared field by field.
  static void ExpectSameConfig(const v1::Webhook& a, const v1::Webhook& b) {
    EXPECT_EQ(a.name(), b.name());
    EXPECT_EQ(a.display_name(), b.display_name());
    EXPECT_EQ(a.url(), b.url());
    EXPECT_THAT(a.event_types(), ::testing::ElementsAreArray(b.event_types()));
    EXPECT_EQ(a.description(), b.description());
    EXPECT_TRUE(MessageDifferencer::Equals(a.create_time(), b.create_time()));
    std::map<std::string, std::string> ha(a.headers().begin(), a.headers().end());
    std::map<std::string, std::string> hb(b.headers().begin(), b.headers().end());
    EXPECT_EQ(ha, hb);
  }

  TestServer server_;
  std::unique_ptr<v1::WebhookService::Stub> stub_;
};

TEST_F(WebhookApiTest, CreateReturnsTheWebhookWithItsSecretAndGetReturnsItWithout) {
  v1::Webhook created;
  ASSERT_TRUE(Create(kAcmeToken, "accounts/acme", SampleWebhook(), &created).ok());

  EXPECT_THAT(created.name(), StartsWith("accounts/acme/webhooks/wh_"));
  EXPECT_TRUE(IsValidId(created.name().substr(created.name().rfind('/') + 1), "wh_"));
  EXPECT_EQ(created.display_name(), "PMS Booking Sync");
  EXPECT_EQ(created.url(), "https://pms.example.com/hooks/wink?source=wink");
  // Stored sorted and without duplicates.
  EXPECT_THAT(created.event_types(),
              ::testing::ElementsAre("booking.cancelled", "booking.created"));
  EXPECT_TRUE(created.has_enabled());
  EXPECT_TRUE(created.enabled());
  EXPECT_EQ(created.headers().at("X-Api-Key"), "k-123");
  EXPECT_EQ(created.create_time().seconds(), absl::ToUnixSeconds(server_.clock().Now()));
  EXPECT_TRUE(MessageDifferencer::Equals(created.create_time(), created.update_time()));
  EXPECT_THAT(created.secret(), StartsWith("whsec_"));
  EXPECT_EQ(created.secret().size(), 6 + 44);  // base64 of 32 bytes
  EXPECT_FALSE(created.has_previous_secret_expire_time());

  v1::Webhook got;
  ASSERT_TRUE(Get(kAcmeToken, created.name(), &got).ok());
  ExpectSameConfig(got, created);
  EXPECT_TRUE(got.enabled());
  EXPECT_EQ(got.secret(), "");
}

TEST_F(WebhookApiTest, CreateCanStartPausedAndAcceptsEmptyEventTypesAsAll) {
  v1::Webhook webhook = SampleWebhook();
  webhook.clear_event_types();
  webhook.set_enabled(false);
  const v1::Webhook created = MustCreate(webhook);
  EXPECT_FALSE(created.enabled());
  EXPECT_EQ(created.event_types_size(), 0);
}

TEST_F(WebhookApiTest, ListPaginatesOver250WebhooksInCreationOrder) {
  TestServer big(
      [](config::ServerConfig& c) { c.mutable_limits()->set_max_webhooks_per_account(300); });
  auto stub = big.NewStub();
  std::vector<std::string> created;
  for (int i = 0; i < 250; ++i) {
    v1::CreateWebhookRequest request;
    request.set_parent("accounts/acme");
    *request.mutable_webhook() = SampleWebhook("hook " + std::to_string(i));
    v1::Webhook out;
    ASSERT_TRUE(stub->CreateWebhook(ContextWithToken(kAcmeToken).get(), request, &out).ok());
    created.push_back(out.name());
    big.clock().Advance(absl::Milliseconds(1));
  }

  std::vector<std::string> listed;
  std::vector<int> page_sizes;
  std::string token;
  do {
    v1::ListWebhooksRequest request;
    request.set_parent("accounts/acme");
    request.set_page_size(100);
    request.set_page_token(token);
    v1::ListWebhooksResponse page;
    ASSERT_TRUE(stub->ListWebhooks(ContextWithToken(kAcmeToken).get(), request, &page).ok());
    page_sizes.push_back(page.webhooks_size());
    for (const auto& w : page.webhooks()) {
      listed.push_back(w.name());
      EXPECT_EQ(w.secret(), "") << "List must never return secrets";
    }
    token = page.next_page_token();
  } while (!token.empty());

  EXPECT_THAT(page_sizes, ::testing::ElementsAre(100, 100, 50));
  EXPECT_EQ(listed, created);

  // Default page size is 50.
  v1::ListWebhooksRequest request;
  request.set_parent("accounts/acme");
  v1::ListWebhooksResponse page;
  ASSERT_TRUE(stub->ListWebhooks(ContextWithToken(kAcmeToken).get(), request, &page).ok());
  EXPECT_EQ(page.webhooks_size(), 50);
  EXPECT_FALSE(page.next_page_token().empty());
}

TEST_F(WebhookApiTest, ListOfAnEmptyAccountIsEmptyWithNoNextPageToken) {
  v1::ListWebhooksResponse page;
  ASSERT_TRUE(List(kAcmeToken, "accounts/acme", 10, "", &page).ok());
  EXPECT_EQ(page.webhooks_size(), 0);
  EXPECT_EQ(page.next_page_token(), "");
}

TEST_F(WebhookApiTest, PageTokenOfAnotherAccountIsRejected) {
  MustCreate();
  MustCreate();
  v1::ListWebhooksResponse page;
  ASSERT_TRUE(List(kAdminToken, "accounts/acme", 1, "", &page).ok());
  ASSERT_FALSE(page.next_page_token().empty());
  v1::ListWebhooksResponse other;
  const grpc::Status status = List(kAdminToken, "accounts/beta", 1, page.next_page_token(), &other);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("page_token:"));
}

TEST_F(WebhookApiTest, UpdateChangesOnlyTheFieldsInTheMask) {
  const v1::Webhook created = MustCreate();
  server_.clock().Advance(absl::Minutes(5));

  v1::Webhook change = SampleWebhook("Renamed");
  change.set_name(created.name());
  change.set_url("https://other.example.com/x");  // not in the mask: ignored
  v1::Webhook updated;
  ASSERT_TRUE(Update(kAcmeToken, change, {"display_name"}, &updated).ok());
  EXPECT_EQ(updated.display_name(), "Renamed");
  EXPECT_EQ(updated.url(), created.url());
  EXPECT_TRUE(MessageDifferencer::Equals(updated.create_time(), created.create_time()));
  EXPECT_EQ(updated.update_time().seconds(), created.update_time().seconds() + 300);
  EXPECT_EQ(updated.secret(), "");

  v1::Webhook got;
  ASSERT_TRUE(Get(kAcmeToken, created.name(), &got).ok());
  EXPECT_EQ(got.display_name(), "Renamed");
  EXPECT_EQ(got.url(), created.url());
}

TEST_F(WebhookApiTest, UpdateWithMaskCanClearListsAndMaps) {
  const v1::Webhook created = MustCreate();
  v1::Webhook change;
  change.set_name(created.name());
  v1::Webhook updated;
  ASSERT_TRUE(Update(kAcmeToken, change, {"event_types", "headers", "description"}, &updated).ok());
  EXPECT_EQ(updated.event_types_size(), 0);
  EXPECT_EQ(updated.headers_size(), 0);
  EXPECT_EQ(updated.description(), "");
  EXPECT_EQ(updated.display_name(), created.display_name());
}

TEST_F(WebhookApiTest, UpdateWithoutMaskChangesTheFieldsThatAreSet) {
  const v1::Webhook created = MustCreate();
  v1::Webhook change;
  change.set_name(created.name());
  change.set_url("https://new.example.com/hook");
  change.set_enabled(false);
  v1::Webhook updated;
  ASSERT_TRUE(Update(kAcmeToken, change, {}, &updated).ok());
  EXPECT_EQ(updated.url(), "https://new.example.com/hook");
  EXPECT_FALSE(updated.enabled());
  EXPECT_EQ(updated.display_name(), created.display_name());
  EXPECT_THAT(updated.event_types(), ::testing::ElementsAreArray(created.event_types()));
  EXPECT_EQ(updated.headers_size(), 1);
}

TEST_F(WebhookApiTest, UpdateWithStarReplacesEveryMutableField) {
  const v1::Webhook created = MustCreate();
  v1::Webhook replacement;
  replacement.set_name(created.name());
  replacement.set_display_name("Replaced");
  replacement.set_url("https://replaced.example.com/");
  replacement.set_enabled(true);
  v1::Webhook updated;
  ASSERT_TRUE(Update(kAcmeToken, replacement, {"*"}, &updated).ok());
  EXPECT_EQ(updated.display_name(), "Replaced");
  EXPECT_EQ(updated.event_types_size(), 0);
  EXPECT_EQ(updated.headers_size(), 0);
  EXPECT_EQ(updated.description(), "");
}

TEST_F(WebhookApiTest, UpdateRejectsBadMasksAndChangesNothing) {
  const v1::Webhook created = MustCreate();
  struct Case {
    std::vector<std::string> paths;
    bool set_enabled;
    std::string message_prefix;
  };
  const std::vector<Case> cases = {
      {{"colour"}, true, "update_mask: unknown field \"colour\""},
      {{"create_time"}, true, "update_mask: \"create_time\" is output only"},
      {{"secret"}, true, "update_mask: \"secret\" is output only"},
      {{"name"}, true, "update_mask: \"name\" is output only"},
      {{"*", "url"}, true, "update_mask: \"*\" must be the only path"},
      {{"enabled"}, false, "webhook.enabled: required"},
      {{}, false, "update_mask: nothing to update"},
      {{"display_name"}, true, "webhook.display_name: required"},
  };
  for (const Case& c : cases) {
    v1::Webhook change;
    change.set_name(created.name());
    if (c.set_enabled) change.set_enabled(false);
    v1::Webhook out;
    const grpc::Status status = Update(kAcmeToken, change, c.paths, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.message_prefix;
    EXPECT_THAT(status.error_message(), StartsWith(c.message_prefix));
  }
  v1::Webhook got;
  ASSERT_TRUE(Get(kAcmeToken, created.name(), &got).ok());
  ExpectSameConfig(got, created);
  EXPECT_TRUE(got.enabled());
  EXPECT_TRUE(MessageDifferencer::Equals(got.update_time(), created.update_time()));
}

// One tenant cannot publish as fast as it likes when the operator set a
// rate: the next publish says when to retry, other tenants are unaffected,
// and nothing refused was stored.
TEST(PublishRateTest, APublishBeyondTheAccountsRateIsRefusedWithARetryHint) {
  TestServer server([](config::ServerConfig& config) {
    config.mutable_limits()->set_publish_rate_per_account(2);
    config.mutable_limits()->set_publish_burst_per_account(3);
  });
  auto stub = server.NewStub();
  const auto publish = [&](const std::string& token, const std::string& account) {
    v1::PublishEventRequest request;
    request.set_parent("accounts/" + account);
    request.set_event_type("booking.created");
    request.set_data_json("{}");
    v1::PublishEventResponse response;
    return stub->PublishEvent(ContextWithToken(token).get(), request, &response);
  };
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(publish(kAcmeToken, "acme").ok()) << i;
  const grpc::Status refused = publish(kAcmeToken, "acme");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("limits.publish_rate_per_account"));
  EXPECT_THAT(refused.error_message(), HasSubstr("retry in 0.5 s"));
  EXPECT_TRUE(publish(kBetaToken, "beta").ok());

  server.clock().Advance(absl::Milliseconds(500));
  EXPECT_TRUE(publish(kAcmeToken, "acme").ok());

  v1::ListEventsRequest list;
  list.set_parent("accounts/acme");
  v1::ListEventsResponse events;
  ASSERT_TRUE(stub->ListEvents(ContextWithToken(kAcmeToken).get(), list, &events).ok());
  EXPECT_EQ(events.events_size(), 4);
}

// One tenant cannot fill the disk for every tenant when the operator set a
// stored quota: the publish past it says which limit and when the oldest
// event leaves, other tenants are unaffected, a replay is still answered,
// and nothing refused was stored.
TEST(StoredQuotaTest, APublishPastTheAccountsStoredEventsIsRefusedWithARetryHint) {
  TestServer server([](config::ServerConfig& config) {
    config.mutable_limits()->set_max_stored_events_per_account(3);
    config.mutable_event_retention()->set_seconds(2 * 3600);
  });
  auto stub = server.NewStub();
  const auto publish = [&](const std::string& token, const std::string& account,
                           const std::string& key = "") {
    v1::PublishEventRequest request;
    request.set_parent("accounts/" + account);
    request.set_event_type("booking.created");
    request.set_data_json("{}");
    request.set_idempotency_key(key);
    v1::PublishEventResponse response;
    return stub->PublishEvent(ContextWithToken(token).get(), request, &response);
  };
  ASSERT_TRUE(publish(kAcmeToken, "acme", "first").ok());
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(publish(kAcmeToken, "acme").ok()) << i;
  server.clock().Advance(absl::Minutes(30));

  const grpc::Status refused = publish(kAcmeToken, "acme");

  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("account acme stores 3 events"));
  EXPECT_THAT(refused.error_message(), HasSubstr("limits.max_stored_events_per_account (3)"));
  EXPECT_THAT(refused.error_message(), HasSubstr("retry in 5400 s"));
  EXPECT_TRUE(publish(kAcmeToken, "acme", "first").ok());
  EXPECT_TRUE(publish(kBetaToken, "beta").ok());
  v1::ListEventsRequest list;
  list.set_parent("accounts/acme");
  v1::ListEventsResponse events;
  ASSERT_TRUE(stub->ListEvents(ContextWithToken(kAcmeToken).get(), list, &events).ok());
  EXPECT_EQ(events.events_size(), 3);
}

// A 900 KB update_mask once came back as a 900 KB error (and log line) the
// client could not read: what is echoed is cut.
TEST_F(WebhookApiTest, HugeInputIsNotEchoedWhole) {
  const v1::Webhook created = MustCreate();
  v1::Webhook change;
  change.set_name(created.name());
  v1::Webhook out;
  const grpc::Status status =
      Update(kAcmeToken, change, {std::string(900 * 1024, 'x')}, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("update_mask: unknown field \"xxx"));
  EXPECT_LT(status.error_message().size(), 2048u);
}

TEST_F(WebhookApiTest, UpdateValidatesNewValuesLikeCreateAndChangesNothing) {
  const v1::Webhook created = MustCreate();
  struct Case {
    std::string path;
    std::function<void(v1::Webhook&)> set;
    std::string message_prefix;
  };
  const std::vector<Case> cases = {
      {"url", [](v1::Webhook& w) { w.set_url("http://pms.example.com/"); },
       "webhook.url: must use https"},
      {"url", [](v1::Webhook& w) { w.set_url("https://%65vil.example.com/"); },
       "webhook.url: host must not contain percent-encoding"},
      {"display_name", [](v1::Webhook& w) { w.set_display_name(std::string(129, 'n')); },
       "webhook.display_name: longer than 128"},
      {"description", [](v1::Webhook& w) { w.set_description("bell\a"); },
       "webhook.description: must not contain control characters"},
      {"event_types", [](v1::Webhook& w) { w.add_event_types("nope.nope"); },
       "webhook.event_types[0]: unknown event type"},
      {"headers", [](v1::Webhook& w) { (*w.mutable_headers())["Webhook_Id"] = "x"; },
       "webhook.headers[\"Webhook_Id\"]: is reserved"},
      {"headers", [](v1::Webhook& w) { (*w.mutable_headers())["X-Empty"] = ""; },
       "webhook.headers[\"X-Empty\"]: value must not be empty"},
  };
  for (const Case& c : cases) {
    v1::Webhook change;
    change.set_name(created.name());
    c.set(change);
    v1::Webhook out;
    const grpc::Status status = Update(kAcmeToken, change, {c.path}, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.message_prefix;
    EXPECT_THAT(status.error_message(), StartsWith(c.message_prefix));
  }
  v1::Webhook got;
  ASSERT_TRUE(Get(kAcmeToken, created.name(), &got).ok());
  ExpectSameConfig(got, created);
  EXPECT_TRUE(MessageDifferencer::Equals(got.update_time(), created.update_time()));
}

TEST_F(WebhookApiTest, UpdateOfAMissingWebhookIsNotFound) {
  v1::Webhook change;
  change.set_name("accounts/acme/webhooks/wh_01jdq3v8k2m7x9c4t6y1b5n0ra");
  change.set_display_name("x");
  v1::Webhook out;
  EXPECT_EQ(Update(kAcmeToken, change, {"display_name"}, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(WebhookApiTest, PauseAndResumeKeepTheConfigurationAcrossRestarts) {
  const v1::Webhook created = MustCreate();
  v1::Webhook pause;
  pause.set_name(created.name());
  pause.set_enabled(false);
  v1::Webhook paused;
  ASSERT_TRUE(Update(kAcmeToken, pause, {"enabled"}, &paused).ok());
  EXPECT_FALSE(paused.enabled());
  ExpectSameConfig(paused, created);

  server_.Restart();
  stub_ = server_.NewStub();
  v1::Webhook got;
  ASSERT_TRUE(Get(kAcmeToken, created.name(), &got).ok());
  EXPECT_FALSE(got.enabled());
  ExpectSameConfig(got, created);

  v1::Webhook resume;
  resume.set_name(created.name());
  resume.set_enabled(true);
  v1::Webhook resumed;
  ASSERT_TRUE(Update(kAcmeToken, resume, {"enabled"}, &resumed).ok());
  EXPECT_TRUE(resumed.enabled());
  ExpectSameConfig(resumed, created);
}

TEST_F(WebhookApiTest, DeleteRemovesTheWebhookForGood) {
  const v1::Webhook keep = MustCreate(SampleWebhook("keep"));
  const v1::Webhook gone = MustCreate(SampleWebhook("gone"));
  ASSERT_TRUE(Delete(kAcmeToken, gone.name()).ok());

  v1::Webhook out;
  EXPECT_EQ(Get(kAcmeToken, gone.name(), &out).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Delete(kAcmeToken, gone.name()).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::Webhook change;
  change.set_name(gone.name());
  change.set_enabled(true);
  EXPECT_EQ(Update(kAcmeToken, change, {"enabled"}, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Rotate(kAcmeToken, gone.name(), &out).error_code(), grpc::StatusCode::NOT_FOUND);

  server_.Restart();
  stub_ = server_.NewStub();
  EXPECT_EQ(Get(kAcmeToken, gone.name(), &out).error_code(), grpc::StatusCode::NOT_FOUND);
  const std::vector<v1::Webhook> all = ListAll("acme");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].name(), keep.name());
}

TEST_F(WebhookApiTest, RotateReturnsANewSecretAndKeepsThePreviousForTheOverlap) {
  const v1::Webhook created = MustCreate();
  server_.clock().Advance(absl::Hours(1));
  v1::Webhook rotated;
  ASSERT_TRUE(Rotate(kAcmeToken, created.name(), &rotated).ok());
  EXPECT_THAT(rotated.secret(), StartsWith("whsec_"));
  EXPECT_NE(rotated.secret(), created.secret());
  EXPECT_EQ(rotated.previous_secret_expire_time().seconds(),
            absl::ToUnixSeconds(server_.clock().Now() + absl::Hours(24)));
  ExpectSameConfig(rotated, created);

  v1::Webhook got;
  ASSERT_TRUE(Get(kAcmeToken, created.name(), &got).ok());
  EXPECT_EQ(got.secret(), "");
  EXPECT_EQ(got.previous_secret_expire_time().seconds(),
            rotated.previous_secret_expire_time().seconds());

  // After the overlap only the new secret is left.
  server_.clock().Advance(absl::Hours(25));
  ASSERT_TRUE(Get(kAcmeToken, created.name(), &got).ok());
  EXPECT_FALSE(got.has_previous_secret_expire_time());
}

TEST_F(WebhookApiTest, SameRequestIdCreatesOneWebhookAndReturnsItAgain) {
  v1::Webhook first;
  ASSERT_TRUE(
      Create(kAcmeToken, "accounts/acme", SampleWebhook(), &first, "5f0c6d2e-1b7a-4f1e").ok());
  v1::Webhook again;
  ASSERT_TRUE(
      Create(kAcmeToken, "accounts/acme", SampleWebhook(), &again, "5f0c6d2e-1b7a-4f1e").ok());
  EXPECT_EQ(again.name(), first.name());
  EXPECT_EQ(again.secret(), first.secret());
  EXPECT_EQ(ListAll("acme").size(), 1u);

  v1::Webhook different;
  const grpc::Status status =
      Create(kAcmeToken, "accounts/acme", SampleWebhook("Other"), &different, "5f0c6d2e-1b7a-4f1e");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("request_id:"));
  EXPECT_EQ(ListAll("acme").size(), 1u);

  // The same request id in another account is another request.
  v1::Webhook beta;
  ASSERT_TRUE(
      Create(kBetaToken, "accounts/beta", SampleWebhook(), &beta, "5f0c6d2e-1b7a-4f1e").ok());
  EXPECT_NE(beta.name(), first.name());
}

class SmallLimitTest : public WebhookApiTest {
 protected:
  SmallLimitTest()
      : WebhookApiTest(
            [](config::ServerConfig& c) { c.mutable_limits()->set_max_webhooks_per_account(3); }) {}
};

TEST_F(SmallLimitTest, TooManyWebhooksForOneAccountIsResourceExhausted) {
  for (int i = 0; i < 3; ++i) MustCreate();
  v1::Webhook out;
  const grpc::Status status = Create(kAcmeToken, "accounts/acme", SampleWebhook(), &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("maximum of 3 webhooks"));
  EXPECT_EQ(ListAll("acme").size(), 3u);
  // Other accounts have their own allowance.
  EXPECT_TRUE(Create(kBetaToken, "accounts/beta", SampleWebhook(), &out).ok());
  // Deleting one makes room again.
  ASSERT_TRUE(Delete(kAcmeToken, ListAll("acme")[0].name()).ok());
  EXPECT_TRUE(Create(kAcmeToken, "accounts/acme", SampleWebhook(), &out).ok());
}

// One row per kind of bad input: the exact code, the field named first in
// the message, and nothing stored.
struct BadCreate {
  std::string label;
  std::string parent;
  std::function<void(v1::Webhook&)> change;
  std::string request_id;
  std::string message_prefix;
};

TEST_F(WebhookApiTest, BadCreateInputIsInvalidArgumentNamingTheFieldAndStoresNothing) {
  const std::vector<BadCreate> cases = {
      {"parent missing", "", nullptr, "", "parent: required"},
      {"parent malformed", "acme", nullptr, "", "parent: expected accounts/{account}"},
      {"parent extra segment", "accounts/acme/x", nullptr, "", "parent: expected"},
      {"parent bad account", "accounts/-acme", nullptr, "", "parent: expected"},
      {"no display name", "accounts/acme", [](v1::Webhook& w) { w.clear_display_name(); }, "",
       "webhook.display_name: required"},
      {"display name too long", "accounts/acme",
       [](v1::Webhook& w) { w.set_display_name(std::string(129, 'a')); }, "",
       "webhook.display_name: longer than 128"},
      {"display name control char", "accounts/acme",
       [](v1::Webhook& w) { w.set_display_name("a\nb"); }, "",
       "webhook.display_name: must not contain control"},
      {"description too long", "accounts/acme",
       [](v1::Webhook& w) { w.set_description(std::string(1025, 'd')); }, "",
       "webhook.description: longer than 1024"},
      {"no url", "accounts/acme", [](v1::Webhook& w) { w.clear_url(); }, "",
       "webhook.url: required"},
      {"http url", "accounts/acme", [](v1::Webhook& w) { w.set_url("http://x.example.com/"); }, "",
       "webhook.url: must use https"},
      {"relative url", "accounts/acme", [](v1::Webhook& w) { w.set_url("/hooks"); }, "",
       "webhook.url: must be an absolute https:// URL"},
      {"no host", "accounts/acme", [](v1::Webhook& w) { w.set_url("https:///path"); }, "",
       "webhook.url:"},
      {"userinfo", "accounts/acme",
       [](v1::Webhook& w) { w.set_url("https://user:pw@x.example.com/"); }, "",
       "webhook.url: must not contain a user name or password"},
      {"url too long", "accounts/acme",
       [](v1::Webhook& w) { w.set_url("https://x.example.com/" + std::string(2048, 'a')); }, "",
       "webhook.url: longer than 2048"},
      {"url with space", "accounts/acme",
       [](v1::Webhook& w) { w.set_url("https://x.example.com/a b"); }, "",
       "webhook.url: must be printable ASCII"},
      {"unknown event type", "accounts/acme",
       [](v1::Webhook& w) { w.add_event_types("booking.exploded"); }, "",
       "webhook.event_types[2]: unknown event type \"booking.exploded\"; known types: "},
      {"reserved header", "accounts/acme",
       [](v1::Webhook& w) { (*w.mutable_headers())["Webhook-Signature"] = "x"; }, "",
       "webhook.headers[\"Webhook-Signature\"]: is reserved"},
      {"content-type header", "accounts/acme",
       [](v1::Webhook& w) { (*w.mutable_headers())["Content-Type"] = "text/plain"; }, "",
       "webhook.headers[\"Content-Type\"]: is reserved"},
      {"host header", "accounts/acme",
       [](v1::Webhook& w) { (*w.mutable_headers())["host"] = "evil"; }, "",
       "webhook.headers[\"host\"]: is reserved"},
      {"invalid header name", "accounts/acme",
       [](v1::Webhook& w) { (*w.mutable_headers())["bad name"] = "x"; }, "",
       "webhook.headers[\"bad name\"]: header names are"},
      {"header value with newline", "accounts/acme",
       [](v1::Webhook& w) { (*w.mutable_headers())["X-Inject"] = "a\r\nHost: evil"; }, "",
       "webhook.headers[\"X-Inject\"]: value must be visible ASCII"},
      {"too many headers", "accounts/acme",
       [](v1::Webhook& w) {
         for (int i = 0; i < 21; ++i) (*w.mutable_headers())["X-H" + std::to_string(i)] = "v";
       },
       "", "webhook.headers: at most 20 custom headers"},
      {"bad request id", "accounts/acme", nullptr, "has spaces in it",
       "request_id: must be 1-128 characters"},
  };
  for (const BadCreate& c : cases) {
    v1::Webhook webhook = SampleWebhook();
    if (c.change) c.change(webhook);
    v1::Webhook out;
    const grpc::Status status = Create(kAdminToken, c.parent, webhook, &out, c.request_id);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.label;
    EXPECT_THAT(status.error_message(), StartsWith(c.message_prefix)) << c.label;
  }
  // A missing webhook message is named too.
  v1::CreateWebhookRequest request;
  request.set_parent("accounts/acme");
  v1::Webhook out;
  const grpc::Status status =
      stub_->CreateWebhook(ContextWithToken(kAdminToken).get(), request, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "webhook: required");

  EXPECT_TRUE(ListAll("acme").empty());
}

// Generated stubs refuse to send invalid UTF-8 in string fields, but other
// clients can: build the request bytes by hand.
TEST_F(WebhookApiTest, InvalidUtf8IsRejectedAndNothingStored) {
  v1::CreateWebhookRequest request;
  request.set_parent("accounts/acme");
  *request.mutable_webhook() = SampleWebhook("PLACEHOLDER");
  std::string bytes = request.SerializeAsString();
  const size_t at = bytes.find("PLACEHOLDER");
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, 11, "BAD\xc3\x28UTF8XX");  // same length: 0xc3 0x28 is invalid

  grpc::GenericStub generic(server_.channel());
  grpc::Slice slice(bytes);
  grpc::ByteBuffer send(&slice, 1);
  grpc::ByteBuffer receive;
  auto context = ContextWithToken(kAcmeToken);
  std::mutex mu;
  std::condition_variable done_cv;
  bool done = false;
  grpc::Status status;
  generic.UnaryCall(context.get(), "/wink.webhooks.v1.WebhookService/CreateWebhook",
                    grpc::StubOptions(), &send, &receive, [&](grpc::Status s) {
                      std::lock_guard<std::mutex> lock(mu);
                      status = std::move(s);
                      done = true;
                      done_cv.notify_one();
                    });
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(done_cv.wait_for(lock, std::chrono::seconds(10), [&] { return done; }));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "webhook.display_name: must be valid UTF-8");
  EXPECT_TRUE(ListAll("acme").empty());
}

TEST_F(WebhookApiTest, HeaderValuesNeverAppearInErrors) {
  v1::Webhook webhook = SampleWebhook();
  (*webhook.mutable_headers())["Authorization"] = "Bearer super-secret-value\n";
  v1::Webhook out;
  const grpc::Status status = Create(kAcmeToken, "accounts/acme", webhook, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::Not(HasSubstr("super-secret-value")));
}

TEST_F(WebhookApiTest, BadNamesAndPageSizesAreInvalidArgument) {
  const std::vector<std::pair<std::string, std::string>> bad_names = {
      {"", "name: required"},
      {"accounts/acme", "name: expected accounts/{account}/webhooks/{webhook}"},
      {"accounts/acme/webhooks/123", "name: expected"},
      {"accounts/acme/hooks/wh_01jdq3v8k2m7x9c4t6y1b5n0ra", "name: expected"},
      {"accounts/acme/webhooks/wh_01jdq3v8k2m7x9c4t6y1b5n0ra/x", "name: expected"},
  };
  for (const auto& [name, prefix] : bad_names) {
    v1::Webhook out;
    grpc::Status status = Get(kAdminToken, name, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << name;
    EXPECT_THAT(status.error_message(), StartsWith(prefix)) << name;
    status = Delete(kAdminToken, name);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << name;
    status = Rotate(kAdminToken, name, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << name;
  }
  v1::ListWebhooksResponse page;
  const grpc::Status status = List(kAdminToken, "accounts/acme", -1, "", &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("page_size: must not be negative"));
  const grpc::Status garbage = List(kAdminToken, "accounts/acme", 1, "not-a-token!", &page);
  EXPECT_EQ(garbage.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(garbage.error_message(), StartsWith("page_token:"));
}

TEST_F(WebhookApiTest, CallsWithoutAValidTokenAreUnauthenticated) {
  const v1::Webhook created = MustCreate();
  for (const std::string& header : {std::string(), std::string("Basic YWxhZGRpbjpvcGVu"),
                                    std::string("Bearer wrong-token"), std::string("Bearer")}) {
    grpc::ClientContext context;
    if (!header.empty()) context.AddMetadata("authorization", header);
    v1::GetWebhookRequest request;
    request.set_name(created.name());
    v1::Webhook out;
    const grpc::Status status = stub_->GetWebhook(&context, request, &out);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << header;
    EXPECT_EQ(out.name(), "");
  }
  // Authentication comes before validation: bad input does not reveal more.
  v1::Webhook out;
  EXPECT_EQ(Create("", "garbage", v1::Webhook(), &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(WebhookApiTest, AccountsAreIsolated) {
  const v1::Webhook acme = MustCreate(SampleWebhook("acme hook"), "acme");
  const v1::Webhook beta = MustCreate(SampleWebhook("beta hook"), "beta");
  v1::Webhook out;

  // A token for acme cannot reach beta at all, existing or not.
  EXPECT_EQ(Get(kAcmeToken, beta.name(), &out).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(
      Get(kAcmeToken, "accounts/beta/webhooks/wh_01jdq3v8k2m7x9c4t6y1b5n0ra", &out).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  v1::ListWebhooksResponse page;
  EXPECT_EQ(List(kAcmeToken, "accounts/beta", 10, "", &page).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Create(kAcmeToken, "accounts/beta", SampleWebhook(), &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::Webhook change;
  change.set_name(beta.name());
  change.set_enabled(false);
  EXPECT_EQ(Update(kAcmeToken, change, {"enabled"}, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Delete(kAcmeToken, beta.name()).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Rotate(kAcmeToken, beta.name(), &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::ListEventTypesRequest types_request;
  types_request.set_parent("accounts/beta");
  v1::ListEventTypesResponse types;
  EXPECT_EQ(
      stub_->ListEventTypes(ContextWithToken(kAcmeToken).get(), types_request, &types).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);

  // Beta's webhook id under acme's name is simply not there.
  const std::string beta_id = beta.name().substr(beta.name().rfind('/') + 1);
  EXPECT_EQ(Get(kAcmeToken, "accounts/acme/webhooks/" + beta_id, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Delete(kAcmeToken, "accounts/acme/webhooks/" + beta_id).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // List shows each account only its own.
  ASSERT_TRUE(List(kAcmeToken, "accounts/acme", 10, "", &page).ok());
  ASSERT_EQ(page.webhooks_size(), 1);
  EXPECT_EQ(page.webhooks(0).name(), acme.name());

  // Beta's webhook is untouched; the admin sees both.
  ASSERT_TRUE(Get(kBetaToken, beta.name(), &out).ok());
  EXPECT_TRUE(out.enabled());
  EXPECT_TRUE(Get(kAdminToken, acme.name(), &out).ok());
  EXPECT_TRUE(Get(kAdminToken, beta.name(), &out).ok());
}

TEST_F(WebhookApiTest, ListEventTypesReturnsTheCatalogueSorted) {
  v1::ListEventTypesRequest request;
  request.set_parent("accounts/acme");
  v1::ListEventTypesResponse response;
  ASSERT_TRUE(stub_->ListEventTypes(ContextWithToken(kAcmeToken).get(), request, &response).ok());
  std::vector<std::string> names;
  for (const auto& type : response.event_types()) {
    names.push_back(type.name());
    EXPECT_FALSE(type.description().empty()) << type.name();
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_THAT(names, ::testing::IsSupersetOf({"booking.created", "booking.updated",
                                              "booking.cancelled", "payment.completed"}));
}

TEST_F(WebhookApiTest, ListEventTypesPaginates) {
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    v1::ListEventTypesRequest request;
    request.set_parent("accounts/acme");
    request.set_page_size(5);
    request.set_page_token(token);
    v1::ListEventTypesResponse response;
    ASSERT_TRUE(stub_->ListEventTypes(ContextWithToken(kAcmeToken).get(), request, &response).ok());
    EXPECT_LE(response.event_types_size(), 5);
    for (const auto& type : response.event_types()) names.push_back(type.name());
    token = response.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);  // 13 types in pages of 5
  EXPECT_EQ(names.size(), server_.config().event_types_size());
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
}

TEST_F(WebhookApiTest, MoreThanOneAuthorizationHeaderIsUnauthenticated) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", std::string("Bearer ") + kAcmeToken);
  context.AddMetadata("authorization", "Bearer someone-else");
  v1::ListWebhooksRequest request;
  request.set_parent("accounts/acme");
  v1::ListWebhooksResponse response;
  const grpc::Status status = stub_->ListWebhooks(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "send exactly one authorization header");
}

TEST_F(WebhookApiTest, OversizedRequestsAreRefusedBeforeAnyWork) {
  v1::Webhook webhook = SampleWebhook();
  webhook.set_description(std::string(2 << 20, 'x'));  // 2 MiB > the 1 MiB default limit
  v1::Webhook out;
  const grpc::Status status = Create(kAcmeToken, "accounts/acme", webhook, &out);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(ListAll("acme").empty());
}

TEST_F(WebhookApiTest, RequestIdReplayAfterRotationOmitsTheSecretAndAfterDeleteFails) {
  v1::Webhook first;
  ASSERT_TRUE(Create(kAcmeToken, "accounts/acme", SampleWebhook(), &first, "req-rotate").ok());
  v1::Webhook rotated;
  ASSERT_TRUE(Rotate(kAcmeToken, first.name(), &rotated).ok());

  v1::Webhook replay;
  ASSERT_TRUE(Create(kAcmeToken, "accounts/acme", SampleWebhook(), &replay, "req-rotate").ok());
  EXPECT_EQ(replay.name(), first.name());
  EXPECT_EQ(replay.secret(), "") << "a request id must not reveal a rotated secret";

  ASSERT_TRUE(Delete(kAcmeToken, first.name()).ok());
  const grpc::Status status =
      Create(kAcmeToken, "accounts/acme", SampleWebhook(), &replay, "req-rotate");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), StartsWith("request_id: "));
  EXPECT_TRUE(ListAll("acme").empty());
}

TEST_F(WebhookApiTest, ConcurrentCreatesWithOneRequestIdMakeOneWebhook) {
  constexpr int kCallers = 16;
  std::vector<v1::Webhook> results(kCallers);
  std::vector<grpc::Status> statuses(kCallers);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      auto stub = server_.NewStub();
      v1::CreateWebhookRequest request;
      request.set_parent("accounts/acme");
      *request.mutable_webhook() = SampleWebhook();
      request.set_request_id("one-request");
      statuses[i] = stub->CreateWebhook(ContextWithToken(kAcmeToken).get(), request, &results[i]);
    });
  }
  for (auto& caller : callers) caller.join();
  for (int i = 0; i < kCallers; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_EQ(results[i].name(), results[0].name());
    EXPECT_EQ(results[i].secret(), results[0].secret());
  }
  EXPECT_EQ(ListAll("acme").size(), 1u);
}

TEST_F(WebhookApiTest, ListPagesStayUnderAByteBudget) {
  // ~21 KiB each: 60 of them do not fit one 1 MiB page.
  v1::Webhook big = SampleWebhook();
  big.clear_headers();
  for (int i = 0; i < 20; ++i) {
    (*big.mutable_headers())["X-Big-" + std::to_string(i)] = std::string(1024, 'v');
  }
  big.set_description(std::string(1024, 'd'));
  for (int i = 0; i < 60; ++i) MustCreate(big);

  v1::ListWebhooksResponse page;
  ASSERT_TRUE(List(kAcmeToken, "accounts/acme", 1000, "", &page).ok());
  EXPECT_LT(page.webhooks_size(), 60);
  EXPECT_GT(page.webhooks_size(), 0);
  EXPECT_LE(page.ByteSizeLong(), 1100u * 1024u);
  EXPECT_FALSE(page.next_page_token().empty());
  EXPECT_EQ(ListAll("acme").size(), 60u);
}

}  // namespace
}  // namespace wink::webhooks::testing
