#include "tests/fakes/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace wink::webhooks::testing {
namespace {

void MustPipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) std::abort();
}

// The test's environment with `changes` applied, as "NAME=VALUE" strings.
// Built before fork(): the child of a multi-threaded process may only call
// async-signal-safe functions, which setenv() is not.
std::vector<std::string> ChildEnvironment(const Subprocess::EnvChanges& changes) {
  std::vector<std::string> out;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string variable = *entry;
    if (changes.count(variable.substr(0, variable.find('='))) == 0) out.push_back(variable);
  }
  for (const auto& [name, value] : changes) {
    if (value.has_value()) out.push_back(name + "=" + *value);
  }
  return out;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

Subprocess::Subprocess(const std::vector<std::string>& argv, const EnvChanges& env,
                       const std::string& input) {
  int in[2], out[2], err[2];
  MustPipe(in);
  MustPipe(out);
  MustPipe(err);
  std::vector<std::string> arg_strings = argv;
  std::vector<char*> args = Pointers(arg_strings);
  std::vector<std::string> env_strings = ChildEnvironment(env);
  std::vector<char*> envp = Pointers(env_strings);

  pid_ = ::fork();
  if (pid_ < 0) std::abort();
  if (pid_ == 0) {
    // A test that crashes or times out must not leave the child behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The test binary may block signals in its threads; the child starts
    // with the default mask like a program started from a shell.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    ::execve(args[0], args.data(), envp.data());
    std::_Exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  // Small inputs fit in the pipe's buffer, so this does not block.
  for (size_t written = 0; written < input.size();) {
    const ssize_t n = ::write(in[1], input.data() + written, input.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  ::close(in[1]);
  reader_ =
      std::thread([this, out_fd = out[0], err_fd = err[0]] { ReadUntilExit(out_fd, err_fd); });
}

Subprocess::~Subprocess() {
  bool running;
  {
    absl::MutexLock lock(&mu_);
    running = !exit_code_.has_value();
  }
  if (running) ::kill(pid_, SIGKILL);
  if (reader_.joinable()) reader_.join();
}

void Subprocess::ReadUntilExit(int out_fd, int err_fd) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_fds = 2;
  char buffer[4096];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) continue;  // EINTR
    for (pollfd& fd : fds) {
      if (fd.fd < 0 || fd.revents == 0) continue;
      const ssize_t n = ::read(fd.fd, buffer, sizeof(buffer));
      absl::MutexLock lock(&mu_);
      if (n > 0) {
        (fd.fd == out_fd ? out_ : err_).append(buffer, static_cast<size_t>(n));
        continue;
      }
      if (fd.fd == out_fd) out_closed_ = true;
      ::close(fd.fd);
      fd.fd = -1;
      --open_fds;
    }
  }
  int status = 0;
  ::waitpid(pid_, &status, 0);
  absl::MutexLock lock(&mu_);
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool Subprocess::WaitForOutput(const std::string& text, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto seen = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return out_.find(text) != std::string::npos || out_closed_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&seen), timeout);
  return out_.find(text) != std::string::npos;
}

void Subprocess::Signal(int signal_number) { ::kill(pid_, signal_number); }

ProcessResult Subprocess::Wait(absl::Duration timeout) {
  bool ended;
  {
    absl::MutexLock lock(&mu_);
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return exit_code_.has_value(); };
    ended = mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  }
  if (!ended) ::kill(pid_, SIGKILL);
  if (reader_.joinable()) reader_.join();
  absl::MutexLock lock(&mu_);
  return ProcessResult{ended ? *exit_code_ : -1, out_, err_};
}

std::string Subprocess::out() const {
  absl::MutexLock lock(&mu_);
  return out_;
}

ProcessResult RunProcess(const std::vector<std::string>& argv, const Subprocess::EnvChanges& env,
                         const std::string& input, absl::Duration timeout) {
  Subprocess process(argv, env, input);
  return process.Wait(timeout);
}

}  // namespace wink::webhooks::testing
