#include "service/config/server_config.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/duration.pb.h"
#include "gtest/gtest.h"
#include "tests/fakes/temp_dir.h"

namespace wink::webhooks::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::StartsWith;
using ::wink::webhooks::testing::TempDir;

const std::string kHashA(64, 'a');
const std::string kHashB(64, 'b');

// Writes `contents` to `name` inside `dir`; returns the file's path.
std::string WriteFile(const TempDir& dir, const std::string& name, absl::string_view contents) {
  const std::string file = dir.Child(name);
  std::ofstream(file) << contents;
  return file;
}

// A minimal valid config with defaults applied: the base every validation
// row breaks in exactly one place.
ServerConfig ValidConfig() {
  ServerConfig config;
  auto* admin = config.add_tokens();
  admin->set_name("ops");
  admin->set_sha256(kHashA);
  admin->set_admin(true);
  auto* scoped = config.add_tokens();
  scoped->set_name("channel-manager");
  scoped->set_sha256(kHashB);
  scoped->add_accounts("hotel-1");
  ApplyDefaults(config);
  return config;
}

google::protobuf::Duration Seconds(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Duration d;
  d.set_seconds(seconds);
  d.set_nanos(nanos);
  return d;
}

constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 24 * kHour;

TEST(ParseServerConfigTest, ParsesTextFormat) {
  auto config = ParseServerConfig(
      R"pb(listen_address: "0.0.0.0:9000"
           data_dir: "/srv/webhooks"
           tokens { name: "ops" sha256: "aaaa" admin: true }
           limits { max_webhooks_per_account: 7 }
           request_id_retention { seconds: 60 }
           storage { sync_mode: SYNC_MODE_OS_BUFFERED })pb",
      "inline");

  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address(), "0.0.0.0:9000");
  EXPECT_EQ(config->data_dir(), "/srv/webhooks");
  ASSERT_EQ(config->tokens_size(), 1);
  EXPECT_TRUE(config->tokens(0).admin());
  EXPECT_EQ(config->limits().max_webhooks_per_account(), 7);
  EXPECT_EQ(config->request_id_retention().seconds(), 60);
  EXPECT_EQ(config->storage().sync_mode(), v1::StorageConfig::SYNC_MODE_OS_BUFFERED);
}

TEST(ParseServerConfigTest, SyntaxErrorReportsSourceLineAndColumn) {
  auto config = ParseServerConfig("data_dir: \"/x\"\nlisten_address \"oops\"\n", "server.cfg");

  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  // listen_address is a scalar: the ':' is missing on line 2.
  EXPECT_THAT(std::string(config.status().message()), StartsWith("server.cfg:2:16: "));
}

TEST(ParseServerConfigTest, UnknownFieldReportsSourceLineAndColumn) {
  auto config = ParseServerConfig("data_dir: \"/x\"\n\n  max_webhooks: 5\n", "server.cfg");

  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), StartsWith("server.cfg:3:"));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("max_webhooks"));
}

TEST(ApplyDefaultsTest, FillsEveryUnsetField) {
  ServerConfig config;
  ApplyDefaults(config);

  EXPECT_EQ(config.listen_address(), kDefaultListenAddress);
  EXPECT_EQ(config.listen_address(), "127.0.0.1:50051");
  EXPECT_EQ(config.data_dir(), kDefaultDataDir);
  EXPECT_EQ(config.limits().max_webhooks_per_account(), 100);
  EXPECT_EQ(config.limits().max_request_bytes(), 1 << 20);
  EXPECT_EQ(config.secret_rotation_overlap().seconds(), 24 * 3600);
  EXPECT_EQ(config.request_id_retention().seconds(), 24 * 3600);
  EXPECT_EQ(config.storage().sync_mode(), v1::StorageConfig::SYNC_MODE_FSYNC);
  EXPECT_TRUE(config.storage().has_rocksdb()) << "the embedded backend by default";
  EXPECT_EQ(config.storage().rocksdb().memory_budget_mib(), 128);

  std::vector<std::string> names;
  for (const auto& type : config.event_types()) {
    names.push_back(type.name());
    EXPECT_FALSE(type.description().empty()) << type.name();
  }
  EXPECT_EQ(names.size(), 13u);
  EXPECT_THAT(names, IsSupersetOf({"booking.created", "booking.updated", "booking.cancelled",
                                   "payment.completed"}));
}

TEST(ParseServerConfigTest, ReadsTheStorageBackend) {
  auto config = ParseServerConfig(R"pb(storage { rocksdb { memory_budget_mib: 512 } })pb", "s.cfg");

  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_TRUE(config->storage().has_rocksdb());
  EXPECT_EQ(config->storage().rocksdb().memory_budget_mib(), 512);
  ApplyDefaults(*config);
  EXPECT_EQ(config->storage().rocksdb().memory_budget_mib(), 512) << "kept";
}

TEST(ParseServerConfigTest, ReadsThePostgresBackendAndAppliesItsDefaults) {
  auto config = ParseServerConfig(
      R"pb(storage { postgres { conninfo: "host=db1,db2 dbname=webhooks" } } node_id: "n1")pb",
      "s.cfg");

  ASSERT_TRUE(config.ok()) << config.status();
  ApplyDefaults(*config);
  ASSERT_TRUE(config->storage().has_postgres());
  EXPECT_FALSE(config->storage().has_rocksdb());
  EXPECT_EQ(config->storage().postgres().conninfo(), "host=db1,db2 dbname=webhooks");
  EXPECT_EQ(config->storage().postgres().idle_read_connections(),
            kDefaultPostgresIdleReadConnections);
  EXPECT_EQ(ConfigDuration(config->storage().postgres().partition_lease_ttl()), absl::Seconds(10));
  EXPECT_EQ(ConfigDuration(config->storage().postgres().partition_handover_drain()),
            absl::Seconds(16))
      << "the request timeout (15 s) and a second";
  EXPECT_EQ(config->node_id(), "n1");
}

