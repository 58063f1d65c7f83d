// webhookctl: the command-line client of Wink Webhooks. See cli.h for the
// exit codes and `webhookctl help` for the commands.
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "client/webhookctl/cli.h"

int main(int argc, char** argv) {
  const int exit_code = wink::webhooks::ctl::Main(argc, argv);
  // Leave without running static destructors: after a refused TLS handshake
  // gRPC's threads may still be working when main returns, and tearing down
  // the globals under them crashed the process (exit 139 instead of 1, once
  // in ~1,200 CI runs of WebhookctlTlsTest). Everything to keep is written
  // by now; only the streams need flushing.
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  std::_Exit(exit_code);
}
