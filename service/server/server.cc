#include "service/server/server.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "service/api/application_directory.h"
#include "service/api/application_service.h"
#include "service/api/delivery_service.h"
#include "service/api/event_catalog.h"
#include "service/api/health_service.h"
#include "service/api/webhook_service.h"
#include "service/auth/authenticator.h"
#include "service/auth/key_registry.h"
#include "service/common/ip_range.h"
#include "service/common/log.h"
#include "service/common/random.h"
#include "service/common/status_macros.h"
#include "service/config/listener_tls.h"
#include "service/delivery/engine.h"
#include "service/delivery/status_bus.h"
#include "service/http/http_client.h"
#include "service/metrics/metrics_server.h"
#include "service/metrics/service_metrics.h"
#include "service/secrets/keyring.h"
#include "service/server/storage_metrics.h"
#include "service/storage/factory.h"

namespace wink::webhooks {

namespace {

// `listen` ("host:port" as configured) with `port` instead of its port.
std::string WithPort(const std::string& listen, int port) {
  return absl::StrCat(listen.substr(0, listen.rfind(':')), ":", port);
}

// Plaintext without `tls`; TLS, and with a client CA mutual TLS, with it.
std::shared_ptr<grpc::ServerCredentials> ListenerCredentials(
    const std::optional<config::ListenerTlsFiles>& tls) {
  if (!tls.has_value()) return grpc::InsecureServerCredentials();
  // Without a client CA no certificate is asked for; with one, a client
  // without a certificate (or with one no listed CA signed) fails the
  // handshake and never reaches a handler.
  grpc::SslServerCredentialsOptions options(
      tls->client_ca_pem.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                 : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = tls->client_ca_pem;
  options.pem_key_cert_pairs.push_back({tls->private_key_pem, tls->certificate_chain_pem});
  return grpc::SslServerCredentials(options);
}

// What the start log line says of the listener.
std::string ListenerSecurity(const config::ServerConfig& config) {
  if (config.tls().cert_file().empty()) {
    return config::IsLoopbackListenAddress(config.listen_address()) ? "plaintext"
                                                                    : "plaintext_non_loopback";
  }
  return config.tls().client_ca_file().empty() ? "tls" : "mutual_tls";
}

}  // namespace

Server::Server() = default;

Server::~Server() { Shutdown(absl::ZeroDuration()); }

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const config::ServerConfig& config,
                                                      const Clock& clock) {
  // The PEM files are read now (validation read them too, but they may have
  // changed since): a bad file stops the start before anything runs.
  WINK_ASSIGN_OR_RETURN(const std::optional<config::ListenerTlsFiles> tls,
                        config::ReadListenerTlsFiles(config.tls()));
  const std::shared_ptr<grpc::ServerCredentials> listener_credentials = ListenerCredentials(tls);

  auto server = std::unique_ptr<Server>(new Server());
  server->config_ = config;
  // The HTTP client logs a warning (ssrf_guard_relaxed) when
  // allow_private_targets opens private ranges.

  // First, so a taken metrics port fails the start before anything else
  // (storage, threads) has to be undone.
  if (!config.metrics_listen_address().empty()) {
    WINK_ASSIGN_OR_RETURN(
        server->metrics_server_,
        metrics::MetricsServer::Start(config.metrics_listen_address(), metrics::RenderGlobal));
  }
  metrics::Global().build_info().WithLabels({kServerVersion}).Set(1);

  if (config.secrets_key_file().empty()) {
    LogLine(LogLevel::kWarning, "secrets_unencrypted")
        .Field("detail", "signing secrets and custom header values are stored in plaintext")
        .Field("fix", "start with --secrets_key_file (docs/OPERATIONS.md, \"Secrets at rest\")");
  } else {
    WINK_ASSIGN_OR_RETURN(server->keyring_, secrets::Keyring::LoadFile(config.secrets_key_file()));
    LogLine(LogLevel::kInfo, "secrets_encrypted").Field("sealing_key_id", server->keyring_.sealing_key_id());
  }

  server->health_service_ = std::make_unique<api::HealthService>(std::vector<std::string>{
      std::string(v1::WebhookService::service_full_name()),
      std::string(v1::DeliveryService::service_full_name()),
      std::string(v1::ApplicationService::service_full_name())});
  server->storage_metrics_ = std::make_unique<StorageMetrics>();
  // A disk that stops taking writes makes the server NOT_SERVING until it
  // takes them again (load balancers and probes see it).
  server->storage_metrics_->SetWritabilityListener(
      [health = server->health_service_.get()](bool writable) { health->SetServing(writable); });
  WINK_ASSIGN_OR_RETURN(server->storage_,
                        storage::OpenBackend(config, clock, server->storage_metrics_.get()));
  server->storage_metrics_->WatchBackend(*server->storage_);

  const config::v1::DeliveryConfig& delivery = config.delivery();
  http::HttpClientOptions http_options;
  http_options.connect_timeout = config::ConfigDuration(delivery.connect_timeout());
  http_options.request_timeout = config::ConfigDuration(delivery.request_timeout());
  for (const std::string& cidr : config.allow_private_targets()) {
    WINK_ASSIGN_OR_RETURN(IpRange range, IpRange::Parse(cidr));
    http_options.allowed_private_ranges.push_back(range);
  }
  http_options.extra_ca_files.assign(config.extra_ca_file().begin(), config.extra_ca_file().end());
  http_options.user_agent = absl::StrCat("wink-webhooks/", kServerVersion);
  http_options.max_connections = std::max(64, delivery.max_in_flight() * 2);
  WINK_ASSIGN_OR_RETURN(server->http_client_, http::NewCurlHttpClient(http_options));

  server->status_bus_ = std::make_unique<delivery::StatusBus>(
      server->storage_->updates(), server->storage_->updates().LastSequence());
  server->storage_->updates().AddListener(server->status_bus_.get());
  delivery::EngineOptions engine_options;
  engine_options.retry_schedule.clear();
  for (const auto& step : delivery.retry_schedule()) {
    engine_options.retry_schedule.push_back(config::ConfigDuration(step));
  }
  engine_options.max_retry_after = config::ConfigDuration(delivery.max_retry_after());
  engine_options.disable_after_failing_for = config::ConfigDuration(delivery.disable_after_failing_for());
  engine_options.max_in_flight = delivery.max_in_flight();
  engine_options.max_in_flight_per_webhook = delivery.max_in_flight_per_webhook();
  engine_options.max_in_flight_per_account = delivery.max_in_flight_per_account();
  engine_options.event_retention = config::ConfigDuration(config.event_retention());
  storage::StorageBackend& backend = *server->storage_;
  server->engine_ = std::make_unique<delivery::DeliveryEngine>(
      delivery::EngineStorage{backend.deliveries(), backend.due_queue(), backend.retention()},
      *server->http_client_, server->keyring_, clock, SystemRandom(), engine_options);
  backend.updates().AddListener(server->engine_.get());
  server->engine_->Start();

  // Applications' keys: loaded before the first call is served, kept in
  // step with storage by the directory (with PostgreSQL, also with what
  // other nodes change).
  server->key_registry_ = std::make_unique<auth::KeyRegistry>();
  api::ApplicationDirectoryOptions directory_options;
  if (config.storage().has_postgres()) directory_options.full_reload_interval = absl::Seconds(30);
  server->application_directory_ = std::make_unique<api::ApplicationDirectory>(
      backend.applications(), *server->key_registry_, clock, directory_options);
  WINK_RETURN_IF_ERROR(server->application_directory_->Load());
  server->authenticator_ =
      std::make_unique<auth::Authenticator>(config, server->key_registry_.get(), clock);
  server->authenticator_->SetUseRecorder(
      [directory = server->application_directory_.get()](const auth::Principal& key,
                                                         absl::Time when) {
        directory->RecordUse(key.application_account(), key.application_id(), when);
      });
  server->application_service_ = std::make_unique<api::ApplicationServiceImpl>(
      backend.applications(), *server->application_directory_, *server->authenticator_, clock);
  server->catalog_ = std::make_unique<api::EventCatalog>(config);
  api::WebhookServiceOptions webhook_options;
  webhook_options.max_webhooks_per_account = config.limits().max_webhooks_per_account();
  webhook_options.secret_rotation_overlap = config::ConfigDuration(config.secret_rotation_overlap());
  webhook_options.request_id_retention = config::ConfigDuration(config.request_id_retention());
  webhook_options.idempotency_key_retention = config::ConfigDuration(config.idempotency_key_retention());
  webhook_options.allowed_private_targets = http_options.allowed_private_ranges;
  webhook_options.publish_rate.events_per_second = config.limits().publish_rate_per_account();
  webhook_options.publish_rate.burst = config.limits().publish_burst_per_account();
  webhook_options.stored_quota.max_events = config.limits().max_stored_events_per_account();
  webhook_options.stored_quota.max_bytes = config.limits().max_stored_bytes_per_account();
  webhook_options.stored_quota.retention = config::ConfigDuration(config.event_retention());
  server->webhook_service_ = std::make_unique<api::WebhookServiceImpl>(
      backend.webhooks(), backend.events(), backend.deliveries(), *server->authenticator_,
      *server->catalog_, server->keyring_, clock, webhook_options);
  server->resealer_ = std::make_unique<SecretsResealer>(backend.webhooks(), server->keyring_);
  api::WatchLimits watch_limits;
  watch_limits.max_streams = config.limits().max_watch_streams();
  watch_limits.max_streams_per_account = config.limits().max_watch_streams_per_account();
  server->keyed_streams_ = std::make_unique<api::KeyedStreams>(clock, absl::Seconds(1));
  server->key_registry_->AddShortenedListener(
      [streams = server->keyed_streams_.get()] { streams->CheckNow(); });
  server->delivery_service_ = std::make_unique<api::DeliveryServiceImpl>(
      backend.deliveries(), backend.webhooks(), backend.events(), *server->status_bus_,
      *server->authenticator_, clock, watch_limits, server->keyed_streams_.get());

  // Registers reflection with every ServerBuilder made after this call.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen_address(), listener_credentials, &server->port_);
  // gRPC sets SO_REUSEPORT by default: a second server on the same address
  // would then bind too and the kernel would split connections between the
  // two (half the calls reaching another data dir and tokens). Refuse it.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Connections of clients that vanished (a laptop closed, a NAT dropping
  // state) would otherwise keep their watch streams open for good: ping
  // idle connections every 2 minutes and close those that do not answer in
  // 20 s. Clients may ping every 10 s (the C++ client does not need to).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 120 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10 * 1000);
  // Calls at once per HTTP/2 connection (gRPC's default is unbounded);
  // more wait in the client for a free stream.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 1000);
  // gRPC reads the whole message before any handler (and authentication)
  // runs: keep what an anonymous caller can make us buffer small.
  builder.SetMaxReceiveMessageSize(config.limits().max_request_bytes());
  builder.RegisterService(server->webhook_service_.get());
  builder.RegisterService(server->delivery_service_.get());
  builder.RegisterService(server->application_service_.get());
  builder.RegisterService(server->health_service_.get());
  server->grpc_server_ = builder.BuildAndStart();
  if (server->grpc_server_ == nullptr || server->port_ == 0) {
    server->grpc_server_.reset();
    return absl::UnavailableError(absl::StrCat("cannot listen on \"", config.listen_address(),
                                               "\" (address in use or not local?)"));
  }
  LogLine(LogLevel::kInfo, "server_started")
      .Field("listen", server->address())
      .Field("metrics", server->metrics_port() != 0 ? server->metrics_address() : "-")
      .Field("transport", ListenerSecurity(config))
      .Field("storage", config.storage().has_postgres()
                            ? absl::StrCat("postgres ", config::RedactConninfo(
                                                            config.storage().postgres().conninfo()))
                            : absl::StrCat("rocksdb ", config.data_dir()))
      .Field("node_id", config.node_id())
      .Field("tokens", static_cast<int64_t>(config.tokens_size()))
      .Field("event_types", static_cast<int64_t>(config.event_types_size()));
  return server;
}

std::string Server::address() const { return WithPort(config_.listen_address(), port_); }

int Server::metrics_port() const {
  return metrics_server_ != nullptr ? metrics_server_->port() : 0;
}

std::string Server::metrics_address() const {
  return metrics_server_ != nullptr
             ? WithPort(config_.metrics_listen_address(), metrics_server_->port())
             : std::string();
}

namespace {

// Names of the fields of `a` and `b` (same message type) that differ,
// without their values (a conninfo may hold a password), prefixed with
// `prefix`.
std::vector<std::string> ChangedFields(const google::protobuf::Message& a,
                                       const google::protobuf::Message& b,
                                       absl::string_view prefix) {
  const google::protobuf::Descriptor* descriptor = a.GetDescriptor();
  std::vector<std::string> changed;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    google::protobuf::util::MessageDifferencer differ;
    for (int j = 0; j < descriptor->field_count(); ++j) {
      if (j != i) differ.IgnoreField(descriptor->field(j));
    }
    if (!differ.Compare(a, b)) changed.push_back(absl::StrCat(prefix, descriptor->field(i)->name()));
  }
  return changed;
}

// The limits a running server can change (see ReloadConfig).
void CopyReloadableLimits(const config::v1::Limits& from, config::v1::Limits& to) {
  to.set_max_webhooks_per_account(from.max_webhooks_per_account());
  to.set_publish_rate_per_account(from.publish_rate_per_account());
  to.set_publish_burst_per_account(from.publish_burst_per_account());
  to.set_max_stored_events_per_account(from.max_stored_events_per_account());
  to.set_max_stored_bytes_per_account(from.max_stored_bytes_per_account());
  to.set_max_watch_streams(from.max_watch_streams());
  to.set_max_watch_streams_per_account(from.max_watch_streams_per_account());
}

}  // namespace

