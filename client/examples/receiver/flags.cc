#include "client/examples/receiver/flags.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "wink/webhooks/verify.h"

namespace wink::webhooks::example {

const char kReceiverUsage[] =
    "usage: webhooks_example_receiver --cert CERT.pem --key KEY.pem --secret_file FILE\n"
    "           [--listen HOST:PORT]\n"
    "  --listen       address to listen on (default 127.0.0.1:8443; :8443 for all)\n"
    "  --cert         PEM server certificate (chain)\n"
    "  --key          PEM private key of --cert\n"
    "  --secret_file  file with the endpoint signing secret from CreateWebhook or\n"
    "                 RotateWebhookSecret, one per line (two while rotating)\n"
    "  --secret       the secret on the command line (repeatable); every user sees it\n"
    "                 in ps, so prefer --secret_file or the environment\n"
    "Environment:\n"
    "  WEBHOOK_SECRET the secret (or several, comma-separated) when neither --secret_file\n"
    "                 nor --secret is given\n";


absl::StatusOr<ReceiverFlags> ParseReceiverFlags(const std::vector<std::string>& args,
                                                 const char* secret_environment) {
  ReceiverFlags flags;
  std::vector<std::string> secret_files;
  std::vector<std::string> command_line_secrets;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
      return flags;
    }
    std::string name = arg;
    std::string value;
    if (const size_t equals = arg.find('='); equals != std::string::npos) {
      name = arg.substr(0, equals);
      value = arg.substr(equals + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat(name, ": missing value"));
    }
    if (name == "--listen") {
      flags.options.listen = value;
    } else if (name == "--cert") {
      flags.options.cert_file = value;
    } else if (name == "--key") {
      flags.options.key_file = value;
    } else if (name == "--secret_file") {
      secret_files.push_back(value);
    } else if (name == "--secret") {
      command_line_secrets.push_back(value);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(name, ": unknown flag"));
    }
  }
  std::vector<std::string> sources;
  for (const std::string& path : secret_files) {
    absl::StatusOr<std::vector<std::string>> secrets = ReadSecretFile(path);  // verify.h
    if (!secrets.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--secret_file: ", secrets.status().message()));
    }
    flags.options.secrets.insert(flags.options.secrets.end(), secrets->begin(), secrets->end());
    sources.push_back(absl::StrCat("--secret_file ", path));
  }
  if (!command_line_secrets.empty()) {
    flags.options.secrets.insert(flags.options.secrets.end(), command_line_secrets.begin(),
                                 command_line_secrets.end());
    sources.push_back("--secret");
  }
  if (sources.empty() && secret_environment != nullptr) {
    flags.options.secrets = SplitSecretList(secret_environment);
    if (!flags.options.secrets.empty()) sources.push_back(absl::StrCat("$", kSecretEnvironment));
  }
  if (flags.options.secrets.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no signing secret: give --secret_file FILE (or set $", kSecretEnvironment, ")"));
  }
  flags.secrets_from = absl::StrJoin(sources, " and ");
  return flags;
}

}  // namespace wink::webhooks::example
