// A real PostgreSQL 15 server for tests: its own cluster (initdb) in a
// directory the test owns, listening on 127.0.0.1 on a free port, with trust
// authentication for the superuser "wink". Started, stopped, killed and
// restarted by the test:
//
//   TempDir dir;
//   auto server = PostgresServer::Start(dir.path());
//   ASSERT_TRUE(server.ok()) << server.status();
//   ASSERT_TRUE((*server)->CreateDatabase("storage").ok());
//   ... connect with PQconnectdb((*server)->ConnInfo("storage").c_str()) ...
//   ASSERT_TRUE((*server)->Kill().ok());     // the server crashes
//   ASSERT_TRUE((*server)->Restart().ok());  // and recovers, same port
//
// Replication: a primary whose commits wait for a quorum of standbys, and a
// failover to the standby that received the most:
//
//   PostgresServerOptions primary_options;
//   primary_options.synchronous_standbys = {"s1", "s2"};  // ANY 1 (s1, s2)
//   auto primary = PostgresServer::Start(dirs[0].path(), primary_options);
//   auto s1 = PostgresServer::StartStandby(dirs[1].path(), **primary, "s1");
//   auto s2 = PostgresServer::StartStandby(dirs[2].path(), **primary, "s2");
//   ... commits on the primary return once s1 or s2 has them ...
//   ASSERT_TRUE((*primary)->Kill().ok());
//   ... pick the standby with the highest ReceivedLsn(), say s1 ...
//   ASSERT_TRUE((*s1)->Promote().ok());
//   ASSERT_TRUE((*s2)->Follow(**s1).ok());
//   ... clients connect with MultiHostConnInfo({primary, s1, s2}, "db") ...
//
// Needs Debian's postgresql-15 (binaries in /usr/lib/postgresql/15/bin).
//
// Files: <dir>/postgres/ holds the cluster (data/), the server's log
// (postgres.log, kept across restarts), initdb's output (initdb.log) and the
// server's Unix socket when its path fits in a sockaddr_un (otherwise the
// server listens on TCP only).
//
// As root (CI runs as root), PostgreSQL refuses to run, so initdb and the
// server run as user `postgres`: <dir>/postgres/ is chowned to it, and `dir`
// gets o+x so that it can be traversed. When user postgres still cannot reach
// `dir` (an ancestor it may not enter, such as Bazel's $TEST_TMPDIR under
// /root, mode 0700), <dir>/postgres is instead a symbolic link to a fresh
// directory under /tmp, which the destructor removes; data_dir() says where
// the cluster really is. Bazel tests that use this fixture need
// tags = ["no-sandbox"]: as root, linux-sandbox runs them in a user namespace
// where no user but root exists.
//
// The server is a child process of the thread that called Start(),
// StartStandby() or Restart(), and is killed (SIGKILL) when that thread
// ends, so a test that crashes or times out leaves no server behind: call
// them from the test's main thread or from a thread that outlives the
// server.
//
// Not thread-safe, except that port(), ConnInfo(), MultiHostConnInfo(),
// data_dir() and log_file() may be called at any time, and CreateDatabase(),
// Exec() and ReceivedLsn() concurrently with each other (each opens its own
// connection) while nothing stops, kills, restarts or promotes the server.
#ifndef WINK_WEBHOOKS_TESTS_FAKES_POSTGRES_SERVER_H_
#define WINK_WEBHOOKS_TESTS_FAKES_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wink::webhooks::testing {

namespace postgres_server_internal {
// Who initdb and the server run as when the test runs as root.
struct RunAs {
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;  // all of the user's groups, `gid` included
};
}  // namespace postgres_server_internal

struct PostgresServerOptions {
  // Off (the default, for speed): no fsync and no full-page writes. Whatever
  // was committed survives Kill() (the operating system still has it), not a
  // crash of the machine. On: as in production.
  bool fsync = false;
  // Lines appended to postgresql.conf after ours (later settings win), e.g.
  // "log_statement = 'all'\n".
  std::string extra_conf;
  // Where initdb, postgres and pg_basebackup are.
  std::string bin_dir = "/usr/lib/postgresql/15/bin";

  // Replication. Every server can be a primary: wal_level = replica,
  // max_wal_senders = 10, wal_keep_size = 256MB (a standby stopped for a
  // while can still catch up: there are no replication slots) and trust for
  // replication connections from 127.0.0.1.
  //
  // The application_names (see StartStandby()) of the standbys of which
  // `synchronous_quorum` must have flushed a commit before it returns:
  // synchronous_standby_names = 'ANY <quorum> ("s1", "s2")' and
  // synchronous_commit = on. Until that many of them are connected, every
  // commit on this server waits, CreateDatabase() and Exec() included (a
  // client cancelling the wait gets a warning, and the commit stays). Empty
  // (the default): commits do not wait for standbys. For StartStandby(),
  // these apply once the standby is promoted.
  std::vector<std::string> synchronous_standbys;
  // Between 1 and synchronous_standbys.size().
  int synchronous_quorum = 1;
};

