// A real HTTPS server for delivery tests: listens on 127.0.0.1 (port 0 by
// default), with a CA and server certificate generated at start (see
// test_certificates.h), HTTP/1.1 keep-alive, and responses scripted per path
// with a small fluent API:
//
//   auto receiver = HttpsReceiver::Start();
//   receiver->On("/hooks/a").Reply(503).WithRetryAfter("2").Times(2);
//   receiver->On("/hooks/slow").Hang();
//   ... deliver to receiver->Url("/hooks/a"), trusting receiver->ca_file() ...
//   ASSERT_TRUE(receiver->WaitForRequests("/hooks/a", 3, absl::Seconds(10)));
//
// Requests without a matching rule get 200 with an empty body.
// Thread-safe; every request is recorded before it is answered.
#ifndef WINK_WEBHOOKS_TESTS_FAKES_HTTPS_RECEIVER_H_
#define WINK_WEBHOOKS_TESTS_FAKES_HTTPS_RECEIVER_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wink::webhooks::testing {

struct ReceivedRequest {
  std::string method;
  // Path and query as sent, e.g. "/hooks/a?x=1".
  std::string path;
  // In arrival order; names lower-cased.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When the request was complete (system clock).
  absl::Time receive_time;
  // Which TCP connection carried it (1, 2, ... in accept order): equal ids
  // mean the client reused a keep-alive connection.
  int connection_id = 0;

  // Value of the first header named `name` (any case), or "".
  std::string Header(absl::string_view name) const;
};

// What to answer. Built through HttpsReceiver::On(...).
struct ScriptedResponse {
  int status = 200;
  std::string body;
  // Extra response headers.
  std::vector<std::pair<std::string, std::string>> headers;
  // Wait this long before answering.
  absl::Duration delay = absl::ZeroDuration();
  // Never answer; the connection stays open until the client gives up or the
  // receiver stops.
  bool hang = false;
  // Close the connection with a TCP reset instead of answering.
  bool reset = false;
  // Answer with a generated body of this many bytes (instead of `body`).
  size_t body_size = 0;
};

class HttpsReceiver {
 public:
  // A rule being built; applies to requests whose path (without query) is
  // exactly the rule's path. Later rules for the same path replace earlier
  // ones (their unused Times() budget is dropped).
  class Rule {
   public:
    Rule& Reply(int status, std::string body = "");
    Rule& WithHeader(std::string name, std::string value);
    Rule& WithRetryAfter(std::string value);  // Retry-After header
    Rule& WithBodySize(size_t bytes);
    Rule& After(absl::Duration delay);
    Rule& Hang();
    Rule& Reset();
    // Only the next `n` matching requests get this response; afterwards the
    // path answers 200 again. Default: every matching request.
    Rule& Times(int n);

   private:
    friend class HttpsReceiver;
    Rule(HttpsReceiver* receiver, std::string path);
    HttpsReceiver* receiver_;
    std::string path_;
  };

  struct Options {
    // Where ca.pem, server.pem and server.key are kept: reused when already
    // there and valid, so a restarted receiver keeps its CA. Empty: new
    // files in a new temporary directory, removed by Stop().
    std::string certificate_dir;
    // 0: a free port.
    int port = 0;
    // Keep every request for Requests() and WaitForRequests(). A long-running
    // benchmark receiver turns this off so that its memory stays flat; then
    // Requests() is always empty and WaitForRequests() only waits for 0.
    bool record_requests = true;
    // If set, called for every request on the thread serving its connection,
    // after the rules chose `response` and before it is sent; it may change
    // `response` (e.g. to serve a stats page). Calls for different
    // connections run concurrently: it must be thread-safe, and it must not
    // call the receiver (Stop() waits for the threads that run it).
    std::function<void(const ReceivedRequest& request, ScriptedResponse* response)> on_request =
        nullptr;
  };

  // Generates certificates and starts listening. INTERNAL on failure.
  static absl::StatusOr<std::unique_ptr<HttpsReceiver>> Start(Options options);
  static absl::StatusOr<std::unique_ptr<HttpsReceiver>> Start() { return Start(Options{}); }

  ~HttpsReceiver();  // Stop()s

  int port() const;
  // PEM file of the CA that issued the server certificate (SANs: 127.0.0.1,
  // ::1, localhost).
  const std::string& ca_file() const;
  // "https://127.0.0.1:<port>" + path.
  std::string Url(absl::string_view path) const;

  Rule On(absl::string_view path);

  // Every request so far (all paths, or only `path`), in arrival order.
  std::vector<ReceivedRequest> Requests() const;
  std::vector<ReceivedRequest> Requests(absl::string_view path) const;

  // Waits until at least `count` requests to `path` have arrived. False on
  // timeout.
  bool WaitForRequests(absl::string_view path, size_t count, absl::Duration timeout) const;

  // Number of TCP connections accepted so far.
  int connections_accepted() const;

  // The application protocols clients offered (ALPN), one entry per TLS
  // handshake that offered any, in handshake order; each comma-separated in
  // the client's order of preference ("h2,http/1.1").
  std::vector<std::string> alpn_offers() const;

  // Closes the listener and every connection (hanging ones included) and
  // joins the threads. Idempotent.
  void Stop();

 private:
  class Impl;
  explicit HttpsReceiver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wink::webhooks::testing

#endif  // WINK_WEBHOOKS_TESTS_FAKES_HTTPS_RECEIVER_H_
