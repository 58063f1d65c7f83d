// An example HTTPS receiver of Wink Webhooks deliveries, written to be read
// and copied. It follows the practices the service expects of receivers:
//
//  1. Verify before trusting: every POST is checked with the endpoint
//     secret(s) (wink/webhooks/verify.h) on the raw body, before the body is
//     parsed. A bad or missing signature gets 401 and goes no further.
//  2. Answer fast: after verifying, the event is put on a bounded queue and
//     answered 200 at once; the sender's timeout never waits for business
//     logic. A full queue answers 503 with Retry-After, and the sender
//     retries later.
//  3. Process asynchronously: a worker thread takes events off the queue in
//     arrival order and hands them to `process`.
//  4. Deduplicate on webhook-id: delivery is at least once, so an id seen
//     recently is answered 200 and not processed again (see recent_ids.h for
//     why production wants a durable store instead).
//  5. Tolerate retries and reordering: a retry of an old event may arrive
//     after newer ones. Processing must not assume order; use the payload's
//     own timestamps or versions when order matters.
//
// Every request is logged on one line: webhook-id, type, verified yes/no,
// body size and the answer.
//
// HTTP: HTTP/1.1 over TLS (OpenSSL), keep-alive, one thread per connection,
// Content-Length bodies only. Any path is accepted; methods other than POST
// get 405, unparseable requests 400, bodies over `max_body_bytes` 413.
#ifndef WINK_WEBHOOKS_CLIENT_EXAMPLES_RECEIVER_RECEIVER_H_
#define WINK_WEBHOOKS_CLIENT_EXAMPLES_RECEIVER_RECEIVER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "wink/webhooks/verify.h"

namespace wink::webhooks::example {

// A verified delivery seen for the first time, as handed to `process`.
struct Event {
  std::string webhook_id;
  std::string type;
  std::string body;  // the raw JSON payload, as signed
  absl::Time receive_time;
};

struct ReceiverOptions {
  // "host:port" to listen on; "[::1]:8443" for IPv6, ":8443" for every
  // address. Port 0 picks a free port (see Receiver::port()).
  std::string listen = "127.0.0.1:8443";
  // PEM files: the server certificate (chain) and its private key.
  std::string cert_file;
  std::string key_file;
  // Endpoint keys, at least one: "whsec_..." secrets (v1 signatures) or,
  // for an Ed25519 webhook, "whpk_..." public keys (v1a). Several while
  // rotating: a request signed by any of them is accepted.
  std::vector<std::string> secrets;
  // Accepted |now - webhook-timestamp|.
  absl::Duration tolerance = kDefaultTolerance;

  // Events waiting for the worker; when full, requests get 503.
  size_t queue_capacity = 1000;
  // How many webhook-ids are remembered, and for how long after they were
  // last seen. The default window covers the service's default retry
  // schedule (about 28 hours) with room for a manual RetryDelivery.
  size_t dedupe_capacity = 100000;
  absl::Duration dedupe_window = absl::Hours(72);
  // Larger bodies are refused with 413 before they are read.
  size_t max_body_bytes = 8 << 20;
  // A connection with no traffic for this long is closed.
  absl::Duration idle_timeout = absl::Seconds(60);

  // The clock for signature timestamps and the dedupe window.
  std::function<absl::Time()> now = [] { return absl::Now(); };
  // Called on the worker thread, once per event; by default prints it.
  std::function<void(const Event&)> process;
  // One line per request, without a newline; by default printed to stdout.
  // Called from connection threads, possibly concurrently.
  std::function<void(const std::string&)> log;
};

// Counters since start.
struct ReceiverStats {
  int64_t requests = 0;      // complete HTTP requests (and unparseable ones)
  int64_t accepted = 0;      // verified, new: answered 200 and queued
  int64_t duplicates = 0;    // verified, webhook-id seen before: 200, not queued
  int64_t unauthorized = 0;  // signature check failed: 401
  int64_t rejected = 0;      // 400, 405 or 413
  int64_t overloaded = 0;    // queue full: 503
  int64_t processed = 0;     // handed to `process` and returned
};

class Receiver {
 public:
  // Loads the certificate, parses the secrets, binds and starts the accept
  // loop and the worker. INVALID_ARGUMENT naming the option ("listen: ...",
  // "cert_file: ...", "key_file: ...", "secrets[0]: ...", "tolerance: ...",
  // "queue_capacity: ...") for bad options, UNAVAILABLE if the address
  // cannot be bound. Sets SIGPIPE to be ignored process-wide (writing to a
  // connection the peer closed must not kill the process).
  static absl::StatusOr<std::unique_ptr<Receiver>> Start(ReceiverOptions options);

  ~Receiver();  // Stop()s

  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // The port listened on (the chosen one if options.listen said 0).
  int port() const { return port_; }

  // Replaces the secrets, e.g. to add the new one during a rotation and
  // later drop the old one, without a restart. Requests already being
  // verified use the old set. INVALID_ARGUMENT as in Start(); the old
  // secrets then stay in force. Thread-safe.
  absl::Status SetSecrets(const std::vector<std::string>& secrets);

  ReceiverStats stats() const;

  // Stops accepting, closes every connection, lets the worker finish the
  // events already queued, and joins all threads. Idempotent; thread-safe
  // except against the destructor.
  void Stop();

 private:
  class Impl;
  explicit Receiver(std::unique_ptr<Impl> impl, int port);

  std::unique_ptr<Impl> impl_;
  int port_;
};

}  // namespace wink::webhooks::example

#endif  // WINK_WEBHOOKS_CLIENT_EXAMPLES_RECEIVER_RECEIVER_H_
