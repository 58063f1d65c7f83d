#include "client/webhookctl/cli.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace wink::webhooks::ctl {
namespace {

const std::vector<FlagSpec>& GlobalFlags() {
  static const auto* const kFlags = new std::vector<FlagSpec>{
      {"addr", "HOST:PORT", "server address (default: $WEBHOOKS_ADDR, else 127.0.0.1:50051)"},
      {"timeout", "DURATION",
       "deadline of each call, retries included, e.g. 30s or 500ms (default 10s)"},
      {"json", nullptr, "print protobuf JSON, one object per line"},
      {"tls", nullptr,
       "talk TLS, trusting the system's CAs (default: $WEBHOOKS_TLS=1; implied by --cacert, "
       "--cert)"},
      {"cacert", "FILE",
       "talk TLS, trusting the CA certificates in this PEM file "
       "(default: $WEBHOOKS_CACERT)"},
      {"cert", "FILE",
       "client certificate (PEM) for a server that requires one, with --key "
       "(default: $WEBHOOKS_CERT)"},
      {"key", "FILE", "private key (PEM) of --cert (default: $WEBHOOKS_KEY)"},
  };
  return *kFlags;
}

constexpr char kEnvironmentHelp[] =
    "Environment:\n"
    "  WEBHOOKS_TOKEN  bearer token sent with every call (required; there is no flag: flags\n"
    "                  show in ps), e.g. export WEBHOOKS_TOKEN=$(cat var/dev-token); a config\n"
    "                  token or an application's API key (wak_...)\n"
    "  WEBHOOKS_ADDR   server address when --addr is not given\n"
    "  WEBHOOKS_TLS    1 or true: talk TLS when --tls is not given\n"
    "  WEBHOOKS_CACERT, WEBHOOKS_CERT, WEBHOOKS_KEY\n"
    "                  files when --cacert, --cert, --key are not given\n";

void PrintFlags(std::string& out, const std::vector<FlagSpec>& flags) {
  size_t width = 0;
  std::vector<std::string> names;
  for (const FlagSpec& flag : flags) {
    names.push_back(
        absl::StrCat("--", flag.name, flag.value ? " " : "", flag.value ? flag.value : ""));
    width = std::max(width, names.back().size());
  }
  for (size_t i = 0; i < flags.size(); ++i) {
    absl::StrAppendFormat(&out, "  %-*s  %s%s%s\n", static_cast<int>(width), names[i],
                          flags[i].help, flags[i].required ? " (required)" : "",
                          flags[i].repeated ? " (repeatable)" : "");
  }
}

std::string CommandName(const Command& command) {
  return absl::StrCat(command.group, " ", command.verb);
}

std::string CommandUsage(const Command& command) {
  std::string out = absl::StrCat("Usage: webhookctl ", CommandName(command));
  if (*command.positional != '\0') absl::StrAppend(&out, " ", command.positional);
  for (const FlagSpec& flag : command.flags) {
    if (flag.required) absl::StrAppend(&out, " --", flag.name, " ", flag.value);
  }
  absl::StrAppend(&out, " [flags]\n\n", command.summary, "\n");
  if (*command.details != '\0') absl::StrAppend(&out, "\n", command.details);
  if (!command.flags.empty()) {
    absl::StrAppend(&out, "\nFlags:\n");
    PrintFlags(out, command.flags);
  }
  absl::StrAppend(&out, "\nGlobal flags:\n");
  PrintFlags(out, GlobalFlags());
  absl::StrAppend(&out, "\n", kEnvironmentHelp);
  return out;
}

// The command list of one group, or of all groups if `group` is empty.
std::string ListUsage(const std::string& group) {
  std::string out =
      "Usage: webhookctl [--addr HOST:PORT] [--tls | --cacert FILE] [--cert FILE --key FILE]\n"
      "                  [--timeout DURATION] [--json] COMMAND [args]\n\n"
      "Manages webhooks, publishes events, follows deliveries and manages applications (API\n"
      "keys) of a Wink Webhooks server.\n\n"
      "Commands:\n";
  size_t width = 0;
  for (const Command& command : Commands()) width = std::max(width, CommandName(command).size());
  for (const Command& command : Commands()) {
    if (!group.empty() && group != command.group) continue;
    absl::StrAppendFormat(&out, "  %-*s  %s\n", static_cast<int>(width), CommandName(command),
                          command.summary);
  }
  absl::StrAppend(&out, "\nGlobal flags:\n");
  PrintFlags(out, GlobalFlags());
  absl::StrAppend(&out, "\n", kEnvironmentHelp,
                  "\nRun 'webhookctl COMMAND --help' for the flags of a command, e.g.\n"
                  "'webhookctl webhooks create --help'.\n");
  return out;
}

bool IsGroup(const std::string& word) {
  for (const Command& command : Commands()) {
    if (word == command.group) return true;
  }
  return false;
}

const Command* FindCommand(const std::string& group, const std::string& verb) {
  for (const Command& command : Commands()) {
    if (group == command.group && verb == command.verb) return &command;
  }
  return nullptr;
}

const FlagSpec* FindFlag(const std::vector<FlagSpec>& flags, const std::string& name) {
  for (const FlagSpec& flag : flags) {
    if (name == flag.name) return &flag;
  }
  return nullptr;
}

absl::StatusOr<absl::Duration> ParseTimeout(const std::string& text) {
  absl::Duration duration;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(text, &seconds)) {
    duration = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &duration)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--timeout: expected a duration like 30s or 500ms, got '", text, "'"));
  }
  if (duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--timeout: must be positive");
  }
  return duration;
}

