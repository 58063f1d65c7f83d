#include "tests/fakes/postgres_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "service/common/status_macros.h"

namespace wink::webhooks::testing {
namespace {

using postgres_server_internal::RunAs;

constexpr absl::Duration kInitdbTimeout = absl::Minutes(2);
constexpr absl::Duration kStartTimeout = absl::Minutes(1);
constexpr absl::Duration kStopTimeout = absl::Minutes(1);
constexpr absl::Duration kPollInterval = absl::Milliseconds(10);
constexpr int kPortAttempts = 5;

std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

std::string ExitText(int wait_status) {
  if (WIFEXITED(wait_status)) return absl::StrCat("exit status ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return absl::StrCat("killed by signal ", WTERMSIG(wait_status));
  return "ended";
}

// The end of the file at `path` from byte `from` on, for error messages.
std::string LogTail(const std::string& path, std::uintmax_t from = 0) {
  constexpr std::uintmax_t kMaxBytes = 3000;
  std::error_code error;
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  if (error) return absl::StrCat("(no log ", path, ")");
  const std::uintmax_t begin = std::max(from, size > kMaxBytes ? size - kMaxBytes : 0);
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(begin));
  std::string text(size - begin, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (begin > from) text.erase(0, text.find('\n') + 1);  // starts mid-line
  return absl::StrCat("end of ", path, ":\n", text);
}

std::uintmax_t FileSize(const std::string& path) {
  std::error_code error;
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  return error ? 0 : size;
}

// The test's environment for initdb and postgres, minus anything that would
// change their behaviour (PG* variables, locale), with messages in English
// (StartPostmaster() looks for one) and a fixed time zone (saves initdb from
// probing for the system's).
std::vector<std::string> ServerEnvironment() {
  std::vector<std::string> out;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const absl::string_view variable = *entry;
    if (absl::StartsWith(variable, "PG") || absl::StartsWith(variable, "LC_") ||
        absl::StartsWith(variable, "LANG=") || absl::StartsWith(variable, "TZ=")) {
      continue;
    }
    out.emplace_back(variable);
  }
  out.push_back("LC_ALL=C");
  out.push_back("TZ=UTC");
  return out;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Starts `argv` (argv[0] a path) in `cwd`, as `run_as` if set, with stdin
// from /dev/null and stdout and stderr appended to `log_path`. The child is
// killed when the calling thread ends.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& cwd,
                            const std::string& log_path, const std::optional<RunAs>& run_as) {
  // Everything the child needs is prepared before fork(): the child of a
  // multi-threaded process may only call async-signal-safe functions.
  std::vector<std::string> arg_strings = argv;
  std::vector<char*> args = Pointers(arg_strings);
  std::vector<std::string> env_strings = ServerEnvironment();
  std::vector<char*> envp = Pointers(env_strings);
  const std::string cannot_switch_user = "postgres_server: cannot switch to user postgres\n";
  const std::string cannot_enter = absl::StrCat("postgres_server: cannot enter ", cwd, "\n");
  const std::string cannot_run = absl::StrCat("postgres_server: cannot run ", argv[0], "\n");
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::InternalError(absl::StrCat("cannot open ", log_path, ": ", ErrnoText(errno)));
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid == 0) {
    auto fail = [log_fd](const std::string& message) {
      (void)!::write(log_fd, message.data(), message.size());
      std::_Exit(127);
    };
    if (run_as.has_value() && (::setgroups(run_as->groups.size(), run_as->groups.data()) != 0 ||
                               ::setgid(run_as->gid) != 0 || ::setuid(run_as->uid) != 0)) {
      fail(cannot_switch_user);
    }
    // After setuid(), which clears it. A test that crashes or times out must
    // not leave its server behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) std::_Exit(1);
    // The test may block signals in its threads; the server needs its own.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    if (::chdir(cwd.c_str()) != 0) fail(cannot_enter);
    ::execve(args[0], args.data(), envp.data());
    fail(cannot_run);
  }
  const int fork_errno = errno;
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", ErrnoText(fork_errno)));
  return pid;
}

// Reaps `pid` once it has exited, waiting at most `timeout`. True if reaped
// (its status in `wait_status`).
bool WaitForExit(pid_t pid, absl::Duration timeout, int& wait_status) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const pid_t reaped = ::waitpid(pid, &wait_status, WNOHANG);
    if (reaped == pid) return true;
    if (reaped < 0 && errno != EINTR) return true;  // not our child (any more)
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(kPollInterval);
  }
}

