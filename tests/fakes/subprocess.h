// Runs a program as a child process with its own environment and stdin, and
// collects its stdout and stderr separately as they arrive: for tests that
// drive a command-line tool the way a user or a script would.
#ifndef WINK_WEBHOOKS_TESTS_FAKES_SUBPROCESS_H_
#define WINK_WEBHOOKS_TESTS_FAKES_SUBPROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace wink::webhooks::testing {

struct ProcessResult {
  // The exit status, 128 + signal number if a signal ended it, or -1 if it
  // had to be killed because it did not end in time.
  int exit_code = -1;
  std::string out;
  std::string err;
};

class Subprocess {
 public:
  // Environment changes: a value sets the variable, nullopt removes it.
  using EnvChanges = std::map<std::string, std::optional<std::string>>;

  // Starts `argv[0]` (a path) with `argv`, the test's environment changed by
  // `env`, and `input` on its stdin (then closed). Aborts if it cannot.
  Subprocess(const std::vector<std::string>& argv, const EnvChanges& env,
             const std::string& input = "");
  // Kills the process (SIGKILL) if it still runs.
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // Waits until stdout contains `text`. False on timeout or if the process
  // closed stdout first.
  bool WaitForOutput(const std::string& text, absl::Duration timeout);

  void Signal(int signal_number);

  // Waits for the process to end (killing it after `timeout`) and returns
  // everything it printed.
  ProcessResult Wait(absl::Duration timeout);

  // Output so far.
  std::string out() const;

 private:
  void ReadUntilExit(int out_fd, int err_fd);

  pid_t pid_ = -1;
  std::thread reader_;
  mutable absl::Mutex mu_;
  std::string out_ ABSL_GUARDED_BY(mu_);
  std::string err_ ABSL_GUARDED_BY(mu_);
  bool out_closed_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<int> exit_code_ ABSL_GUARDED_BY(mu_);
};

// Runs a program to its end (at most `timeout`).
ProcessResult RunProcess(const std::vector<std::string>& argv, const Subprocess::EnvChanges& env,
                         const std::string& input = "", absl::Duration timeout = absl::Seconds(30));

}  // namespace wink::webhooks::testing

#endif  // WINK_WEBHOOKS_TESTS_FAKES_SUBPROCESS_H_
