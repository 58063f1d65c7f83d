#include "service/storage/postgres/connection.h"

#include <endian.h>

#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace wink::webhooks::storage::pg {
namespace {

// Result format of every statement: binary.
constexpr int kBinaryResults = 1;

absl::string_view Stripped(const char* message) {
  return absl::StripTrailingAsciiWhitespace(message == nullptr ? "" : message);
}

}  // namespace

int64_t Rows::affected() const {
  int64_t count = 0;
  if (result_ == nullptr || !absl::SimpleAtoi(PQcmdTuples(result_.get()), &count)) return 0;
  return count;
}

absl::string_view Rows::Bytes(int row, int column) const {
  return absl::string_view(PQgetvalue(result_.get(), row, column),
                           PQgetlength(result_.get(), row, column));
}

int64_t Rows::Int(int row, int column) const {
  const char* value = PQgetvalue(result_.get(), row, column);
  switch (PQgetlength(result_.get(), row, column)) {
    case 2: {
      uint16_t v;
      std::memcpy(&v, value, 2);
      return static_cast<int16_t>(be16toh(v));
    }
    case 4: {
      uint32_t v;
      std::memcpy(&v, value, 4);
      return static_cast<int32_t>(be32toh(v));
    }
    case 8: {
      uint64_t v;
      std::memcpy(&v, value, 8);
      return static_cast<int64_t>(be64toh(v));
    }
    default:
      return 0;  // NULL
  }
}

bool Rows::Bool(int row, int column) const {
  return PQgetlength(result_.get(), row, column) == 1 &&
         PQgetvalue(result_.get(), row, column)[0] != 0;
}

absl::Status ErrorFrom(const PGresult* result, PGconn* connection, absl::string_view context) {
  const char* state = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const absl::string_view sqlstate = state == nullptr ? "" : state;
  absl::string_view detail =
      result != nullptr ? Stripped(PQresultErrorMessage(result)) : absl::string_view();
  if (detail.empty() && connection != nullptr) detail = Stripped(PQerrorMessage(connection));
  const std::string message = absl::StrCat(context, ": ", detail);
  if (connection != nullptr && PQstatus(connection) == CONNECTION_BAD) {
    return absl::UnavailableError(message);
  }
  // SQLSTATE classes: 08 connection, 57P admin shutdown or crash, 25006 a
  // read-only transaction (connected to a standby), 53 insufficient
  // resources (53100: disk full).
  if (sqlstate.empty() || absl::StartsWith(sqlstate, "08") || absl::StartsWith(sqlstate, "57P") ||
      sqlstate == "25006" || absl::StartsWith(sqlstate, "53")) {
    return absl::UnavailableError(message);
  }
  if (sqlstate == "40001" || sqlstate == "40P01") return absl::AbortedError(message);
  if (sqlstate == "23505") return absl::AlreadyExistsError(message);
  return absl::InternalError(absl::StrCat(message, " (SQLSTATE ", sqlstate, ")"));
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& conninfo) {
  PGconn* connection = PQconnectdb(conninfo.c_str());
  if (connection == nullptr) return absl::UnavailableError("cannot connect to PostgreSQL");
  if (PQstatus(connection) != CONNECTION_OK) {
    absl::Status error = absl::UnavailableError(
        absl::StrCat("cannot connect to PostgreSQL: ", Stripped(PQerrorMessage(connection))));
    PQfinish(connection);
    return error;
  }
  // libpq prints NOTICEs ("relation ... already exists, skipping") on
  // stderr by default, outside the log format; nothing here needs them.
  PQsetNoticeProcessor(
      connection, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<Connection>(new Connection(connection));
}

Connection::~Connection() { PQfinish(connection_); }

bool Connection::broken() const { return unusable_ || PQstatus(connection_) != CONNECTION_OK; }

absl::StatusOr<std::vector<Connection::Notification>> Connection::TakeNotifications() {
  if (PQconsumeInput(connection_) == 0) {
    return ErrorFrom(nullptr, connection_, "PostgreSQL connection lost while listening");
  }
  std::vector<Notification> out;
  while (PGnotify* notify = PQnotifies(connection_)) {
    out.push_back(Notification{notify->relname, notify->extra});
    PQfreemem(notify);
  }
  return out;
}

absl::Status Connection::Execute(absl::string_view sql) {
  const std::string text(sql);
  PGresult* result = PQexec(connection_, text.c_str());
  const ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  absl::Status outcome = absl::OkStatus();
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    outcome = ErrorFrom(result, connection_, "PostgreSQL refused a statement");
  }
  PQclear(result);
  return outcome;
}

absl::StatusOr<Rows> Connection::RunOne(const Statement& statement) {
  std::vector<Statement> one{statement};
  auto rows = Run(one);
  if (!rows.ok()) return rows.status();
  return std::move(rows->front());
}

