// wink-webhooks-server: wires the modules together, serves gRPC until
// SIGTERM/SIGINT, then shuts down gracefully.
//
// Exit codes: 0 after a graceful shutdown, 2 for a configuration error, 1 when
// the server cannot start (data directory in use, port taken, ...).
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "service/api/event_catalog.h"
#include "service/api/health_service.h"
#include "service/api/webhook_service.h"
#include "service/auth/authenticator.h"
#include "service/common/clock.h"
#include "service/common/ids.h"
#include "service/common/log.h"
#include "service/config/server_config.h"
#include "service/storage/storage.h"

ABSL_FLAG(std::string, config, "", "Text-format ServerConfig file (see README)");
ABSL_FLAG(std::string, listen, "", "Overrides listen_address, e.g. 127.0.0.1:50051");
ABSL_FLAG(std::string, data_dir, "", "Overrides data_dir (RocksDB directory)");
ABSL_FLAG(std::vector<std::string>, allow_private_targets, {},
          "Overrides allow_private_targets: comma-separated CIDR ranges deliveries may "
          "reach although private or loopback (development and tests only)");
ABSL_FLAG(std::string, extra_ca_file, "",
          "Overrides extra_ca_file: PEM CA certificates trusted for deliveries");
ABSL_FLAG(std::vector<std::string>, admin_token_sha256, {},
          "Adds admin tokens by their hex SHA-256 (scripts/run.sh passes the dev token)");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "How long in-flight RPCs may run after SIGTERM before they are cancelled");

namespace wink::webhooks {
namespace {

constexpr char kVersion[] = "0.1.0";

int Fatal(int exit_code, absl::string_view what, const absl::Status& status) {
  LogLine(LogLevel::kError, "fatal").Field("what", what).Field("error", status.message());
  std::fprintf(stderr, "wink-webhooks-server: %s: %s\n", std::string(what).c_str(),
               std::string(status.message()).c_str());
  return exit_code;
}

config::ConfigOverrides OverridesFromFlags() {
  config::ConfigOverrides overrides;
  if (!absl::GetFlag(FLAGS_listen).empty()) overrides.listen_address = absl::GetFlag(FLAGS_listen);
  if (!absl::GetFlag(FLAGS_data_dir).empty()) overrides.data_dir = absl::GetFlag(FLAGS_data_dir);
  if (!absl::GetFlag(FLAGS_extra_ca_file).empty()) {
    overrides.extra_ca_file = absl::GetFlag(FLAGS_extra_ca_file);
  }
  if (!absl::GetFlag(FLAGS_allow_private_targets).empty()) {
    overrides.allow_private_targets = absl::GetFlag(FLAGS_allow_private_targets);
  }
  overrides.admin_token_sha256 = absl::GetFlag(FLAGS_admin_token_sha256);
  return overrides;
}

// Blocks SIGINT and SIGTERM in this thread and every thread started after it,
// so that WaitForShutdownSignal() is the only place that sees them.
sigset_t BlockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

int WaitForShutdownSignal(const sigset_t& signals) {
  int signal_number = 0;
  while (sigwait(&signals, &signal_number) != 0) {
  }
  return signal_number;
}

int Run(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Wink Webhooks gRPC server.\n  wink-webhooks-server [--config FILE] [--listen "
      "HOST:PORT] [--data_dir DIR] [--allow_private_targets CIDR,...] [--extra_ca_file "
      "PEM] [--admin_token_sha256 HEX]");
  absl::ParseCommandLine(argc, argv);
  const sigset_t signals = BlockShutdownSignals();

  auto loaded = config::LoadServerConfig(absl::GetFlag(FLAGS_config), OverridesFromFlags());
  if (!loaded.ok()) return Fatal(2, "invalid configuration", loaded.status());
  const config::ServerConfig& cfg = *loaded;
  if (!cfg.allow_private_targets().empty()) {
    LogLine(LogLevel::kWarning, "ssrf_guard_relaxed")
        .Field("allow_private_targets", absl::StrJoin(cfg.allow_private_targets(), ","))
        .Field("note", "deliveries may reach these private/loopback ranges; never do this "
                       "in production");
  }

  storage::StorageOptions storage_options;
  storage_options.data_dir = cfg.data_dir();
  storage_options.sync_writes =
      cfg.storage().sync_mode() != config::v1::StorageConfig::SYNC_MODE_OS_BUFFERED;
  auto storage = storage::Storage::Open(storage_options);
  if (!storage.ok()) return Fatal(1, "cannot open storage", storage.status());

  const auth::Authenticator authenticator(cfg);
  const api::EventCatalog catalog(cfg);
  IdGenerator ids(SystemClock());
  api::WebhookServiceOptions webhook_options;
  webhook_options.max_webhooks_per_account = cfg.limits().max_webhooks_per_account();
  webhook_options.secret_rotation_overlap =
      absl::Seconds(cfg.secret_rotation_overlap().seconds()) +
      absl::Nanoseconds(cfg.secret_rotation_overlap().nanos());
  webhook_options.request_id_retention = absl::Seconds(cfg.request_id_retention().seconds()) +
                                         absl::Nanoseconds(cfg.request_id_retention().nanos());
  api::WebhookServiceImpl webhook_service((*storage)->webhooks(), authenticator, catalog,
                                          SystemClock(), ids, webhook_options);
  api::HealthService health_service(
      {std::string(v1::WebhookService::service_full_name())});

  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(cfg.listen_address(), grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&webhook_service);
  builder.RegisterService(&health_service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return Fatal(1, "cannot start gRPC server",
                 absl::UnavailableError(absl::StrCat("cannot listen on \"",
                                                     cfg.listen_address(), "\"")));
  }
  const std::string host = cfg.listen_address().substr(0, cfg.listen_address().rfind(':'));
  LogLine(LogLevel::kInfo, "server_started")
      .Field("version", kVersion)
      .Field("listen", absl::StrCat(host, ":", port))
      .Field("data_dir", cfg.data_dir())
      .Field("tokens", static_cast<int64_t>(cfg.tokens_size()))
      .Field("event_types", static_cast<int64_t>(cfg.event_types_size()));

  const int signal_number = WaitForShutdownSignal(signals);
  LogLine(LogLevel::kInfo, "shutdown_started").Field("signal", strsignal(signal_number));
  health_service.Shutdown();
  const absl::Time deadline = absl::Now() + absl::GetFlag(FLAGS_shutdown_grace);
  server->Shutdown(absl::ToChronoTime(deadline));
  server->Wait();
  server.reset();
  storage->reset();
  LogLine(LogLevel::kInfo, "shutdown_complete");
  return 0;
}

}  // namespace
}  // namespace wink::webhooks

int main(int argc, char** argv) { return wink::webhooks::Run(argc, argv); }
