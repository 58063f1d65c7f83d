#include "service/config/server_config.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "service/common/errors.h"
#include "service/common/ip_range.h"
#include "service/common/resource_names.h"
#include "service/common/status_macros.h"
#include "service/config/listener_tls.h"

namespace wink::webhooks::config {
namespace {

using ::google::protobuf::Duration;

constexpr int64_t kSecondsPerHour = 3600;
constexpr int kMaxEventTypeNameLength = 128;
constexpr int kMaxWebhooksPerAccountCeiling = 100000;
constexpr int kMaxRequestBytesCeiling = 64 << 20;
constexpr int kMaxWatchStreamsCeiling = 100000;
constexpr int64_t kMaxDurationSeconds = 30 * 24 * kSecondsPerHour;
constexpr char kSha256OfEmptyString[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// Collects the first parse error with its position.
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (error_.empty()) error_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
  }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

bool IsNodeIdChar(char c) {
  return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-';
}

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(c) && (c < 'a' || c > 'f')) return false;
  }
  return true;
}

// "booking.created": 2-8 dot-separated segments of [a-z0-9_], each non-empty.
bool IsValidEventTypeName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxEventTypeNameLength) return false;
  const std::vector<absl::string_view> segments = absl::StrSplit(name, '.');
  if (segments.size() < 2 || segments.size() > 8) return false;
  for (absl::string_view segment : segments) {
    if (segment.empty()) return false;
    for (char c : segment) {
      if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') return false;
    }
  }
  return true;
}

// The contents of `path`, or nullopt unless it is a readable regular file
// (std::ifstream happily "opens" a directory on Linux).
std::optional<std::string> ReadRegularFile(absl::string_view path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(std::string(path), ec)) return std::nullopt;
  std::ifstream file{std::string(path)};
  if (!file) return std::nullopt;
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

absl::Status ValidateDuration(absl::string_view field, const Duration& d) {
  if (d.seconds() < 0 || d.nanos() < 0) return InvalidField(field, "must not be negative");
  if (d.seconds() > kMaxDurationSeconds) return InvalidField(field, "must be at most 30 days");
  return absl::OkStatus();
}

// Checks that `d` lies within [min, max]; `bounds` is how they read in the
// message, e.g. "between 1s and 7 days".
absl::Status ValidateDurationRange(absl::string_view field, const Duration& d, absl::Duration min,
                                   absl::Duration max, absl::string_view bounds) {
  const absl::Duration value = ConfigDuration(d);
  if (d.seconds() < 0 || d.nanos() < 0 || value < min || value > max) {
    return InvalidField(field, absl::StrCat("must be ", bounds));
  }
  return absl::OkStatus();
}

void SetIfUnset(Duration* duration, bool has, absl::Duration value) {
  if (has) return;
  duration->set_seconds(absl::ToInt64Seconds(value));
  duration->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(value - absl::Seconds(duration->seconds()))));
}