// Runs `argv` to its end (at most `timeout`), output appended to `log_path`.
absl::Status Run(const std::vector<std::string>& argv, const std::string& cwd,
                 const std::string& log_path, const std::optional<RunAs>& run_as,
                 absl::Duration timeout) {
  WINK_ASSIGN_OR_RETURN(const pid_t pid, Spawn(argv, cwd, log_path, run_as));
  int wait_status = 0;
  if (!WaitForExit(pid, timeout, wait_status)) {
    ::kill(pid, SIGKILL);
    WaitForExit(pid, absl::InfiniteDuration(), wait_status);
    return absl::DeadlineExceededError(absl::StrCat(
        argv[0], " did not finish in ", absl::FormatDuration(timeout), "; ", LogTail(log_path)));
  }
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat(argv[0], " failed (", ExitText(wait_status), "); ", LogTail(log_path)));
}

absl::StatusOr<RunAs> PostgresUser() {
  std::vector<char> buffer(16384);
  passwd entry;
  passwd* found = nullptr;
  if (::getpwnam_r("postgres", &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    return absl::FailedPreconditionError(
        "running as root, so PostgreSQL must run as user postgres, and there is no such user: "
        "install Debian's postgresql-15, which creates it");
  }
  RunAs user{entry.pw_uid, entry.pw_gid, {}};
  int count = 32;
  user.groups.resize(static_cast<size_t>(count));
  while (::getgrouplist(entry.pw_name, entry.pw_gid, user.groups.data(), &count) < 0) {
    user.groups.resize(static_cast<size_t>(count));
  }
  user.groups.resize(static_cast<size_t>(count));
  return user;
}

// Whether `user` may enter `dir` (the owner's, group's or others' x bit, in
// that order, as the kernel checks them; ACLs aside).
bool MayEnter(const std::filesystem::path& dir, const RunAs& user) {
  struct stat status;
  if (::stat(dir.c_str(), &status) != 0) return false;
  if (status.st_uid == user.uid) return (status.st_mode & S_IXUSR) != 0;
  if (std::find(user.groups.begin(), user.groups.end(), status.st_gid) != user.groups.end()) {
    return (status.st_mode & S_IXGRP) != 0;
  }
  return (status.st_mode & S_IXOTH) != 0;
}

// The directory in which `user` gets its own subdirectory: `dir` (made
// enterable for others if needed) when `user` can reach it, otherwise a new
// directory under /tmp, returned in `made_dir` too.
absl::StatusOr<std::string> DirectoryFor(const std::filesystem::path& dir, const RunAs& user,
                                         std::string& made_dir) {
  bool reachable = true;
  for (std::filesystem::path ancestor = dir.parent_path();; ancestor = ancestor.parent_path()) {
    if (!MayEnter(ancestor, user)) reachable = false;
    if (ancestor == ancestor.root_path()) break;
  }
  if (reachable) {
    struct stat status;
    if (!MayEnter(dir, user) && (::stat(dir.c_str(), &status) != 0 ||
                                 ::chmod(dir.c_str(), status.st_mode | S_IXOTH) != 0)) {
      return absl::InternalError(
          absl::StrCat("cannot chmod o+x ", dir.string(), ": ", ErrnoText(errno)));
    }
    return dir.string();
  }
  std::string made = "/tmp/wink-pg-XXXXXX";
  if (::mkdtemp(made.data()) == nullptr || ::chmod(made.c_str(), 0711) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot make a directory under /tmp for user postgres (", dir.string(),
                     " is out of its reach): ", ErrnoText(errno)));
  }
  made_dir = made;
  return made;
}

// A port on 127.0.0.1 that nothing listens on right now.
absl::StatusOr<int> FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", ErrnoText(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  const int bind_errno = errno;
  ::close(fd);
  if (!bound) return absl::InternalError(absl::StrCat("bind 127.0.0.1:0: ", ErrnoText(bind_errno)));
  return ntohs(address.sin_port);
}

