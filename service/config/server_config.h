// Loading and validating the server configuration
// (proto/wink/webhooks/config/v1/server_config.proto).
//
// Order: the text-format file, then command-line overrides, then defaults for
// everything left unset, then validation. The result is complete: callers
// never need to apply defaults themselves.
#ifndef WINK_WEBHOOKS_SERVICE_CONFIG_SERVER_CONFIG_H_
#define WINK_WEBHOOKS_SERVICE_CONFIG_SERVER_CONFIG_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "wink/webhooks/config/v1/server_config.pb.h"

namespace wink::webhooks::config {

using ::wink::webhooks::config::v1::ServerConfig;

inline constexpr absl::string_view kDefaultListenAddress = "127.0.0.1:50051";
inline constexpr absl::string_view kDefaultDataDir = "./var/data";
inline constexpr int kDefaultMaxWebhooksPerAccount = 100;
inline constexpr int kDefaultMaxRequestBytes = 1 << 20;
inline constexpr int kDefaultMaxWatchStreams = 1000;
inline constexpr int kDefaultMaxWatchStreamsPerAccount = 100;
inline constexpr int kDefaultMaxInFlight = 256;
inline constexpr int kDefaultMaxInFlightPerWebhook = 16;
inline constexpr int kDefaultRocksDbMemoryBudgetMib = 128;
inline constexpr int kDefaultPostgresIdleReadConnections = 8;

// Command-line values that replace the file's. Unset optionals keep the
// file's value.
struct ConfigOverrides {
  std::optional<std::string> listen_address;
  std::optional<std::string> data_dir;
  std::optional<std::vector<std::string>> allow_private_targets;
  std::optional<std::vector<std::string>> extra_ca_file;
  std::optional<std::string> metrics_listen_address;
  // "rocksdb" or "postgres": which storage backend (`storage` oneof).
  std::optional<std::string> storage_backend;
  // storage.postgres.conninfo; implies the postgres backend.
  std::optional<std::string> postgres_conninfo;
  std::optional<std::string> node_id;
  std::optional<std::string> secrets_key_file;
  // tls.cert_file, tls.key_file, tls.client_ca_file (--tls_cert, --tls_key,
  // --tls_client_ca).
  std::optional<std::string> tls_cert_file;
  std::optional<std::string> tls_key_file;
  std::optional<std::string> tls_client_ca_file;
  // allow_plaintext_non_loopback (--allow_plaintext_non_loopback).
  std::optional<bool> allow_plaintext_non_loopback;
  // Each entry adds an admin token with this SHA-256 (hex), named "dev",
  // "dev-2", ...
  std::vector<std::string> admin_token_sha256;
};

// Parses text-format `text` (the contents of `source_name`, used in error
// messages). INVALID_ARGUMENT with line and column on syntax errors or
// unknown fields.
absl::StatusOr<ServerConfig> ParseServerConfig(absl::string_view text,
                                               absl::string_view source_name);

// Reads `path` (skipped when empty), applies `overrides` and defaults, and
// validates. NOT_FOUND if the file cannot be read; INVALID_ARGUMENT naming
// the field for an invalid value.
absl::StatusOr<ServerConfig> LoadServerConfig(absl::string_view path,
                                              const ConfigOverrides& overrides);

// Fills every unset field with its default, in place.
void ApplyDefaults(ServerConfig& config);

// Checks a config that has its defaults applied. INVALID_ARGUMENT whose
// message starts with the field path, e.g. "tokens[1].sha256: ...". Reads
// the files the config names (extra_ca_file, the `tls` PEM files, see
// config/listener_tls.h). A plaintext listener (no `tls`) on an address that
// is not loopback is refused ("listen_address: ...") unless
// allow_plaintext_non_loopback is set: every call carries a bearer token.
absl::Status ValidateServerConfig(const ServerConfig& config);

// A protobuf Duration of the config as absl::Duration.
absl::Duration ConfigDuration(const google::protobuf::Duration& duration);

// `conninfo` (libpq "key=value ..." or a postgresql:// URI) with any
// password replaced by "(hidden)", for logs and --check_config.
std::string RedactConninfo(absl::string_view conninfo);

// The built-in event catalogue of a hotel-booking platform.
std::vector<v1::EventTypeConfig> DefaultEventTypes();

}  // namespace wink::webhooks::config

#endif  // WINK_WEBHOOKS_SERVICE_CONFIG_SERVER_CONFIG_H_
