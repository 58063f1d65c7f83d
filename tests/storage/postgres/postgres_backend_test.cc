// The PostgreSQL backend when PostgreSQL goes away: writes fail with
// UNAVAILABLE (never a crash or a hang), and the backend reconnects by
// itself once the server is back. On a real server the test kills
// (SIGKILL) and restarts.
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "service/storage/postgres/backend.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/postgres_server.h"
#include "tests/fakes/temp_dir.h"

namespace wink::webhooks::storage::pg {
namespace {

using ::wink::webhooks::testing::FakeClock;
using ::wink::webhooks::testing::PostgresServer;
using ::wink::webhooks::testing::TempDir;

domain::WebhookRecord NewWebhook() {
  domain::WebhookRecord webhook;
  webhook.set_account("acme");
  webhook.set_url("https://example.com/hook");
  webhook.set_enabled(true);
  return webhook;
}

CreateWebhookOptions Options() {
  CreateWebhookOptions options;
  options.now = absl::Now();
  return options;
}

TEST(PostgresBackendTest, WritesFailWithUnavailableWhileTheServerIsDownAndWorkAgainAfter) {
  TempDir dir;
  auto server = PostgresServer::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  FakeClock clock;
  PostgresOptions options;
  options.conninfo = (*server)->ConnInfo() + " connect_timeout=2";
  auto backend = OpenPostgresBackend(options, clock, /*observer=*/nullptr);
  ASSERT_TRUE(backend.ok()) << backend.status();
  auto first = (*backend)->webhooks().Create(NewWebhook(), Options());
  ASSERT_TRUE(first.ok()) << first.status();

  ASSERT_TRUE((*server)->Kill().ok());
  auto while_down = (*backend)->webhooks().Create(NewWebhook(), Options());
  ASSERT_EQ(while_down.status().code(), absl::StatusCode::kUnavailable) << while_down.status();
  EXPECT_TRUE(absl::StrContains(while_down.status().message(), "retry"))
      << while_down.status().message();
  auto read_while_down = (*backend)->webhooks().Get("acme", first->webhook.id());
  EXPECT_EQ(read_while_down.status().code(), absl::StatusCode::kUnavailable)
      << read_while_down.status();

  ASSERT_TRUE((*server)->Restart().ok());
  // The writer waits at most 2 s between connection attempts.
  absl::StatusOr<CreateWebhookResult> after = while_down.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!after.ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
    after = (*backend)->webhooks().Create(NewWebhook(), Options());
  }
  ASSERT_TRUE(after.ok()) << after.status();
  auto page = (*backend)->webhooks().List("acme", "", 10);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->webhooks.size(), 2u) << "the write refused while down stored nothing";
  EXPECT_EQ(page->webhooks[0].id(), first->webhook.id());
  EXPECT_EQ(page->webhooks[1].id(), after->webhook.id());
}

TEST(PostgresBackendTest, OpeningWithoutAServerIsUnavailable) {
  TempDir dir;
  auto server = PostgresServer::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string conninfo = (*server)->ConnInfo() + " connect_timeout=2";
  ASSERT_TRUE((*server)->Stop().ok());
  FakeClock clock;
  PostgresOptions options;
  options.conninfo = conninfo;
  auto backend = OpenPostgresBackend(options, clock, /*observer=*/nullptr);
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kUnavailable) << backend.status();
}

}  // namespace
}  // namespace wink::webhooks::storage::pg
