#include "tests/integration/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace wink::webhooks::testing {
namespace {

// How often waits look again; the waits themselves are bounded by deadlines.
constexpr absl::Duration kPollInterval = absl::Milliseconds(20);
constexpr char kReadyMarker[] = " ready ";
constexpr char kListenField[] = "listen=";
constexpr size_t kListenFieldLength = sizeof(kListenField) - 1;

}  // namespace

std::string ServerBinaryPath() {
  if (const char* path = std::getenv("WEBHOOKS_SERVER_BINARY"); path != nullptr && *path) {
    return path;
  }
  return WEBHOOKS_SERVER_BINARY;
}

std::unique_ptr<ServerProcess> ServerProcess::Start(const std::vector<std::string>& args,
                                                    const std::string& log_path) {
  const std::string binary = ServerBinaryPath();
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid == 0) {
    // Never outlive the test: a crashed or timed-out test must not leave
    // servers behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    ::execv(binary.c_str(), argv.data());
    std::_Exit(127);
  }
  return std::unique_ptr<ServerProcess>(new ServerProcess(pid, log_path));
}

ServerProcess::~ServerProcess() {
  if (!exited_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::string ServerProcess::Log() const {
  std::ifstream file(log_path_);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

absl::StatusOr<std::string> ServerProcess::WaitReady(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    const std::string log = Log();
    const size_t ready = log.find(kReadyMarker);
    if (ready != std::string::npos) {
      const size_t listen = log.find(kListenField, ready);
      const size_t end = log.find_first_of(" \n", listen);
      if (listen != std::string::npos && end != std::string::npos) {
        return log.substr(listen + kListenFieldLength, end - listen - kListenFieldLength);
      }
    }
    int status = 0;
    if (!exited_ && ::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (exited_) {
      return absl::FailedPreconditionError(
          absl::StrCat("server exited with ", exit_code_, " before it was ready:\n", Log()));
    }
    absl::SleepFor(kPollInterval);
  }
  return absl::DeadlineExceededError(absl::StrCat("server not ready in time:\n", Log()));
}

void ServerProcess::Signal(int signal_number) {
  if (!exited_) ::kill(pid_, signal_number);
}

absl::StatusOr<int> ServerProcess::WaitExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!exited_) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError("server did not exit in time");
    }
    absl::SleepFor(kPollInterval);
  }
  return exit_code_;
}

}  // namespace wink::webhooks::testing