TEST(ApplyDefaultsTest, NodeIdIsTheHostnameAndPid) {
  ServerConfig config;
  ApplyDefaults(config);

  EXPECT_THAT(config.node_id(), ::testing::EndsWith(absl::StrCat("-", getpid())));
  EXPECT_GT(config.node_id().size(), absl::StrCat("-", getpid()).size());
}

TEST(LoadServerConfigTest, StorageFlagsChooseTheBackend) {
  ConfigOverrides overrides;
  overrides.admin_token_sha256 = {kHashA};
  overrides.postgres_conninfo = "dbname=webhooks";
  overrides.node_id = "node-a";
  auto postgres = LoadServerConfig("", overrides);
  ASSERT_TRUE(postgres.ok()) << postgres.status();
  EXPECT_EQ(postgres->storage().postgres().conninfo(), "dbname=webhooks") << "--postgres implies it";
  EXPECT_EQ(postgres->node_id(), "node-a");

  overrides.postgres_conninfo.reset();
  overrides.storage_backend = "postgres";
  auto missing = LoadServerConfig("", overrides);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()), StartsWith("storage.postgres.conninfo: required"));

  overrides.storage_backend = "mysql";
  auto unknown = LoadServerConfig("", overrides);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unknown.status().message()), StartsWith("--storage: expected rocksdb or postgres"));

  overrides.storage_backend = "rocksdb";
  overrides.postgres_conninfo = "dbname=webhooks";
  auto both = LoadServerConfig("", overrides);
  EXPECT_EQ(both.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(both.status().message()), StartsWith("--postgres: given with --storage rocksdb"));
}

TEST(LoadServerConfigTest, StorageFlagOverridesTheFilesBackend) {
  TempDir dir;
  const std::string path = WriteFile(dir, "s.cfg", R"pb(
    storage { postgres { conninfo: "dbname=webhooks" idle_read_connections: 2 } }
  )pb");
  ConfigOverrides overrides;
  overrides.admin_token_sha256 = {kHashA};
  overrides.storage_backend = "rocksdb";
  auto config = LoadServerConfig(path, overrides);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->storage().has_rocksdb());

  overrides.storage_backend = "postgres";
  config = LoadServerConfig(path, overrides);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->storage().postgres().conninfo(), "dbname=webhooks") << "the file's, kept";
  EXPECT_EQ(config->storage().postgres().idle_read_connections(), 2);
}

TEST(RedactConninfoTest, HidesPasswordsInEveryForm) {
  EXPECT_EQ(RedactConninfo("host=db1 password=s3cret dbname=w"),
            "host=db1 password=(hidden) dbname=w");
  EXPECT_EQ(RedactConninfo(R"(password='it\'s a secret' host=db1)"),
            "password=(hidden) host=db1");
  EXPECT_EQ(RedactConninfo("postgresql://app:s3cret@db1:5432/w?sslmode=require"),
            "postgresql://app:(hidden)@db1:5432/w?sslmode=require");
  EXPECT_EQ(RedactConninfo("postgres://db1/w?user=app&password=s3cret&sslmode=require"),
            "postgres://db1/w?user=app&password=(hidden)&sslmode=require");
  EXPECT_EQ(RedactConninfo("host=db1 dbname=w passfile=/etc/pgpass"),
            "host=db1 dbname=w passfile=/etc/pgpass")
      << "nothing secret: unchanged";
}

// libpq takes whitespace around '=' in the keyword form (found by
// fuzz/conninfo_fuzz.cc: these printed the password whole).
TEST(RedactConninfoTest, HidesPasswordsWithSpacesAroundTheEqualsSign) {
  EXPECT_EQ(RedactConninfo("host=db1 password = s3cret dbname=w"),
            "host=db1 password = (hidden) dbname=w");
  EXPECT_EQ(RedactConninfo("password=\ts3cret"), "password=\t(hidden)");
  EXPECT_EQ(RedactConninfo("host=db1 password\n=s3cret"), "host=db1 password\n=(hidden)");
  EXPECT_EQ(RedactConninfo("password=ab&cd host=db1"), "password=(hidden) host=db1");
  EXPECT_EQ(RedactConninfo("host=db1 passwordx=1 dbname=w"), "host=db1 passwordx=1 dbname=w");
}

TEST(ApplyDefaultsTest, FillsDeliveryAndRetentionDefaults) {
  ServerConfig config;
  ApplyDefaults(config);

  const v1::DeliveryConfig& delivery = config.delivery();
  EXPECT_EQ(delivery.connect_timeout().seconds(), 5);
  EXPECT_EQ(delivery.connect_timeout().nanos(), 0);
  EXPECT_EQ(delivery.request_timeout().seconds(), 15);
  EXPECT_EQ(delivery.request_timeout().nanos(), 0);
  std::vector<int64_t> schedule;
  for (const auto& step : delivery.retry_schedule()) {
    EXPECT_EQ(step.nanos(), 0);
    schedule.push_back(step.seconds());
  }
  EXPECT_THAT(schedule,
              ElementsAre(0, 5, 5 * 60, 30 * 60, 2 * kHour, 5 * kHour, 10 * kHour, 10 * kHour));
  EXPECT_EQ(delivery.max_retry_after().seconds(), kHour);
  EXPECT_EQ(delivery.disable_after_failing_for().seconds(), 120 * kHour);
  EXPECT_EQ(delivery.max_in_flight(), 256);
  EXPECT_EQ(delivery.max_in_flight(), kDefaultMaxInFlight);
  EXPECT_EQ(delivery.max_in_flight_per_webhook(), 16);
  EXPECT_EQ(delivery.max_in_flight_per_webhook(), kDefaultMaxInFlightPerWebhook);
  EXPECT_EQ(delivery.max_in_flight_per_account(), 64);
  EXPECT_EQ(config.idempotency_key_retention().seconds(), 24 * kHour);
  EXPECT_EQ(config.event_retention().seconds(), 720 * kHour);
}

TEST(ApplyDefaultsTest, DefaultsAreValid) {
  const absl::Status status = ValidateServerConfig(ValidConfig());
  EXPECT_TRUE(status.ok()) << status;
}