absl::Status ValidateDelivery(const v1::DeliveryConfig& delivery) {
  WINK_RETURN_IF_ERROR(ValidateDurationRange("delivery.connect_timeout", delivery.connect_timeout(),
                                             absl::Milliseconds(100), absl::Seconds(60),
                                             "between 100ms and 60s"));
  WINK_RETURN_IF_ERROR(ValidateDurationRange("delivery.request_timeout", delivery.request_timeout(),
                                             absl::Seconds(1), absl::Seconds(300),
                                             "between 1s and 300s"));
  // Whole durations: 1.2s is less than 1.5s although their seconds are equal.
  if (ConfigDuration(delivery.request_timeout()) < ConfigDuration(delivery.connect_timeout())) {
    return InvalidField("delivery.request_timeout", "must not be less than connect_timeout");
  }
  if (delivery.retry_schedule_size() < 1 || delivery.retry_schedule_size() > 50) {
    return InvalidField("delivery.retry_schedule", "must have 1-50 entries");
  }
  for (int i = 0; i < delivery.retry_schedule_size(); ++i) {
    WINK_RETURN_IF_ERROR(ValidateDurationRange(
        absl::StrCat("delivery.retry_schedule[", i, "]"), delivery.retry_schedule(i),
        absl::ZeroDuration(), absl::Hours(24 * 7), "between 0s and 7 days"));
  }
  WINK_RETURN_IF_ERROR(ValidateDurationRange("delivery.max_retry_after", delivery.max_retry_after(),
                                             absl::Seconds(1), absl::Hours(24),
                                             "between 1s and 24h"));
  WINK_RETURN_IF_ERROR(ValidateDurationRange(
      "delivery.disable_after_failing_for", delivery.disable_after_failing_for(),
      absl::Minutes(1), absl::Hours(24 * 365), "between 1m and 365 days"));
  if (delivery.max_in_flight() < 1 || delivery.max_in_flight() > 100000) {
    return InvalidField("delivery.max_in_flight", "must be between 1 and 100000");
  }
  if (delivery.max_in_flight_per_webhook() < 1 ||
      delivery.max_in_flight_per_webhook() > delivery.max_in_flight()) {
    return InvalidField("delivery.max_in_flight_per_webhook",
                        "must be between 1 and delivery.max_in_flight");
  }
  // 0: the default, set by ApplyDefaults.
  if (delivery.max_in_flight_per_account() != 0 &&
      (delivery.max_in_flight_per_account() < delivery.max_in_flight_per_webhook() ||
       delivery.max_in_flight_per_account() > delivery.max_in_flight())) {
    return InvalidField(
        "delivery.max_in_flight_per_account",
        "must be between delivery.max_in_flight_per_webhook and delivery.max_in_flight");
  }
  return absl::OkStatus();
}

absl::Status ValidateListenAddress(absl::string_view field, absl::string_view address) {
  // host:port or [v6]:port; the server itself reports bind failures.
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return InvalidField(field, absl::StrCat("expected host:port, got \"", address, "\""));
  }
  return absl::OkStatus();
}

absl::Status ValidateMetricsListenAddress(const ServerConfig& config) {
  const std::string& address = config.metrics_listen_address();
  if (address.empty()) return absl::OkStatus();
  WINK_RETURN_IF_ERROR(ValidateListenAddress("metrics_listen_address", address));
  if (address == config.listen_address() && !absl::EndsWith(address, ":0")) {
    return InvalidField(
        "metrics_listen_address",
        absl::StrCat("must differ from listen_address (both are \"", address, "\")"));
  }
  return absl::OkStatus();
}

// The TLS files, and the rule that bearer tokens do not cross the network
// in plaintext unless the operator says something else encrypts them.
absl::Status ValidateListenerSecurity(const ServerConfig& config) {
  const absl::StatusOr<std::optional<ListenerTlsFiles>> tls = ReadListenerTlsFiles(config.tls());
  if (!tls.ok()) return tls.status();
  if (tls->has_value() || config.allow_plaintext_non_loopback() ||
      IsLoopbackListenAddress(config.listen_address())) {
    return absl::OkStatus();
  }
  return InvalidField(
      "listen_address",
      absl::StrCat("\"", config.listen_address(),
                   "\" is not a loopback address and the listener has no TLS: bearer tokens "
                   "would cross the network in plaintext. Serve TLS (--tls_cert and --tls_key, "
                   "or tls { cert_file key_file }), or, when a TLS-terminating proxy or service "
                   "mesh encrypts the traffic, set allow_plaintext_non_loopback: true "
                   "(--allow_plaintext_non_loopback)"));
}

