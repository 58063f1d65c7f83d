// The command-line frame of webhookctl: the command table, argument parsing,
// usage text, exit codes, and what every command gets (parsed arguments, a
// client, output mode). The commands themselves are in commands.cc.
//
// Exit codes: 0 success; 1 the server answered an error (printed as
// "error: NOT_FOUND: <message>" on stderr); 2 bad arguments (the error and
// the command's usage on stderr), or $WEBHOOKS_TOKEN unset or blank (checked
// before any call, with how to set it on stderr). An unreadable TLS file
// (--cacert, --cert, --key) is reported when the client is created, as
// "error: INVALID_ARGUMENT: tls.ca_file: cannot read ..." with exit code 1.
#ifndef WINK_WEBHOOKS_CLIENT_WEBHOOKCTL_CLI_H_
#define WINK_WEBHOOKS_CLIENT_WEBHOOKCTL_CLI_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "wink/webhooks/client.h"

namespace wink::webhooks::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitServerError = 1;
inline constexpr int kExitUsage = 2;
// `webhooks test`: the test event's first attempt did not succeed, or had
// no result within the wait (the call itself worked).
inline constexpr int kExitTestNotDelivered = 3;
// `deliveries recover`: the recovery stopped early (RECOVERY_STATE_FAILED).
inline constexpr int kExitRecoveryFailed = 3;

// Used when neither --addr nor $WEBHOOKS_ADDR is given: what scripts/run.sh
// serves.
inline constexpr char kDefaultAddress[] = "127.0.0.1:50051";

struct FlagSpec {
  // Without the leading "--", e.g. "account".
  const char* name;
  // Placeholder of the value in usage text, e.g. "ACCOUNT"; nullptr for a
  // boolean flag (given or not, no value).
  const char* value;
  const char* help;
  bool required = false;
  // May be given more than once (all values are kept, in order).
  bool repeated = false;
};

// What the parser found on the command line for one command.
class Args {
 public:
  bool Has(const std::string& flag) const { return flags_.count(flag) > 0; }
  // The value of a flag given once, or "" if absent.
  std::string Get(const std::string& flag) const;
  // Every value of a repeated flag, in order.
  std::vector<std::string> All(const std::string& flag) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  friend class Parser;
  std::map<std::string, std::vector<std::string>> flags_;
  std::vector<std::string> positional_;
};

class Invocation;

struct Command {
  const char* group;  // "webhooks"
  const char* verb;   // "create"
  // Usage of the positional arguments, e.g. "NAME", or "" for none.
  const char* positional;
  int positional_count;  // exactly this many
  const char* summary;   // one line, for the command list
  const char* details;   // more help text for `--help`, or ""
  std::vector<FlagSpec> flags;
  int (*run)(Invocation& invocation);
};

// One run of one command: its arguments and the shared services.
class Invocation {
 public:
  // `tls`: nullopt for plaintext.
  Invocation(const Command& command, Args args, bool json, std::string address,
             std::optional<absl::Duration> timeout, std::optional<TlsOptions> tls)
      : command_(command),
        args_(std::move(args)),
        json_(json),
        address_(std::move(address)),
        timeout_(timeout),
        tls_(std::move(tls)) {}

  const Command& command() const { return command_; }
  const Args& args() const { return args_; }
  // --json: print protobuf JSON, one object per line.
  bool json() const { return json_; }
  // --timeout, if given.
  std::optional<absl::Duration> timeout() const { return timeout_; }

  // The client (created on first use) with the address, TLS files and token
  // of the command line and environment. `on_retry` applies when it is created by
  // this call. Must be called after any signal masking the command needs:
  // gRPC starts its threads here and they inherit the mask.
  absl::StatusOr<Client*> client(std::function<void(const RetryEvent&)> on_retry = nullptr);

  // Prints "error: <message>" and the command's usage to stderr; returns
  // kExitUsage.
  int UsageError(const std::string& message) const;
  // Prints "error: CODE: message" to stderr; returns kExitServerError.
  int Fail(const absl::Status& status) const;

 private:
  const Command& command_;
  const Args args_;
  const bool json_;
  const std::string address_;
  const std::optional<absl::Duration> timeout_;
  const std::optional<TlsOptions> tls_;
  std::unique_ptr<Client> client_;
};

// Every command, in the order of the help text (commands.cc).
const std::vector<Command>& Commands();

// The whole program: parses `argv`, runs the command, returns the exit code.
int Main(int argc, char** argv);

}  // namespace wink::webhooks::ctl

#endif  // WINK_WEBHOOKS_CLIENT_WEBHOOKCTL_CLI_H_