// The processes of user `uid` whose working directory is `dir` (every server
// process works in its data directory). Zombies have none.
std::vector<pid_t> ProcessesIn(const std::string& dir, uid_t uid) {
  std::vector<pid_t> pids;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return pids;
  while (const dirent* entry = ::readdir(proc)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid) || pid <= 0) continue;
    const std::string process = absl::StrCat("/proc/", pid);
    struct stat status;
    if (::stat(process.c_str(), &status) != 0 || status.st_uid != uid) continue;
    char cwd[4096];
    const ssize_t length = ::readlink((process + "/cwd").c_str(), cwd, sizeof(cwd));
    if (length > 0 && absl::string_view(cwd, static_cast<size_t>(length)) == dir) {
      pids.push_back(pid);
    }
  }
  ::closedir(proc);
  return pids;
}

// A string literal for postgresql.conf.
std::string ConfString(absl::string_view value) {
  return absl::StrCat("'", absl::StrReplaceAll(value, {{"'", "''"}}), "'");
}

// A value for a libpq connection string, quoted if it needs to be.
std::string ConnInfoValue(absl::string_view value) {
  if (!value.empty() && value.find_first_of(" \t\n'\\=") == absl::string_view::npos) {
    return std::string(value);
  }
  std::string quoted = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

// Whether the server that `postmaster.pid` describes is `postmaster` and
// accepts connections (read-only ones will do if `standby_will_do`); if so,
// its System V shared memory id in `shmid`. The file's lines (PostgreSQL's
// miscadmin.h, LOCK_FILE_LINE_*): 1 pid, ..., 7 shared memory key and id,
// 8 status ("ready" once it accepts connections, "standby" for a hot standby
// once consistent).
bool IsReady(const std::string& pid_file, pid_t postmaster, bool standby_will_do, int& shmid) {
  std::ifstream in(pid_file);
  if (!in) return false;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  int pid = 0;
  if (lines.size() < 8 || !absl::SimpleAtoi(lines[0], &pid) || pid != postmaster ||
      !(absl::StartsWith(lines[7], "ready") ||
        (standby_will_do && absl::StartsWith(lines[7], "standby")))) {
    return false;
  }
  const std::vector<absl::string_view> key_and_id =
      absl::StrSplit(lines[6], ' ', absl::SkipWhitespace());
  if (key_and_id.size() != 2 || !absl::SimpleAtoi(key_and_id[1], &shmid)) shmid = -1;
  return true;
}

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;

std::string ErrorMessageOf(const PGconn* connection) {
  return std::string(absl::StripTrailingAsciiWhitespace(PQerrorMessage(connection)));
}

absl::StatusOr<Connection> Connect(const std::string& conninfo) {
  Connection connection(PQconnectdb(conninfo.c_str()), &PQfinish);
  if (connection == nullptr) return absl::UnavailableError("libpq: out of memory");
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect (", conninfo, "): ", ErrorMessageOf(connection.get())));
  }
  return connection;
}

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

absl::StatusOr<Result> QueryOn(PGconn* connection, const std::string& sql) {
  Result result(PQexec(connection, sql.c_str()), &PQclear);
  if (result == nullptr) {
    return absl::UnavailableError(absl::StrCat("libpq: ", ErrorMessageOf(connection)));
  }
  switch (PQresultStatus(result.get())) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_EMPTY_QUERY:
      return result;
    default:
      break;
  }
  const char* sqlstate_field = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
  const std::string sqlstate = sqlstate_field != nullptr ? sqlstate_field : "";
  const std::string message = absl::StrCat("SQLSTATE ", sqlstate, ": ", ErrorMessageOf(connection));
  if (sqlstate == "42P04" || sqlstate == "42P07" || sqlstate == "42710" || sqlstate == "23505") {
    return absl::AlreadyExistsError(message);
  }
  return absl::InternalError(message);
}

absl::Status ExecOn(PGconn* connection, const std::string& sql) {
  return QueryOn(connection, sql).status();
}

