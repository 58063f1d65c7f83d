#include "tests/integration/test_server.h"

#include <chrono>
#include <cstdlib>

#include "service/auth/authenticator.h"
#include "service/delivery/engine.h"

namespace wink::webhooks::testing {
namespace {

void AddToken(config::ServerConfig& config, const std::string& name, const std::string& token,
              const std::string& account) {
  auto* entry = config.add_tokens();
  entry->set_name(name);
  entry->set_sha256(auth::Sha256Hex(token));
  if (account.empty()) {
    entry->set_admin(true);
  } else {
    entry->add_accounts(account);
  }
}

}  // namespace

TestServer::TestServer(std::function<void(config::ServerConfig&)> tweak) {
  config_.set_listen_address("127.0.0.1:0");
  config_.set_data_dir(dir_.Child("data"));
  AddToken(config_, "admin", kAdminToken, "");
  AddToken(config_, "acme-app", kAcmeToken, "acme");
  AddToken(config_, "beta-app", kBetaToken, "beta");
  if (tweak) tweak(config_);
  config::ApplyDefaults(config_);
  const absl::Status valid = config::ValidateServerConfig(config_);
  if (!valid.ok()) {
    std::fprintf(stderr, "test config invalid: %s\n", std::string(valid.message()).c_str());
    std::abort();
  }
  StartServer();
}

TestServer::~TestServer() {
  if (server_ != nullptr) server_->Shutdown(absl::Seconds(1));
}

void TestServer::StartServer() {
  auto server = Server::Start(config_, clock_);
  if (!server.ok()) {
    std::fprintf(stderr, "test server failed to start: %s\n",
                 std::string(server.status().message()).c_str());
    std::abort();
  }
  server_ = *std::move(server);
  channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
}

void TestServer::Restart() { Restart(nullptr); }

void TestServer::Restart(const std::function<void(config::ServerConfig&)>& tweak) {
  server_->Shutdown(absl::Seconds(1));
  server_.reset();
  if (tweak) tweak(config_);
  StartServer();
}

void TestServer::AdvanceClock(absl::Duration by) {
  clock_.Advance(by);
  server_->delivery_engine()->Wake();
}

std::unique_ptr<grpc::ClientContext> ContextWithToken(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

}  // namespace wink::webhooks::testing
