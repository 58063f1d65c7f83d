// The example configuration shipped in docs/ must stay loadable: it is what
// people copy.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/config/server_config.h"

namespace wink::webhooks::config {
namespace {

TEST(ExampleConfigTest, DocsExampleLoadsAndValidates) {
  auto config = LoadServerConfig(WEBHOOKS_EXAMPLE_CONFIG, ConfigOverrides());
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
