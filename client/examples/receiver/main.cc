// webhooks_example_receiver: the example receiver as a program (see
// receiver.h for what it does and README.md for how to run it).
//
//   webhooks_example_receiver --listen 127.0.0.1:8443 --cert cert.pem
//       --key key.pem --secret_file secret.txt   (or $WEBHOOK_SECRET; see flags.h)
//
// Exit codes: 0 after SIGINT/SIGTERM, 2 for bad flags, 1 if it cannot start.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/examples/receiver/flags.h"
#include "client/examples/receiver/receiver.h"

namespace wink::webhooks::example {
namespace {

int Run(int argc, char** argv) {
  absl::StatusOr<ReceiverFlags> flags = ParseReceiverFlags(
      std::vector<std::string>(argv + 1, argv + argc), std::getenv(kSecretEnvironment));
  if (!flags.ok()) {
    std::fprintf(stderr, "%s\n%s", std::string(flags.status().message()).c_str(), kReceiverUsage);
    return 2;
  }
  if (flags->help) {
    std::fputs(kReceiverUsage, stdout);
    return 0;
  }
  const ReceiverOptions& options = flags->options;

  // Blocked before any thread starts (threads inherit the mask), so only
  // sigwait() below receives them and the receiver can stop cleanly.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto receiver = Receiver::Start(options);
  if (!receiver.ok()) {
    const std::string message(receiver.status().message());
    // "secrets[0]: ..." alone would not say which source to fix.
    std::fprintf(stderr, "cannot start: %s%s\n", message.c_str(),
                 absl::StartsWith(message, "secrets[")
                     ? absl::StrCat(" (secrets from ", flags->secrets_from, ")").c_str()
                     : "");
    // Bad options are flag errors; the rest (port taken, ...) is not.
    return receiver.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::printf(
      "Receiving webhooks on https://%s (port %d) with %zu secret(s) from %s. Ctrl-C stops.\n",
      options.listen.c_str(), (*receiver)->port(), options.secrets.size(),
      flags->secrets_from.c_str());
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
