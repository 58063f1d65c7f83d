// metrics_listen_address in the server configuration (the rest of the
// configuration is tested in tests/config/).
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/config/server_config.h"
#include "tests/fakes/temp_dir.h"

namespace wink::webhooks::config {
namespace {

using ::testing::StartsWith;

// Valid apart from what a test sets.
ConfigOverrides BaseOverrides() {
  ConfigOverrides overrides;
  overrides.listen_address = "127.0.0.1:50051";
  overrides.admin_token_sha256 = {std::string(64, 'a')};
  return overrides;
}

absl::StatusOr<ServerConfig> LoadWithMetrics(const std::string& address) {
  ConfigOverrides overrides = BaseOverrides();
  overrides.metrics_listen_address = address;
  return LoadServerConfig("", overrides);
}

TEST(MetricsConfigTest, OffByDefault) {
  auto config = LoadServerConfig("", BaseOverrides());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->metrics_listen_address(), "");
}

TEST(MetricsConfigTest, TheFlagOverrideSetsTheAddress) {
  for (const char* address : {"127.0.0.1:9464", "0.0.0.0:0", "[::1]:9464", "localhost:9464"}) {
    auto config = LoadWithMetrics(address);
    ASSERT_TRUE(config.ok()) << address << ": " << config.status();
    EXPECT_EQ(config->metrics_listen_address(), address);
  }
}

TEST(MetricsConfigTest, TheFileSetsItAndTheFlagOverrideWins) {
  testing::TempDir dir;
  const std::string path = dir.Child("server.textproto");
  std::ofstream(path) << "metrics_listen_address: \"127.0.0.1:9100\"\n";

  auto from_file = LoadServerConfig(path, BaseOverrides());
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->metrics_listen_address(), "127.0.0.1:9100");

  ConfigOverrides overrides = BaseOverrides();
  overrides.metrics_listen_address = "127.0.0.1:9200";
  auto overridden = LoadServerConfig(path, overrides);
  ASSERT_TRUE(overridden.ok()) << overridden.status();
  EXPECT_EQ(overridden->metrics_listen_address(), "127.0.0.1:9200");
}

TEST(MetricsConfigTest, MalformedAddressesNameTheField) {
  for (const char* address : {"9464", ":9464", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:65536"}) {
    auto config = LoadWithMetrics(address);
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << address;
    EXPECT_THAT(std::string(config.status().message()),
                StartsWith("metrics_listen_address: expected host:port, got \""))
        << address;
  }
}

TEST(MetricsConfigTest, MustDifferFromTheGrpcAddress) {
  auto config = LoadWithMetrics("127.0.0.1:50051");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().message(),
            "metrics_listen_address: must differ from listen_address (both are "
            "\"127.0.0.1:50051\")");
}

TEST(MetricsConfigTest, BothOnPortZeroIsFine) {
  ConfigOverrides overrides = BaseOverrides();
  overrides.listen_address = "127.0.0.1:0";
  overrides.metrics_listen_address = "127.0.0.1:0";
  auto config = LoadServerConfig("", overrides);
  EXPECT_TRUE(config.ok()) << config.status();
}

}  // namespace
}  // namespace wink::webhooks::config
