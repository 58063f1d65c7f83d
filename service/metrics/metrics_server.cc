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
      thread_([this] { Loop(); }) {}

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

bool MetricsServer::WaitFor(int fd, short events, absl::Time deadline) {
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    // Rounded up, so a wait never ends just before the deadline; -1: none.
    const int timeout_ms =
        left == absl::InfiniteDuration()
            ? -1
            : static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left), 1 << 30) + 1);
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {fd, events, 0}};
    const int ready = ::poll(fds, fd >= 0 ? 2 : 1, timeout_ms);
    if (ready < 0 && errno != EINTR) return false;
    if (fds[0].revents != 0) return false;  // stopping
    if (ready > 0 && fd >= 0 && fds[1].revents != 0) return true;
  }
}

void MetricsServer::Loop() {
  while (WaitFor(listen_fd_, POLLIN, absl::InfiniteFuture())) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      Serve(fd);
      ::close(fd);
    } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      // Out of descriptors or memory: back off instead of spinning on the
      // connection still waiting.
      WaitFor(-1, 0, absl::Now() + absl::Milliseconds(100));
    }
  }
}

void MetricsServer::Serve(int fd) {
  const absl::Time deadline = absl::Now() + options_.io_timeout;
  std::string request;
  std::string response;
  char buffer[2048];
  while (request.find("\r\n\r\n") == std::string::npos &&
         request.find("\n\n") == std::string::npos) {
    if (request.size() > options_.max_request_bytes) {
      response = Response("431 Request Header Fields Too Large", "text/plain; charset=utf-8",
                          "request too large\n", false);
      break;
    }
    if (!WaitFor(fd, POLLIN, deadline)) return;
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n == 0) return;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return;
    }
    request.append(buffer, static_cast<size_t>(n));
  }
  if (response.empty()) {
    const absl::string_view line = absl::string_view(request).substr(0, request.find('\n'));
    const std::vector<absl::string_view> parts = absl::StrSplit(absl::StripSuffix(line, "\r"), ' ');
    const absl::string_view text = "text/plain; charset=utf-8";
    if (parts.size() != 3 || !absl::StartsWith(parts[2], "HTTP/1.")) {
      response = Response("400 Bad Request", text, "bad request\n", false);
    } else if (parts[0] != "GET" && parts[0] != "HEAD") {
      response = Response("405 Method Not Allowed", text, "only GET and HEAD\n", false,
                          "Allow: GET, HEAD\r\n");
    } else {
      const bool head = parts[0] == "HEAD";
      const absl::string_view path = parts[1].substr(0, parts[1].find('?'));
      response = path == "/metrics" ? Response("200 OK", kTextFormatContentType, render_(), head)
                                    : Response("404 Not Found", text,
                                               "not found; metrics are at /metrics\n", head);
    }
  }
  size_t sent = 0;
  while (sent < response.size()) {
    const ssize_t n = ::send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      if (!WaitFor(fd, POLLOUT, deadline)) return;
    } else {
      return;
    }
  }
  ::shutdown(fd, SHUT_WR);
}

}  // namespace wink::webhooks::metrics
