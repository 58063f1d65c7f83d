// Outbound HTTPS requests for deliveries. The interface exists so the
// delivery engine can be tested with scripted transports; production uses
// NewCurlHttpClient (libcurl multi interface, its own event-loop thread).
#ifndef WINK_WEBHOOKS_SERVICE_HTTP_HTTP_CLIENT_H_
#define WINK_WEBHOOKS_SERVICE_HTTP_HTTP_CLIENT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/common/ip_range.h"

namespace wink::webhooks::http {

// Most response body bytes kept in HttpResponse::body.
inline constexpr size_t kMaxResponseBodyBytes = 4096;

// The response headers kept in HttpResponse::notable_headers: what explains a
// failed attempt to the receiver's owner (and retry-after, which the retry
// rules read). Lowercase, as they are keyed.
inline constexpr absl::string_view kNotableResponseHeaders[] = {
    "content-type", "retry-after", "www-authenticate", "location"};
// Most bytes kept of one notable header's value.
inline constexpr size_t kMaxNotableHeaderBytes = 256;

struct HttpRequest {
  // Absolute https URL (already validated by ParseWebhookUrl).
  std::string url;
  // Sent in this order, after nothing else; the client adds no headers of
  // its own except Host, Content-Length and what the transport requires
  // (it suppresses curl's default Accept and Expect).
  std::vector<std::pair<std::string, std::string>> headers;
  // Sent as the POST body.
  std::string body;
};

// Why a request produced no HTTP status. kNone when a response arrived.
enum class TransportError {
  kNone,
  kDestinationRefused,  // SSRF guard: a resolved address is not allowed
  kDnsFailure,          // the host does not resolve
  kConnectFailure,      // refused, unreachable, connect timeout
  kTlsFailure,          // handshake or certificate verification failed
  kTimeout,             // the whole request took longer than allowed
  kConnectionReset,     // the peer closed or reset mid-request
  kCancelled,           // Cancel() or client shutdown
  kOther,
};

struct HttpResponse {
  // HTTP status, or 0 when `transport_error` is not kNone.
  int status = 0;
  TransportError transport_error = TransportError::kNone;
  // For people and the attempt log: what went wrong, e.g. "connection
  // refused", "destination 10.0.0.7 is a private address", "timed out after
  // 15s". Never contains header values or the body. Empty on a response.
  std::string error;
  // The kNotableResponseHeaders present in the response, by lowercase name:
  // the last value of each, whitespace-trimmed, cut at
  // kMaxNotableHeaderBytes.
  std::map<std::string, std::string> notable_headers;
  // The first kMaxResponseBodyBytes bytes of the body.
  std::string body;
  // From Send to completion.
  absl::Duration latency;
};

struct HttpClientOptions {
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration request_timeout = absl::Seconds(15);
  // Ranges that may be reached although the SSRF guard would refuse them
  // (development and tests, e.g. 127.0.0.0/8).
  std::vector<IpRange> allowed_private_ranges;
  // PEM files (each may be a bundle) of extra trusted CA certificates,
  // besides the system store. Empty: system store only.
  std::vector<std::string> extra_ca_files;
  // Sent as User-Agent.
  std::string user_agent = "wink-webhooks";
  // Most connections kept open in the client's pool.
  int max_connections = 512;
  // Longest the client's thread sleeps when nothing is due. New work wakes
  // it at once, so this only bounds the cost of a wake-up that went
  // missing; tests raise it so that a missing one shows as a hang.
  absl::Duration max_idle_wait = absl::Seconds(1);
};

// Sends requests asynchronously. Thread-safe.
class HttpClient {
 public:
  using Callback = std::function<void(HttpResponse)>;

  virtual ~HttpClient() = default;

  // Starts a POST of `request`. `done` is called exactly once, on the
  // client's own thread, with the response or the failure; it must not
  // block (hand work to another thread). It may call Send and Cancel. After
  // Shutdown, `done` runs at once on the calling thread with kCancelled.
  // Returns an id for Cancel().
  virtual uint64_t Send(HttpRequest request, Callback done) = 0;

  // Aborts the request if it is still running; its callback then runs with
  // TransportError::kCancelled (or has already run). Unknown ids are ignored.
  virtual void Cancel(uint64_t request_id) = 0;

  // Stops accepting requests, waits up to `grace` for running ones, then
  // cancels the rest (their callbacks run with kCancelled) and returns.
  // Idempotent. Called from a callback it only starts the shutdown and
  // returns at once. Destroying the client implies Shutdown(0); never
  // destroy it from one of its callbacks.
  virtual void Shutdown(absl::Duration grace) = 0;
};

// The libcurl-based client: HTTPS only, certificate verification against
// the system CAs plus `extra_ca_files`, HTTP/1.1 keep-alive and TLS session
// reuse (HTTP/2 is not offered), no redirects followed, proxy environment
// variables ignored, SSRF guard (see address_policy.h) applied to every
// resolved address, connecting only to the checked addresses.
// Requests to IP literals are checked directly; host names are resolved
// (getaddrinfo, on the client's own resolver threads, cached for 30 s) and
// refused with kDestinationRefused if ANY of their addresses is refused.
// INVALID_ARGUMENT if one of `extra_ca_files` cannot be read or holds no PEM
// certificate, or if a timeout or max_connections is not positive.
absl::StatusOr<std::unique_ptr<HttpClient>> NewCurlHttpClient(const HttpClientOptions& options);

}  // namespace wink::webhooks::http

#endif  // WINK_WEBHOOKS_SERVICE_HTTP_HTTP_CLIENT_H_