// The first column of the first row `sql` returns; nullopt for NULL.
absl::StatusOr<std::optional<std::string>> ValueOn(PGconn* connection, const std::string& sql) {
  WINK_ASSIGN_OR_RETURN(const Result result, QueryOn(connection, sql));
  if (PQntuples(result.get()) < 1 || PQnfields(result.get()) < 1) {
    return absl::InternalError(absl::StrCat("no value from ", sql));
  }
  if (PQgetisnull(result.get(), 0, 0)) return std::nullopt;
  return std::string(PQgetvalue(result.get(), 0, 0));
}

// FAILED_PRECONDITION unless the server on `connection` is in recovery (a
// standby).
absl::Status CheckIsStandby(PGconn* connection, absl::string_view what) {
  WINK_ASSIGN_OR_RETURN(const std::optional<std::string> in_recovery,
                        ValueOn(connection, "SELECT pg_is_in_recovery()"));
  if (in_recovery != "t") {
    return absl::FailedPreconditionError(absl::StrCat(what, ": the server is not a standby"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Prepare(
    const std::string& dir, const PostgresServerOptions& options,
    const std::vector<std::string>& programs) {
  for (const std::string& program : programs) {
    const std::string path = absl::StrCat(options.bin_dir, "/", program);
    if (::access(path.c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "no PostgreSQL program ", path, ": install Debian's postgresql-15 (scripts/deps.sh)"));
    }
  }
  if (!options.synchronous_standbys.empty() &&
      (options.synchronous_quorum < 1 ||
       static_cast<size_t>(options.synchronous_quorum) > options.synchronous_standbys.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("synchronous_quorum ", options.synchronous_quorum, " is not between 1 and ",
                     options.synchronous_standbys.size(), " (the synchronous_standbys)"));
  }
  for (const std::string& name : options.synchronous_standbys) {
    if (name.empty()) return absl::InvalidArgumentError("synchronous_standbys: an empty name");
  }
  std::error_code error;
  const std::filesystem::path base = std::filesystem::canonical(dir, error);
  if (error || !std::filesystem::is_directory(base, error)) {
    return absl::InvalidArgumentError(absl::StrCat("dir ", dir, " is not a directory"));
  }

  auto server = absl::WrapUnique(new PostgresServer());
  server->options_ = options;
  std::string parent = base.string();
  if (::geteuid() == 0) {
    WINK_ASSIGN_OR_RETURN(server->run_as_, PostgresUser());
    WINK_ASSIGN_OR_RETURN(parent, DirectoryFor(base, *server->run_as_, server->owned_dir_));
  }
  server->root_dir_ = parent + "/postgres";
  server->data_dir_ = server->root_dir_ + "/data";
  server->log_file_ = server->root_dir_ + "/postgres.log";
  const std::string claimed = base.string() + "/postgres";
  const auto already_exists = [&claimed] {
    return absl::AlreadyExistsError(
        absl::StrCat(claimed, " exists: give each PostgresServer a directory of its own"));
  };
  if (::mkdir(server->root_dir_.c_str(), 0700) != 0) {
    if (errno == EEXIST) return already_exists();
    return absl::InternalError(
        absl::StrCat("cannot make ", server->root_dir_, ": ", ErrnoText(errno)));
  }
  if (!server->owned_dir_.empty() && ::symlink(server->root_dir_.c_str(), claimed.c_str()) != 0) {
    if (errno == EEXIST) return already_exists();
    return absl::InternalError(absl::StrCat("cannot link ", claimed, ": ", ErrnoText(errno)));
  }
  if (server->run_as_.has_value() &&
      ::chown(server->root_dir_.c_str(), server->run_as_->uid, server->run_as_->gid) != 0) {
    // EINVAL: a user namespace that maps root only, where no one else can
    // exist, as in Bazel's linux-sandbox.
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot chown ", server->root_dir_, " to postgres: ", ErrnoText(errno),
        errno == EINVAL ? " (root in a user namespace without user postgres, such as Bazel's "
                          "sandbox: tag the test \"no-sandbox\")"
                        : ""));
  }
  // The server refuses to start when its socket's path does not fit in
  // sockaddr_un; then it listens on TCP only.
  if (server->root_dir_.size() + std::strlen("/.s.PGSQL.65535") < sizeof(sockaddr_un::sun_path)) {
    server->socket_dir_ = server->root_dir_;
  }
  return server;
}

absl::Status PostgresServer::AppendConf(absl::string_view standby_conf) {
  std::string synchronous_standby_names;
  if (!options_.synchronous_standbys.empty()) {
    std::vector<std::string> names;
    for (const std::string& name : options_.synchronous_standbys) {
      names.push_back(absl::StrCat("\"", absl::StrReplaceAll(name, {{"\"", "\"\""}}), "\""));
    }
    synchronous_standby_names =
        absl::StrCat("ANY ", options_.synchronous_quorum, " (", absl::StrJoin(names, ", "), ")");
  }
  // Appending keeps the file's owner (postgres, when root).
  std::ofstream conf(data_dir_ + "/postgresql.conf", std::ios::app);
  const char* fsync = options_.fsync ? "on" : "off";
  conf << "\n# Added by tests/fakes/postgres_server.cc.\n"
       << "listen_addresses = '127.0.0.1'\n"
       << "unix_socket_directories = " << ConfString(socket_dir_) << "\n"
       << "max_connections = 200\n"
       << "shared_buffers = 32MB\n"
       << "fsync = " << fsync << "\n"
       << "full_page_writes = " << fsync << "\n"
       << "wal_level = replica\n"
       << "max_wal_senders = 10\n"
       << "wal_keep_size = '256MB'\n"
       // Written even when empty: a standby's copy of its primary's file
       // says otherwise.
       << "synchronous_standby_names = " << ConfString(synchronous_standby_names) << "\n"
       << "synchronous_commit = on\n"
       << standby_conf << options_.extra_conf << "\n";
  if (!conf.flush()) {
    return absl::InternalError(absl::StrCat("cannot write ", data_dir_, "/postgresql.conf"));
  }
  return absl::OkStatus();
}

absl::Status PostgresServer::StartOnFreePort() {
  for (int attempt = 1;; ++attempt) {
    WINK_ASSIGN_OR_RETURN(port_, FreeLoopbackPort());
    bool address_in_use = false;
    const absl::Status started = StartPostmaster(address_in_use);
    if (started.ok()) return started;
    if (!address_in_use || attempt == kPortAttempts) return started;
  }
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(
    const std::string& dir, const PostgresServerOptions& options) {
  WINK_ASSIGN_OR_RETURN(std::unique_ptr<PostgresServer> server,
                        Prepare(dir, options, {"initdb", "postgres"}));
  WINK_RETURN_IF_ERROR(
      Run({options.bin_dir + "/initdb", "-D", server->data_dir_, "-A", "trust", "-U", kUser,
           "--no-sync", "-E", "UTF8", "--locale=C", "--no-instructions"},
          server->root_dir_, server->root_dir_ + "/initdb.log", server->run_as_, kInitdbTimeout));
  {
    // initdb -A trust already has such a line; ours does not depend on its
    // template.
    std::ofstream hba(server->data_dir_ + "/pg_hba.conf", std::ios::app);
    hba << "\n# Added by tests/fakes/postgres_server.cc: standbys.\n"
        << "host replication all 127.0.0.1/32 trust\n";
    if (!hba.flush()) {
      return absl::InternalError(absl::StrCat("cannot write ", server->data_dir_, "/pg_hba.conf"));
    }
  }
  WINK_RETURN_IF_ERROR(server->AppendConf(""));
  WINK_RETURN_IF_ERROR(server->StartOnFreePort());
  return server;
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::StartStandby(
    const std::string& dir, const PostgresServer& primary, absl::string_view application_name,
    const PostgresServerOptions& options) {
  if (application_name.empty()) {
    return absl::InvalidArgumentError("application_name: empty");
  }
  if (!primary.running()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the primary (port ", primary.port(), ") is not running"));
  }
  WINK_ASSIGN_OR_RETURN(std::unique_ptr<PostgresServer> server,
                        Prepare(dir, options, {"pg_basebackup", "postgres"}));
  server->application_name_ = std::string(application_name);
  // A fast checkpoint: the default spreads it over minutes. No sync, as for
  // initdb: what the operating system has survives Kill().
  WINK_RETURN_IF_ERROR(Run(
      {options.bin_dir + "/pg_basebackup", "-D", server->data_dir_, "-h", "127.0.0.1", "-p",
       absl::StrCat(primary.port()), "-U", kUser, "-X", "stream", "--checkpoint=fast", "--no-sync"},
      server->root_dir_, server->root_dir_ + "/basebackup.log", server->run_as_, kInitdbTimeout));
  // primary_conninfo goes where Follow()'s ALTER SYSTEM puts it, which a
  // primary's own copy (if it once followed) would otherwise override.
  {
    std::ofstream auto_conf(server->data_dir_ + "/postgresql.auto.conf", std::ios::app);
    auto_conf << "primary_conninfo = " << ConfString(server->PrimaryConnInfo(primary)) << "\n";
    if (!auto_conf.flush()) {
      return absl::InternalError(
          absl::StrCat("cannot write ", server->data_dir_, "/postgresql.auto.conf"));
    }
  }
  const std::string signal_file = server->data_dir_ + "/standby.signal";
  {
    std::ofstream signal(signal_file);
    if (!signal.flush()) return absl::InternalError(absl::StrCat("cannot write ", signal_file));
  }
  if (server->run_as_.has_value() &&
      ::chown(signal_file.c_str(), server->run_as_->uid, server->run_as_->gid) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot chown ", signal_file, " to postgres: ", ErrnoText(errno)));
  }
  // A standby retries a lost primary after wal_retrieve_retry_interval, 5 s
  // by default: too long for a failover test.
  WINK_RETURN_IF_ERROR(server->AppendConf("wal_retrieve_retry_interval = '100ms'\n"));
  WINK_RETURN_IF_ERROR(server->StartOnFreePort());
  return server;
}

std::string PostgresServer::MultiHostConnInfo(const std::vector<const PostgresServer*>& servers,
                                              absl::string_view dbname) {
  std::vector<std::string> hosts;
  std::vector<int> ports;
  for (const PostgresServer* server : servers) {
    hosts.push_back("127.0.0.1");
    ports.push_back(server->port());
  }
  return absl::StrCat("host=", absl::StrJoin(hosts, ","), " port=", absl::StrJoin(ports, ","),
                      " user=", kUser, " dbname=", ConnInfoValue(dbname),
                      " target_session_attrs=read-write connect_timeout=2");
}

std::string PostgresServer::PrimaryConnInfo(const PostgresServer& primary) const {
  return absl::StrCat("host=127.0.0.1 port=", primary.port(), " user=", kUser,
                      " application_name=", ConnInfoValue(application_name_));
}

PostgresServer::~PostgresServer() {
  if (running()) {
    const pid_t postmaster = postmaster_pid_;
    // Immediate shutdown: nothing here is worth a checkpoint.
    ::kill(postmaster, SIGQUIT);
    if (!WaitForPostmasterExit(kStopTimeout)) {
      ::kill(postmaster, SIGKILL);
      WaitForPostmasterExit(absl::InfiniteDuration());
    }
    WaitForServerProcessesToExit(postmaster).IgnoreError();
  }
  if (!owned_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(owned_dir_, ignored);
  }
}

absl::Status PostgresServer::StartPostmaster(bool& address_in_use) {
  address_in_use = false;
  const std::uintmax_t log_start = FileSize(log_file_);
  WINK_ASSIGN_OR_RETURN(const pid_t postmaster, Spawn({options_.bin_dir + "/postgres", "-D",
                                                       data_dir_, "-p", absl::StrCat(port_)},
                                                      root_dir_, log_file_, run_as_));
  postmaster_pid_ = postmaster;
  const absl::Time deadline = absl::Now() + kStartTimeout;
  while (true) {
    int wait_status = 0;
    if (::waitpid(postmaster, &wait_status, WNOHANG) == postmaster) {
      postmaster_pid_ = -1;
      const std::string log = LogTail(log_file_, log_start);
      address_in_use = absl::StrContains(log, "Address already in use");
      return absl::InternalError(absl::StrCat("PostgreSQL server on port ", port_,
                                              " exited at start (", ExitText(wait_status), "); ",
                                              log));
    }
    if (IsReady(data_dir_ + "/postmaster.pid", postmaster, /*standby_will_do=*/true,
                shared_memory_id_)) {
      return absl::OkStatus();
    }
    if (absl::Now() >= deadline) {
      ::kill(postmaster, SIGKILL);
      WaitForPostmasterExit(absl::InfiniteDuration());
      WaitForServerProcessesToExit(postmaster).IgnoreError();
      return absl::DeadlineExceededError(absl::StrCat("PostgreSQL server not ready after ",
                                                      absl::FormatDuration(kStartTimeout), "; ",
                                                      LogTail(log_file_, log_start)));
    }
    absl::SleepFor(kPollInterval);
  }
}

bool PostgresServer::WaitForPostmasterExit(absl::Duration timeout) {
  int wait_status = 0;
  if (!WaitForExit(postmaster_pid_, timeout, wait_status)) return false;
  postmaster_pid_ = -1;
  return true;
}

absl::Status PostgresServer::WaitForServerProcessesToExit(pid_t postmaster) {
  // Every server process has the postmaster's segment attached, and a new
  // server refuses to start while any does ("pre-existing shared memory
  // block is still in use"). A segment gone, or made by another process
  // (its id reused), means the same as no one attached. But an exiting
  // process detaches the segment before it lets go of its files and working
  // directory, so the data directory tells when it is really gone.
  const uid_t server_uid = run_as_.has_value() ? run_as_->uid : ::geteuid();
  const absl::Time deadline = absl::Now() + kStopTimeout;
  while (true) {
    shmid_ds segment{};
    const bool detached = shared_memory_id_ < 0 ||
                          ::shmctl(shared_memory_id_, IPC_STAT, &segment) != 0 ||
                          segment.shm_cpid != postmaster || segment.shm_nattch == 0;
    const std::vector<pid_t> left = ProcessesIn(data_dir_, server_uid);
    if (detached && left.empty()) return absl::OkStatus();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "processes of the PostgreSQL server killed ", absl::FormatDuration(kStopTimeout),
          " ago still run (", absl::StrJoin(left, ", "), " in ", data_dir_,
          detached ? "" : absl::StrCat(", ", segment.shm_nattch, " attached to its memory"), "); ",
          LogTail(log_file_)));
    }
    absl::SleepFor(kPollInterval);
  }
}

