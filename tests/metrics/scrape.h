// Test helpers for the /metrics endpoint: a raw HTTP/1.1 exchange over a
// real TCP socket to 127.0.0.1, and a parser for the text format's samples.
#ifndef WINK_WEBHOOKS_TESTS_METRICS_SCRAPE_H_
#define WINK_WEBHOOKS_TESTS_METRICS_SCRAPE_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wink::webhooks::testing {

struct HttpReply {
  int status = 0;
  // Header names lower-cased; the last value wins.
  std::map<std::string, std::string> headers;
  std::string body;
};

// A TCP socket connected to 127.0.0.1:`port` (the caller closes it), or -1
// with errno set.
int ConnectLoopback(int port);

// Connects to 127.0.0.1:`port`, sends `request` as is, reads until the
// server closes the connection, and parses the answer. UNAVAILABLE if the
// connection fails, DEADLINE_EXCEEDED after `timeout`, DATA_LOSS if the
// answer is not HTTP.
absl::StatusOr<HttpReply> HttpExchange(int port, absl::string_view request,
                                       absl::Duration timeout = absl::Seconds(10));

// GET `path` (HTTP/1.1, Host: 127.0.0.1).
absl::StatusOr<HttpReply> HttpGet(int port, absl::string_view path);

// The samples of a text-format exposition: series (name plus labels exactly
// as written, e.g. `x_total{a="b"}`) -> value. Comment lines are skipped.
// Fails the current test on a line it cannot read.
std::map<std::string, double> ParseSamples(absl::string_view text);

}  // namespace wink::webhooks::testing

#endif  // WINK_WEBHOOKS_TESTS_METRICS_SCRAPE_H_
