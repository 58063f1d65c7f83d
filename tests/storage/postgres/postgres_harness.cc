#include "tests/storage/postgres/postgres_harness.h"

#include <atomic>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "service/common/status_macros.h"
#include "service/storage/postgres/backend.h"
#include "service/storage/postgres/connection.h"
#include "tests/fakes/postgres_server.h"
#include "tests/fakes/temp_dir.h"

namespace wink::webhooks::storage::pg {
namespace {

using ::wink::webhooks::testing::PostgresServer;
using ::wink::webhooks::testing::TempDir;

// The server every harness of this binary shares: started by the first
// harness, stopped (and its directory removed) after the last test.
class SharedPostgres : public ::testing::Environment {
 public:
  PostgresServer& server() {
    if (server_ == nullptr) {
      dir_ = std::make_unique<TempDir>();
      auto started = PostgresServer::Start(dir_->path());
      if (!started.ok()) {
        ADD_FAILURE() << "cannot start PostgreSQL: " << started.status();
        std::abort();
      }
      server_ = *std::move(started);
      if (absl::Status created = server_->CreateDatabase("conformance"); !created.ok()) {
        ADD_FAILURE() << created;
        std::abort();
      }
    }
    return *server_;
  }

  void TearDown() override {
    server_.reset();
    dir_.reset();
  }

 private:
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<PostgresServer> server_;
};

// Owned by gtest once registered (before main runs the tests).
SharedPostgres* const shared_postgres =
    static_cast<SharedPostgres*>(::testing::AddGlobalTestEnvironment(new SharedPostgres()));

PostgresServer& SharedServer() { return shared_postgres->server(); }

absl::StatusOr<int> Count(Connection& connection, absl::string_view name, absl::string_view sql) {
  WINK_ASSIGN_OR_RETURN(const Rows rows, connection.RunOne(Statement{Sql{name, sql}, {}}));
  return static_cast<int>(rows.Int(0, 0));
}

}  // namespace

PostgresHarness::PostgresHarness() {
  static std::atomic<int> next{0};
  schema_ = absl::StrCat("harness_", next++);
  PostgresServer& server = SharedServer();
  const absl::Status created = server.Exec("conformance", absl::StrCat("CREATE SCHEMA ", schema_));
  EXPECT_TRUE(created.ok()) << created;
  conninfo_ =
      absl::StrCat(server.ConnInfo("conformance"), " options='-c search_path=", schema_, "'");
}

absl::StatusOr<std::unique_ptr<StorageBackend>> PostgresHarness::Open(const Clock& clock) {
  PostgresOptions options;
  options.conninfo = conninfo_;
  options.idle_read_connections = 2;
  return OpenPostgresBackend(options, clock, /*observer=*/nullptr);
}

absl::Status PostgresHarness::PutWebhookRecordOnly(const domain::WebhookRecord& webhook) {
  WINK_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, Connection::Open(conninfo_));
  return connection
      ->RunOne(Statement{Sql{"put_webhook_only",
                             "INSERT INTO webhooks (account, id, record) VALUES ($1, $2, $3) "
                             "ON CONFLICT (account, id) DO UPDATE SET record = EXCLUDED.record"},
                         {Param::Text(webhook.account()), Param::Text(webhook.id()),
                          Param::Bytes(webhook.SerializeAsString())}})
      .status();
}

absl::Status PostgresHarness::DeleteWebhookRecordOnly(const std::string& account,
                                                      const std::string& webhook_id) {
  WINK_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, Connection::Open(conninfo_));
  return connection
      ->RunOne(Statement{
          Sql{"delete_webhook_only", "DELETE FROM webhooks WHERE account = $1 AND id = $2"},
          {Param::Text(account), Param::Text(webhook_id)}})
      .status();
}

absl::Status PostgresHarness::ForgetAccountUsage() {
  WINK_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, Connection::Open(conninfo_));
  return connection->Execute(
      "DROP TABLE account_usage; DELETE FROM schema_version; "
      "INSERT INTO schema_version (version) VALUES (1)");
}

absl::StatusOr<testing::StoredCounts> PostgresHarness::CountStored() {
  WINK_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, Connection::Open(conninfo_));
  testing::StoredCounts counts;
  WINK_ASSIGN_OR_RETURN(counts.events,
                        Count(*connection, "count_events", "SELECT count(*) FROM events"));
  WINK_ASSIGN_OR_RETURN(counts.deliveries,
                        Count(*connection, "count_deliveries", "SELECT count(*) FROM deliveries"));
  WINK_ASSIGN_OR_RETURN(counts.attempts,
                        Count(*connection, "count_attempts", "SELECT count(*) FROM attempts"));
  WINK_ASSIGN_OR_RETURN(counts.due_entries,
                        Count(*connection, "count_due",
                              "SELECT count(*) FROM deliveries WHERE due_time_us IS NOT NULL"));
  WINK_ASSIGN_OR_RETURN(counts.held_entries, Count(*connection, "count_held",
                                                   "SELECT count(*) FROM deliveries WHERE held"));
  return counts;
}

testing::BackendUnderTest PostgresUnderTest() {
  return testing::BackendUnderTest{
      "Postgres", [](const std::string&) { return std::make_unique<PostgresHarness>(); }};
}

}  // namespace wink::webhooks::storage::pg
