// Parsing and checking of webhook target URLs.
#ifndef WINK_WEBHOOKS_SERVICE_HTTP_URL_H_
#define WINK_WEBHOOKS_SERVICE_HTTP_URL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wink::webhooks::http {

// Longest URL a webhook may have.
inline constexpr size_t kMaxUrlLength = 2048;

struct HttpsUrl {
  // Lower-case host name or IP literal (IPv6 without brackets).
  std::string host;
  // Explicit port, or 443.
  int port = 443;
  // Path and query as given, at least "/".
  std::string path_and_query;
};

// Parses `url` as a webhook target: an absolute https URL with a host (no
// percent-encoding in it), at most kMaxUrlLength printable ASCII characters,
// without user name, password or fragment, with a port (if any) in 1-65535.
// INVALID_ARGUMENT "<field>: <what is wrong>" otherwise.
absl::StatusOr<HttpsUrl> ParseWebhookUrl(absl::string_view url, absl::string_view field);

}  // namespace wink::webhooks::http

#endif  // WINK_WEBHOOKS_SERVICE_HTTP_URL_H_
