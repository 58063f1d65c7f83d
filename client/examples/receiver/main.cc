// webhooks_example_receiver: the example receiver as a program (see
// receiver.h for what it does and README.md for how to run it).
//
//   webhooks_example_receiver --listen 127.0.0.1:8443 --cert cert.pem
//       --key key.pem --secret whsec_... [--secret whsec_... (rotation)]
//
// Exit codes: 0 after SIGINT/SIGTERM, 2 for bad flags, 1 if it cannot start.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "client/examples/receiver/receiver.h"

namespace wink::webhooks::example {
namespace {

constexpr char kUsage[] =
    "usage: webhooks_example_receiver --cert CERT.pem --key KEY.pem --secret whsec_...\n"
    "           [--secret whsec_...] [--listen HOST:PORT]\n"
    "  --listen  address to listen on (default 127.0.0.1:8443; :8443 for all)\n"
    "  --cert    PEM server certificate (chain)\n"
    "  --key     PEM private key of --cert\n"
    "  --secret  endpoint signing secret from CreateWebhook or RotateWebhookSecret;\n"
    "            repeat it to accept either of two secrets while rotating\n";

// Parses "--name value" and "--name=value" flags into `options`. Returns an
// error message, or "" when they are fine.
std::string ParseFlags(int argc, char** argv, ReceiverOptions* options) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return kUsage;
    std::string name(arg), value;
    const size_t equals = arg.find('=');
    if (equals != absl::string_view::npos) {
      name = std::string(arg.substr(0, equals));
      value = std::string(arg.substr(equals + 1));
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::StrCat(name, ": missing value\n", kUsage);
    }
    if (name == "--listen") {
      options->listen = value;
    } else if (name == "--cert") {
      options->cert_file = value;
    } else if (name == "--key") {
      options->key_file = value;
    } else if (name == "--secret") {
      options->secrets.push_back(value);
    } else {
      return absl::StrCat(name, ": unknown flag\n", kUsage);
    }
  }
  if (options->secrets.empty()) return absl::StrCat("--secret: required\n", kUsage);
  return "";
}

int Run(int argc, char** argv) {
  ReceiverOptions options;
  const std::string error = ParseFlags(argc, argv, &options);
  if (absl::StartsWith(error, "usage:")) {  // --help
    std::fputs(error.c_str(), stdout);
    return 0;
  }
  if (!error.empty()) {
    std::fputs(error.c_str(), stderr);
    return 2;
  }

  // Blocked before any thread starts (threads inherit the mask), so only
  // sigwait() below receives them and the receiver can stop cleanly.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto receiver = Receiver::Start(options);
  if (!receiver.ok()) {
    std::fprintf(stderr, "cannot start: %s\n", std::string(receiver.status().message()).c_str());
    // Bad options are flag errors; the rest (port taken, ...) is not.
    return receiver.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::printf("Receiving webhooks on https://%s (port %d) with %zu secret(s). Ctrl-C stops.\n",
              options.listen.c_str(), (*receiver)->port(), options.secrets.size());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  (*receiver)->Stop();  // finishes the queued events first
  const ReceiverStats stats = (*receiver)->stats();
  std::printf("%s\n",
              absl::StrCat("Stopped. requests=", stats.requests, " accepted=", stats.accepted,
                           " duplicates=", stats.duplicates, " unauthorized=", stats.unauthorized,
                           " rejected=", stats.rejected, " overloaded=", stats.overloaded,
                           " processed=", stats.processed)
                  .c_str());
  return 0;
}

}  // namespace
}  // namespace wink::webhooks::example

int main(int argc, char** argv) { return wink::webhooks::example::Run(argc, argv); }