class PostgresServer {
 public:
  // The superuser every connection logs in as (no password).
  static constexpr char kUser[] = "wink";

  // Creates a cluster in `dir` (an existing directory; see the top of this
  // file), starts the server and waits until it accepts connections (at most
  // a minute). Errors:
  //   FAILED_PRECONDITION  options.bin_dir has no initdb/postgres (the message
  //                        names the package to install), or running as root
  //                        and there is no user `postgres` (or it cannot be
  //                        switched to, as in Bazel's sandbox);
  //   INVALID_ARGUMENT     `dir` is not a directory, or
  //                        options.synchronous_quorum is out of range or
  //                        options.synchronous_standbys has an empty name;
  //   ALREADY_EXISTS       `dir` already holds a cluster from another Start();
  //   INTERNAL             initdb or the server failed (the message ends with
  //                        the tail of its log);
  //   DEADLINE_EXCEEDED    the server did not become ready in time.
  // A port that another process takes between our choice and the server's
  // bind is retried with another port a few times.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start(
      const std::string& dir, const PostgresServerOptions& options = {});

  // A hot standby of `primary` (which must run) in `dir` (as for Start()):
  // copies the primary's cluster (pg_basebackup -X stream, so the copy is
  // consistent on its own), starts the server on a port of its own in
  // standby mode, streaming from the primary as `application_name` (the name
  // the primary's options.synchronous_standbys use), and waits until it
  // accepts (read-only) connections. Writes fail on it (SQLSTATE 25006, so
  // Exec() returns INTERNAL) until Promote().
  //
  // The standby keeps the primary's postgresql.conf (the primary's
  // extra_conf included) and pg_hba.conf, then applies `options` (later
  // settings win). It retries a lost primary every 100 ms rather than every
  // 5 s, so that failover tests are quick. Errors as Start(), and
  // INVALID_ARGUMENT if `application_name` is empty, FAILED_PRECONDITION if
  // `primary` is not running; pg_basebackup failing is INTERNAL (its log is
  // <dir>/postgres/basebackup.log).
  static absl::StatusOr<std::unique_ptr<PostgresServer>> StartStandby(
      const std::string& dir, const PostgresServer& primary, absl::string_view application_name,
      const PostgresServerOptions& options = {});

  // A connection string that reaches whichever of `servers` accepts writes
  // (libpq tries them in order, 2 s each at most, and skips those that are
  // down or read-only), e.g. "host=127.0.0.1,127.0.0.1 port=5433,5434
  // user=wink dbname=db target_session_attrs=read-write connect_timeout=2".
  // `servers` must not be empty; any may be down. libpq gives up at the
  // first server that refuses the login itself: a standby that has not yet
  // replayed the CREATE DATABASE of `dbname` ends the search.
  static std::string MultiHostConnInfo(const std::vector<const PostgresServer*>& servers,
                                       absl::string_view dbname = "postgres");

  // Stops the server if it runs (immediate shutdown: no checkpoint, every
  // server process gone when this returns) and removes the /tmp directory if
  // one was needed. The cluster in `dir` stays; the test's TempDir removes it.
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // A clean stop (fast shutdown: open connections are closed, a checkpoint is
  // written) that waits until every server process has exited. OK if the
  // server was not running. DEADLINE_EXCEEDED if it took over a minute (the
  // server is then killed).
  absl::Status Stop();

  // A crash: SIGKILL to the postmaster. Returns once its other processes
  // (which notice the postmaster's death) have exited too, so that Restart()
  // can start a new server on the same cluster; connections of clients break.
  // Restart() then runs crash recovery. OK if the server was not running.
  absl::Status Kill();

  // Stop() if the server runs, then starts it again on the same cluster and
  // port and waits until it accepts connections (read-only ones, for a
  // standby: it resumes streaming from its primary). Errors as Start(), and
  // UNAVAILABLE if another process took the port in the meantime.
  absl::Status Restart();

  // Whether the server was started and not stopped or killed since (not
  // whether it still answers).
  bool running() const { return postmaster_pid_ > 0; }

  // The TCP port on 127.0.0.1; the same for the server's whole life.
  int port() const { return port_; }

  // libpq connection string for database `dbname`, e.g.
  // "host=127.0.0.1 port=5433 user=wink dbname=postgres".
  std::string ConnInfo(absl::string_view dbname = "postgres") const;

  // Replication (see the top of the file).
  //
  // Ends recovery on this standby (pg_promote) and returns once it accepts
  // writes, on a new timeline. Whatever it had received from its primary is
  // replayed first. Its commits then wait for its own options'
  // synchronous_standbys (none by default). FAILED_PRECONDITION if it is not
  // running or not a standby (any more); DEADLINE_EXCEEDED after a minute;
  // otherwise errors as Exec().
  absl::Status Promote();

  // How far the WAL this standby has received and flushed from its primary
  // goes (pg_last_wal_receive_lsn(), "X/Y" as X << 32 | Y, so that standbys
  // compare with <). It stays when the primary goes away (not across a
  // Restart() of the standby): of the standbys of a killed primary, the one
  // with the highest value has every commit the primary returned (each
  // needed a quorum of flushes). FAILED_PRECONDITION if the server has not
  // streamed since it started, e.g. one made by Start() (then
  // pg_last_wal_receive_lsn() is NULL); otherwise errors as Exec().
  absl::StatusOr<uint64_t> ReceivedLsn() const;

  // Makes this running standby stream from `primary` from now on (ALTER
  // SYSTEM SET primary_conninfo, then a reload: no restart), under the same
  // application_name. It follows `primary`'s new timeline once connected: for
  // a promoted standby, this one must not have received more than it did
  // (see ReceivedLsn()). Returns before streaming starts: wait for a row.
  // FAILED_PRECONDITION if this is not a running standby; otherwise errors as
  // Exec().
  absl::Status Follow(const PostgresServer& primary);

  // The cluster's directory (PGDATA). Every server process has it as its
  // working directory.
  const std::string& data_dir() const { return data_dir_; }
  // The server's stdout and stderr, across restarts.
  const std::string& log_file() const { return log_file_; }

  // CREATE DATABASE `name` (any name: it is quoted), owned by kUser.
  // ALREADY_EXISTS if it exists; INVALID_ARGUMENT if `name` is not valid
  // UTF-8; otherwise errors as Exec().
  absl::Status CreateDatabase(absl::string_view name);

  // Runs `sql` in database `dbname` on a new connection (libpq's PQexec).
  // Several statements separated by ';' run as one transaction unless `sql`
  // says otherwise (so CREATE DATABASE must come alone). Any rows returned
  // are discarded. Errors:
  //   UNAVAILABLE     cannot connect (server down, no such database);
  //   ALREADY_EXISTS  the database, table, object or unique key exists
  //                   (SQLSTATE 42P04, 42P07, 42710, 23505);
  //   INTERNAL        any other error.
  // The message has the SQLSTATE and the server's message.
  absl::Status Exec(absl::string_view dbname, absl::string_view sql);

 private:
  PostgresServer() = default;

  // Checks options.bin_dir for `programs` and `dir`, and makes the server's
  // directory (see the top of the file); no cluster yet.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Prepare(
      const std::string& dir, const PostgresServerOptions& options,
      const std::vector<std::string>& programs);
  // Appends our settings, then `standby_conf`, then options_.extra_conf to
  // postgresql.conf.
  absl::Status AppendConf(absl::string_view standby_conf);
  // Starts the postmaster on a free port, with a few tries.
  absl::Status StartOnFreePort();
  // primary_conninfo for streaming from `primary` as application_name_.
  std::string PrimaryConnInfo(const PostgresServer& primary) const;

  // Starts the postmaster on port_ and waits until it is ready.
  // `address_in_use` says whether it failed because the port was taken.
  absl::Status StartPostmaster(bool& address_in_use);
  // Waits (at most `timeout`) for the postmaster to exit after a signal;
  // true once it has been reaped.
  bool WaitForPostmasterExit(absl::Duration timeout);
  // Waits until no process of the server whose postmaster was `postmaster`
  // is left (see Kill()).
  absl::Status WaitForServerProcessesToExit(pid_t postmaster);

  PostgresServerOptions options_;
  // Set when running as root.
  std::optional<postgres_server_internal::RunAs> run_as_;
  // A directory under /tmp that we made and remove (see the top of the file).
  std::string owned_dir_;
  std::string root_dir_;  // <dir>/postgres, or where that link points
  std::string data_dir_;
  std::string log_file_;
  std::string socket_dir_;  // "" when the path would be too long
  // The standby's name in its primary_conninfo; "" for a server made by
  // Start().
  std::string application_name_;
  int port_ = 0;
  pid_t postmaster_pid_ = -1;
  // The System V shared memory segment every server process has attached
  // (from postmaster.pid), or -1: how Kill() knows they are all gone.
  int shared_memory_id_ = -1;
};

}  // namespace wink::webhooks::testing

#endif  // WINK_WEBHOOKS_TESTS_FAKES_POSTGRES_SERVER_H_