TEST(ApplyDefaultsTest, KeepsDeliveryAndRetentionValuesThatAreSet) {
  ServerConfig config;
  v1::DeliveryConfig& delivery = *config.mutable_delivery();
  *delivery.mutable_connect_timeout() = Seconds(1, 500000000);
  *delivery.mutable_request_timeout() = Seconds(40);
  *delivery.add_retry_schedule() = Seconds(0);
  *delivery.add_retry_schedule() = Seconds(60);
  *delivery.add_retry_schedule() = Seconds(0, 250000000);
  *delivery.mutable_max_retry_after() = Seconds(90);
  *delivery.mutable_disable_after_failing_for() = Seconds(kDay);
  delivery.set_max_in_flight(64);
  delivery.set_max_in_flight_per_webhook(2);
  // Explicitly zero: keys are not remembered at all; must not become 24h.
  *config.mutable_idempotency_key_retention() = Seconds(0);
  *config.mutable_event_retention() = Seconds(2 * kHour);

  ApplyDefaults(config);

  EXPECT_EQ(delivery.connect_timeout().seconds(), 1);
  EXPECT_EQ(delivery.connect_timeout().nanos(), 500000000);
  EXPECT_EQ(delivery.request_timeout().seconds(), 40);
  ASSERT_EQ(delivery.retry_schedule_size(), 3);
  EXPECT_EQ(delivery.retry_schedule(1).seconds(), 60);
  EXPECT_EQ(delivery.retry_schedule(2).nanos(), 250000000);
  EXPECT_EQ(delivery.max_retry_after().seconds(), 90);
  EXPECT_EQ(delivery.disable_after_failing_for().seconds(), kDay);
  EXPECT_EQ(delivery.max_in_flight(), 64);
  EXPECT_EQ(delivery.max_in_flight_per_webhook(), 2);
  EXPECT_TRUE(config.has_idempotency_key_retention());
  EXPECT_EQ(config.idempotency_key_retention().seconds(), 0);
  EXPECT_EQ(config.event_retention().seconds(), 2 * kHour);
}

TEST(ApplyDefaultsTest, PerWebhookDefaultIsCutToASmallMaxInFlight) {
  ServerConfig config;
  config.mutable_delivery()->set_max_in_flight(8);

  ApplyDefaults(config);

  EXPECT_EQ(config.delivery().max_in_flight(), 8);
  EXPECT_EQ(config.delivery().max_in_flight_per_webhook(), 8);
  // A quarter of 8 would be below the per-webhook limit.
  EXPECT_EQ(config.delivery().max_in_flight_per_account(), 8);
}

TEST(ApplyDefaultsTest, PublishRateIsOffAndItsBurstHoldsAFullBatch) {
  ServerConfig off;
  ApplyDefaults(off);
  EXPECT_EQ(off.limits().publish_rate_per_account(), 0);
  EXPECT_EQ(off.limits().publish_burst_per_account(), 0);
  EXPECT_EQ(off.limits().max_watch_streams(), kDefaultMaxWatchStreams);
  EXPECT_EQ(off.limits().max_watch_streams_per_account(), kDefaultMaxWatchStreamsPerAccount);

  ServerConfig slow;
  slow.mutable_limits()->set_publish_rate_per_account(5);
  ApplyDefaults(slow);
  EXPECT_EQ(slow.limits().publish_burst_per_account(), 100);
  ServerConfig fast;
  fast.mutable_limits()->set_publish_rate_per_account(2500.5);
  ApplyDefaults(fast);
  EXPECT_EQ(fast.limits().publish_burst_per_account(), 2501);
}

TEST(ApplyDefaultsTest, KeepsValuesThatAreSet) {
  ServerConfig config;
  config.set_listen_address("[::1]:1234");
  config.set_data_dir("/data");
  config.add_event_types()->set_name("room.cleaned");
  config.mutable_limits()->set_max_webhooks_per_account(3);
  // Explicitly zero: ends the overlap at once, must not become 24h.
  config.mutable_secret_rotation_overlap()->set_seconds(0);
  config.mutable_request_id_retention()->set_seconds(90);
  config.mutable_storage()->set_sync_mode(v1::StorageConfig::SYNC_MODE_OS_BUFFERED);

  ApplyDefaults(config);

  EXPECT_EQ(config.listen_address(), "[::1]:1234");
  EXPECT_EQ(config.data_dir(), "/data");
  ASSERT_EQ(config.event_types_size(), 1);
  EXPECT_EQ(config.event_types(0).name(), "room.cleaned");
  EXPECT_EQ(config.limits().max_webhooks_per_account(), 3);
  EXPECT_EQ(config.secret_rotation_overlap().seconds(), 0);
  EXPECT_EQ(config.request_id_retention().seconds(), 90);
  EXPECT_EQ(config.storage().sync_mode(), v1::StorageConfig::SYNC_MODE_OS_BUFFERED);
}

TEST(DefaultEventTypesTest, NamesAreUniqueAndValid) {
  ServerConfig config = ValidConfig();
  config.clear_event_types();
  for (auto& type : DefaultEventTypes()) *config.add_event_types() = type;
  EXPECT_TRUE(ValidateServerConfig(config).ok()) << ValidateServerConfig(config);
}

TEST(LoadServerConfigTest, ReadsFileAppliesDefaultsAndValidates) {
  TempDir dir;
  const std::string path =
      WriteFile(dir, "server.cfg",
                absl::StrCat("data_dir: \"/srv/x\"\n", "tokens { name: \"ops\" sha256: \"", kHashA,
                             "\" admin: true }\n"));

  auto config = LoadServerConfig(path, ConfigOverrides{});

  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->data_dir(), "/srv/x");
  EXPECT_EQ(config->listen_address(), kDefaultListenAddress);
  EXPECT_EQ(config->event_types_size(), 13);
  EXPECT_EQ(config->limits().max_webhooks_per_account(), kDefaultMaxWebhooksPerAccount);
}