absl::Status PostgresServer::Stop() {
  if (!running()) return absl::OkStatus();
  const pid_t postmaster = postmaster_pid_;
  ::kill(postmaster, SIGINT);  // fast shutdown
  if (WaitForPostmasterExit(kStopTimeout)) return absl::OkStatus();
  ::kill(postmaster, SIGKILL);
  WaitForPostmasterExit(absl::InfiniteDuration());
  WaitForServerProcessesToExit(postmaster).IgnoreError();
  return absl::DeadlineExceededError(absl::StrCat("PostgreSQL server did not stop in ",
                                                  absl::FormatDuration(kStopTimeout),
                                                  " (killed it); ", LogTail(log_file_)));
}

absl::Status PostgresServer::Kill() {
  if (!running()) return absl::OkStatus();
  const pid_t postmaster = postmaster_pid_;
  ::kill(postmaster, SIGKILL);
  WaitForPostmasterExit(absl::InfiniteDuration());
  return WaitForServerProcessesToExit(postmaster);
}

absl::Status PostgresServer::Restart() {
  WINK_RETURN_IF_ERROR(Stop());
  bool address_in_use = false;
  const absl::Status started = StartPostmaster(address_in_use);
  if (address_in_use) {
    return absl::UnavailableError(absl::StrCat("port ", port_, " is taken: ", started.message()));
  }
  return started;
}