void Print(FILE* stream, const std::string& text) { std::fputs(text.c_str(), stream); }

// Said before any call when $WEBHOOKS_TOKEN is unset or blank: the server
// would only answer "missing authorization metadata".
constexpr char kNoTokenError[] =
    "error: WEBHOOKS_TOKEN is not set (or blank): webhookctl sends it as the bearer token of\n"
    "every call (there is no flag for it: flags show in ps). Set it in this shell first, e.g.\n"
    "to the admin token scripts/run.sh printed:\n"
    "  export WEBHOOKS_TOKEN=$(cat var/dev-token)   # or your $WEBHOOKS_DEV_TOKEN\n";

// $name, or "" when unset.
std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

bool HasToken() {
  const char* token = std::getenv("WEBHOOKS_TOKEN");
  return token != nullptr && !absl::StripAsciiWhitespace(token).empty();
}

}  // namespace

// Splits the command line into global flags, the command and its arguments.
class Parser {
 public:
  // Returns an exit code if the program should end now (help, usage error),
  // nullopt when `command()` should run.
  std::optional<int> Parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      const std::string token = argv[i];
      if (token == "--help" || token == "-h") {
        help_ = true;
      } else if (absl::StartsWith(token, "--")) {
        if (auto error = TakeFlag(token, argc, argv, i); !error.empty()) return Usage(error);
      } else if (group_.empty()) {
        group_ = token;
      } else if (command_ == nullptr && IsGroup(group_)) {
        command_ = FindCommand(group_, token);
        if (command_ == nullptr) {
          return Usage(absl::StrCat("unknown command '", group_, " ", token, "'"));
        }
      } else {
        args_.positional_.push_back(token);
      }
    }
    if (group_ == "help") return Help();
    if (group_.empty()) {
      if (help_) return Help();
      return Usage("no command given");
    }
    if (!IsGroup(group_)) return Usage(absl::StrCat("unknown command '", group_, "'"));
    if (command_ == nullptr) {
      if (help_) return Help();
      return Usage(absl::StrCat("'", group_, "' needs a command"));
    }
    if (help_) return Help();
    return Validate();
  }

  const Command& command() const { return *command_; }
  Args TakeArgs() { return std::move(args_); }
  bool json() const { return json_; }
  std::string address() const {
    if (!address_.empty()) return address_;
    const char* from_env = std::getenv("WEBHOOKS_ADDR");
    return from_env != nullptr && *from_env != '\0' ? from_env : kDefaultAddress;
  }
  std::optional<absl::Duration> timeout() const { return timeout_; }

  // TLS from the flags, else the environment; nullopt for plaintext. Errors
  // are usage errors (a key without a certificate, a bad $WEBHOOKS_TLS).
  absl::StatusOr<std::optional<TlsOptions>> tls() const {
    TlsOptions tls;
    tls.ca_file = !cacert_.empty() ? cacert_ : Env("WEBHOOKS_CACERT");
    tls.cert_file = !cert_.empty() ? cert_ : Env("WEBHOOKS_CERT");
    tls.key_file = !key_.empty() ? key_ : Env("WEBHOOKS_KEY");
    bool wanted = tls_;
    if (const std::string env = absl::AsciiStrToLower(Env("WEBHOOKS_TLS")); !wanted) {
      if (env == "1" || env == "true") {
        wanted = true;
      } else if (!env.empty() && env != "0" && env != "false") {
        return absl::InvalidArgumentError(
            absl::StrCat("WEBHOOKS_TLS: expected 1, true, 0 or false, got '", env, "'"));
      }
    }
    if (tls.cert_file.empty() != tls.key_file.empty()) {
      return absl::InvalidArgumentError(tls.cert_file.empty()
                                            ? "--key needs --cert (or $WEBHOOKS_CERT)"
                                            : "--cert needs --key (or $WEBHOOKS_KEY)");
    }
    if (!wanted && tls.ca_file.empty() && tls.cert_file.empty()) return std::nullopt;
    return tls;
  }

 private:
  // Records one flag (consuming its value); an error message or "".
  std::string TakeFlag(const std::string& token, int argc, char** argv, int& i) {
    std::string name = token.substr(2);
    std::optional<std::string> value;
    if (const size_t equals = name.find('='); equals != std::string::npos) {
      value = name.substr(equals + 1);
      name.resize(equals);
    }
    const FlagSpec* spec = FindFlag(GlobalFlags(), name);
    const bool global = spec != nullptr;
    if (!global && command_ != nullptr) spec = FindFlag(command_->flags, name);
    if (spec == nullptr) {
      return command_ == nullptr && !global
                 ? absl::StrCat("unknown flag --", name, " (command flags go after the command)")
                 : absl::StrCat("unknown flag --", name);
    }
    if (spec->value == nullptr && value.has_value()) {
      return absl::StrCat("--", name, " takes no value");
    }
    if (spec->value != nullptr && !value.has_value()) {
      if (i + 1 >= argc) return absl::StrCat("--", name, " needs a value (", spec->value, ")");
      value = argv[++i];
    }
    if (global) return TakeGlobal(name, value.value_or(""));
    std::vector<std::string>& values = args_.flags_[name];
    if (!values.empty() && !spec->repeated) return absl::StrCat("--", name, " given twice");
    values.push_back(value.value_or(""));
    return "";
  }

  std::string TakeGlobal(const std::string& name, const std::string& value) {
    if (name == "json") {
      json_ = true;
    } else if (name == "addr") {
      if (value.empty()) return "--addr: must not be empty";
      address_ = value;
    } else if (name == "tls") {
      tls_ = true;
    } else if (name == "cacert" || name == "cert" || name == "key") {
      if (value.empty()) return absl::StrCat("--", name, ": must not be empty");
      (name == "cacert" ? cacert_ : name == "cert" ? cert_ : key_) = value;
    } else if (name == "timeout") {
      absl::StatusOr<absl::Duration> timeout = ParseTimeout(value);
      if (!timeout.ok()) return std::string(timeout.status().message());
      timeout_ = *timeout;
    }
    return "";
  }

  std::optional<int> Validate() {
    for (const FlagSpec& flag : command_->flags) {
      if (flag.required && !args_.Has(flag.name)) {
        return Usage(absl::StrCat("--", flag.name, " is required"));
      }
    }
    const int given = static_cast<int>(args_.positional_.size());
    if (given < command_->positional_count) {
      return Usage(absl::StrCat("missing ", command_->positional));
    }
    if (given > command_->positional_count) {
      return Usage(absl::StrCat("unexpected argument '",
                                args_.positional_[command_->positional_count], "'"));
    }
    return std::nullopt;
  }

  // The usage that fits what was understood so far.
  std::string CurrentUsage() const {
    if (command_ != nullptr) return CommandUsage(*command_);
    return ListUsage(IsGroup(group_) ? group_ : "");
  }

  int Usage(const std::string& error) const {
    Print(stderr, absl::StrCat("error: ", error, "\n\n", CurrentUsage()));
    return kExitUsage;
  }

  // `webhookctl help [GROUP [VERB]]` or --help anywhere: usage on stdout.
  int Help() {
    if (group_ == "help" && !args_.positional_.empty()) {
      const std::vector<std::string>& words = args_.positional_;
      if (!IsGroup(words[0])) return Usage(absl::StrCat("unknown command '", words[0], "'"));
      group_ = words[0];
      if (words.size() > 1) {
        command_ = FindCommand(words[0], words[1]);
        if (command_ == nullptr) {
          return Usage(absl::StrCat("unknown command '", words[0], " ", words[1], "'"));
        }
      }
    } else if (group_ == "help") {
      group_.clear();
    }
    Print(stdout, CurrentUsage());
    return kExitOk;
  }

  std::string group_;
  const Command* command_ = nullptr;
  Args args_;
  bool help_ = false;
  bool json_ = false;
  std::string address_;
  std::optional<absl::Duration> timeout_;
  bool tls_ = false;
  std::string cacert_;
  std::string cert_;
  std::string key_;
};

