// The PostgreSQL fixture itself: a real server that keeps committed rows
// across a clean restart and across a crash (SIGKILL), answers on the
// connection string it gives out, and leaves no process behind.
#include "tests/fakes/postgres_server.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/temp_dir.h"

namespace wink::webhooks::testing {
namespace {

using ::testing::ElementsAre;
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

}  // namespace
}  // namespace wink::webhooks::testing
