// wink-webhooks-server: wires the modules together, serves gRPC until
// SIGTERM/SIGINT, then shuts down gracefully. SIGHUP reloads the config
// file's tokens and limits.
//
// Exit codes: 0 after a graceful shutdown, 2 for a configuration error, 1 when
// the server cannot start (data directory in use, port taken, ...), 128+N when
// a second signal N cut the graceful shutdown short.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/common/log.h"
#include "google/protobuf/text_format.h"
#include "service/config/command_line.h"
#include "service/config/server_config.h"
#include "service/server/server.h"

ABSL_FLAG(std::string, config, "", "Text-format ServerConfig file (see README)");
ABSL_FLAG(std::string, listen, "", "Overrides listen_address, e.g. 127.0.0.1:50051");
ABSL_FLAG(std::string, data_dir, "", "Overrides data_dir (RocksDB directory)");
ABSL_FLAG(std::string, storage, "",
          "Overrides the storage backend: rocksdb (embedded, in --data_dir; the default) or "
          "postgres (a PostgreSQL database several nodes may share; see docs/CLUSTER.md)");
ABSL_FLAG(std::string, postgres, "",
          "Overrides storage.postgres.conninfo, the libpq connection string, e.g. "
          "\"host=db1,db2 dbname=webhooks target_session_attrs=read-write\"; implies "
          "--storage postgres");
ABSL_FLAG(std::string, node_id, "",
          "Overrides node_id, this node's name in a cluster (default <hostname>-<pid>)");
ABSL_FLAG(std::string, secrets_key_file, "",
          "Overrides secrets_key_file: the master keys (\"<id> <base64 of 32 bytes>\" per line, "
          "the first sealing) that encrypt signing secrets and custom header values at rest");
ABSL_FLAG(std::vector<std::string>, allow_private_targets, {},
          "Overrides allow_private_targets: comma-separated CIDR ranges deliveries may "
          "reach although private or loopback (development and tests only)");
ABSL_FLAG(std::vector<std::string>, extra_ca_file, {},
          "Overrides extra_ca_file: PEM files (each may be a bundle) of CA certificates trusted "
          "for deliveries, comma-separated or the flag repeated");
ABSL_FLAG(std::vector<std::string>, admin_token_sha256, {},
          "Adds admin tokens by their hex SHA-256 (scripts/run.sh passes the dev token)");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "How long in-flight RPCs may run after SIGTERM before they are cancelled");
ABSL_FLAG(std::string, metrics_listen, "",
          "Overrides metrics_listen_address: HOST:PORT of the plain-HTTP Prometheus endpoint "
          "(GET /metrics), e.g. 127.0.0.1:9464; port 0 picks a free one");
ABSL_FLAG(std::string, tls_cert, "",
          "Overrides tls.cert_file: PEM certificate (chain, leaf first) of the gRPC listener; "
          "with --tls_key the listener serves TLS");
ABSL_FLAG(std::string, tls_key, "",
          "Overrides tls.key_file: PEM private key of --tls_cert (unencrypted; never logged)");
ABSL_FLAG(std::string, tls_client_ca, "",
          "Overrides tls.client_ca_file: PEM CA certificates for mutual TLS; every client must "
          "then present a certificate one of them signed (needs --tls_cert and --tls_key)");
ABSL_FLAG(bool, allow_plaintext_non_loopback, false,
          "Sets allow_plaintext_non_loopback: lets the gRPC listener run without TLS on an "
          "address that is not loopback, for deployments behind a TLS-terminating proxy or "
          "service mesh (otherwise the server refuses to start there)");
ABSL_FLAG(std::string, log_format, "text",
          "Log line format on stderr: text (key=value) or json (one object per line)");
ABSL_FLAG(bool, check_config, false,
          "Validate the configuration (file and flags), print it as the server would run it "
          "(text format, token hashes hidden) on stdout, and exit: 0 if valid, 2 if not");