TEST(LoadServerConfigTest, ReadsDeliveryAndRetentionFromTheFile) {
  TempDir dir;
  const std::string path =
      WriteFile(dir, "server.cfg",
                absl::StrCat("tokens { name: \"ops\" sha256: \"", kHashA, "\" admin: true }\n",
                             "idempotency_key_retention { seconds: 3600 }\n",
                             "event_retention { seconds: 172800 }\n",
                             "delivery {\n"
                             "  connect_timeout { nanos: 500000000 }\n"
                             "  request_timeout { seconds: 30 }\n"
                             "  retry_schedule { seconds: 0 }\n"
                             "  retry_schedule { seconds: 10 }\n"
                             "  max_in_flight: 32\n"
                             "}\n"));

  auto config = LoadServerConfig(path, ConfigOverrides{});

  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->idempotency_key_retention().seconds(), kHour);
  EXPECT_EQ(config->event_retention().seconds(), 2 * kDay);
  const v1::DeliveryConfig& delivery = config->delivery();
  EXPECT_EQ(delivery.connect_timeout().seconds(), 0);
  EXPECT_EQ(delivery.connect_timeout().nanos(), 500000000);
  EXPECT_EQ(delivery.request_timeout().seconds(), 30);
  ASSERT_EQ(delivery.retry_schedule_size(), 2);
  EXPECT_EQ(delivery.retry_schedule(1).seconds(), 10);
  EXPECT_EQ(delivery.max_in_flight(), 32);
  // Unset fields still get their defaults.
  EXPECT_EQ(delivery.max_in_flight_per_webhook(), 16);
  EXPECT_EQ(delivery.max_retry_after().seconds(), kHour);
  EXPECT_EQ(delivery.disable_after_failing_for().seconds(), 120 * kHour);
}

TEST(LoadServerConfigTest, InvalidDeliveryValueInTheFileNamesTheField) {
  TempDir dir;
  const std::string path = WriteFile(
      dir, "server.cfg",
      absl::StrCat("tokens { name: \"ops\" sha256: \"", kHashA, "\" admin: true }\n",
                   "delivery { retry_schedule { seconds: 0 } retry_schedule { seconds: -5 } }\n"));

  auto config = LoadServerConfig(path, ConfigOverrides{});

  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(), "delivery.retry_schedule[1]: must be between 0s and 7 days");
}

TEST(LoadServerConfigTest, MissingFileIsNotFound) {
  TempDir dir;
  auto config = LoadServerConfig(absl::StrCat(dir.path(), "/absent.cfg"), ConfigOverrides{});

  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("absent.cfg"));
}

TEST(LoadServerConfigTest, EmptyFileIsAnEmptyConfig) {
  TempDir dir;
  const std::string path = WriteFile(dir, "empty.cfg", "");
  ConfigOverrides overrides;
  overrides.admin_token_sha256 = {kHashA};

  auto config = LoadServerConfig(path, overrides);

  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->data_dir(), kDefaultDataDir);
}

TEST(LoadServerConfigTest, DirectoryAsConfigFileIsNotFound) {
  TempDir dir;
  ConfigOverrides overrides;
  overrides.admin_token_sha256 = {kHashA};

  auto config = LoadServerConfig(dir.path(), overrides);

  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr(dir.path()));
}

TEST(LoadServerConfigTest, SyntaxErrorNamesTheFileLineAndColumn) {
  TempDir dir;
  const std::string path = WriteFile(dir, "bad.cfg", "\n\ndata_dir: 12 34\n");

  auto config = LoadServerConfig(path, ConfigOverrides{});

  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), StartsWith(absl::StrCat(path, ":3:")));
}

TEST(LoadServerConfigTest, InvalidFileValueNamesTheField) {
  TempDir dir;
  const std::string path =
      WriteFile(dir, "server.cfg",
                absl::StrCat("tokens { name: \"ops\" sha256: \"", kHashA,
                             "\" admin: true }\nlimits { max_webhooks_per_account: -5 }\n"));

  auto config = LoadServerConfig(path, ConfigOverrides{});

  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              StartsWith("limits.max_webhooks_per_account: "));
}

TEST(LoadServerConfigTest, OverridesReplaceFileValues) {
  TempDir dir;
  const std::string ca = WriteFile(dir, "ca.pem", "not checked here");
  const std::string path =
      WriteFile(dir, "server.cfg",
                absl::StrCat("listen_address: \"127.0.0.1:1\"\n", "data_dir: \"/from/file\"\n",
                             "allow_private_targets: \"10.0.0.0/8\"\n",
                             "allow_private_targets: \"192.168.0.0/16\"\n",
                             "tokens { name: \"ops\" sha256: \"", kHashA, "\" admin: true }\n"));
  ConfigOverrides overrides;
  overrides.listen_address = "127.0.0.1:0";
  overrides.data_dir = "/from/flag";
  overrides.allow_private_targets = std::vector<std::string>{"127.0.0.0/8"};
  overrides.extra_ca_file = std::vector<std::string>{ca};

  auto config = LoadServerConfig(path, overrides);

  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address(), "127.0.0.1:0");
  EXPECT_EQ(config->data_dir(), "/from/flag");
  EXPECT_THAT(config->allow_private_targets(), ElementsAre("127.0.0.0/8"));
  EXPECT_THAT(config->extra_ca_file(), ElementsAre(ca));
}

TEST(LoadServerConfigTest, EmptyAllowPrivateTargetsOverrideClearsTheFileList) {
  TempDir dir;
  const std::string path =
      WriteFile(dir, "server.cfg",
                absl::StrCat("allow_private_targets: \"10.0.0.0/8\"\n",
                             "tokens { name: \"ops\" sha256: \"", kHashA, "\" admin: true }\n"));
  ConfigOverrides overrides;
  overrides.allow_private_targets = std::vector<std::string>{};

  auto config = LoadServerConfig(path, overrides);

  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->allow_private_targets().empty());
}

TEST(LoadServerConfigTest, AdminTokenOverridesAddLowerCasedAdminTokensWithoutAFile) {
  ConfigOverrides overrides;
  overrides.admin_token_sha256 = {std::string(64, 'A'), kHashB};

  auto config = LoadServerConfig("", overrides);

  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->tokens_size(), 2);
  EXPECT_EQ(config->tokens(0).name(), "dev");
  EXPECT_EQ(config->tokens(0).sha256(), kHashA);
  EXPECT_TRUE(config->tokens(0).admin());
  EXPECT_EQ(config->tokens(1).name(), "dev-2");
  EXPECT_EQ(config->tokens(1).sha256(), kHashB);
  EXPECT_TRUE(config->tokens(1).admin());
  EXPECT_EQ(config->data_dir(), kDefaultDataDir);
}