std::string Args::Get(const std::string& flag) const {
  auto it = flags_.find(flag);
  return it == flags_.end() || it->second.empty() ? "" : it->second.back();
}

std::vector<std::string> Args::All(const std::string& flag) const {
  auto it = flags_.find(flag);
  return it == flags_.end() ? std::vector<std::string>() : it->second;
}

absl::StatusOr<Client*> Invocation::client(std::function<void(const RetryEvent&)> on_retry) {
  if (client_ == nullptr) {
    ClientOptions options;
    options.address = address_;
    options.tls = tls_;
    const char* token = std::getenv("WEBHOOKS_TOKEN");
    options.token = token != nullptr ? token : "";
    if (timeout_.has_value()) options.default_timeout = *timeout_;
    options.on_retry = std::move(on_retry);
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(std::move(options));
    if (!client.ok()) return client.status();
    client_ = *std::move(client);
  }
  return client_.get();
}

int Invocation::UsageError(const std::string& message) const {
  Print(stderr, absl::StrCat("error: ", message, "\n\n", CommandUsage(command_)));
  return kExitUsage;
}

int Invocation::Fail(const absl::Status& status) const {
  Print(stderr, absl::StrCat("error: ", absl::StatusCodeToString(status.code()), ": ",
                             status.message(), "\n"));
  return kExitServerError;
}

int Main(int argc, char** argv) {
  Parser parser;
  if (std::optional<int> exit_code = parser.Parse(argc, argv); exit_code.has_value()) {
    return *exit_code;
  }
  // Every command calls the server; help and usage errors (above) need no
  // token.
  if (!HasToken()) {
    Print(stderr, kNoTokenError);
    return kExitUsage;
  }
  absl::StatusOr<std::optional<TlsOptions>> tls = parser.tls();
  if (!tls.ok()) {
    Print(stderr,
          absl::StrCat("error: ", tls.status().message(), "\n\n", CommandUsage(parser.command())));
    return kExitUsage;
  }
  Invocation invocation(parser.command(), parser.TakeArgs(), parser.json(), parser.address(),
                        parser.timeout(), *std::move(tls));
  return parser.command().run(invocation);
}

}  // namespace wink::webhooks::ctl
