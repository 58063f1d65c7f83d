// The PostgreSQL fixture itself: a real server that keeps committed rows
// across a clean restart and across a crash (SIGKILL), answers on the
// connection string it gives out, and leaves no process behind; and a
// replicated one: a primary whose commits wait for one of two standbys, and a
// failover to the standby that received the most, found by clients through a
// multi-host connection string.
#include "tests/fakes/postgres_server.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/temp_dir.h"

namespace wink::webhooks::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// The first column of every row `sql` returns in the database `conninfo`
// names, read through libpq on a connection of its own. On error, one value
// that says what went wrong, for the failed expectation to show.
std::vector<std::string> Column(const std::string& conninfo, const std::string& sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> connection(PQconnectdb(conninfo.c_str()), &PQfinish);
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    return {absl::StrCat("cannot connect: ", PQerrorMessage(connection.get()))};
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(connection.get(), sql.c_str()),
                                                       &PQclear);
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    return {absl::StrCat("query failed: ", PQerrorMessage(connection.get()))};
  }
  std::vector<std::string> values;
  for (int row = 0; row < PQntuples(result.get()); ++row) {
    values.push_back(PQgetvalue(result.get(), row, 0));
  }
  return values;
}

// How long a test waits for something replication should bring about soon.
constexpr absl::Duration kReplicationTimeout = absl::Seconds(30);

