// Runs the real server binary as a child process, the way a user would, for
// tests that need the whole program: flags, signals, exit codes, logs.
#ifndef WINK_WEBHOOKS_TESTS_INTEGRATION_SERVER_PROCESS_H_
#define WINK_WEBHOOKS_TESTS_INTEGRATION_SERVER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace wink::webhooks::testing {

// Path of the server binary: $WEBHOOKS_SERVER_BINARY if set, else the path
// the build compiled in.
std::string ServerBinaryPath();

class ServerProcess {
 public:
  // Starts the binary with `args`; its stdout and stderr go to `log_path`.
  static std::unique_ptr<ServerProcess> Start(const std::vector<std::string>& args,
                                              const std::string& log_path);
  // Kills the process (SIGKILL) if it is still running.
  ~ServerProcess();

  // Waits for the "ready" log line and returns the address it names
  // ("127.0.0.1:PORT"). FAILED_PRECONDITION if the process exits first,
  // DEADLINE_EXCEEDED after `timeout`.
  absl::StatusOr<std::string> WaitReady(absl::Duration timeout);

  void Signal(int signal_number);

  // Waits for the process to end: its exit code, or 128 + signal number if
  // a signal ended it. DEADLINE_EXCEEDED after `timeout`.
  absl::StatusOr<int> WaitExit(absl::Duration timeout);

  // Everything the process logged so far.
  std::string Log() const;

 private:
  ServerProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  std::string log_path_;
  bool exited_ = false;
  int exit_code_ = 0;
};

}  // namespace wink::webhooks::testing

#endif  // WINK_WEBHOOKS_TESTS_INTEGRATION_SERVER_PROCESS_H_
