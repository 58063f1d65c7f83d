// The command line of webhooks_example_receiver (main.cc), parsed into
// ReceiverOptions, so that tests can start a receiver configured exactly as
// the program would be.
//
// The endpoint keys, "whsec_" secrets or "whpk_" public keys (Ed25519
// webhooks), safest first (a command line shows in `ps` to every user of
// the machine, and often lands in shell history):
//   --secret_file PATH   one secret per line; blank lines and lines starting
//                        with '#' are skipped. Keep the file mode 600.
//   $WEBHOOK_SECRET      one secret, or several separated by commas
//   --secret whsec_...   repeatable
// Flags win over the environment: $WEBHOOK_SECRET is read only when neither
// --secret_file nor --secret is given (those two may be combined, e.g. the
// new secret on the command line for a moment during a rotation).
#ifndef WINK_WEBHOOKS_CLIENT_EXAMPLES_RECEIVER_FLAGS_H_
#define WINK_WEBHOOKS_CLIENT_EXAMPLES_RECEIVER_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/examples/receiver/receiver.h"

namespace wink::webhooks::example {

// The environment variable read for secrets when no flag gives any.
inline constexpr char kSecretEnvironment[] = "WEBHOOK_SECRET";

// The usage text, for --help and after a flag error.
extern const char kReceiverUsage[];

struct ReceiverFlags {
  // --help or -h was given: print kReceiverUsage and exit 0; nothing else is
  // checked.
  bool help = false;
  // listen, cert_file, key_file and secrets as given; the rest defaults.
  ReceiverOptions options;
  // Where the secrets came from, for the start message: e.g.
  // "--secret_file /etc/receiver/secret", "$WEBHOOK_SECRET",
  // "--secret_file f and --secret". Never the secrets themselves.
  std::string secrets_from;
};

// Parses `args` (without the program name): "--name value" or
// "--name=value" for --listen, --cert, --key, --secret_file and --secret.
// `secret_environment` is the value of $WEBHOOK_SECRET, or nullptr if it is
// unset. INVALID_ARGUMENT naming the flag for an unknown flag, a missing
// value, an unreadable --secret_file or one without secrets, and when no
// source gives any secret. The secrets themselves are checked by
// Receiver::Start().
absl::StatusOr<ReceiverFlags> ParseReceiverFlags(const std::vector<std::string>& args,
                                                 const char* secret_environment);

}  // namespace wink::webhooks::example

#endif  // WINK_WEBHOOKS_CLIENT_EXAMPLES_RECEIVER_FLAGS_H_