std::string PostgresServer::ConnInfo(absl::string_view dbname) const {
  return absl::StrCat("host=127.0.0.1 port=", port_, " user=", kUser,
                      " dbname=", ConnInfoValue(dbname));
}

absl::Status PostgresServer::CreateDatabase(absl::string_view name) {
  WINK_ASSIGN_OR_RETURN(Connection connection, Connect(ConnInfo("postgres")));
  char* quoted = PQescapeIdentifier(connection.get(), name.data(), name.size());
  if (quoted == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("database name: ", ErrorMessageOf(connection.get())));
  }
  const std::string sql = absl::StrCat("CREATE DATABASE ", quoted);
  PQfreemem(quoted);
  return ExecOn(connection.get(), sql);
}

absl::Status PostgresServer::Exec(absl::string_view dbname, absl::string_view sql) {
  WINK_ASSIGN_OR_RETURN(Connection connection, Connect(ConnInfo(dbname)));
  return ExecOn(connection.get(), std::string(sql));
}

absl::Status PostgresServer::Promote() {
  if (!running()) return absl::FailedPreconditionError("Promote: the server is not running");
  WINK_ASSIGN_OR_RETURN(Connection connection, Connect(ConnInfo("postgres")));
  WINK_RETURN_IF_ERROR(CheckIsStandby(connection.get(), "Promote"));
  // pg_promote(wait => true) returns once the server accepts writes.
  const int wait_seconds = static_cast<int>(absl::ToInt64Seconds(kStartTimeout));
  absl::StatusOr<std::optional<std::string>> promoted =
      ValueOn(connection.get(), absl::StrCat("SELECT pg_promote(true, ", wait_seconds, ")"));
  if (!promoted.ok()) {
    // 55000 (object_not_in_prerequisite_state): no longer in recovery.
    if (absl::StrContains(promoted.status().message(), "SQLSTATE 55000")) {
      return absl::FailedPreconditionError(promoted.status().message());
    }
    return promoted.status();
  }
  if (*promoted != "t") {
    return absl::DeadlineExceededError(absl::StrCat("standby not promoted after ",
                                                    absl::FormatDuration(kStartTimeout), "; ",
                                                    LogTail(log_file_)));
  }
  // The postmaster says "ready" once the startup process has exited: only
  // then is the server what Restart() and the next Promote() expect.
  const absl::Time deadline = absl::Now() + kStartTimeout;
  while (!IsReady(data_dir_ + "/postmaster.pid", postmaster_pid_, /*standby_will_do=*/false,
                  shared_memory_id_)) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("promoted server not ready after ",
                                                      absl::FormatDuration(kStartTimeout), "; ",
                                                      LogTail(log_file_)));
    }
    absl::SleepFor(kPollInterval);
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> PostgresServer::ReceivedLsn() const {
  WINK_ASSIGN_OR_RETURN(Connection connection, Connect(ConnInfo("postgres")));
  // An LSN minus 0/0 is its value as a number.
  WINK_ASSIGN_OR_RETURN(const std::optional<std::string> lsn,
                        ValueOn(connection.get(), "SELECT pg_last_wal_receive_lsn() - '0/0'"));
  if (!lsn.has_value()) {
    return absl::FailedPreconditionError(
        "ReceivedLsn: not a standby, or it has received nothing from a primary yet");
  }
  uint64_t value = 0;
  if (!absl::SimpleAtoi(*lsn, &value)) {
    return absl::InternalError(absl::StrCat("ReceivedLsn: unexpected value ", *lsn));
  }
  return value;
}

absl::Status PostgresServer::Follow(const PostgresServer& primary) {
  if (!running()) return absl::FailedPreconditionError("Follow: the server is not running");
  WINK_ASSIGN_OR_RETURN(Connection connection, Connect(ConnInfo("postgres")));
  WINK_RETURN_IF_ERROR(CheckIsStandby(connection.get(), "Follow"));
  const std::string conninfo = PrimaryConnInfo(primary);
  char* literal = PQescapeLiteral(connection.get(), conninfo.data(), conninfo.size());
  if (literal == nullptr) {
    return absl::InternalError(absl::StrCat("Follow: ", ErrorMessageOf(connection.get())));
  }
  const std::string alter = absl::StrCat("ALTER SYSTEM SET primary_conninfo = ", literal);
  PQfreemem(literal);
  WINK_RETURN_IF_ERROR(ExecOn(connection.get(), alter));
  // Since PostgreSQL 13 a reload is enough: the startup process restarts
  // its WAL receiver with the new primary_conninfo.
  return ExecOn(connection.get(), "SELECT pg_reload_conf()");
}

}  // namespace wink::webhooks::testing