absl::Status ValidateTokens(const ServerConfig& config) {
  if (config.tokens().empty()) {
    return InvalidField("tokens",
                        "at least one API token is required (every RPC needs one); "
                        "add tokens { name sha256 accounts|admin } or pass "
                        "--admin_token_sha256");
  }
  absl::flat_hash_set<std::string> names;
  absl::flat_hash_set<std::string> hashes;
  for (int i = 0; i < config.tokens_size(); ++i) {
    const auto& token = config.tokens(i);
    const std::string field = absl::StrCat("tokens[", i, "]");
    if (token.name().empty()) return InvalidField(field + ".name", "required");
    if (!names.insert(token.name()).second) {
      return InvalidField(field + ".name", absl::StrCat("duplicate name \"", token.name(), "\""));
    }
    if (token.sha256().size() != 64 || !IsLowerHex(token.sha256())) {
      return InvalidField(field + ".sha256",
                          "expected 64 lower-case hex characters (sha256sum of the token)");
    }
    if (token.sha256() == kSha256OfEmptyString) {
      return InvalidField(field + ".sha256",
                          "is the SHA-256 of an empty string (was the token variable unset?)");
    }
    if (!hashes.insert(token.sha256()).second) {
      return InvalidField(field + ".sha256", "the same token is listed twice");
    }
    if (!token.admin() && token.accounts().empty()) {
      return InvalidField(field + ".accounts", "required unless admin is true");
    }
    for (int j = 0; j < token.accounts_size(); ++j) {
      if (!IsValidAccountId(token.accounts(j))) {
        return InvalidField(absl::StrCat(field, ".accounts[", j, "]"),
                            absl::StrCat("not a valid account id: \"", token.accounts(j),
                                         "\" (1-64 of [A-Za-z0-9_-])"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateEventTypes(const ServerConfig& config) {
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < config.event_types_size(); ++i) {
    const auto& type = config.event_types(i);
    const std::string field = absl::StrCat("event_types[", i, "].name");
    if (!IsValidEventTypeName(type.name())) {
      return InvalidField(field, absl::StrCat("\"", type.name(),
                                              "\" is not a dotted lower-case name like "
                                              "booking.created"));
    }
    if (!seen.insert(type.name()).second) {
      return InvalidField(field, absl::StrCat("duplicate event type \"", type.name(), "\""));
    }
  }
  return absl::OkStatus();
}

// "<hostname>-<pid>", cut to the node id's 64 characters.
std::string DefaultNodeId() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::strcpy(host, "node");
  std::string name;
  for (const char* c = host; *c != '\0' && name.size() < 48; ++c) {
    name.push_back(IsNodeIdChar(*c) ? *c : '-');
  }
  return absl::StrCat(name, "-", getpid());
}

absl::Status ValidateStorage(const v1::StorageConfig& storage) {
  if (storage.has_rocksdb()) {
    const int budget = storage.rocksdb().memory_budget_mib();
    if (budget < 16 || budget > 65536) {
      return InvalidField("storage.rocksdb.memory_budget_mib", "must be between 16 and 65536");
    }
  }
  if (storage.has_postgres()) {
    if (storage.postgres().conninfo().empty()) {
      return InvalidField("storage.postgres.conninfo",
                          "required (a libpq connection string, e.g. \"host=db1 "
                          "dbname=webhooks\"; --postgres on the command line)");
    }
    const int idle = storage.postgres().idle_read_connections();
    if (idle < 1 || idle > 256) {
      return InvalidField("storage.postgres.idle_read_connections", "must be between 1 and 256");
    }
    WINK_RETURN_IF_ERROR(ValidateDurationRange("storage.postgres.partition_lease_ttl",
                                               storage.postgres().partition_lease_ttl(),
                                               absl::Seconds(1), absl::Seconds(300),
                                               "between 1s and 300s"));
    WINK_RETURN_IF_ERROR(ValidateDurationRange("storage.postgres.partition_handover_drain",
                                               storage.postgres().partition_handover_drain(),
                                               absl::ZeroDuration(), absl::Seconds(600),
                                               "between 0s and 600s"));
    if (storage.sync_mode() != v1::StorageConfig::SYNC_MODE_FSYNC) {
      return InvalidField("storage.sync_mode",
                          "must be SYNC_MODE_FSYNC with the postgres backend (its durability "
                          "is PostgreSQL's synchronous_commit)");
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyStorageOverrides(const ConfigOverrides& overrides, ServerConfig& config) {
  v1::StorageConfig& storage = *config.mutable_storage();
  if (overrides.storage_backend) {
    if (*overrides.storage_backend == "postgres") {
      storage.mutable_postgres();
    } else if (*overrides.storage_backend == "rocksdb") {
      storage.mutable_rocksdb();
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "--storage: expected rocksdb or postgres, got \"", *overrides.storage_backend, "\""));
    }
  }
  if (overrides.postgres_conninfo) {
    if (storage.has_rocksdb() && overrides.storage_backend) {
      return absl::InvalidArgumentError("--postgres: given with --storage rocksdb");
    }
    storage.mutable_postgres()->set_conninfo(*overrides.postgres_conninfo);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Duration ConfigDuration(const google::protobuf::Duration& duration) {
  return absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
}

std::string RedactConninfo(absl::string_view conninfo) {
  const std::string kHidden = "(hidden)";
  std::string out(conninfo);
  // URI form: postgresql://user:password@host/...
  bool uri = false;
  for (const std::string scheme : {"postgresql://", "postgres://"}) {
    if (!absl::StartsWith(out, scheme)) continue;
    uri = true;
    const size_t at = out.find('@', scheme.size());
    const size_t colon = out.find(':', scheme.size());
    if (at != std::string::npos && colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, kHidden);
    }
  }
  // libpq allows whitespace around '=' in the keyword form (not in a URI).
  const auto skip_spaces = [&](size_t i) {
    while (!uri && i < out.size() && absl::ascii_isspace(static_cast<unsigned char>(out[i]))) ++i;
    return i;
  };
  // "password = ..." as a keyword, or "password=..." as a URI parameter. A
  // keyword's value ends at whitespace or is single-quoted; a URI
  // parameter's ends at '&'.
  size_t pos = 0;
  while ((pos = out.find("password", pos)) != std::string::npos) {
    const bool keyword_start =
        pos == 0 || absl::ascii_isspace(static_cast<unsigned char>(out[pos - 1])) ||
        out[pos - 1] == '?' || out[pos - 1] == '&';
    size_t begin = skip_spaces(pos + std::strlen("password"));
    if (!keyword_start || begin == out.size() || out[begin] != '=') {
      pos += std::strlen("password");
      continue;
    }
    begin = skip_spaces(begin + 1);
    size_t end = begin;
    if (!uri && end < out.size() && out[end] == '\'') {
      for (++end; end < out.size() && out[end] != '\''; ++end) {
        if (out[end] == '\\') ++end;
      }
      end = std::min(out.size(), end + 1);
    } else {
      while (end < out.size() && !absl::ascii_isspace(static_cast<unsigned char>(out[end])) &&
             !(uri && out[end] == '&')) {
        ++end;
      }
    }
    out.replace(begin, end - begin, kHidden);
    pos = begin + kHidden.size();
  }
  return out;
}

std::vector<v1::EventTypeConfig> DefaultEventTypes() {
  const std::pair<const char*, const char*> kCatalogue[] = {
      {"booking.created", "A new reservation was made (any channel)."},
      {"booking.updated", "A reservation changed: dates, room, guests, rate or special requests."},
      {"booking.cancelled", "A reservation was cancelled by the guest, channel or hotel."},
      {"booking.no_show", "The guest did not arrive and the booking was marked no-show."},
      {"booking.checked_in", "The guest checked in."},
      {"booking.checked_out", "The guest checked out."},
      {"payment.completed", "A payment for a booking was captured successfully."},
      {"payment.failed", "A payment attempt was declined or failed."},
      {"payment.refunded", "A payment was refunded, fully or partly."},
      {"availability.updated", "Room availability (inventory) changed for some dates."},
      {"rate.updated", "Prices changed for a room type or rate plan."},
      {"property.updated", "Property details changed: description, amenities, policies."},
      {"guest.review_posted", "A guest posted a review of the property."},
  };
  std::vector<v1::EventTypeConfig> out;
  for (const auto& [name, description] : kCatalogue) {
    v1::EventTypeConfig type;
    type.set_name(name);
    type.set_description(description);
    out.push_back(std::move(type));
  }
  return out;
}

absl::StatusOr<ServerConfig> ParseServerConfig(absl::string_view text,
                                               absl::string_view source_name) {
  ServerConfig config;
  google::protobuf::TextFormat::Parser parser;
  FirstErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &config)) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ":", errors.error()));
  }
  return config;
}

void ApplyDefaults(ServerConfig& config) {
  if (config.listen_address().empty()) {
    config.set_listen_address(std::string(kDefaultListenAddress));
  }
  if (config.data_dir().empty()) config.set_data_dir(std::string(kDefaultDataDir));
  if (config.event_types().empty()) {
    for (auto& type : DefaultEventTypes()) *config.add_event_types() = std::move(type);
  }
  if (config.limits().max_webhooks_per_account() == 0) {
    config.mutable_limits()->set_max_webhooks_per_account(kDefaultMaxWebhooksPerAccount);
  }
  if (config.limits().max_watch_streams() == 0) {
    config.mutable_limits()->set_max_watch_streams(kDefaultMaxWatchStreams);
  }
  if (config.limits().max_watch_streams_per_account() == 0) {
    config.mutable_limits()->set_max_watch_streams_per_account(
        std::min(kDefaultMaxWatchStreamsPerAccount, config.limits().max_watch_streams()));
  }
  if (config.limits().publish_rate_per_account() > 0 &&
      config.limits().publish_burst_per_account() == 0) {
    config.mutable_limits()->set_publish_burst_per_account(static_cast<int>(std::min(
        1e6, std::max(100.0, std::ceil(config.limits().publish_rate_per_account())))));
  }
  if (config.limits().max_request_bytes() == 0) {
    config.mutable_limits()->set_max_request_bytes(kDefaultMaxRequestBytes);
  }
  SetIfUnset(config.mutable_secret_rotation_overlap(), config.has_secret_rotation_overlap(),
             absl::Hours(24));
  SetIfUnset(config.mutable_request_id_retention(), config.has_request_id_retention(),
             absl::Hours(24));
  v1::StorageConfig& storage = *config.mutable_storage();
  if (storage.sync_mode() == v1::StorageConfig::SYNC_MODE_UNSPECIFIED) {
    storage.set_sync_mode(v1::StorageConfig::SYNC_MODE_FSYNC);
  }
  if (storage.backend_case() == v1::StorageConfig::BACKEND_NOT_SET) storage.mutable_rocksdb();
  if (storage.has_rocksdb() && storage.rocksdb().memory_budget_mib() == 0) {
    storage.mutable_rocksdb()->set_memory_budget_mib(kDefaultRocksDbMemoryBudgetMib);
  }
  if (storage.has_postgres()) {
    v1::PostgresConfig& postgres = *storage.mutable_postgres();
    if (postgres.idle_read_connections() == 0) {
      postgres.set_idle_read_connections(kDefaultPostgresIdleReadConnections);
    }
    SetIfUnset(postgres.mutable_partition_lease_ttl(), postgres.has_partition_lease_ttl(),
               absl::Seconds(10));
  }
  if (config.node_id().empty()) config.set_node_id(DefaultNodeId());
  SetIfUnset(config.mutable_idempotency_key_retention(), config.has_idempotency_key_retention(),
             absl::Hours(24));
  SetIfUnset(config.mutable_event_retention(), config.has_event_retention(),
             absl::Hours(24 * 30));
  v1::DeliveryConfig& delivery = *config.mutable_delivery();
  SetIfUnset(delivery.mutable_connect_timeout(), delivery.has_connect_timeout(),
             absl::Seconds(5));
  SetIfUnset(delivery.mutable_request_timeout(), delivery.has_request_timeout(),
             absl::Seconds(15));
  if (delivery.retry_schedule().empty()) {
    for (absl::Duration d : {absl::ZeroDuration(), absl::Seconds(5), absl::Minutes(5),
                             absl::Minutes(30), absl::Hours(2), absl::Hours(5), absl::Hours(10),
                             absl::Hours(10)}) {
      SetIfUnset(delivery.add_retry_schedule(), false, d);
    }
  }
  SetIfUnset(delivery.mutable_max_retry_after(), delivery.has_max_retry_after(), absl::Hours(1));
  SetIfUnset(delivery.mutable_disable_after_failing_for(),
             delivery.has_disable_after_failing_for(), absl::Hours(24 * 5));
  if (storage.has_postgres()) {
    v1::PostgresConfig& postgres = *storage.mutable_postgres();
    SetIfUnset(postgres.mutable_partition_handover_drain(),
               postgres.has_partition_handover_drain(),
               ConfigDuration(delivery.request_timeout()) + absl::Seconds(1));
  }
  if (delivery.max_in_flight() == 0) delivery.set_max_in_flight(kDefaultMaxInFlight);
  if (delivery.max_in_flight_per_webhook() == 0) {
    delivery.set_max_in_flight_per_webhook(
        std::min(kDefaultMaxInFlightPerWebhook, delivery.max_in_flight()));
  }
  if (delivery.max_in_flight_per_account() == 0) {
    delivery.set_max_in_flight_per_account(
        std::max(delivery.max_in_flight() / 4, delivery.max_in_flight_per_webhook()));
  }
}

absl::Status ValidateServerConfig(const ServerConfig& config) {
  WINK_RETURN_IF_ERROR(ValidateListenAddress("listen_address", config.listen_address()));
  WINK_RETURN_IF_ERROR(ValidateMetricsListenAddress(config));
  WINK_RETURN_IF_ERROR(ValidateListenerSecurity(config));
  if (config.data_dir().empty()) return InvalidField("data_dir", "required");
  WINK_RETURN_IF_ERROR(ValidateStorage(config.storage()));
  if (config.node_id().empty() || config.node_id().size() > 64 ||
      !std::all_of(config.node_id().begin(), config.node_id().end(), IsNodeIdChar)) {
    return InvalidField("node_id", absl::StrCat("\"", config.node_id(),
                                                "\" is not 1-64 of [A-Za-z0-9._-]"));
  }
  WINK_RETURN_IF_ERROR(ValidateTokens(config));
  WINK_RETURN_IF_ERROR(ValidateEventTypes(config));
  const int max_webhooks = config.limits().max_webhooks_per_account();
  if (max_webhooks < 1 || max_webhooks > kMaxWebhooksPerAccountCeiling) {
    return InvalidField("limits.max_webhooks_per_account",
                        absl::StrCat("must be between 1 and ", kMaxWebhooksPerAccountCeiling));
  }
  const int max_watch_streams = config.limits().max_watch_streams();
  if (max_watch_streams < 1 || max_watch_streams > kMaxWatchStreamsCeiling) {
    return InvalidField("limits.max_watch_streams",
                        absl::StrCat("must be between 1 and ", kMaxWatchStreamsCeiling));
  }
  const int per_account = config.limits().max_watch_streams_per_account();
  if (per_account < 1 || per_account > max_watch_streams) {
    return InvalidField("limits.max_watch_streams_per_account",
                        absl::StrCat("must be between 1 and limits.max_watch_streams (",
                                     max_watch_streams, ")"));
  }
  const double publish_rate = config.limits().publish_rate_per_account();
  if (!(publish_rate >= 0 && publish_rate <= 1e6)) {  // NaN fails too
    return InvalidField("limits.publish_rate_per_account",
                        "must be between 0 (no limit) and 1000000 events per second");
  }
  const int publish_burst = config.limits().publish_burst_per_account();
  if (publish_burst < 0 || publish_burst > 1000000 || (publish_rate > 0 && publish_burst < 1)) {
    return InvalidField("limits.publish_burst_per_account", "must be between 1 and 1000000");
  }
  if (config.limits().max_stored_events_per_account() < 0) {
    return InvalidField("limits.max_stored_events_per_account",
                        "must be 0 (no limit) or a positive number of events");
  }
  // One event of the largest payload must fit, or the limit refuses all.
  constexpr int64_t kMinStoredBytes = 1 << 20;
  const int64_t max_stored_bytes = config.limits().max_stored_bytes_per_account();
  if (max_stored_bytes < 0 || (max_stored_bytes > 0 && max_stored_bytes < kMinStoredBytes)) {
    return InvalidField("limits.max_stored_bytes_per_account",
                        absl::StrCat("must be 0 (no limit) or at least ", kMinStoredBytes,
                                     " (1 MiB: room for the largest event)"));
  }
  const int max_request_bytes = config.limits().max_request_bytes();
  if (max_request_bytes < 1024 || max_request_bytes > kMaxRequestBytesCeiling) {
    return InvalidField("limits.max_request_bytes",
                        absl::StrCat("must be between 1024 and ", kMaxRequestBytesCeiling));
  }
  WINK_RETURN_IF_ERROR(
      ValidateDuration("secret_rotation_overlap", config.secret_rotation_overlap()));
  WINK_RETURN_IF_ERROR(ValidateDuration("request_id_retention", config.request_id_retention()));
  WINK_RETURN_IF_ERROR(
      ValidateDuration("idempotency_key_retention", config.idempotency_key_retention()));
  WINK_RETURN_IF_ERROR(ValidateDurationRange("event_retention", config.event_retention(),
                                             absl::Hours(1), absl::Hours(24 * 3650),
                                             "between 1h and 3650 days"));
  WINK_RETURN_IF_ERROR(ValidateDelivery(config.delivery()));
  for (int i = 0; i < config.allow_private_targets_size(); ++i) {
    auto range = IpRange::Parse(config.allow_private_targets(i));
    if (!range.ok()) {
      return InvalidField(absl::StrCat("allow_private_targets[", i, "]"), range.status().message());
    }
  }
  // Parsed when the server starts (service/secrets/keyring.h).
  if (!config.secrets_key_file().empty() && !ReadRegularFile(config.secrets_key_file())) {
    return InvalidField("secrets_key_file",
                        absl::StrCat("cannot read \"", config.secrets_key_file(), "\" as a file"));
  }
  for (int i = 0; i < config.extra_ca_file_size(); ++i) {
    if (!ReadRegularFile(config.extra_ca_file(i))) {
      return InvalidField(
          absl::StrCat("extra_ca_file[", i, "]"),
          absl::StrCat("cannot read \"", config.extra_ca_file(i), "\" as a file"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ServerConfig> LoadServerConfig(absl::string_view path,
                                              const ConfigOverrides& overrides) {
  ServerConfig config;
  if (!path.empty()) {
    const std::optional<std::string> contents = ReadRegularFile(path);
    if (!contents) {
      return absl::NotFoundError(absl::StrCat("cannot read config file \"", path, "\""));
    }
    WINK_ASSIGN_OR_RETURN(config, ParseServerConfig(*contents, path));
  }
  if (overrides.listen_address) config.set_listen_address(*overrides.listen_address);
  if (overrides.data_dir) config.set_data_dir(*overrides.data_dir);
  if (overrides.node_id) config.set_node_id(*overrides.node_id);
  if (overrides.secrets_key_file) config.set_secrets_key_file(*overrides.secrets_key_file);
  WINK_RETURN_IF_ERROR(ApplyStorageOverrides(overrides, config));
  if (overrides.tls_cert_file) config.mutable_tls()->set_cert_file(*overrides.tls_cert_file);
  if (overrides.tls_key_file) config.mutable_tls()->set_key_file(*overrides.tls_key_file);
  if (overrides.tls_client_ca_file) {
    config.mutable_tls()->set_client_ca_file(*overrides.tls_client_ca_file);
  }
  if (overrides.allow_plaintext_non_loopback) {
    config.set_allow_plaintext_non_loopback(*overrides.allow_plaintext_non_loopback);
  }
  if (overrides.extra_ca_file) {
    config.clear_extra_ca_file();
    for (const std::string& file : *overrides.extra_ca_file) config.add_extra_ca_file(file);
  }
  if (overrides.metrics_listen_address) {
    config.set_metrics_listen_address(*overrides.metrics_listen_address);
  }
  if (overrides.allow_private_targets) {
    config.clear_allow_private_targets();
    for (const auto& cidr : *overrides.allow_private_targets) {
      config.add_allow_private_targets(cidr);
    }
  }
  for (size_t i = 0; i < overrides.admin_token_sha256.size(); ++i) {
    const std::string& sha256 = overrides.admin_token_sha256[i];
    auto* token = config.add_tokens();
    token->set_name(i == 0 ? std::string("dev") : absl::StrCat("dev-", i + 1));
    token->set_sha256(absl::AsciiStrToLower(sha256));
    token->set_admin(true);
  }
  ApplyDefaults(config);
  WINK_RETURN_IF_ERROR(ValidateServerConfig(config));
  return config;
}

}  // namespace wink::webhooks::config