void Server::ReloadConfig(const config::ServerConfig& config) {
  if (webhook_service_ == nullptr) return;  // shut down
  // What would apply if only the reloadable parts changed: anything else
  // that differs needs a restart.
  config::ServerConfig applied = config_;
  *applied.mutable_tokens() = config.tokens();
  CopyReloadableLimits(config.limits(), *applied.mutable_limits());
  std::vector<std::string> needs_restart = ChangedFields(applied, config, "");
  needs_restart.erase(std::remove(needs_restart.begin(), needs_restart.end(), "limits"),
                      needs_restart.end());
  for (std::string& field : ChangedFields(applied.limits(), config.limits(), "limits.")) {
    needs_restart.push_back(std::move(field));
  }
  const std::vector<std::string> limits_changed =
      ChangedFields(config_.limits(), applied.limits(), "limits.");

  const int tokens_ended = authenticator_->ReplaceTokens(applied);
  if (tokens_ended > 0) keyed_streams_->CheckNow();
  const config::v1::Limits& limits = applied.limits();
  api::PublishRateLimits publish_rate;
  publish_rate.events_per_second = limits.publish_rate_per_account();
  publish_rate.burst = limits.publish_burst_per_account();
  storage::StoredQuota stored_quota;
  stored_quota.max_events = limits.max_stored_events_per_account();
  stored_quota.max_bytes = limits.max_stored_bytes_per_account();
  webhook_service_->SetLimits(limits.max_webhooks_per_account(), publish_rate, stored_quota);
  api::WatchLimits watch_limits;
  watch_limits.max_streams = limits.max_watch_streams();
  watch_limits.max_streams_per_account = limits.max_watch_streams_per_account();
  delivery_service_->SetWatchLimits(watch_limits);
  config_ = applied;

  LogLine(LogLevel::kInfo, "config_reloaded")
      .Field("tokens", static_cast<int64_t>(applied.tokens_size()))
      .Field("tokens_ended", static_cast<int64_t>(tokens_ended))
      .Field("limits_changed", limits_changed.empty() ? "-" : absl::StrJoin(limits_changed, ","));
  if (!needs_restart.empty()) {
    LogLine(LogLevel::kWarning, "config_reload_needs_restart")
        .Field("fields", absl::StrJoin(needs_restart, ","))
        .Field("detail", "these changes are not applied until the server restarts");
  }
}

