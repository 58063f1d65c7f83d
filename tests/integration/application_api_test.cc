// ApplicationService end to end: a real server on 127.0.0.1:0 with RocksDB
// in a temp dir, called through the generated stubs; the keys it issues are
// then used as bearer tokens against the other services.
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/test_server.h"
#include "wink/webhooks/v1/application_service.grpc.pb.h"

namespace wink::webhooks::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr absl::string_view kCode = "code";

class ApplicationApiTest : public ::testing::Test {
 protected:
  ApplicationApiTest() : stub_(v1::ApplicationService::NewStub(server_.channel())) {}

  // Creates an application of `account` with `scopes`; returns its key.
  std::string CreateKey(const std::string& account, const std::string& id,
                        std::vector<v1::Scope> scopes = {},
                        const std::string& token = kAdminToken) {
    v1::CreateApplicationResponse response;
    const grpc::Status status = Create(token, account, id, scopes, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.api_key();
  }

  grpc::Status Create(const std::string& token, const std::string& account, const std::string& id,
                      std::vector<v1::Scope> scopes, v1::CreateApplicationResponse* out,
                      std::optional<absl::Time> expire = std::nullopt) {
    v1::CreateApplicationRequest request;
    request.set_parent("accounts/" + account);
    request.set_application_id(id);
    request.mutable_application()->set_display_name("Channel manager " + id);
    for (v1::Scope scope : scopes) request.mutable_application()->add_scopes(scope);
    if (expire.has_value()) {
      request.mutable_application()->mutable_expire_time()->set_seconds(
          absl::ToUnixSeconds(*expire));
    }
    return stub_->CreateApplication(ContextWithToken(token).get(), request, out);
  }

  grpc::Status Get(const std::string& name, v1::Application* out,
                   const std::string& token = kAdminToken) {
    v1::GetApplicationRequest request;
    request.set_name(name);
    return stub_->GetApplication(ContextWithToken(token).get(), request, out);
  }

  grpc::Status Revoke(const std::string& name) {
    v1::RevokeApplicationRequest request;
    request.set_name(name);
    v1::Application out;
    return stub_->RevokeApplication(ContextWithToken(kAdminToken).get(), request, &out);
  }

  grpc::Status Rotate(const std::string& name, absl::Duration overlap,
                      v1::RotateApplicationKeyResponse* out) {
    v1::RotateApplicationKeyRequest request;
    request.set_name(name);
    request.mutable_previous_key_overlap()->set_seconds(absl::ToInt64Seconds(overlap));
    return stub_->RotateApplicationKey(ContextWithToken(kAdminToken).get(), request, out);
  }

  // ListWebhooks of `account` with `token`: a cheap SCOPE_READ call.
  grpc::Status ListWebhooks(const std::string& token, const std::string& account) {
    v1::ListWebhooksRequest request;
    request.set_parent("accounts/" + account);
    v1::ListWebhooksResponse response;
    return server_.NewStub()->ListWebhooks(ContextWithToken(token).get(), request, &response);
  }

  grpc::Status Publish(const std::string& token, const std::string& account) {
    v1::PublishEventRequest request;
    request.set_parent("accounts/" + account);
    request.set_event_type("booking.created");
    request.set_data_json(R"({"booking_id":"B-1"})");
    v1::PublishEventResponse response;
    return server_.NewStub()->PublishEvent(ContextWithToken(token).get(), request, &response);
  }

  // Makes a watch stream of account acme carry one update, so that it is
  // known to be open on the server: a publish to a paused webhook (its
  // delivery is held, nothing is sent).
  void BringAnUpdate(grpc::ClientReader<v1::WatchDeliveriesResponse>& reader) {
    v1::CreateWebhookRequest create;
    create.set_parent("accounts/acme");
    create.mutable_webhook()->set_display_name("Paused");
    create.mutable_webhook()->set_url("https://pms.example.com/hooks");
    create.mutable_webhook()->set_enabled(false);
    v1::Webhook webhook;
    ASSERT_TRUE(server_.NewStub()
                    ->CreateWebhook(ContextWithToken(kAdminToken).get(), create, &webhook)
                    .ok());
    ASSERT_TRUE(Publish(kAdminToken, "acme").ok());
    v1::WatchDeliveriesResponse response;
    ASSERT_TRUE(reader.Read(&response));
    EXPECT_EQ(response.delivery().state(), v1::DELIVERY_STATE_HELD);
  }

  TestServer server_;
  std::unique_ptr<v1::ApplicationService::Stub> stub_;
};

TEST_F(ApplicationApiTest, CreateReturnsTheKeyOnceAndTheKeyActsOnItsAccountOnly) {
  v1::CreateApplicationResponse created;
  ASSERT_TRUE(Create(kAdminToken, "acme", "channel-manager",
                     {v1::SCOPE_PUBLISH, v1::SCOPE_READ, v1::SCOPE_PUBLISH}, &created)
                  .ok());
  const std::string& key = created.api_key();
  EXPECT_THAT(key, StartsWith("wak_"));
  EXPECT_EQ(key.size(), 4u + 43u);
  const v1::Application& application = created.application();
  EXPECT_EQ(application.name(), "accounts/acme/applications/channel-manager");
  EXPECT_EQ(application.display_name(), "Channel manager channel-manager");
  EXPECT_THAT(application.scopes(), ElementsAre(v1::SCOPE_READ, v1::SCOPE_PUBLISH));
  EXPECT_EQ(application.state(), v1::APPLICATION_STATE_ACTIVE);
  EXPECT_EQ(application.key_prefix(), key.substr(0, 12));
  EXPECT_FALSE(application.has_last_used_time());

  v1::Application got;
  ASSERT_TRUE(Get(application.name(), &got).ok());
  EXPECT_EQ(got.key_prefix(), key.substr(0, 12));
  EXPECT_EQ(got.DebugString().find(key), std::string::npos);

  EXPECT_TRUE(ListWebhooks(key, "acme").ok());
  const grpc::Status other = ListWebhooks(key, "acme-2");
  EXPECT_EQ(other.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(other.error_message(), HasSubstr("\"acme-2\""));
  EXPECT_EQ(ListWebhooks("wak_not-a-key", "acme").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(ApplicationApiTest, AssignedIdsAndInvalidRequestsChangeNothing) {
  v1::CreateApplicationResponse created;
  ASSERT_TRUE(Create(kAdminToken, "acme", "", {}, &created).ok());
  EXPECT_THAT(created.application().name(), StartsWith("accounts/acme/applications/app_"));

  v1::CreateApplicationResponse refused;
  const grpc::Status duplicate = Create(kAdminToken, "acme", "pms", {}, &refused);
  ASSERT_TRUE(duplicate.ok());
  EXPECT_EQ(Create(kAdminToken, "acme", "pms", {}, &refused).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  const grpc::Status bad_id = Create(kAdminToken, "acme", "Bad_Id", {}, &refused);
  EXPECT_EQ(bad_id.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad_id.error_message(), StartsWith("application_id:"));
  const grpc::Status bad_scope =
      Create(kAdminToken, "acme", "x", {static_cast<v1::Scope>(9)}, &refused);
  EXPECT_EQ(bad_scope.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad_scope.error_message(), StartsWith("application.scopes[0]:"));
  const grpc::Status past =
      Create(kAdminToken, "acme", "y", {}, &refused, server_.clock().Now() - absl::Seconds(1));
  EXPECT_EQ(past.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(past.error_message(), StartsWith("application.expire_time:"));

  v1::ListApplicationsRequest request;
  request.set_parent("accounts/acme");
  v1::ListApplicationsResponse listed;
  ASSERT_TRUE(stub_->ListApplications(ContextWithToken(kAdminToken).get(), request, &listed).ok());
  ASSERT_EQ(listed.applications_size(), 2);
  EXPECT_THAT(listed.applications(0).name(), StartsWith("accounts/acme/applications/app_"));
  EXPECT_EQ(listed.applications(1).name(), "accounts/acme/applications/pms");
}

TEST_F(ApplicationApiTest, AKeyOutsideItsScopeIsDeniedNamingTheScope) {
  const std::string publisher = CreateKey("acme", "publisher", {v1::SCOPE_PUBLISH});
  const std::string reader = CreateKey("acme", "reader", {v1::SCOPE_READ});

  EXPECT_TRUE(Publish(publisher, "acme").ok());
  const grpc::Status list = ListWebhooks(publisher, "acme");
  EXPECT_EQ(list.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(list.error_message(), "ListWebhooks needs SCOPE_READ, which this key does not have");

  EXPECT_TRUE(ListWebhooks(reader, "acme").ok());
  const grpc::Status publish = Publish(reader, "acme");
  EXPECT_EQ(publish.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(publish.error_message(), HasSubstr("SCOPE_PUBLISH"));
  v1::CreateApplicationResponse out;
  const grpc::Status manage = Create(reader, "acme", "another", {}, &out);
  EXPECT_EQ(manage.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(manage.error_message(), HasSubstr("CreateApplication needs SCOPE_MANAGE"));
}

TEST_F(ApplicationApiTest, AManageKeyManagesItsOwnAccountsApplicationsOnly) {
  const std::string manager = CreateKey("acme", "ops", {v1::SCOPE_MANAGE});
  v1::CreateApplicationResponse out;
  ASSERT_TRUE(Create(manager, "acme", "made-by-key", {v1::SCOPE_READ}, &out).ok());
  EXPECT_TRUE(ListWebhooks(out.api_key(), "acme").ok());
  EXPECT_EQ(Create(manager, "beta", "intruder", {}, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A config token of one account: the same rule.
  EXPECT_TRUE(Create(kAcmeToken, "acme", "by-token", {}, &out).ok());
  EXPECT_EQ(Create(kAcmeToken, "beta", "by-token", {}, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::Application got;
  EXPECT_EQ(Get("accounts/acme/applications/ops", &got, CreateKey("beta", "b")).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(ApplicationApiTest, ARevokedKeyIsRefusedAtOnceAndForGood) {
  const std::string key = CreateKey("acme", "pms");
  ASSERT_TRUE(ListWebhooks(key, "acme").ok());
  ASSERT_TRUE(Revoke("accounts/acme/applications/pms").ok());
  const grpc::Status refused = ListWebhooks(key, "acme");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(refused.error_message(), HasSubstr("revoked, rotated out or has expired"));

  v1::Application got;
  ASSERT_TRUE(Get("accounts/acme/applications/pms", &got).ok());
  EXPECT_EQ(got.state(), v1::APPLICATION_STATE_REVOKED);
  EXPECT_EQ(got.revoke_time().seconds(), absl::ToUnixSeconds(server_.clock().Now()));
  v1::RotateApplicationKeyResponse rotated;
  EXPECT_EQ(Rotate("accounts/acme/applications/pms", absl::ZeroDuration(), &rotated).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  server_.Restart();
  stub_ = v1::ApplicationService::NewStub(server_.channel());
  EXPECT_EQ(ListWebhooks(key, "acme").error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(ApplicationApiTest, KeysSurviveARestartAndADeletedApplicationsKeyIsRefused) {
  const std::string key = CreateKey("acme", "pms");
  server_.Restart();
  stub_ = v1::ApplicationService::NewStub(server_.channel());
  ASSERT_TRUE(ListWebhooks(key, "acme").ok());

  v1::DeleteApplicationRequest request;
  request.set_name("accounts/acme/applications/pms");
  google::protobuf::Empty empty;
  ASSERT_TRUE(stub_->DeleteApplication(ContextWithToken(kAdminToken).get(), request, &empty).ok());
  EXPECT_EQ(ListWebhooks(key, "acme").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  v1::Application got;
  EXPECT_EQ(Get("accounts/acme/applications/pms", &got).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(stub_->DeleteApplication(ContextWithToken(kAdminToken).get(), request, &empty)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ApplicationApiTest, RotationKeepsThePreviousKeyForTheOverlapOnly) {
  const std::string first = CreateKey("acme", "pms");
  v1::RotateApplicationKeyResponse rotated;
  ASSERT_TRUE(Rotate("accounts/acme/applications/pms", absl::Minutes(10), &rotated).ok());
  const std::string second = rotated.api_key();
  EXPECT_NE(second, first);
  EXPECT_EQ(rotated.application().key_prefix(), second.substr(0, 12));
  EXPECT_EQ(rotated.application().previous_key_expire_time().seconds(),
            absl::ToUnixSeconds(server_.clock().Now() + absl::Minutes(10)));
  EXPECT_TRUE(ListWebhooks(first, "acme").ok());
  EXPECT_TRUE(ListWebhooks(second, "acme").ok());

  server_.clock().Advance(absl::Minutes(10));
  EXPECT_EQ(ListWebhooks(first, "acme").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(ListWebhooks(second, "acme").ok());

  // Without an overlap (a leaked key), the previous key stops at once.
  ASSERT_TRUE(Rotate("accounts/acme/applications/pms", absl::ZeroDuration(), &rotated).ok());
  EXPECT_EQ(ListWebhooks(second, "acme").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(ListWebhooks(rotated.api_key(), "acme").ok());
  EXPECT_FALSE(rotated.application().has_previous_key_expire_time());

  const grpc::Status too_long =
      Rotate("accounts/acme/applications/pms", absl::Hours(24 * 8), &rotated);
  EXPECT_EQ(too_long.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(too_long.error_message(), StartsWith("previous_key_overlap:"));
}

TEST_F(ApplicationApiTest, AKeyStopsWorkingAtItsExpiry) {
  v1::CreateApplicationResponse created;
  ASSERT_TRUE(Create(kAdminToken, "acme", "temp", {}, &created,
                     server_.clock().Now() + absl::Hours(1))
                  .ok());
  EXPECT_TRUE(ListWebhooks(created.api_key(), "acme").ok());
  server_.clock().Advance(absl::Hours(1));
  EXPECT_EQ(ListWebhooks(created.api_key(), "acme").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::Application got;
  ASSERT_TRUE(Get(created.application().name(), &got).ok());
  EXPECT_EQ(got.state(), v1::APPLICATION_STATE_EXPIRED);
}

TEST_F(ApplicationApiTest, AnOpenWatchStreamOfARevokedKeyEndsUnauthenticated) {
  const std::string key = CreateKey("acme", "dashboard", {v1::SCOPE_READ});
  auto delivery_stub = server_.NewDeliveryStub();
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + key);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::WatchDeliveriesRequest request;
  request.set_parent("accounts/acme");
  auto reader = delivery_stub->WatchDeliveries(&context, request);
  v1::WatchDeliveriesResponse response;
  ASSERT_NO_FATAL_FAILURE(BringAnUpdate(*reader));

  ASSERT_TRUE(Revoke("accounts/acme/applications/dashboard").ok());
  while (reader->Read(&response)) {
  }
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("was revoked, rotated out, removed or has expired"));
}

// A config reload (SIGHUP in the binary) that removes a token ends the
// token's open watch streams too, and leaves the other tokens' alone.
TEST_F(ApplicationApiTest, AReloadThatRemovesAConfigTokenEndsItsOpenStream) {
  auto delivery_stub = server_.NewDeliveryStub();
  grpc::ClientContext context;
  context.AddMetadata("authorization", std::string("Bearer ") + kAcmeToken);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::WatchDeliveriesRequest request;
  request.set_parent("accounts/acme");
  auto reader = delivery_stub->WatchDeliveries(&context, request);
  v1::WatchDeliveriesResponse response;
  ASSERT_NO_FATAL_FAILURE(BringAnUpdate(*reader));

  config::ServerConfig reloaded = server_.config();
  reloaded.clear_tokens();
  for (const auto& token : server_.config().tokens()) {
    if (token.name() != "acme-app") *reloaded.add_tokens() = token;
  }
  ASSERT_EQ(reloaded.tokens_size(), server_.config().tokens_size() - 1);
  server_.server().ReloadConfig(reloaded);
  while (reader->Read(&response)) {
  }
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ListWebhooks(kAcmeToken, "acme").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(ListWebhooks(kBetaToken, "beta").ok());
  EXPECT_TRUE(ListWebhooks(kAdminToken, "acme").ok());
}

TEST_F(ApplicationApiTest, UpdateChangesTheNameAndDescriptionOnlyAndLastUseIsRecorded) {
  const std::string key = CreateKey("acme", "pms");
  ASSERT_TRUE(ListWebhooks(key, "acme").ok());
  v1::UpdateApplicationRequest request;
  request.mutable_application()->set_name("accounts/acme/applications/pms");
  request.mutable_application()->set_display_name("PMS (production)");
  v1::Application updated;
  ASSERT_TRUE(
      stub_->UpdateApplication(ContextWithToken(kAdminToken).get(), request, &updated).ok());
  EXPECT_EQ(updated.display_name(), "PMS (production)");
  request.mutable_update_mask()->add_paths("scopes");
  const grpc::Status refused =
      stub_->UpdateApplication(ContextWithToken(kAdminToken).get(), request, &updated);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), StartsWith("update_mask:"));

  // The use is written on the directory's own thread, soon after the call.
  v1::Application got;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    ASSERT_TRUE(Get("accounts/acme/applications/pms", &got).ok());
    if (got.has_last_used_time()) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(got.last_used_time().seconds(), absl::ToUnixSeconds(server_.clock().Now()));
  EXPECT_EQ(got.display_name(), "PMS (production)");
}

}  // namespace
}  // namespace wink::webhooks::testing
