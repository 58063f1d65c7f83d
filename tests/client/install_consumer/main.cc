// Calls a server that is not there through the installed client: proves the
// headers, the libraries and their dependencies resolve for an outside
// project. Prints the status code; exits 0 on the expected UNAVAILABLE.
#include <cstdio>
#include <string>

#include "wink/webhooks/client.h"
#include "wink/webhooks/v1/webhook_service.pb.h"

int main() {
  wink::webhooks::ClientOptions options;
  options.address = "127.0.0.1:1";  // nothing listens on port 1
  options.token = "consumer-token";
  options.default_timeout = absl::Seconds(5);
  options.retry.max_attempts = 2;
  auto client = wink::webhooks::Client::Create(options);
  if (!client.ok()) {
    std::printf("create failed: %s\n", client.status().ToString().c_str());
    return 1;
  }
  wink::webhooks::v1::ListEventTypesRequest request;
  request.set_parent("accounts/acme");
  auto types = (*client)->ListEventTypes(request);
  std::printf("%s\n", absl::StatusCodeToString(types.status().code()).c_str());
  return absl::IsUnavailable(types.status()) ? 0 : 1;
}