TEST(LoadServerConfigTest, NoFileAndNoTokensIsInvalid) {
  auto config = LoadServerConfig("", ConfigOverrides{});

  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), StartsWith("tokens: "));
}

TEST(ValidateServerConfigTest, AcceptsTheBaseConfig) {
  const absl::Status status = ValidateServerConfig(ValidConfig());
  EXPECT_TRUE(status.ok()) << status;
}

TEST(ValidateServerConfigTest, AcceptsLimitsAtTheBounds) {
  ServerConfig config = ValidConfig();
  config.mutable_limits()->set_max_webhooks_per_account(1);
  EXPECT_TRUE(ValidateServerConfig(config).ok());
  config.mutable_limits()->set_max_webhooks_per_account(100000);
  EXPECT_TRUE(ValidateServerConfig(config).ok());
}

TEST(ValidateServerConfigTest, AcceptsDeliveryAndRetentionAtTheLowerBounds) {
  ServerConfig config = ValidConfig();
  v1::DeliveryConfig& delivery = *config.mutable_delivery();
  *delivery.mutable_connect_timeout() = Seconds(0, 100000000);
  *delivery.mutable_request_timeout() = Seconds(1);
  delivery.clear_retry_schedule();
  *delivery.add_retry_schedule() = Seconds(0);
  *delivery.mutable_max_retry_after() = Seconds(1);
  *delivery.mutable_disable_after_failing_for() = Seconds(60);
  delivery.set_max_in_flight(1);
  delivery.set_max_in_flight_per_webhook(1);
  delivery.set_max_in_flight_per_account(1);
  *config.mutable_idempotency_key_retention() = Seconds(0);
  *config.mutable_event_retention() = Seconds(kHour);

  const absl::Status status = ValidateServerConfig(config);
  EXPECT_TRUE(status.ok()) << status;
}

TEST(ValidateServerConfigTest, AcceptsDeliveryAndRetentionAtTheUpperBounds) {
  ServerConfig config = ValidConfig();
  v1::DeliveryConfig& delivery = *config.mutable_delivery();
  *delivery.mutable_connect_timeout() = Seconds(60);
  *delivery.mutable_request_timeout() = Seconds(300);
  delivery.clear_retry_schedule();
  for (int i = 0; i < 50; ++i) *delivery.add_retry_schedule() = Seconds(7 * kDay);
  *delivery.mutable_max_retry_after() = Seconds(24 * kHour);
  *delivery.mutable_disable_after_failing_for() = Seconds(365 * kDay);
  delivery.set_max_in_flight(100000);
  delivery.set_max_in_flight_per_webhook(100000);
  delivery.set_max_in_flight_per_account(100000);
  *config.mutable_idempotency_key_retention() = Seconds(30 * kDay);
  *config.mutable_event_retention() = Seconds(3650 * kDay);

  const absl::Status status = ValidateServerConfig(config);
  EXPECT_TRUE(status.ok()) << status;
}

TEST(ValidateServerConfigTest, AcceptsRequestTimeoutEqualToConnectTimeout) {
  ServerConfig config = ValidConfig();
  *config.mutable_delivery()->mutable_connect_timeout() = Seconds(1, 500000000);
  *config.mutable_delivery()->mutable_request_timeout() = Seconds(1, 500000000);

  const absl::Status status = ValidateServerConfig(config);
  EXPECT_TRUE(status.ok()) << status;
}

TEST(ValidateServerConfigTest, AcceptsReadableExtraCaFileAndValidCidrs) {
  TempDir dir;
  ServerConfig config = ValidConfig();
  config.add_extra_ca_file(WriteFile(dir, "ca.pem", "-----BEGIN CERTIFICATE-----\n"));
  config.add_extra_ca_file(WriteFile(dir, "other-ca.pem", "-----BEGIN CERTIFICATE-----\n"));
  config.add_allow_private_targets("127.0.0.0/8");
  config.add_allow_private_targets("::1");
  config.add_allow_private_targets("fd00::/8");

  const absl::Status status = ValidateServerConfig(config);
  EXPECT_TRUE(status.ok()) << status;
}

TEST(ValidateServerConfigTest, DirectoryAsExtraCaFileIsInvalid) {
  TempDir dir;
  ServerConfig config = ValidConfig();
  config.add_extra_ca_file(WriteFile(dir, "ca.pem", "-----BEGIN CERTIFICATE-----\n"));
  config.add_extra_ca_file(dir.path());

  const absl::Status status = ValidateServerConfig(config);

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), StartsWith("extra_ca_file[1]: "));
}

struct InvalidRow {
  std::string description;
  std::function<void(ServerConfig&)> mutate;
  // The message must start with this (the field path).
  std::string field_prefix;
};

class ValidateServerConfigInvalidTest : public ::testing::TestWithParam<InvalidRow> {};

TEST_P(ValidateServerConfigInvalidTest, IsInvalidArgumentNamingTheField) {
  ServerConfig config = ValidConfig();
  GetParam().mutate(config);

  const absl::Status status = ValidateServerConfig(config);

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), StartsWith(GetParam().field_prefix));
}

