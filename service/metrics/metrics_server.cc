#include "service/metrics/metrics_server.h"

#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

#include "service/common/thread_name.h"

namespace wink::webhooks::metrics {
namespace {

constexpr int kListenBacklog = 16;

struct HostPort {
  std::string host;
  std::string port;
};

absl::StatusOr<HostPort> SplitAddress(absl::string_view address) {
  const size_t colon = address.rfind(':');
  absl::string_view host = colon == absl::string_view::npos ? "" : address.substr(0, colon);
  const absl::string_view port = colon == absl::string_view::npos ? "" : address.substr(colon + 1);
  uint32_t number = 0;
  if (host.empty() || !absl::SimpleAtoi(port, &number) || number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics_listen_address: expected host:port, got \"", address, "\""));
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return HostPort{std::string(host), absl::StrCat(number)};
}

// A listening, non-blocking socket bound to `address`, and its port.
absl::StatusOr<std::pair<int, int>> Listen(absl::string_view address) {
  absl::StatusOr<HostPort> host_port = SplitAddress(address);
  if (!host_port.ok()) return host_port.status();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int resolved =
      ::getaddrinfo(host_port->host.c_str(), host_port->port.c_str(), &hints, &found);
  if (resolved != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for metrics on \"", address, "\": ", ::gai_strerror(resolved)));
  }
  std::string error = "no address";
  int fd = -1;
  for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, kListenBacklog) != 0) {
      error = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for metrics on \"", address, "\": ", error));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  const int port = bound.ss_family == AF_INET6
                       ? ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port)
                       : ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  return std::make_pair(fd, port);
}

std::string Response(absl::string_view status, absl::string_view content_type,
                     absl::string_view body, bool head, absl::string_view extra_headers = "") {
  std::string out = absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", content_type,
                                 "\r\nContent-Length: ", body.size(), "\r\n", extra_headers,
                                 "Connection: close\r\n\r\n");
  if (!head) out.append(body.data(), body.size());
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    absl::string_view address, std::function<std::string()> render, MetricsServerOptions options) {
  absl::StatusOr<std::pair<int, int>> listener = Listen(address);
  if (!listener.ok()) return listener.status();
  const int wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    ::close(listener->first);
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  return std::unique_ptr<MetricsServer>(
      new MetricsServer(listener->first, wake_fd, listener->second, std::move(render), options));
}

MetricsServer::MetricsServer(int listen_fd, int wake_fd, int port,
                             std::function<std::string()> render, MetricsServerOptions options)
    : listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      port_(port),
      render_(std::move(render)),
      options_(options),
      thread_([this] {
        NameThisThread("wink-metrics");
        Loop();
      }) {}

MetricsServer::~MetricsServer() { Stop(); }

void MetricsServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  const uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof(one));
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_fd_);
}

void MetricsServer::Loop() {
  std::vector<Connection> connections;
  std::vector<pollfd> fds;
  while (true) {
    // [0] Stop(), [1] the listener (while there is room), then one per
    // connection: reading its request, or writing its answer.
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    const bool room = connections.size() < options_.max_connections;
    fds.push_back({room ? listen_fd_ : -1, POLLIN, 0});
    absl::Time next_deadline = absl::InfiniteFuture();
    for (const Connection& connection : connections) {
      fds.push_back({connection.fd, static_cast<short>(connection.response.empty() ? POLLIN
                                                                                   : POLLOUT),
                     0});
      next_deadline = std::min(next_deadline, connection.deadline);
    }
    int timeout_ms = -1;
    if (next_deadline != absl::InfiniteFuture()) {
      // Rounded up, so a wait never ends just before the deadline.
      const absl::Duration left = std::max(next_deadline - absl::Now(), absl::ZeroDuration());
      timeout_ms = static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left), 1 << 30) + 1);
    }
    const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) break;  // stopping

    const absl::Time now = absl::Now();
    std::vector<Connection> still_open;
    still_open.reserve(connections.size());
    for (size_t i = 0; i < connections.size(); ++i) {
      Connection& connection = connections[i];
      bool keep = true;
      if (fds[i + 2].revents != 0) {
        keep = connection.response.empty() ? Receive(connection) : Send(connection);
      }
      if (keep && now >= connection.deadline) keep = false;  // out of time
      if (keep) {
        still_open.push_back(std::move(connection));
      } else {
        ::close(connection.fd);
      }
    }
    connections = std::move(still_open);

    if (fds[1].revents != 0) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        connections.push_back(Connection{fd, absl::Now() + options_.io_timeout, "", "", 0});
      } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors or memory: back off instead of spinning on the
        // connection still waiting.
        pollfd wake = {wake_fd_, POLLIN, 0};
        if (::poll(&wake, 1, 100) > 0) break;
      }
    }
  }
  for (const Connection& connection : connections) ::close(connection.fd);
}

bool MetricsServer::Receive(Connection& connection) {
  char buffer[2048];
  const ssize_t n = ::recv(connection.fd, buffer, sizeof(buffer), 0);
  if (n == 0) return false;
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  connection.request.append(buffer, static_cast<size_t>(n));
  const bool complete = connection.request.find("\r\n\r\n") != std::string::npos ||
                        connection.request.find("\n\n") != std::string::npos;
  if (complete) {
    connection.response = Answer(connection.request);
  } else if (connection.request.size() > options_.max_request_bytes) {
    connection.response = Response("431 Request Header Fields Too Large",
                                   "text/plain; charset=utf-8", "request too large\n", false);
  } else {
    return true;  // more to read
  }
  return Send(connection);
}

bool MetricsServer::Send(Connection& connection) {
  while (connection.sent < connection.response.size()) {
    const ssize_t n = ::send(connection.fd, connection.response.data() + connection.sent,
                             connection.response.size() - connection.sent, MSG_NOSIGNAL);
    if (n > 0) {
      connection.sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      return true;  // the rest when the socket has room
    } else {
      return false;
    }
  }
  ::shutdown(connection.fd, SHUT_WR);
  return false;
}

std::string MetricsServer::Answer(absl::string_view request) {
  const absl::string_view line = request.substr(0, request.find('\n'));
  const std::vector<absl::string_view> parts = absl::StrSplit(absl::StripSuffix(line, "\r"), ' ');
  const absl::string_view text = "text/plain; charset=utf-8";
  if (parts.size() != 3 || !absl::StartsWith(parts[2], "HTTP/1.")) {
    return Response("400 Bad Request", text, "bad request\n", false);
  }
  if (parts[0] != "GET" && parts[0] != "HEAD") {
    return Response("405 Method Not Allowed", text, "only GET and HEAD\n", false,
                    "Allow: GET, HEAD\r\n");
  }
  const bool head = parts[0] == "HEAD";
  const absl::string_view path = parts[1].substr(0, parts[1].find('?'));
  return path == "/metrics"
             ? Response("200 OK", kTextFormatContentType, render_(), head)
             : Response("404 Not Found", text, "not found; metrics are at /metrics\n", head);
}

}  // namespace wink::webhooks::metrics
