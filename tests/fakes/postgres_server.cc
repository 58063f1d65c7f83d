#include "tests/fakes/postgres_server.h"

#include <arpa/inet.h>
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
// accepts connections; if so, its System V shared memory id in `shmid`. The
// file's lines (PostgreSQL's miscadmin.h, LOCK_FILE_LINE_*): 1 pid, ...,
// 7 shared memory key and id, 8 status ("ready" once it accepts connections).
bool IsReady(const std::string& pid_file, pid_t postmaster, int& shmid) {
  std::ifstream in(pid_file);
  if (!in) return false;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  int pid = 0;
  if (lines.size() < 8 || !absl::SimpleAtoi(lines[0], &pid) || pid != postmaster ||
      !absl::StartsWith(lines[7], "ready")) {
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

absl::Status ExecOn(PGconn* connection, const std::string& sql) {
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(connection, sql.c_str()), &PQclear);
  if (result == nullptr) {
    return absl::UnavailableError(absl::StrCat("libpq: ", ErrorMessageOf(connection)));
  }
  switch (PQresultStatus(result.get())) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_EMPTY_QUERY:
      return absl::OkStatus();
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

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(
    const std::string& dir, const PostgresServerOptions& options) {
  for (const char* program : {"initdb", "postgres"}) {
    const std::string path = absl::StrCat(options.bin_dir, "/", program);
    if (::access(path.c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "no PostgreSQL program ", path, ": install Debian's postgresql-15 (scripts/deps.sh)"));
    }
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

  WINK_RETURN_IF_ERROR(
      Run({options.bin_dir + "/initdb", "-D", server->data_dir_, "-A", "trust", "-U", kUser,
           "--no-sync", "-E", "UTF8", "--locale=C", "--no-instructions"},
          server->root_dir_, server->root_dir_ + "/initdb.log", server->run_as_, kInitdbTimeout));
  {
    // Appending keeps the file's owner (postgres, when root).
    std::ofstream conf(server->data_dir_ + "/postgresql.conf", std::ios::app);
    const char* fsync = options.fsync ? "on" : "off";
    conf << "\n# Added by tests/fakes/postgres_server.cc.\n"
         << "listen_addresses = '127.0.0.1'\n"
         << "unix_socket_directories = " << ConfString(server->socket_dir_) << "\n"
         << "max_connections = 200\n"
         << "shared_buffers = 32MB\n"
         << "fsync = " << fsync << "\n"
         << "full_page_writes = " << fsync << "\n"
         << options.extra_conf << "\n";
    if (!conf.flush()) {
      return absl::InternalError(
          absl::StrCat("cannot write ", server->data_dir_, "/postgresql.conf"));
    }
  }

  for (int attempt = 1;; ++attempt) {
    WINK_ASSIGN_OR_RETURN(server->port_, FreeLoopbackPort());
    bool address_in_use = false;
    const absl::Status started = server->StartPostmaster(address_in_use);
    if (started.ok()) return server;
    if (!address_in_use || attempt == kPortAttempts) return started;
  }
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
    if (IsReady(data_dir_ + "/postmaster.pid", postmaster, shared_memory_id_)) {
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
  // (its id reused), means the same as no one attached.
  if (shared_memory_id_ < 0) return absl::OkStatus();
  const absl::Time deadline = absl::Now() + kStopTimeout;
  while (true) {
    shmid_ds segment;
    if (::shmctl(shared_memory_id_, IPC_STAT, &segment) != 0 || segment.shm_cpid != postmaster ||
        segment.shm_nattch == 0) {
      return absl::OkStatus();
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(segment.shm_nattch, " processes of the PostgreSQL server killed ",
                       absl::FormatDuration(kStopTimeout), " ago still run; ", LogTail(log_file_)));
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

}  // namespace wink::webhooks::testing