INSTANTIATE_TEST_SUITE_P(
    Rows, ValidateServerConfigInvalidTest,
    ::testing::Values(
        InvalidRow{"NoTokens", [](ServerConfig& c) { c.clear_tokens(); }, "tokens: "},
        InvalidRow{"EmptyTokenName", [](ServerConfig& c) { c.mutable_tokens(0)->clear_name(); },
                   "tokens[0].name: required"},
        InvalidRow{"DuplicateTokenName",
                   [](ServerConfig& c) { c.mutable_tokens(1)->set_name("ops"); },
                   "tokens[1].name: duplicate name \"ops\""},
        InvalidRow{"Sha256TooShort",
                   [](ServerConfig& c) { c.mutable_tokens(0)->set_sha256(std::string(63, 'a')); },
                   "tokens[0].sha256: "},
        InvalidRow{"Sha256TooLong",
                   [](ServerConfig& c) { c.mutable_tokens(1)->set_sha256(std::string(65, 'b')); },
                   "tokens[1].sha256: "},
        InvalidRow{"Sha256UpperCase",
                   [](ServerConfig& c) { c.mutable_tokens(0)->set_sha256(std::string(64, 'A')); },
                   "tokens[0].sha256: "},
        InvalidRow{"Sha256NotHex",
                   [](ServerConfig& c) { c.mutable_tokens(0)->set_sha256(std::string(64, 'g')); },
                   "tokens[0].sha256: "},
        InvalidRow{"DuplicateHash",
                   [](ServerConfig& c) { c.mutable_tokens(1)->set_sha256(kHashA); },
                   "tokens[1].sha256: the same token is listed twice"},
        InvalidRow{"Sha256OfEmptyString",
                   [](ServerConfig& c) {
                     c.mutable_tokens(0)->set_sha256(
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
                   },
                   "tokens[0].sha256: is the SHA-256 of an empty string"},
        InvalidRow{"RocksDbMemoryBudgetTooSmall",
                   [](ServerConfig& c) {
                     c.mutable_storage()->mutable_rocksdb()->set_memory_budget_mib(8);
                   },
                   "storage.rocksdb.memory_budget_mib: must be between 16 and 65536"},
        InvalidRow{"PostgresWithoutConninfo",
                   [](ServerConfig& c) { c.mutable_storage()->mutable_postgres(); },
                   "storage.postgres.conninfo: required"},
        InvalidRow{"PostgresIdleReadConnectionsTooMany",
                   [](ServerConfig& c) {
                     auto& postgres = *c.mutable_storage()->mutable_postgres();
                     postgres.set_conninfo("dbname=w");
                     postgres.set_idle_read_connections(1000);
                   },
                   "storage.postgres.idle_read_connections: must be between 1 and 256"},
        InvalidRow{"PostgresWithOsBufferedSync",
                   [](ServerConfig& c) {
                     c.mutable_storage()->mutable_postgres()->set_conninfo("dbname=w");
                     ApplyDefaults(c);
                     c.mutable_storage()->set_sync_mode(v1::StorageConfig::SYNC_MODE_OS_BUFFERED);
                   },
                   "storage.sync_mode: must be SYNC_MODE_FSYNC with the postgres backend"},
        InvalidRow{"PostgresLeaseTtlTooShort",
                   [](ServerConfig& c) {
                     c.mutable_storage()->mutable_postgres()->set_conninfo("dbname=w");
                     ApplyDefaults(c);
                     c.mutable_storage()->mutable_postgres()->mutable_partition_lease_ttl()->set_seconds(
                         0);
                   },
                   "storage.postgres.partition_lease_ttl: must be between 1s and 300s"},
        InvalidRow{"NodeIdWithSpace", [](ServerConfig& c) { c.set_node_id("node a"); },
                   "node_id: \"node a\" is not 1-64 of [A-Za-z0-9._-]"},
        InvalidRow{"NodeIdTooLong", [](ServerConfig& c) { c.set_node_id(std::string(65, 'n')); },
                   "node_id: "},
        InvalidRow{"RequestBytesTooSmall",
                   [](ServerConfig& c) { c.mutable_limits()->set_max_request_bytes(100); },
                   "limits.max_request_bytes: must be between 1024 and"},
        InvalidRow{
            "OverlapLongerThan30Days",
            [](ServerConfig& c) { c.mutable_secret_rotation_overlap()->set_seconds(31 * 86400); },
            "secret_rotation_overlap: must be at most 30 days"},
        InvalidRow{"NonAdminWithoutAccounts",
                   [](ServerConfig& c) { c.mutable_tokens(1)->clear_accounts(); },
                   "tokens[1].accounts: "},
        InvalidRow{"BadAccountId",
                   [](ServerConfig& c) { c.mutable_tokens(1)->add_accounts("bad/account"); },
                   "tokens[1].accounts[1]: "},
        InvalidRow{
            "AccountIdTooLong",
            [](ServerConfig& c) { c.mutable_tokens(1)->set_accounts(0, std::string(65, 'a')); },
            "tokens[1].accounts[0]: "},
        InvalidRow{"EventTypeUpperCase",
                   [](ServerConfig& c) { c.mutable_event_types(0)->set_name("Booking.Created"); },
                   "event_types[0].name: "},
        InvalidRow{"EventTypeSingleSegment",
                   [](ServerConfig& c) { c.mutable_event_types(2)->set_name("booking"); },
                   "event_types[2].name: "},
        InvalidRow{"EventTypeEmptySegment",
                   [](ServerConfig& c) { c.mutable_event_types(0)->set_name("booking..created"); },
                   "event_types[0].name: "},
        InvalidRow{"EventTypeNineSegments",
                   [](ServerConfig& c) { c.mutable_event_types(0)->set_name("a.b.c.d.e.f.g.h.i"); },
                   "event_types[0].name: "},
        InvalidRow{"EventTypeTooLong",
                   [](ServerConfig& c) {
                     c.mutable_event_types(0)->set_name(
                         absl::StrCat(std::string(64, 'a'), ".", std::string(64, 'b')));
                   },
                   "event_types[0].name: "},
        InvalidRow{"EventTypeDash",
                   [](ServerConfig& c) { c.mutable_event_types(0)->set_name("booking.no-show"); },
                   "event_types[0].name: "},
        InvalidRow{
            "DuplicateEventType",
            [](ServerConfig& c) { c.mutable_event_types(3)->set_name(c.event_types(1).name()); },
            "event_types[3].name: duplicate event type"},
        InvalidRow{"PublishRateNegative",
                   [](ServerConfig& c) { c.mutable_limits()->set_publish_rate_per_account(-1); },
                   "limits.publish_rate_per_account: "},
        InvalidRow{"PublishRateNaN",
                   [](ServerConfig& c) {
                     c.mutable_limits()->set_publish_rate_per_account(std::nan(""));
                   },
                   "limits.publish_rate_per_account: "},
        InvalidRow{"StoredEventsNegative",
                   [](ServerConfig& c) {
                     c.mutable_limits()->set_max_stored_events_per_account(-1);
                   },
                   "limits.max_stored_events_per_account: "},
        InvalidRow{"StoredBytesBelowOneEvent",
                   [](ServerConfig& c) {
                     c.mutable_limits()->set_max_stored_bytes_per_account(1000);
                   },
                   "limits.max_stored_bytes_per_account: must be 0 (no limit) or at least "
                   "1048576"},
        InvalidRow{"PublishBurstNegative",
                   [](ServerConfig& c) { c.mutable_limits()->set_publish_burst_per_account(-3); },
                   "limits.publish_burst_per_account: "},
        InvalidRow{"WatchStreamsPerAccountAboveTotal",
                   [](ServerConfig& c) {
                     c.mutable_limits()->set_max_watch_streams(10);
                     c.mutable_limits()->set_max_watch_streams_per_account(11);
                   },
                   "limits.max_watch_streams_per_account: "},
        InvalidRow{"MaxWebhooksZero",
                   [](ServerConfig& c) { c.mutable_limits()->set_max_webhooks_per_account(0); },
                   "limits.max_webhooks_per_account: "},
        InvalidRow{"MaxWebhooksNegative",
                   [](ServerConfig& c) { c.mutable_limits()->set_max_webhooks_per_account(-1); },
                   "limits.max_webhooks_per_account: "},
        InvalidRow{
            "MaxWebhooksAboveCeiling",
            [](ServerConfig& c) { c.mutable_limits()->set_max_webhooks_per_account(100001); },
            "limits.max_webhooks_per_account: "},
        InvalidRow{"NegativeRotationOverlap",
                   [](ServerConfig& c) { c.mutable_secret_rotation_overlap()->set_seconds(-1); },
                   "secret_rotation_overlap: "},
        InvalidRow{"NegativeRequestIdRetentionNanos",
                   [](ServerConfig& c) {
                     c.mutable_request_id_retention()->set_seconds(0);
                     c.mutable_request_id_retention()->set_nanos(-1);
                   },
                   "request_id_retention: "},
        InvalidRow{"BadCidr",
                   [](ServerConfig& c) {
                     c.add_allow_private_targets("127.0.0.0/8");
                     c.add_allow_private_targets("10.0.0.0/33");
                   },
                   "allow_private_targets[1]: "},
        InvalidRow{"CidrWithHostBits",
                   [](ServerConfig& c) { c.add_allow_private_targets("10.0.0.1/8"); },
                   "allow_private_targets[0]: "},
        InvalidRow{"CidrNotAnAddress",
                   [](ServerConfig& c) { c.add_allow_private_targets("localhost"); },
                   "allow_private_targets[0]: "},
        InvalidRow{
            "UnreadableExtraCaFile",
            [](ServerConfig& c) { c.add_extra_ca_file("/nonexistent/wink-webhooks-test/ca.pem"); },
            "extra_ca_file[0]: "},
        InvalidRow{"ListenAddressWithoutPort",
                   [](ServerConfig& c) { c.set_listen_address("localhost"); }, "listen_address: "},
        InvalidRow{"ListenAddressPortTooLarge",
                   [](ServerConfig& c) { c.set_listen_address("127.0.0.1:65536"); },
                   "listen_address: "},
        InvalidRow{"EmptyDataDir", [](ServerConfig& c) { c.clear_data_dir(); },
                   "data_dir: required"},
        InvalidRow{"IdempotencyKeyRetentionNegative",
                   [](ServerConfig& c) { *c.mutable_idempotency_key_retention() = Seconds(-1); },
                   "idempotency_key_retention: must not be negative"},
        InvalidRow{"IdempotencyKeyRetentionLongerThan30Days",
                   [](ServerConfig& c) {
                     *c.mutable_idempotency_key_retention() = Seconds(30 * kDay + 1);
                   },
                   "idempotency_key_retention: must be at most 30 days"},
        InvalidRow{"EventRetentionZero",
                   [](ServerConfig& c) { *c.mutable_event_retention() = Seconds(0); },
                   "event_retention: must be between 1h and 3650 days"},
        InvalidRow{"EventRetentionUnderAnHour",
                   [](ServerConfig& c) { *c.mutable_event_retention() = Seconds(kHour - 1); },
                   "event_retention: must be between 1h and 3650 days"},
        InvalidRow{"EventRetentionNegative",
                   [](ServerConfig& c) { *c.mutable_event_retention() = Seconds(-kHour); },
                   "event_retention: must be between 1h and 3650 days"},
        InvalidRow{"EventRetentionTooLong",
                   [](ServerConfig& c) { *c.mutable_event_retention() = Seconds(3651 * kDay); },
                   "event_retention: must be between 1h and 3650 days"},
        InvalidRow{"ConnectTimeoutZero",
                   [](ServerConfig& c) {
                     *c.mutable_delivery()->mutable_connect_timeout() = Seconds(0);
                   },
                   "delivery.connect_timeout: must be between 100ms and 60s"},
        InvalidRow{"ConnectTimeoutUnder100ms",
                   [](ServerConfig& c) {
                     *c.mutable_delivery()->mutable_connect_timeout() = Seconds(0, 99999999);
                   },
                   "delivery.connect_timeout: must be between 100ms and 60s"},
        InvalidRow{"ConnectTimeoutOverAMinute",
                   [](ServerConfig& c) {
                     *c.mutable_delivery()->mutable_connect_timeout() = Seconds(60, 1);
                   },
                   "delivery.connect_timeout: must be between 100ms and 60s"},
        InvalidRow{"RequestTimeoutUnderASecond",
                   [](ServerConfig& c) {
                     *c.mutable_delivery()->mutable_connect_timeout() = Seconds(0, 500000000);
                     *c.mutable_delivery()->mutable_request_timeout() = Seconds(0, 999000000);
                   },
                   "delivery.request_timeout: must be between 1s and 300s"},
        InvalidRow{"RequestTimeoutOver300s",
                   [](ServerConfig& c) {
                     *c.mutable_delivery()->mutable_request_timeout() = Seconds(301);
                   },
                   "delivery.request_timeout: must be between 1s and 300s"},
        InvalidRow{"RequestTimeoutLessThanConnectTimeout",
                   [](ServerConfig& c) {
                     *c.mutable_delivery()->mutable_connect_timeout() = Seconds(10);
                     *c.mutable_delivery()->mutable_request_timeout() = Seconds(5);
                   },
                   "delivery.request_timeout: must not be less than connect_timeout"},
        InvalidRow{"RequestTimeoutLessThanConnectTimeoutByLessThanASecond",
                   [](ServerConfig& c) {
                     *c.mutable_delivery()->mutable_connect_timeout() = Seconds(1, 500000000);
                     *c.mutable_delivery()->mutable_request_timeout() = Seconds(1, 200000000);
                   },
                   "delivery.request_timeout: must not be less than connect_timeout"},
        InvalidRow{"RetryScheduleEmpty",
                   [](ServerConfig& c) { c.mutable_delivery()->clear_retry_schedule(); },
                   "delivery.retry_schedule: must have 1-50 entries"},
        InvalidRow{"RetryScheduleOver50Entries",
                   [](ServerConfig& c) {
                     c.mutable_delivery()->clear_retry_schedule();
                     for (int i = 0; i < 51; ++i) {
                       *c.mutable_delivery()->add_retry_schedule() = Seconds(1);
                     }
                   },
                   "delivery.retry_schedule: must have 1-50 entries"},
        InvalidRow{"RetryScheduleEntryNegative",
                   [](ServerConfig& c) {
                     *c.mutable_delivery()->mutable_retry_schedule(2) = Seconds(-1);
                   },
                   "delivery.retry_schedule[2]: must be between 0s and 7 days"},
        InvalidRow{"RetryScheduleEntryNegativeNanos",
                   [](ServerConfig& c) {
                     *c.mutable_delivery()->mutable_retry_schedule(0) = Seconds(0, -1);
                   },
                   "delivery.retry_schedule[0]: must be between 0s and 7 days"},
        InvalidRow{"RetryScheduleEntryOver7Days",
                   [](ServerConfig& c) {
                     *c.mutable_delivery()->mutable_retry_schedule(7) = Seconds(7 * kDay + 1);
                   },
                   "delivery.retry_schedule[7]: must be between 0s and 7 days"},
        InvalidRow{"MaxRetryAfterZero",
                   [](ServerConfig& c) {
                     *c.mutable_delivery()->mutable_max_retry_after() = Seconds(0);
                   },
                   "delivery.max_retry_after: must be between 1s and 24h"},
        InvalidRow{"MaxRetryAfterOver24h",
                   [](ServerConfig& c) {
                     *c.mutable_delivery()->mutable_max_retry_after() = Seconds(24 * kHour + 1);
                   },
                   "delivery.max_retry_after: must be between 1s and 24h"},
        InvalidRow{"DisableAfterFailingForUnderAMinute",
                   [](ServerConfig& c) {
                     *c.mutable_delivery()->mutable_disable_after_failing_for() = Seconds(59);
                   },
                   "delivery.disable_after_failing_for: must be between 1m and 365 days"},
        InvalidRow{"DisableAfterFailingForOver365Days",
                   [](ServerConfig& c) {
                     *c.mutable_delivery()->mutable_disable_after_failing_for() =
                         Seconds(366 * kDay);
                   },
                   "delivery.disable_after_failing_for: must be between 1m and 365 days"},
        InvalidRow{"MaxInFlightZero",
                   [](ServerConfig& c) { c.mutable_delivery()->set_max_in_flight(0); },
                   "delivery.max_in_flight: must be between 1 and 100000"},
        InvalidRow{"MaxInFlightNegative",
                   [](ServerConfig& c) { c.mutable_delivery()->set_max_in_flight(-1); },
                   "delivery.max_in_flight: must be between 1 and 100000"},
        InvalidRow{"MaxInFlightOver100000",
                   [](ServerConfig& c) {
                     c.mutable_delivery()->set_max_in_flight(100001);
                     c.mutable_delivery()->set_max_in_flight_per_webhook(1);
                   },
                   "delivery.max_in_flight: must be between 1 and 100000"},
        InvalidRow{"MaxInFlightPerWebhookZero",
                   [](ServerConfig& c) { c.mutable_delivery()->set_max_in_flight_per_webhook(0); },
                   "delivery.max_in_flight_per_webhook: must be between 1 and "
                   "delivery.max_in_flight"},
        InvalidRow{"MaxInFlightPerWebhookAboveMaxInFlight",
                   [](ServerConfig& c) {
                     c.mutable_delivery()->set_max_in_flight(8);
                     c.mutable_delivery()->set_max_in_flight_per_webhook(9);
                   },
                   "delivery.max_in_flight_per_webhook: must be between 1 and "
                   "delivery.max_in_flight"},
        InvalidRow{"MaxInFlightPerAccountBelowPerWebhook",
                   [](ServerConfig& c) {
                     c.mutable_delivery()->set_max_in_flight_per_webhook(16);
                     c.mutable_delivery()->set_max_in_flight_per_account(15);
                   },
                   "delivery.max_in_flight_per_account: must be between "
                   "delivery.max_in_flight_per_webhook and delivery.max_in_flight"},
        InvalidRow{"MaxInFlightPerAccountAboveMaxInFlight",
                   [](ServerConfig& c) {
                     c.mutable_delivery()->set_max_in_flight(256);
                     c.mutable_delivery()->set_max_in_flight_per_account(257);
                   },
                   "delivery.max_in_flight_per_account: must be between "
                   "delivery.max_in_flight_per_webhook and delivery.max_in_flight"}),
    [](const ::testing::TestParamInfo<InvalidRow>& info) { return info.param.description; });

}  // namespace
}  // namespace wink::webhooks::config
