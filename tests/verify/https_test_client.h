// HTTPS clients for driving the example receiver in tests: libcurl for
// well-formed requests (with connection reuse), raw TLS for bytes no HTTP
// client would send.
#ifndef WINK_WEBHOOKS_TESTS_VERIFY_HTTPS_TEST_CLIENT_H_
#define WINK_WEBHOOKS_TESTS_VERIFY_HTTPS_TEST_CLIENT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wink::webhooks::testing {

struct HttpsResponse {
  int status = 0;
  std::string body;
  // Response header lines as received, e.g. "Retry-After: 5".
  std::vector<std::string> header_lines;
};

// One libcurl handle, so consecutive requests reuse the connection. Trusts
// only `ca_file`. Not thread-safe.
class HttpsTestClient {
 public:
  explicit HttpsTestClient(std::string ca_file);
  ~HttpsTestClient();
  HttpsTestClient(const HttpsTestClient&) = delete;
  HttpsTestClient& operator=(const HttpsTestClient&) = delete;

  // UNAVAILABLE with curl's message if no response arrives within 10 s.
  absl::StatusOr<HttpsResponse> Post(
      const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
      absl::string_view body);
  absl::StatusOr<HttpsResponse> Get(const std::string& url);

  // New connections opened by the last request (0 when it reused one).
  long last_new_connections() const { return last_new_connections_; }  // NOLINT(runtime/int)

 private:
  absl::StatusOr<HttpsResponse> Perform();

  std::string ca_file_;
  void* curl_;                     // CURL*
  long last_new_connections_ = 0;  // NOLINT(runtime/int): curl's type
};

// Opens a TLS connection to 127.0.0.1:`port` (verifying the server against
// `ca_file`), writes `bytes`, and returns everything read until the server
// closes the connection or 10 s pass.
absl::StatusOr<std::string> RawTlsExchange(int port, const std::string& ca_file,
                                           absl::string_view bytes);

}  // namespace wink::webhooks::testing

#endif  // WINK_WEBHOOKS_TESTS_VERIFY_HTTPS_TEST_CLIENT_H_