// What Column() returns, polled until it is `expected` or `timeout` has
// passed (then the last answer, for the failed expectation to show): a
// standby applies the primary's commits a little later.
std::vector<std::string> ColumnOnce(const std::string& conninfo, const std::string& sql,
                                    const std::vector<std::string>& expected,
                                    absl::Duration timeout = kReplicationTimeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    std::vector<std::string> values = Column(conninfo, sql);
    if (values == expected || absl::Now() >= deadline) return values;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

// One statement sent on a connection of its own without waiting for its
// result (libpq's asynchronous API), so that a test can watch a commit wait
// for standbys.
class PendingStatement {
 public:
  PendingStatement(const std::string& conninfo, const std::string& sql)
      : connection_(PQconnectdb(conninfo.c_str()), &PQfinish) {
    if (PQstatus(connection_.get()) != CONNECTION_OK) {
      Finish(absl::StrCat("cannot connect: ", PQerrorMessage(connection_.get())));
    } else if (PQsendQuery(connection_.get(), sql.c_str()) != 1) {
      Finish(absl::StrCat("cannot send: ", PQerrorMessage(connection_.get())));
    }
  }

  // The server process that runs the statement (pg_stat_activity.pid).
  int backend_pid() const { return PQbackendPID(connection_.get()); }

  // Whether the statement has ended, waiting at most `timeout` for it.
  bool Wait(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (!outcome_.has_value()) {
      if (PQconsumeInput(connection_.get()) != 1) {
        Finish(absl::StrCat("connection lost: ", PQerrorMessage(connection_.get())));
        break;
      }
      if (!PQisBusy(connection_.get())) {
        std::string outcome = "OK";
        while (PGresult* result = PQgetResult(connection_.get())) {
          if (PQresultStatus(result) != PGRES_COMMAND_OK) {
            outcome = PQresultErrorMessage(result);
          }
          PQclear(result);
        }
        Finish(outcome);
        break;
      }
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      pollfd readable{PQsocket(connection_.get()), POLLIN, 0};
      ::poll(&readable, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    }
    return true;
  }

  // Once Wait() returned true: "OK", or what went wrong.
  const std::string& outcome() const { return *outcome_; }

 private:
  void Finish(std::string outcome) { outcome_ = std::move(outcome); }

  std::unique_ptr<PGconn, decltype(&PQfinish)> connection_;
  std::optional<std::string> outcome_;
};

// The processes whose working directory is `dir`: every PostgreSQL server
// process works in its data directory.
std::vector<int> ProcessesIn(const std::string& dir) {
  std::vector<int> pids;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return pids;
  while (const dirent* entry = ::readdir(proc)) {
    const int pid = std::atoi(entry->d_name);
    if (pid <= 0) continue;
    char cwd[4096];
    const std::string link = absl::StrCat("/proc/", pid, "/cwd");
    const ssize_t length = ::readlink(link.c_str(), cwd, sizeof(cwd));
    if (length > 0 && std::string(cwd, static_cast<size_t>(length)) == dir) pids.push_back(pid);
  }
  ::closedir(proc);
  return pids;
}

TEST(PostgresServerTest, KeepsCommittedRowsAcrossRestartAndCrash) {
  TempDir dir;
  auto server = PostgresServer::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  PostgresServer& postgres = **server;
  const std::string conninfo = postgres.ConnInfo("fixture");
  EXPECT_EQ(conninfo,
            absl::StrCat("host=127.0.0.1 port=", postgres.port(), " user=wink dbname=fixture"));

  ASSERT_EQ(postgres.CreateDatabase("fixture"), absl::OkStatus());
  ASSERT_EQ(postgres.Exec("fixture", "CREATE TABLE t(x int); INSERT INTO t VALUES (1)"),
            absl::OkStatus());
  EXPECT_THAT(Column(conninfo, "SELECT x FROM t"), ElementsAre("1"));

  const int port = postgres.port();
  ASSERT_EQ(postgres.Restart(), absl::OkStatus());
  EXPECT_EQ(postgres.port(), port);
  EXPECT_THAT(Column(conninfo, "SELECT x FROM t"), ElementsAre("1"));

  ASSERT_EQ(postgres.Exec("fixture", "INSERT INTO t VALUES (2)"), absl::OkStatus());
  ASSERT_EQ(postgres.Kill(), absl::OkStatus());
  EXPECT_FALSE(postgres.running());
  EXPECT_THAT(ProcessesIn(postgres.data_dir()), IsEmpty());
  EXPECT_EQ(postgres.Exec("fixture", "SELECT 1").code(), absl::StatusCode::kUnavailable);

  ASSERT_EQ(postgres.Restart(), absl::OkStatus());
  EXPECT_THAT(Column(conninfo, "SELECT x FROM t ORDER BY x"), ElementsAre("1", "2"));

  const std::string data_dir = postgres.data_dir();
  EXPECT_THAT(ProcessesIn(data_dir), Not(IsEmpty()));
  server->reset();
  EXPECT_THAT(ProcessesIn(data_dir), IsEmpty());
}

TEST(PostgresServerTest, ReportsErrorsWithTheirCodeAndAppliesExtraConf) {
  TempDir dir;
  PostgresServerOptions options;
  options.extra_conf = "work_mem = '7MB'\n";
  auto server = PostgresServer::Start(dir.path(), options);
  ASSERT_TRUE(server.ok()) << server.status();
  PostgresServer& postgres = **server;

  EXPECT_THAT(Column(postgres.ConnInfo(), "SHOW work_mem"), ElementsAre("7MB"));

  ASSERT_EQ(postgres.CreateDatabase("with space"), absl::OkStatus());
  EXPECT_THAT(Column(postgres.ConnInfo("with space"), "SELECT current_database()"),
              ElementsAre("with space"));
  EXPECT_EQ(postgres.CreateDatabase("with space").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(postgres.Exec("missing", "SELECT 1").code(), absl::StatusCode::kUnavailable);

  const absl::Status syntax_error = postgres.Exec("postgres", "SELEKT 1");
  EXPECT_EQ(syntax_error.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(syntax_error.message(), HasSubstr("42601"));  // syntax_error

  // A second server in the same directory would share the first one's files.
  EXPECT_EQ(PostgresServer::Start(dir.path()).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST(PostgresServerTest, NamesThePackageWhenTheBinariesAreMissing) {
  TempDir dir;
  PostgresServerOptions options;
  options.bin_dir = dir.Child("no-such-bin");
  const absl::Status status = PostgresServer::Start(dir.path(), options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("postgresql-15"));
}

TEST(PostgresServerTest, RejectsReplicationCallsThatCannotWork) {
  TempDir dir;
  PostgresServerOptions too_many;
  too_many.synchronous_standbys = {"s1", "s2"};
  too_many.synchronous_quorum = 3;
  EXPECT_EQ(PostgresServer::Start(dir.path(), too_many).status().code(),
            absl::StatusCode::kInvalidArgument);

  auto server = PostgresServer::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  PostgresServer& postgres = **server;
  EXPECT_EQ(postgres.Promote().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(postgres.ReceivedLsn().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(postgres.Follow(postgres).code(), absl::StatusCode::kFailedPrecondition);

  TempDir standby_dir;
  EXPECT_EQ(PostgresServer::StartStandby(standby_dir.path(), postgres, "").status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(postgres.Stop(), absl::OkStatus());
  EXPECT_EQ(PostgresServer::StartStandby(standby_dir.path(), postgres, "s1").status().code(),
            absl::StatusCode::kFailedPrecondition);

  EXPECT_EQ(PostgresServer::MultiHostConnInfo({&postgres, &postgres}, "db"),
            absl::StrCat("host=127.0.0.1,127.0.0.1 port=", postgres.port(), ",", postgres.port(),
                         " user=wink dbname=db target_session_attrs=read-write connect_timeout=2"));
}

// A primary whose commits wait for ANY 1 of its standbys s1 and s2, with a
// table t(x int) in database "fixture".
class ReplicatedPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PostgresServerOptions options;
    options.synchronous_standbys = {"s1", "s2"};
    auto primary = PostgresServer::Start(primary_dir_.path(), options);
    ASSERT_TRUE(primary.ok()) << primary.status();
    primary_ = *std::move(primary);
    auto s1 = PostgresServer::StartStandby(s1_dir_.path(), *primary_, "s1");
    ASSERT_TRUE(s1.ok()) << s1.status();
    s1_ = *std::move(s1);
    auto s2 = PostgresServer::StartStandby(s2_dir_.path(), *primary_, "s2");
    ASSERT_TRUE(s2.ok()) << s2.status();
    s2_ = *std::move(s2);
    ASSERT_EQ(primary_->CreateDatabase("fixture"), absl::OkStatus());
    ASSERT_EQ(primary_->Exec("fixture", "CREATE TABLE t(x int)"), absl::OkStatus());
    // Commits wait for one standby only, and the other may lag (replaying
    // CREATE DATABASE takes a while on a busy machine): a multi-host
    // connection would stop at a standby without the database.
    for (const PostgresServer* standby : {s1_.get(), s2_.get()}) {
      ASSERT_THAT(ColumnOnce(standby->ConnInfo("fixture"), "SELECT count(*) FROM t", {"0"}),
                  ElementsAre("0"));
    }
  }

  // Every server process gone, then every directory.
  TempDir primary_dir_;
  TempDir s1_dir_;
  TempDir s2_dir_;
  std::unique_ptr<PostgresServer> primary_;
  std::unique_ptr<PostgresServer> s1_;
  std::unique_ptr<PostgresServer> s2_;
};

TEST_F(ReplicatedPostgresTest, CommitsWaitForOneOfTwoStandbys) {
  const std::string select = "SELECT x FROM t ORDER BY x";
  ASSERT_EQ(primary_->Exec("fixture", "INSERT INTO t VALUES (1)"), absl::OkStatus());
  EXPECT_THAT(ColumnOnce(s1_->ConnInfo("fixture"), select, {"1"}), ElementsAre("1"));
  EXPECT_THAT(ColumnOnce(s2_->ConnInfo("fixture"), select, {"1"}), ElementsAre("1"));
  const absl::Status read_only = s1_->Exec("fixture", "INSERT INTO t VALUES (0)");
  EXPECT_EQ(read_only.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(read_only.message(), HasSubstr("25006"));  // read_only_sql_transaction

  // One standby is enough.
  ASSERT_EQ(s2_->Stop(), absl::OkStatus());
  PendingStatement with_s1(primary_->ConnInfo("fixture"), "INSERT INTO t VALUES (2)");
  ASSERT_TRUE(with_s1.Wait(kReplicationTimeout));
  EXPECT_EQ(with_s1.outcome(), "OK");

  // None is not: the commit waits (pg_stat_activity says what for) until one
  // comes back.
  ASSERT_EQ(s1_->Stop(), absl::OkStatus());
  PendingStatement alone(primary_->ConnInfo("fixture"), "INSERT INTO t VALUES (3)");
  EXPECT_THAT(ColumnOnce(primary_->ConnInfo(),
                         absl::StrCat("SELECT wait_event FROM pg_stat_activity WHERE pid = ",
                                      alone.backend_pid()),
                         {"SyncRep"}),
              ElementsAre("SyncRep"));
  EXPECT_FALSE(alone.Wait(absl::ZeroDuration()));
  ASSERT_EQ(s1_->Restart(), absl::OkStatus());
  ASSERT_TRUE(alone.Wait(kReplicationTimeout));
  EXPECT_EQ(alone.outcome(), "OK");

  // The standby that was away catches up.
  ASSERT_EQ(s2_->Restart(), absl::OkStatus());
  EXPECT_THAT(ColumnOnce(s2_->ConnInfo("fixture"), select, {"1", "2", "3"}),
              ElementsAre("1", "2", "3"));
  EXPECT_THAT(ColumnOnce(s1_->ConnInfo("fixture"), select, {"1", "2", "3"}),
              ElementsAre("1", "2", "3"));
}

TEST_F(ReplicatedPostgresTest, FailsOverToTheStandbyThatReceivedTheMost) {
  // Clients list every server; the one that accepts writes answers.
  const std::string any_primary =
      PostgresServer::MultiHostConnInfo({primary_.get(), s1_.get(), s2_.get()}, "fixture");
  std::vector<std::string> committed;
  for (int x = 1; x <= 20; ++x) {
    PendingStatement insert(any_primary, absl::StrCat("INSERT INTO t VALUES (", x, ")"));
    ASSERT_TRUE(insert.Wait(kReplicationTimeout));
    ASSERT_EQ(insert.outcome(), "OK");
    committed.push_back(absl::StrCat(x));
  }

  ASSERT_EQ(primary_->Kill(), absl::OkStatus());
  const absl::StatusOr<uint64_t> s1_lsn = s1_->ReceivedLsn();
  const absl::StatusOr<uint64_t> s2_lsn = s2_->ReceivedLsn();
  ASSERT_TRUE(s1_lsn.ok()) << s1_lsn.status();
  ASSERT_TRUE(s2_lsn.ok()) << s2_lsn.status();
  PostgresServer& winner = *s1_lsn >= *s2_lsn ? *s1_ : *s2_;
  PostgresServer& other = *s1_lsn >= *s2_lsn ? *s2_ : *s1_;
  ASSERT_EQ(winner.Promote(), absl::OkStatus());
  EXPECT_EQ(winner.Promote().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(other.Follow(winner), absl::OkStatus());

  // The dead primary and the read-only standby first: libpq skips both.
  const std::string after_failover =
      PostgresServer::MultiHostConnInfo({primary_.get(), &other, &winner}, "fixture");
  std::unique_ptr<PGconn, decltype(&PQfinish)> connection(PQconnectdb(after_failover.c_str()),
                                                          &PQfinish);
  ASSERT_EQ(PQstatus(connection.get()), CONNECTION_OK) << PQerrorMessage(connection.get());
  EXPECT_EQ(PQport(connection.get()), absl::StrCat(winner.port()));
  std::unique_ptr<PGresult, decltype(&PQclear)> insert(
      PQexec(connection.get(), "INSERT INTO t VALUES (21)"), &PQclear);
  EXPECT_EQ(PQresultStatus(insert.get()), PGRES_COMMAND_OK) << PQerrorMessage(connection.get());

  const std::string select = "SELECT x FROM t ORDER BY x";
  std::vector<std::string> expected = committed;
  expected.push_back("21");
  EXPECT_THAT(Column(after_failover, select), ElementsAreArray(expected));
  // The other standby streams from the new primary.
  EXPECT_THAT(ColumnOnce(other.ConnInfo("fixture"), select, expected), ElementsAreArray(expected));
}

}  // namespace
}  // namespace wink::webhooks::testing
