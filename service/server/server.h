// The assembled service: storage, authentication, the gRPC services, health
// and reflection, listening on the configured address. main.cc and the
// integration tests both start the service through this class, so tests run
// exactly what ships.
#ifndef WINK_WEBHOOKS_SERVICE_SERVER_SERVER_H_
#define WINK_WEBHOOKS_SERVICE_SERVER_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/common/clock.h"
#include "service/config/server_config.h"
#include "service/secrets/keyring.h"
#include "service/server/secrets_resealer.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace wink::webhooks {

namespace api {
class ApplicationDirectory;
class ApplicationServiceImpl;
class DeliveryServiceImpl;
class KeyedStreams;
class EventCatalog;
class HealthService;
class WebhookServiceImpl;
}  // namespace api
namespace delivery {
class DeliveryEngine;
class StatusBus;
}  // namespace delivery
namespace http {
class HttpClient;
}  // namespace http
namespace metrics {
class MetricsServer;
}  // namespace metrics
namespace auth {
class Authenticator;
class KeyRegistry;
}  // namespace auth
namespace storage {
class StorageBackend;
}  // namespace storage
class StorageMetrics;

// Version of the service, logged at start and sent in the User-Agent of
// deliveries.
inline constexpr absl::string_view kServerVersion = "0.2.0";

class Server {
 public:
  // Opens storage, starts the delivery engine (which resumes whatever the
  // due queue holds) and starts serving; with metrics_listen_address set,
  // also the Prometheus endpoint (metrics/metrics_server.h, serving the
  // process-wide metrics/service_metrics.h). `config` must come from
  // config::LoadServerConfig (defaults applied, validated). `clock` must
  // outlive the server. With `tls` set the listener serves TLS (mutual TLS
  // with tls.client_ca_file); its PEM files are read here, once. Errors:
  // INVALID_ARGUMENT naming the tls field when one of its files cannot be
  // read or parsed (config/listener_tls.h); those of storage::OpenBackend
  // (FAILED_PRECONDITION when the data directory is in use), UNAVAILABLE when
  // the address or the metrics address cannot be bound.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const config::ServerConfig& config,
                                                       const Clock& clock = SystemClock());

  // Shuts down (see Shutdown) if still running.
  ~Server();

  // The bound port (the real one when the config asked for port 0).
  int port() const { return port_; }
  // "host:port" with the bound port, for clients.
  std::string address() const;

  // The bound port of the metrics endpoint; 0 when there is none.
  int metrics_port() const;
  // "host:port" of the metrics endpoint with the bound port; "" when there
  // is none.
  std::string metrics_address() const;

  // The delivery engine, for tests (Wake after moving a fake clock,
  // PurgeExpired). Null after Shutdown.
  delivery::DeliveryEngine* delivery_engine() { return engine_.get(); }

  // Applies `config` (from config::LoadServerConfig: defaults applied,
  // validated) to the running server, without dropping a connection:
  // - its tokens replace the configured ones; a token removed or changed
  //   stops working at once, and its open watch streams end UNAUTHENTICATED;
  // - limits.max_webhooks_per_account, publish_rate_per_account,
  //   publish_burst_per_account, max_stored_events_per_account,
  //   max_stored_bytes_per_account, max_watch_streams and
  //   max_watch_streams_per_account apply to calls from now on.
  // Any other change (listen address, storage, TLS, delivery settings,
  // limits.max_request_bytes, ...) needs a restart: it is not applied, and a
  // `config_reload_needs_restart` warning names the fields. Logs
  // `config_reloaded` with what changed (never token hashes). Thread-safe
  // against calls; not against another ReloadConfig or Shutdown.
  void ReloadConfig(const config::ServerConfig& config);

  // Stops accepting calls, reports NOT_SERVING, ends watch streams, lets
  // in-flight calls and delivery attempts finish until `grace` has passed
  // (attempts that finish are recorded), cancels the rest, and closes
  // storage. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  Server();

  config::ServerConfig config_;
  // The master keys of secrets_key_file (none without one); the engine and
  // the webhook service hold references to it.
  secrets::Keyring keyring_;
  // Serves the process-wide registry only, so it may outlive everything
  // below; the owners of callback metrics unregister them themselves.
  std::unique_ptr<metrics::MetricsServer> metrics_server_;
  std::unique_ptr<StorageMetrics> storage_metrics_;
  std::unique_ptr<storage::StorageBackend> storage_;
  std::unique_ptr<http::HttpClient> http_client_;
  std::unique_ptr<delivery::StatusBus> status_bus_;
  std::unique_ptr<delivery::DeliveryEngine> engine_;
  std::unique_ptr<auth::KeyRegistry> key_registry_;
  std::unique_ptr<api::ApplicationDirectory> application_directory_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<api::ApplicationServiceImpl> application_service_;
  std::unique_ptr<api::EventCatalog> catalog_;
  std::unique_ptr<api::WebhookServiceImpl> webhook_service_;
  // Re-encrypts webhooks not sealed with the first key, once, at start.
  std::unique_ptr<SecretsResealer> resealer_;
  std::unique_ptr<api::KeyedStreams> keyed_streams_;
  std::unique_ptr<api::DeliveryServiceImpl> delivery_service_;
  std::unique_ptr<api::HealthService> health_service_;
  std::unique_ptr<grpc::Server> grpc_server_;
  int port_ = 0;
};

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_SERVER_SERVER_H_
