// The example configuration shipped in docs/ must stay loadable once its
// placeholders are filled in, and must not start as shipped: it is what
// people copy.
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/config/server_config.h"
#include "tests/fakes/temp_dir.h"

namespace wink::webhooks::config {
namespace {

using ::testing::StartsWith;

std::string ReadExample() {
  std::ifstream file(WEBHOOKS_EXAMPLE_CONFIG);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

TEST(ExampleConfigTest, AsShippedItRefusesToStart) {
  auto config = LoadServerConfig(WEBHOOKS_EXAMPLE_CONFIG, ConfigOverrides());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), StartsWith("tokens[0].sha256: "));
}

TEST(ExampleConfigTest, WithRealHashesItLoadsAndValidates) {
  const std::string filled = absl::StrReplaceAll(
      ReadExample(), {{"REPLACE_WITH_SHA256_OF_THE_CHANNEL_MANAGER_TOKEN", std::string(64, 'c')},
                      {"REPLACE_WITH_SHA256_OF_THE_OPS_TOKEN", std::string(64, 'd')}});
  testing::TempDir dir;
  const std::string path = dir.Child("server.textproto");
  std::ofstream(path) << filled;

  auto config = LoadServerConfig(path, ConfigOverrides());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address(), "127.0.0.1:50051");
  ASSERT_EQ(config->tokens_size(), 2);
  EXPECT_EQ(config->tokens(0).name(), "channel-manager");
  EXPECT_THAT(config->tokens(0).accounts(), ::testing::ElementsAre("acme-hotels", "seaside-inn"));
  EXPECT_TRUE(config->tokens(1).admin());
  EXPECT_EQ(config->limits().max_webhooks_per_account(), 100);
  EXPECT_EQ(config->secret_rotation_overlap().seconds(), 86400);
  EXPECT_EQ(config->storage().sync_mode(), v1::StorageConfig::SYNC_MODE_FSYNC);
  EXPECT_EQ(config->event_types_size(), static_cast<int>(DefaultEventTypes().size()));
}

}  // namespace
}  // namespace wink::webhooks::config