namespace wink::webhooks {
namespace {

int Fatal(int exit_code, absl::string_view what, const absl::Status& status) {
  LogLine(LogLevel::kError, "fatal").Field("what", what).Field("error", status.message());
  return exit_code;
}

config::ConfigOverrides OverridesFromFlags() {
  config::ConfigOverrides overrides;
  if (!absl::GetFlag(FLAGS_listen).empty()) overrides.listen_address = absl::GetFlag(FLAGS_listen);
  if (!absl::GetFlag(FLAGS_data_dir).empty()) overrides.data_dir = absl::GetFlag(FLAGS_data_dir);
  if (!absl::GetFlag(FLAGS_storage).empty()) overrides.storage_backend = absl::GetFlag(FLAGS_storage);
  if (!absl::GetFlag(FLAGS_postgres).empty()) {
    overrides.postgres_conninfo = absl::GetFlag(FLAGS_postgres);
  }
  if (!absl::GetFlag(FLAGS_node_id).empty()) overrides.node_id = absl::GetFlag(FLAGS_node_id);
  if (!absl::GetFlag(FLAGS_secrets_key_file).empty()) {
    overrides.secrets_key_file = absl::GetFlag(FLAGS_secrets_key_file);
  }
  if (!absl::GetFlag(FLAGS_metrics_listen).empty()) {
    overrides.metrics_listen_address = absl::GetFlag(FLAGS_metrics_listen);
  }
  if (!absl::GetFlag(FLAGS_extra_ca_file).empty()) {
    overrides.extra_ca_file = absl::GetFlag(FLAGS_extra_ca_file);
  }
  if (!absl::GetFlag(FLAGS_allow_private_targets).empty()) {
    overrides.allow_private_targets = absl::GetFlag(FLAGS_allow_private_targets);
  }
  if (!absl::GetFlag(FLAGS_tls_cert).empty())
    overrides.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  if (!absl::GetFlag(FLAGS_tls_key).empty()) overrides.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  if (!absl::GetFlag(FLAGS_tls_client_ca).empty()) {
    overrides.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  }
  // Only "yes" overrides: the flag's default must not turn off the file's.
  if (absl::GetFlag(FLAGS_allow_plaintext_non_loopback)) {
    overrides.allow_plaintext_non_loopback = true;
  }
  overrides.admin_token_sha256 = absl::GetFlag(FLAGS_admin_token_sha256);
  return overrides;
}

// Blocks SIGINT, SIGTERM and SIGHUP in this thread and every thread started
// after it, so that WaitForSignal() is the only place that sees them.
sigset_t BlockHandledSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

int WaitForSignal(const sigset_t& signals) {
  int signal_number = 0;
  while (sigwait(&signals, &signal_number) != 0) {
  }
  return signal_number;
}

// SIGHUP: reads the config file again (with the same flags) and applies what
// a running server can change (Server::ReloadConfig). A config that does not
// load or validate changes nothing: it is logged, the running one stays.
void ReloadConfig(Server& server) {
  auto config = config::LoadServerConfig(absl::GetFlag(FLAGS_config), OverridesFromFlags());
  if (!config.ok()) {
    LogLine(LogLevel::kError, "config_reload_refused")
        .Field("error", config.status().message())
        .Field("detail", "the running configuration stays; fix the file and send SIGHUP again");
    return;
  }
  server.ReloadConfig(*config);
}

// Flags that name lists: given several times, they mean all the values.
constexpr absl::string_view kListFlags[] = {"extra_ca_file", "allow_private_targets",
                                            "admin_token_sha256"};

// The effective configuration for --check_config, without token hashes or
// a database password.
std::string PrintableConfig(config::ServerConfig config) {
  for (auto& token : *config.mutable_tokens()) token.set_sha256("(hidden)");
  if (config.storage().has_postgres()) {
    auto& postgres = *config.mutable_storage()->mutable_postgres();
    postgres.set_conninfo(config::RedactConninfo(postgres.conninfo()));
  }
  std::string text;
  google::protobuf::TextFormat::PrintToString(config, &text);
  return text;
}

int Run(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Wink Webhooks gRPC server.\n  wink-webhooks-server [--config FILE] [--listen "
      "HOST:PORT] [--data_dir DIR | --postgres CONNINFO] [--node_id NAME] [--secrets_key_file "
      "FILE] [--allow_private_targets CIDR,...] [--extra_ca_file "
      "PEM,...] [--admin_token_sha256 HEX] [--tls_cert PEM --tls_key PEM [--tls_client_ca "
      "PEM]] [--allow_plaintext_non_loopback] [--metrics_listen HOST:PORT] [--log_format "
      "text|json] [--check_config]");
  std::vector<std::string> args(argv, argv + argc);
  args = config::JoinRepeatedListFlags(args, kListFlags);
  std::vector<char*> joined_argv;
  for (std::string& arg : args) joined_argv.push_back(arg.data());
  absl::ParseCommandLine(static_cast<int>(joined_argv.size()), joined_argv.data());
  // Before anything logs, so every line has the chosen format.
  const absl::StatusOr<LogFormat> log_format = ParseLogFormat(absl::GetFlag(FLAGS_log_format));
  if (!log_format.ok()) return Fatal(2, "invalid flag", log_format.status());
  SetLogFormat(*log_format);
  const sigset_t signals = BlockHandledSignals();

  auto config = config::LoadServerConfig(absl::GetFlag(FLAGS_config), OverridesFromFlags());
  if (!config.ok()) return Fatal(2, "invalid configuration", config.status());
  if (absl::GetFlag(FLAGS_check_config)) {
    std::fputs(PrintableConfig(*config).c_str(), stdout);
    return 0;
  }
  auto server = Server::Start(*config);
  if (!server.ok()) return Fatal(1, "cannot start", server.status());
  LogLine(LogLevel::kInfo, "ready")
      .Field("version", kServerVersion)
      .Field("listen", (*server)->address())
      .Field("metrics", (*server)->metrics_port() != 0 ? (*server)->metrics_address() : "-");

  int signal_number = WaitForSignal(signals);
  while (signal_number == SIGHUP) {
    LogLine(LogLevel::kInfo, "config_reload_started").Field("config", absl::GetFlag(FLAGS_config));
    ReloadConfig(**server);
    signal_number = WaitForSignal(signals);
  }
  LogLine(LogLevel::kInfo, "shutdown_started")
      .Field("signal", strsignal(signal_number))
      .Field("grace", absl::FormatDuration(absl::GetFlag(FLAGS_shutdown_grace)))
      .Field("stop_now", "send the signal again (Ctrl-C)");
  // A second signal during the grace period means "stop now". Acknowledged
  // writes are already in the WAL, so exiting without cleanup loses nothing.
  std::thread([signals] {
    int second = WaitForSignal(signals);
    while (second == SIGHUP) second = WaitForSignal(signals);  // too late to reload
    LogLine(LogLevel::kWarning, "shutdown_forced").Field("signal", strsignal(second));
    std::_Exit(128 + second);
  }).detach();
  (*server)->Shutdown(absl::GetFlag(FLAGS_shutdown_grace));
  LogLine(LogLevel::kInfo, "shutdown_complete");
  return 0;
}

}  // namespace
}  // namespace wink::webhooks

int main(int argc, char** argv) {
  // Everything the server creates (the RocksDB files, their logs) is for its
  // own user only: 0600 files, 0700 directories.
  umask(077);
  // Debian's Abseil is built with Mutex deadlock detection on: every lock
  // then updates a global lock-order graph under its own global lock, which
  // profiles showed on the publish and delivery paths. The tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return wink::webhooks::Run(argc, argv);
}
