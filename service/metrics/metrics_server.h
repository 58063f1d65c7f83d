// A minimal plain-HTTP endpoint for Prometheus scrapes: `GET /metrics`
// (also HEAD; any query string is ignored) answers 200 with the text
// exposition format; other paths 404, other methods 405.
//
// It runs on its own thread, which serves up to `max_connections` at once
// with poll(): an idle or slow client delays no other scrape (three idle
// sockets once held a scrape for 15 s), and nothing it does can hold up the
// service. A client gets `io_timeout` in total to send its request (at most
// `max_request_bytes` of request line and headers; larger ones get 431) and
// to read the answer, then the connection is closed. Every answer closes
// the connection. There is no TLS and no authentication: bind it to an
// address only the monitoring system reaches.
#ifndef WINK_WEBHOOKS_SERVICE_METRICS_METRICS_SERVER_H_
#define WINK_WEBHOOKS_SERVICE_METRICS_METRICS_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wink::webhooks::metrics {

// Content-Type of the text exposition format.
inline constexpr absl::string_view kTextFormatContentType =
    "text/plain; version=0.0.4; charset=utf-8";

struct MetricsServerOptions {
  // Time a client has to send its request and to read the answer.
  absl::Duration io_timeout = absl::Seconds(5);
  // Largest request (request line and headers) read.
  size_t max_request_bytes = 8192;
  // Connections served at once; more wait in the listen backlog.
  size_t max_connections = 64;
};

class MetricsServer {
 public:
  // Listens on `address` ("host:port", "[v6]:port"; port 0 picks a free
  // one) and serves `render()` (called on the server's thread for every
  // scrape; it must be thread-safe) at /metrics. INVALID_ARGUMENT
  // "metrics_listen_address: ..." for a malformed address, UNAVAILABLE
  // naming the address when it cannot be bound (in use, not local).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(absl::string_view address,
                                                              std::function<std::string()> render,
                                                              MetricsServerOptions options = {});

  ~MetricsServer();  // Stop()s
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The bound port.
  int port() const { return port_; }

  // Closes the listener, drops a connection being served and joins the
  // thread. Idempotent; not thread-safe against itself.
  void Stop();

 private:
  MetricsServer(int listen_fd, int wake_fd, int port, std::function<std::string()> render,
                MetricsServerOptions options);
  // One client connection in progress.
  struct Connection {
    int fd = -1;
    absl::Time deadline;
    std::string request;
    std::string response;  // empty until the request is complete
    size_t sent = 0;
  };

  void Loop();
  // Reads what `connection` sent; false when it is finished with.
  bool Receive(Connection& connection);
  // Sends more of the answer; false when it is finished with.
  bool Send(Connection& connection);
  // The whole HTTP answer to a complete request.
  std::string Answer(absl::string_view request);

  const int listen_fd_;
  // An eventfd that Stop() signals, so a poll() never outlives the server.
  const int wake_fd_;
  const int port_;
  const std::function<std::string()> render_;
  const MetricsServerOptions options_;
  std::thread thread_;
  bool stopped_ = false;
};

}  // namespace wink::webhooks::metrics

#endif  // WINK_WEBHOOKS_SERVICE_METRICS_METRICS_SERVER_H_
