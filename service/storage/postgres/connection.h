// One libpq connection to PostgreSQL, and a pool of them for reads.
// Internal to the PostgreSQL backend (exposes libpq types).
//
// Statements are named SQL (Sql), prepared once per connection the first
// time it runs them, and sent in pipelines: Run() sends a list of
// statements and a single sync, so a list costs one network round trip
// whatever its length. Parameters go as text (numbers) or raw bytes
// (bytea, text); results come back in binary format.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_CONNECTION_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_CONNECTION_H_

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace wink::webhooks::storage::pg {

// A statement's text and the name it is prepared under (unique per text).
struct Sql {
  absl::string_view name;
  absl::string_view text;
};

// One parameter value.
class Param {
 public:
  // Sent in text format: must not contain NUL (ids, names, array literals
  // such as "{a,b}").
  static Param Text(absl::string_view value) { return Param(std::string(value), false, false); }
  // bytea, sent as its raw bytes (binary format).
  static Param Bytes(absl::string_view value) { return Param(std::string(value), true, false); }
  static Param Int(int64_t value) { return Param(std::to_string(value), false, false); }
  static Param Bool(bool value) { return Param(value ? "t" : "f", false, false); }
  static Param Null() { return Param("", false, true); }

  const std::string& value() const { return value_; }
  bool binary() const { return binary_; }
  bool null() const { return null_; }

 private:
  Param(std::string value, bool binary, bool null)
      : value_(std::move(value)), binary_(binary), null_(null) {}
  std::string value_;
  bool binary_;
  bool null_;
};

struct Statement {
  Sql sql;
  std::vector<Param> params;
};

// The rows a statement returned (none for a write). Columns are in binary
// format: read each with the accessor of its SQL type.
class Rows {
 public:
  Rows() = default;
  explicit Rows(PGresult* result) : result_(result, &PQclear) {}

  int size() const { return result_ == nullptr ? 0 : PQntuples(result_.get()); }
  bool empty() const { return size() == 0; }
  // Rows a write changed ("UPDATE 3" gives 3).
  int64_t affected() const;
  bool IsNull(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  // text and bytea columns: the bytes as stored.
  absl::string_view Bytes(int row, int column) const;
  // smallint, integer and bigint columns.
  int64_t Int(int row, int column) const;
  bool Bool(int row, int column) const;

 private:
  std::shared_ptr<PGresult> result_;
};

// Maps an error libpq reported: connection failures, a primary that is
// gone or read-only, and a full disk are UNAVAILABLE (a retry may work);
// deadlocks and serialization failures ABORTED (retry the transaction);
// unique violations ALREADY_EXISTS; the rest INTERNAL. The message carries
// PostgreSQL's words (for the log) after `context`.
absl::Status ErrorFrom(const PGresult* result, PGconn* connection, absl::string_view context);

// Not thread-safe: one user at a time.
class Connection {
 public:
  // Connects with `conninfo` (libpq's "key=value ..." or a URI; a multi-host
  // list with target_session_attrs=read-write finds the primary).
  // UNAVAILABLE when it cannot.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& conninfo);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs `statements` in order in one pipeline (one round trip) and returns
  // each one's rows. The first statement that fails ends the pipeline (the
  // rest do not run) and its error is returned; inside a transaction the
  // transaction is then aborted.
  absl::StatusOr<std::vector<Rows>> Run(const std::vector<Statement>& statements);
  absl::StatusOr<Rows> RunOne(const Statement& statement);

  // Runs `sql` as a simple query (several statements allowed, no
  // parameters), e.g. DDL or BEGIN/ROLLBACK.
  absl::Status Execute(absl::string_view sql);

  // True once the connection is lost, or left in a state no later use can
  // trust (a pipeline that could not be sent or read to its end): open a
  // new one.
  bool broken() const;

  // Notifications (NOTIFY) of the channels this connection LISTENs to,
  // received so far: reads what has arrived on the socket without
  // waiting. UNAVAILABLE when the connection is lost.
  struct Notification {
    std::string channel;
    std::string payload;
  };
  absl::StatusOr<std::vector<Notification>> TakeNotifications();
  // The socket, for poll() while waiting for notifications.
  int socket() const { return PQsocket(connection_); }

 private:
  explicit Connection(PGconn* connection) : connection_(connection) {}

  PGconn* connection_;
  // See broken().
  bool unusable_ = false;
  // Statement names prepared on this connection.
  absl::flat_hash_set<std::string> prepared_;
};

// A few connections shared by readers. Thread-safe.
class ConnectionPool {
 public:
  // At most `max_idle` connections are kept between uses; more are opened
  // while callers need them.
  ConnectionPool(std::string conninfo, int max_idle)
      : conninfo_(std::move(conninfo)), max_idle_(max_idle) {}

  // Runs `use` with a connection of the pool (opening one if none is idle).
  // A connection that broke during `use` is dropped. When an idle one
  // broke (its server went away since its last use), `use` runs once more
  // on a new connection, so `use` must be safe to run twice: the pool is
  // for reads.
  absl::Status With(const std::function<absl::Status(Connection&)>& use);

  // Runs one statement, or several in one round trip, outside any
  // transaction (each sees what was committed when it started).
  absl::StatusOr<Rows> Query(const Statement& statement);
  absl::StatusOr<std::vector<Rows>> Query(const std::vector<Statement>& statements);

 private:
  const std::string conninfo_;
  const int max_idle_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace wink::webhooks::storage::pg

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_CONNECTION_H_
