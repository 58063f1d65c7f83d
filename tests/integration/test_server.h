// An in-process server for integration tests: the real Server (storage in a
// temp dir, real gRPC on 127.0.0.1:0) plus clients that carry a token.
//
// Tokens configured: "admin-token" (admin), "acme-token" (account acme),
// "beta-token" (account beta).
#ifndef WINK_WEBHOOKS_TESTS_INTEGRATION_TEST_SERVER_H_
#define WINK_WEBHOOKS_TESTS_INTEGRATION_TEST_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "service/config/server_config.h"
#include "service/server/server.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/temp_dir.h"
#include "wink/webhooks/v1/delivery_service.grpc.pb.h"
#include "wink/webhooks/v1/webhook_service.grpc.pb.h"

namespace wink::webhooks::testing {

inline constexpr char kAdminToken[] = "admin-token";
inline constexpr char kAcmeToken[] = "acme-token";
inline constexpr char kBetaToken[] = "beta-token";

class TestServer {
 public:
  // `tweak` may change the config before the server starts.
  explicit TestServer(std::function<void(config::ServerConfig&)> tweak = nullptr);
  ~TestServer();

  // Stops the server gracefully and starts a new one on the same data
  // directory (and a new port).
  void Restart();
  // The same, after `tweak` changed the config (e.g. a narrower allowlist).
  void Restart(const std::function<void(config::ServerConfig&)>& tweak);

  FakeClock& clock() { return clock_; }
  const config::ServerConfig& config() const { return config_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::unique_ptr<v1::WebhookService::Stub> NewStub() const {
    return v1::WebhookService::NewStub(channel_);
  }
  std::unique_ptr<v1::DeliveryService::Stub> NewDeliveryStub() const {
    return v1::DeliveryService::NewStub(channel_);
  }

  // Moves the fake clock and makes the delivery engine look at its queue at
  // once (retries that became due are sent without waiting for its next
  // periodic scan).
  void AdvanceClock(absl::Duration by);

  Server& server() { return *server_; }

 private:
  void StartServer();

  TempDir dir_;
  FakeClock clock_;
  config::ServerConfig config_;
  std::unique_ptr<Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

// A client context with `authorization: Bearer <token>` (none if empty) and
// a 10 s deadline.
std::unique_ptr<grpc::ClientContext> ContextWithToken(const std::string& token);

}  // namespace wink::webhooks::testing

#endif  // WINK_WEBHOOKS_TESTS_INTEGRATION_TEST_SERVER_H_
