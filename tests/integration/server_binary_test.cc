// The shipped binary, started as a user would: flags, reflection, health,
// signals, exit codes, crash durability and the single-writer lock.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/auth/authenticator.h"
#include "tests/fakes/https_receiver.h"
#include "tests/fakes/temp_dir.h"
#include "tests/fakes/test_certificates.h"
#include "tests/integration/server_process.h"
#include "wink/webhooks/v1/webhook_service.grpc.pb.h"

namespace wink::webhooks::testing {
namespace {

using ::grpc::reflection::v1alpha::ServerReflection;
using ::grpc::reflection::v1alpha::ServerReflectionRequest;
using ::grpc::reflection::v1alpha::ServerReflectionResponse;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;

constexpr char kToken[] = "binary-test-token-7f3a";
constexpr char kWrongToken[] = "guessed-token-0c1d";
constexpr char kHeaderValue[] = "receiver-api-key-5e6f";
constexpr absl::Duration kStartTimeout = absl::Seconds(30);

std::vector<std::string> ServerArgs(const std::string& data_dir) {
  return {"--listen=127.0.0.1:0", "--data_dir=" + data_dir,
          "--admin_token_sha256=" + auth::Sha256Hex(kToken)};
}

std::unique_ptr<grpc::ClientContext> Context(bool with_token = true) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (with_token) context->AddMetadata("authorization", std::string("Bearer ") + kToken);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

// Asks the reflection service one question on a fresh stream.
ServerReflectionResponse Reflect(const std::shared_ptr<grpc::Channel>& channel,
                                 const ServerReflectionRequest& request) {
  auto stub = ServerReflection::NewStub(channel);
  auto context = Context(false);
  auto stream = stub->ServerReflectionInfo(context.get());
  EXPECT_TRUE(stream->Write(request));
  stream->WritesDone();
  ServerReflectionResponse response;
  EXPECT_TRUE(stream->Read(&response));
  while (stream->Read(nullptr)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
  return response;
}

v1::Webhook CreateWebhook(v1::WebhookService::Stub& stub, const std::string& display_name,
                          const std::string& api_key = "k") {
  v1::CreateWebhookRequest request;
  request.set_parent("accounts/acme");
  request.mutable_webhook()->set_display_name(display_name);
  request.mutable_webhook()->set_url("https://receiver.example.com/hook");
  (*request.mutable_webhook()->mutable_headers())["X-Api-Key"] = api_key;
  v1::Webhook out;
  const grpc::Status status = stub.CreateWebhook(Context().get(), request, &out);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return out;
}

TEST(ServerBinaryTest, ServesReflectionAndHealthAndStopsGracefullyOnSigterm) {
  TempDir dir;
  auto server = ServerProcess::Start(ServerArgs(dir.Child("data")), dir.Child("log"));
  auto address = server->WaitReady(kStartTimeout);
  ASSERT_TRUE(address.ok()) << address.status();
  auto channel = grpc::CreateChannel(*address, grpc::InsecureChannelCredentials());

  ServerReflectionRequest list;
  list.set_list_services("*");
  const ServerReflectionResponse listed = Reflect(channel, list);
  std::vector<std::string> services;
  for (const auto& service : listed.list_services_response().service()) {
    services.push_back(service.name());
  }
  EXPECT_THAT(services, IsSupersetOf({"wink.webhooks.v1.WebhookService", "grpc.health.v1.Health",
                                      "grpc.reflection.v1alpha.ServerReflection"}));

  // grpcurl / buf curl need the descriptors, not just the names.
  ServerReflectionRequest symbol;
  symbol.set_file_containing_symbol("wink.webhooks.v1.WebhookService");
  const ServerReflectionResponse files = Reflect(channel, symbol);
  ASSERT_GT(files.file_descriptor_response().file_descriptor_proto_size(), 0);
  google::protobuf::FileDescriptorProto file;
  ASSERT_TRUE(file.ParseFromString(files.file_descriptor_response().file_descriptor_proto(0)));
  EXPECT_EQ(file.name(), "wink/webhooks/v1/webhook_service.proto");

  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckRequest check;
  grpc::health::v1::HealthCheckResponse status;
  ASSERT_TRUE(health->Check(Context(false).get(), check, &status).ok());
  EXPECT_EQ(status.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  check.set_service("wink.webhooks.v1.WebhookService");
  ASSERT_TRUE(health->Check(Context(false).get(), check, &status).ok());
  EXPECT_EQ(status.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  check.set_service("no.such.Service");
  EXPECT_EQ(health->Check(Context(false).get(), check, &status).error_code(),
            grpc::StatusCode::NOT_FOUND);

  auto stub = v1::WebhookService::NewStub(channel);
  const v1::Webhook created = CreateWebhook(*stub, "Sigterm test", kHeaderValue);
  ASSERT_FALSE(created.secret().empty());
  // A failed login must not log what was tried either.
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", std::string("Bearer ") + kWrongToken);
    v1::ListWebhooksRequest request;
    request.set_parent("accounts/acme");
    v1::ListWebhooksResponse response;
    EXPECT_EQ(stub->ListWebhooks(&context, request, &response).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }

  // Close our idle connection first: a client that never polls its channel
  // does not answer the server's GOAWAY, and shutdown waits for it (about 5 s).
  stub.reset();
  health.reset();
  channel.reset();
  server->Signal(SIGTERM);
  auto exit_code = server->WaitExit(absl::Seconds(20));
  ASSERT_TRUE(exit_code.ok());
  EXPECT_EQ(*exit_code, 0);
  const std::string log = server->Log();
  EXPECT_THAT(log, HasSubstr("shutdown_complete"));
  EXPECT_THAT(log, HasSubstr("method=CreateWebhook principal=dev account=acme code=OK"));
  // Neither tokens (right or wrong), secrets nor header values are logged.
  EXPECT_THAT(log, HasSubstr("code=UNAUTHENTICATED"));
  EXPECT_THAT(log, Not(HasSubstr(kToken)));
  EXPECT_THAT(log, Not(HasSubstr(kWrongToken)));
  EXPECT_THAT(log, Not(HasSubstr(kHeaderValue)));
  EXPECT_THAT(log, Not(HasSubstr(created.secret())));
  EXPECT_THAT(log, Not(HasSubstr(created.secret().substr(6))));
}

TEST(ServerBinaryTest, KillDashNineLosesNoAcknowledgedWrite) {
  TempDir dir;
  std::vector<std::string> names;
  {
    auto server = ServerProcess::Start(ServerArgs(dir.Child("data")), dir.Child("log1"));
    auto address = server->WaitReady(kStartTimeout);
    ASSERT_TRUE(address.ok()) << address.status();
    auto stub = v1::WebhookService::NewStub(
        grpc::CreateChannel(*address, grpc::InsecureChannelCredentials()));
    for (int i = 0; i < 20; ++i) {
      names.push_back(CreateWebhook(*stub, "hook " + std::to_string(i)).name());
    }
    server->Signal(SIGKILL);
    auto exit_code = server->WaitExit(absl::Seconds(10));
    ASSERT_TRUE(exit_code.ok());
    EXPECT_EQ(*exit_code, 128 + SIGKILL);
  }
  auto server = ServerProcess::Start(ServerArgs(dir.Child("data")), dir.Child("log2"));
  auto address = server->WaitReady(kStartTimeout);
  ASSERT_TRUE(address.ok()) << address.status();
  auto stub = v1::WebhookService::NewStub(
      grpc::CreateChannel(*address, grpc::InsecureChannelCredentials()));
  v1::ListWebhooksRequest request;
  request.set_parent("accounts/acme");
  v1::ListWebhooksResponse response;
  ASSERT_TRUE(stub->ListWebhooks(Context().get(), request, &response).ok());
  std::vector<std::string> listed;
  for (const auto& w : response.webhooks()) listed.push_back(w.name());
  EXPECT_EQ(listed, names);
}

// Usage is written with the events it counts: after kill -9 the quota
// counts exactly the acknowledged events, no more (a refusal for room that
// is free) and no fewer (a tenant past its limit).
TEST(ServerBinaryTest, TheStoredQuotaCountsExactlyTheAcknowledgedEventsAfterKillDashNine) {
  TempDir dir;
  const std::string config = dir.Child("server.textproto");
  std::ofstream(config) << "limits { max_stored_events_per_account: 30 }\n";
  std::vector<std::string> args = ServerArgs(dir.Child("data"));
  args.push_back("--config=" + config);
  const auto publish = [](v1::WebhookService::Stub& stub, int i) {
    v1::PublishEventRequest request;
    request.set_parent("accounts/acme");
    request.set_event_type("booking.created");
    request.set_data_json(absl::StrCat("{\"booking\":", i, "}"));
    v1::PublishEventResponse response;
    return stub.PublishEvent(Context().get(), request, &response);
  };
  {
    auto server = ServerProcess::Start(args, dir.Child("log1"));
    auto address = server->WaitReady(kStartTimeout);
    ASSERT_TRUE(address.ok()) << address.status() << server->Log();
    auto stub = v1::WebhookService::NewStub(
        grpc::CreateChannel(*address, grpc::InsecureChannelCredentials()));
    for (int i = 0; i < 29; ++i) ASSERT_TRUE(publish(*stub, i).ok()) << i;
    server->Signal(SIGKILL);
    ASSERT_TRUE(server->WaitExit(absl::Seconds(10)).ok());
  }
  auto server = ServerProcess::Start(args, dir.Child("log2"));
  auto address = server->WaitReady(kStartTimeout);
  ASSERT_TRUE(address.ok()) << address.status() << server->Log();
  auto stub = v1::WebhookService::NewStub(
      grpc::CreateChannel(*address, grpc::InsecureChannelCredentials()));

  EXPECT_TRUE(publish(*stub, 29).ok());
  const grpc::Status refused = publish(*stub, 30);

  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("account acme stores 30 events"));
  EXPECT_THAT(refused.error_message(), HasSubstr("max_stored_events_per_account (30)"));
}

TEST(ServerBinaryTest, SigintAlsoShutsDownGracefully) {
  TempDir dir;
  auto server = ServerProcess::Start(ServerArgs(dir.Child("data")), dir.Child("log"));
  ASSERT_TRUE(server->WaitReady(kStartTimeout).ok());
  server->Signal(SIGINT);
  auto exit_code = server->WaitExit(absl::Seconds(20));
  ASSERT_TRUE(exit_code.ok());
  EXPECT_EQ(*exit_code, 0);
  EXPECT_THAT(server->Log(), HasSubstr("shutdown_started signal=Interrupt"));
  EXPECT_THAT(server->Log(), HasSubstr("shutdown_complete"));
}

TEST(ServerBinaryTest, SecondServerOnTheSameDataDirRefusesToStart) {
  TempDir dir;
  auto first = ServerProcess::Start(ServerArgs(dir.Child("data")), dir.Child("log1"));
  ASSERT_TRUE(first->WaitReady(kStartTimeout).ok());

  auto second = ServerProcess::Start(ServerArgs(dir.Child("data")), dir.Child("log2"));
  auto exit_code = second->WaitExit(kStartTimeout);
  ASSERT_TRUE(exit_code.ok());
  EXPECT_EQ(*exit_code, 1);
  EXPECT_THAT(second->Log(), HasSubstr("is in use by another process"));
}

// gRPC would share the port through SO_REUSEPORT and the kernel would split
// the calls between the two servers: the second must refuse to start.
TEST(ServerBinaryTest, SecondServerOnTheSameAddressRefusesToStart) {
  TempDir dir;
  auto first = ServerProcess::Start(ServerArgs(dir.Child("data1")), dir.Child("log1"));
  const absl::StatusOr<std::string> address = first->WaitReady(kStartTimeout);
  ASSERT_TRUE(address.ok()) << address.status();

  std::vector<std::string> args = ServerArgs(dir.Child("data2"));
  args[0] = "--listen=" + *address;
  auto second = ServerProcess::Start(args, dir.Child("log2"));
  auto exit_code = second->WaitExit(kStartTimeout);
  ASSERT_TRUE(exit_code.ok()) << "the second server started: " << second->Log();
  EXPECT_EQ(*exit_code, 1);
  EXPECT_THAT(second->Log(), HasSubstr("fatal what=\"cannot start\" error=\"cannot listen on"));
  EXPECT_THAT(second->Log(), HasSubstr(*address));

  // The first one still answers every call.
  auto channel = grpc::CreateChannel(*address, grpc::InsecureChannelCredentials());
  auto stub = v1::WebhookService::NewStub(channel);
  for (int i = 0; i < 8; ++i) {
    v1::ListWebhooksRequest request;
    request.set_parent("accounts/acme");
    v1::ListWebhooksResponse response;
    const grpc::Status status = stub->ListWebhooks(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
}

// --check_config prints what the server would run with: the file's values,
// the flags over them, the defaults under them; token hashes hidden.
TEST(ServerBinaryTest, CheckConfigPrintsTheEffectiveConfigurationAndExits) {
  TempDir dir;
  const std::string config = dir.Child("server.textproto");
  std::ofstream(config) << "listen_address: \"127.0.0.1:7001\"\n"
                           "metrics_listen_address: \"127.0.0.1:7002\"\n"
                           "data_dir: \"/from/the/file\"\n";
  auto check = ServerProcess::Start({"--config=" + config, "--data_dir=" + dir.Child("data"),
                                     "--admin_token_sha256=" + auth::Sha256Hex(kToken),
                                     "--check_config"},
                                    dir.Child("log"));
  auto exit_code = check->WaitExit(kStartTimeout);
  ASSERT_TRUE(exit_code.ok());
  EXPECT_EQ(*exit_code, 0) << check->Log();
  const std::string printed = check->Log();
  EXPECT_THAT(printed, HasSubstr("listen_address: \"127.0.0.1:7001\"\n"));
  EXPECT_THAT(printed, HasSubstr("metrics_listen_address: \"127.0.0.1:7002\"\n"));
  EXPECT_THAT(printed, HasSubstr("data_dir: \"" + dir.Child("data") + "\"\n"));
  EXPECT_THAT(printed, HasSubstr("sha256: \"(hidden)\""));
  EXPECT_THAT(printed, Not(HasSubstr(auth::Sha256Hex(kToken))));
  EXPECT_THAT(printed, Not(HasSubstr("ready")));  // it did not start

  auto invalid = ServerProcess::Start({"--config=" + config, "--check_config"}, dir.Child("log2"));
  exit_code = invalid->WaitExit(kStartTimeout);
  ASSERT_TRUE(exit_code.ok());
  EXPECT_EQ(*exit_code, 2);
  EXPECT_THAT(invalid->Log(), HasSubstr("tokens: at least one API token is required"));
}

// Two development receivers with their own CAs, trusted side by side with
// the flag given twice (absl alone would keep only the last one).
TEST(ServerBinaryTest, RepeatedExtraCaFileFlagsTrustEveryFile) {
  auto first = HttpsReceiver::Start();
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = HttpsReceiver::Start();
  ASSERT_TRUE(second.ok()) << second.status();
  TempDir dir;
  std::vector<std::string> args = ServerArgs(dir.Child("data"));
  args.push_back("--allow_private_targets=127.0.0.0/8");
  args.push_back("--extra_ca_file");
  args.push_back((*first)->ca_file());
  args.push_back("--extra_ca_file=" + (*second)->ca_file());
  auto server = ServerProcess::Start(args, dir.Child("log"));
  const absl::StatusOr<std::string> address = server->WaitReady(kStartTimeout);
  ASSERT_TRUE(address.ok()) << address.status();
  auto stub = v1::WebhookService::NewStub(
      grpc::CreateChannel(*address, grpc::InsecureChannelCredentials()));
  for (const std::string& url : {(*first)->Url("/one"), (*second)->Url("/two")}) {
    v1::CreateWebhookRequest request;
    request.set_parent("accounts/acme");
    request.mutable_webhook()->set_display_name(url);
    request.mutable_webhook()->set_url(url);
    v1::Webhook created;
    const grpc::Status status = stub->CreateWebhook(Context().get(), request, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  v1::PublishEventRequest publish;
  publish.set_parent("accounts/acme");
  publish.set_event_type("booking.created");
  publish.set_data_json("{}");
  v1::PublishEventResponse published;
  ASSERT_TRUE(stub->PublishEvent(Context().get(), publish, &published).ok());
  EXPECT_EQ(published.matched_webhook_count(), 2);
  EXPECT_TRUE((*first)->WaitForRequests("/one", 1, absl::Seconds(20))) << server->Log();
  EXPECT_TRUE((*second)->WaitForRequests("/two", 1, absl::Seconds(20))) << server->Log();
}

TEST(ServerBinaryTest, InvalidConfigurationStopsTheServerNamingTheField) {
  TempDir dir;
  const std::string config = dir.Child("server.textproto");
  std::ofstream(config) << "listen_address: \"127.0.0.1:0\"\n"
                           "limits { max_webhooks_per_account: -5 }\n";
  auto server = ServerProcess::Start({"--config=" + config, "--data_dir=" + dir.Child("data"),
                                      "--admin_token_sha256=" + auth::Sha256Hex(kToken)},
                                     dir.Child("log"));
  auto exit_code = server->WaitExit(kStartTimeout);
  ASSERT_TRUE(exit_code.ok());
  EXPECT_EQ(*exit_code, 2);
  EXPECT_THAT(server->Log(), HasSubstr("limits.max_webhooks_per_account: must be between"));

  // A server without any token would refuse every call: refuse to start.
  auto no_tokens = ServerProcess::Start({"--listen=127.0.0.1:0", "--data_dir=" + dir.Child("d")},
                                        dir.Child("log2"));
  exit_code = no_tokens->WaitExit(kStartTimeout);
  ASSERT_TRUE(exit_code.ok());
  EXPECT_EQ(*exit_code, 2);
  EXPECT_THAT(no_tokens->Log(), HasSubstr("tokens: at least one API token is required"));

  std::ofstream(config) << "listen_adress: \"x\"\n";
  auto typo = ServerProcess::Start({"--config=" + config}, dir.Child("log3"));
  exit_code = typo->WaitExit(kStartTimeout);
  ASSERT_TRUE(exit_code.ok());
  EXPECT_EQ(*exit_code, 2);
  EXPECT_THAT(typo->Log(), HasSubstr("server.textproto:1:"));
}

// "127.0.0.1:PORT" for the "HOST:PORT" the ready line named.
std::string LocalAddress(const std::string& address) {
  return "127.0.0.1" + address.substr(address.rfind(':'));
}

grpc::StatusCode HealthCheck(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  return grpc::health::v1::Health::NewStub(channel)
      ->Check(Context(false).get(), request, &response)
      .error_code();
}

std::string ReadFile(const std::string& path) {
  std::stringstream contents;
  contents << std::ifstream(path).rdbuf();
  return contents.str();
}

// Bearer tokens must not cross the network in plaintext by accident.
// SIGHUP reads the config file again: a token added there works, a removed
// one stops, without a restart and without dropping the open connection;
// a file that does not load changes nothing and says so; a change that
// needs a restart is named, not applied.
TEST(ServerBinaryTest, SighupReloadsTokensAndLimitsAndRefusesABadFile) {
  TempDir dir;
  const std::string config = dir.Child("server.textproto");
  constexpr char kAddedToken[] = "added-by-reload-token-4b2e";
  const auto write_config = [&](bool with_added_token, int max_webhooks) {
    std::ofstream file(config);
    file << "listen_address: \"127.0.0.1:0\"\n"
         << "tokens { name: \"first\" sha256: \"" << auth::Sha256Hex(kToken)
         << "\" accounts: \"acme\" }\n";
    if (with_added_token) {
      file << "tokens { name: \"added\" sha256: \"" << auth::Sha256Hex(kAddedToken)
           << "\" accounts: \"acme\" }\n";
    }
    file << "limits { max_webhooks_per_account: " << max_webhooks << " }\n";
  };
  write_config(/*with_added_token=*/false, /*max_webhooks=*/100);
  auto server = ServerProcess::Start({"--config=" + config, "--data_dir=" + dir.Child("data")},
                                     dir.Child("log"));
  auto address = server->WaitReady(kStartTimeout);
  ASSERT_TRUE(address.ok()) << address.status();
  auto channel = grpc::CreateChannel(*address, grpc::InsecureChannelCredentials());
  auto stub = v1::WebhookService::NewStub(channel);
  const auto list_with = [&](const std::string& token) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ListWebhooksRequest request;
    request.set_parent("accounts/acme");
    v1::ListWebhooksResponse response;
    return stub->ListWebhooks(&context, request, &response);
  };
  // Waits for the log line that ends the reload the last SIGHUP started.
  const auto wait_for_log = [&](const std::string& line, int count) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      const std::string log = server->Log();
      int seen = 0;
      for (size_t at = log.find(line); at != std::string::npos; at = log.find(line, at + 1)) {
        ++seen;
      }
      if (seen >= count) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  };
  ASSERT_TRUE(list_with(kToken).ok());
  EXPECT_EQ(list_with(kAddedToken).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  write_config(/*with_added_token=*/true, /*max_webhooks=*/1);
  server->Signal(SIGHUP);
  ASSERT_TRUE(wait_for_log("config_reloaded", 1)) << server->Log();
  EXPECT_TRUE(list_with(kAddedToken).ok());
  EXPECT_TRUE(list_with(kToken).ok()) << "the same connection still serves";
  EXPECT_THAT(server->Log(), HasSubstr("limits_changed=limits.max_webhooks_per_account"));
  CreateWebhook(*stub, "First", kHeaderValue);
  v1::CreateWebhookRequest second;
  second.set_parent("accounts/acme");
  second.mutable_webhook()->set_display_name("Second");
  second.mutable_webhook()->set_url("https://pms.example.com/hooks");
  v1::Webhook created;
  const grpc::Status over_limit = stub->CreateWebhook(Context().get(), second, &created);
  EXPECT_EQ(over_limit.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  std::ofstream(config) << "listen_adress: \"typo\"\n";
  server->Signal(SIGHUP);
  ASSERT_TRUE(wait_for_log("config_reload_refused", 1)) << server->Log();
  EXPECT_TRUE(list_with(kAddedToken).ok()) << "the running configuration stays";

  write_config(/*with_added_token=*/false, /*max_webhooks=*/1);
  {
    std::ofstream file(config, std::ios::app);
    file << "event_retention { seconds: 3600 }\n";
  }
  server->Signal(SIGHUP);
  ASSERT_TRUE(wait_for_log("config_reloaded", 2)) << server->Log();
  EXPECT_EQ(list_with(kAddedToken).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(list_with(kToken).ok());
  EXPECT_THAT(server->Log(),
              HasSubstr("config_reload_needs_restart fields=event_retention"));
  EXPECT_THAT(server->Log(), Not(HasSubstr(kAddedToken)));
  EXPECT_THAT(server->Log(), Not(HasSubstr(auth::Sha256Hex(kAddedToken))));

  stub.reset();
  channel.reset();
  server->Signal(SIGTERM);
  auto exit_code = server->WaitExit(absl::Seconds(20));
  ASSERT_TRUE(exit_code.ok());
  EXPECT_EQ(*exit_code, 0);
}

TEST(ServerBinaryTest, PlaintextOffLoopbackNeedsTlsOrTheExplicitFlag) {
  TempDir dir;
  std::vector<std::string> args = {"--listen=0.0.0.0:0", "--data_dir=" + dir.Child("data"),
                                   "--admin_token_sha256=" + auth::Sha256Hex(kToken)};
  auto refused = ServerProcess::Start(args, dir.Child("log1"));
  auto exit_code = refused->WaitExit(kStartTimeout);
  ASSERT_TRUE(exit_code.ok());
  EXPECT_EQ(*exit_code, 2);
  EXPECT_THAT(refused->Log(), HasSubstr("listen_address: \\\"0.0.0.0:0\\\" is not a loopback "
                                        "address and the listener has no TLS"));
  EXPECT_THAT(refused->Log(), HasSubstr("--allow_plaintext_non_loopback"));

  args.push_back("--allow_plaintext_non_loopback");
  auto allowed = ServerProcess::Start(args, dir.Child("log2"));
  const absl::StatusOr<std::string> address = allowed->WaitReady(kStartTimeout);
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_THAT(*address, ::testing::StartsWith("0.0.0.0:"));
  EXPECT_THAT(allowed->Log(), HasSubstr("transport=plaintext_non_loopback"));
  EXPECT_EQ(
      HealthCheck(grpc::CreateChannel(LocalAddress(*address), grpc::InsecureChannelCredentials())),
      grpc::StatusCode::OK);
}

TEST(ServerBinaryTest, TlsFlagsServeMutualTlsAndCheckConfigShowsOnlyThePaths) {
  TempDir dir;
  absl::StatusOr<MutualTlsFiles> pki = WriteMutualTlsCertificates(dir.Child("pki"));
  ASSERT_TRUE(pki.ok()) << pki.status();
  const std::vector<std::string> args = {"--listen=0.0.0.0:0",
                                         "--data_dir=" + dir.Child("data"),
                                         "--admin_token_sha256=" + auth::Sha256Hex(kToken),
                                         "--tls_cert=" + pki->server.certificate_file,
                                         "--tls_key=" + pki->server.private_key_file,
                                         "--tls_client_ca=" + pki->server.ca_file};
  const std::string key_body = ReadFile(pki->server.private_key_file).substr(28, 40);

  std::vector<std::string> check_args = args;
  check_args.push_back("--check_config");
  auto check = ServerProcess::Start(check_args, dir.Child("log1"));
  auto exit_code = check->WaitExit(kStartTimeout);
  ASSERT_TRUE(exit_code.ok());
  EXPECT_EQ(*exit_code, 0) << check->Log();
  EXPECT_THAT(check->Log(), HasSubstr("tls {\n  cert_file: \"" + pki->server.certificate_file +
                                      "\"\n  key_file: \"" + pki->server.private_key_file +
                                      "\"\n  client_ca_file: \"" + pki->server.ca_file + "\"\n}"));
  EXPECT_THAT(check->Log(), Not(HasSubstr(key_body)));

  std::vector<std::string> wrong_key = args;
  wrong_key.push_back("--tls_key=" + pki->client_private_key_file);
  auto refused = ServerProcess::Start(wrong_key, dir.Child("log2"));
  exit_code = refused->WaitExit(kStartTimeout);
  ASSERT_TRUE(exit_code.ok());
  EXPECT_EQ(*exit_code, 2);
  EXPECT_THAT(refused->Log(), HasSubstr("tls.key_file: the key in"));

  auto server = ServerProcess::Start(args, dir.Child("log3"));
  const absl::StatusOr<std::string> address = server->WaitReady(kStartTimeout);
  ASSERT_TRUE(address.ok()) << address.status();
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ReadFile(pki->server.ca_file);
  tls.pem_cert_chain = ReadFile(pki->client_certificate_file);
  tls.pem_private_key = ReadFile(pki->client_private_key_file);
  auto channel = grpc::CreateChannel(LocalAddress(*address), grpc::SslCredentials(tls));
  EXPECT_EQ(HealthCheck(channel), grpc::StatusCode::OK);
  // Reflection too (grpcurl and buf curl need it).
  ServerReflectionRequest list;
  list.set_list_services("*");
  EXPECT_GT(Reflect(channel, list).list_services_response().service_size(), 0);

  EXPECT_EQ(
      HealthCheck(grpc::CreateChannel(LocalAddress(*address), grpc::InsecureChannelCredentials())),
      grpc::StatusCode::UNAVAILABLE);
  tls.pem_cert_chain.clear();
  tls.pem_private_key.clear();
  EXPECT_EQ(HealthCheck(grpc::CreateChannel(LocalAddress(*address), grpc::SslCredentials(tls))),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(server->Log(), HasSubstr("transport=mutual_tls"));
  EXPECT_THAT(server->Log(), Not(HasSubstr(key_body)));
}

}  // namespace
}  // namespace wink::webhooks::testing
