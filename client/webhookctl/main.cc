// webhookctl: the command-line client of Wink Webhooks. See cli.h for the
// exit codes and `webhookctl help` for the commands.
#include "client/webhookctl/cli.h"

int main(int argc, char** argv) { return wink::webhooks::ctl::Main(argc, argv); }