void Server::Shutdown(absl::Duration grace) {
  // Also tears down a server whose Start failed half way (no gRPC server).
  if (storage_ == nullptr) return;
  const absl::Time deadline = absl::Now() + grace;
  if (health_service_ != nullptr) health_service_->Shutdown();
  if (grpc_server_ != nullptr) {
    // Watch streams never end on their own: end them (UNAVAILABLE, with the
    // cursor to resume from) so the gRPC shutdown does not wait for them.
    status_bus_->Close();
    grpc_server_->Shutdown(absl::ToChronoTime(deadline));
    grpc_server_->Wait();
    grpc_server_.reset();
  }
  // Attempts in flight get what is left of the grace period; their results
  // are written before storage closes.
  if (engine_ != nullptr) {
    const absl::Duration left = std::max(deadline - absl::Now(), absl::ZeroDuration());
    const int in_flight = engine_->in_flight();
    // Otherwise a hanging receiver makes the shutdown look stuck: say what
    // it waits for and for how long.
    if (in_flight > 0) {
      LogLine(LogLevel::kInfo, "shutdown_waiting")
          .Field("deliveries_in_flight", static_cast<int64_t>(in_flight))
          .Field("up_to", absl::FormatDuration(absl::Ceil(left, absl::Milliseconds(100))))
          .Field("then", "unfinished attempts are cancelled and retried after the next start");
    }
    engine_->Shutdown(left);
  }
  resealer_.reset();  // stops its pass between two webhooks
  // Recoveries end after their page in progress, while writes still work.
  if (delivery_service_ != nullptr) delivery_service_->StopRecoveries();
  // No call comes any more; the directory's thread finishes recording key
  // uses while storage still takes writes.
  application_service_.reset();
  application_directory_.reset();
  storage_->StopWrites();
  if (engine_ != nullptr) storage_->updates().RemoveListener(engine_.get());
  if (status_bus_ != nullptr) storage_->updates().RemoveListener(status_bus_.get());
  storage_metrics_->StopWatching();
  // The services hold references into storage: close it last.
  webhook_service_.reset();
  delivery_service_.reset();
  keyed_streams_.reset();
  engine_.reset();
  status_bus_.reset();
  http_client_.reset();
  storage_.reset();
  // Last, so the shutdown itself can be watched.
  if (metrics_server_ != nullptr) metrics_server_->Stop();
  // A server that never listened (its start failed) has nothing to report.
  if (port_ != 0) LogLine(LogLevel::kInfo, "server_stopped").Field("listen", address());
}

}  // namespace wink::webhooks