absl::StatusOr<std::vector<Rows>> Connection::Run(const std::vector<Statement>& statements) {
  if (broken()) return absl::UnavailableError("the connection to PostgreSQL was lost");
  if (PQenterPipelineMode(connection_) != 1) {
    return ErrorFrom(nullptr, connection_, "entering pipeline mode");
  }
  // What was sent, in order: a prepare (its result is only checked) or a
  // statement (its rows are returned).
  struct Sent {
    bool prepare;
    std::string name;
  };
  std::vector<Sent> sent;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  absl::Status send_error;
  // Prepared earlier in this pipeline (a statement may come twice).
  absl::flat_hash_set<std::string> preparing;
  for (const Statement& statement : statements) {
    const std::string name(statement.sql.name);
    if (!prepared_.contains(name) && preparing.insert(name).second) {
      const std::string text(statement.sql.text);
      if (PQsendPrepare(connection_, name.c_str(), text.c_str(), 0, nullptr) != 1) {
        send_error = ErrorFrom(nullptr, connection_, "sending a statement");
        break;
      }
      sent.push_back(Sent{true, name});
    }
    values.clear();
    lengths.clear();
    formats.clear();
    for (const Param& param : statement.params) {
      values.push_back(param.null() ? nullptr : param.value().data());
      lengths.push_back(static_cast<int>(param.value().size()));
      formats.push_back(param.binary() ? 1 : 0);
    }
    // Text parameters must end with a NUL: std::string's data() does.
    if (PQsendQueryPrepared(connection_, name.c_str(), static_cast<int>(values.size()),
                            values.data(), lengths.data(), formats.data(), kBinaryResults) != 1) {
      send_error = ErrorFrom(nullptr, connection_, "sending a statement");
      break;
    }
    sent.push_back(Sent{false, name});
  }
  if (send_error.ok() && PQpipelineSync(connection_) != 1) {
    send_error = ErrorFrom(nullptr, connection_, "sending a pipeline");
  }
  if (!send_error.ok()) {
    // Still in pipeline mode, with commands queued and never synced: the
    // next user would read their results as its own. Broken from now on,
    // so that the pool drops it and the writer opens another.
    unusable_ = true;
    return send_error;
  }

  std::vector<Rows> rows;
  rows.reserve(statements.size());
  absl::Status first_error;
  for (const Sent& command : sent) {
    PGresult* result = PQgetResult(connection_);
    if (result == nullptr) {
      first_error.Update(ErrorFrom(nullptr, connection_, "reading a result"));
      break;
    }
    const ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_PIPELINE_ABORTED) {
      PQclear(result);
    } else if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      first_error.Update(ErrorFrom(result, connection_, "PostgreSQL refused a statement"));
      PQclear(result);
    } else if (command.prepare) {
      prepared_.insert(command.name);
      PQclear(result);
    } else {
      rows.emplace_back(result);
    }
    // Each command's results end with a null.
    while (PGresult* extra = PQgetResult(connection_)) PQclear(extra);
  }
  // The sync's own result.
  while (PGresult* result = PQgetResult(connection_)) {
    const bool sync = PQresultStatus(result) == PGRES_PIPELINE_SYNC;
    PQclear(result);
    if (sync) break;
  }
  if (PQexitPipelineMode(connection_) != 1) {
    // Results of this pipeline are still unread (as above).
    unusable_ = true;
    if (first_error.ok()) first_error = ErrorFrom(nullptr, connection_, "leaving pipeline mode");
  }
  if (!first_error.ok()) return first_error;
  return rows;
}

absl::Status ConnectionPool::With(const std::function<absl::Status(Connection&)>& use) {
  std::unique_ptr<Connection> connection;
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      connection = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  const bool reused = connection != nullptr;
  if (!reused) {
    auto opened = Connection::Open(conninfo_);
    if (!opened.ok()) return opened.status();
    connection = *std::move(opened);
  }
  absl::Status status = use(*connection);
  if (reused && connection->broken()) {
    // An idle connection finds out only when used that its server went
    // away (restarted, or a standby promoted in its place): once more on a
    // new one, so a failover costs the caller nothing. A fresh connection's
    // failure stands.
    auto opened = Connection::Open(conninfo_);
    if (!opened.ok()) return status;
    connection = *std::move(opened);
    status = use(*connection);
  }
  if (!connection->broken()) {
    absl::MutexLock lock(&mu_);
    if (static_cast<int>(idle_.size()) < max_idle_) idle_.push_back(std::move(connection));
  }
  return status;
}

absl::StatusOr<Rows> ConnectionPool::Query(const Statement& statement) {
  absl::StatusOr<Rows> rows;
  absl::Status status = With([&](Connection& connection) {
    rows = connection.RunOne(statement);
    return rows.status();
  });
  if (!status.ok()) return status;
  return rows;
}

absl::StatusOr<std::vector<Rows>> ConnectionPool::Query(const std::vector<Statement>& statements) {
  absl::StatusOr<std::vector<Rows>> rows;
  absl::Status status = With([&](Connection& connection) {
    rows = connection.Run(statements);
    return rows.status();
  });
  if (!status.ok()) return status;
  return rows;
}

}  // namespace wink::webhooks::storage::pg
