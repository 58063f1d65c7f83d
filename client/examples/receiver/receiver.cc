#include "client/examples/receiver/receiver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/examples/receiver/event_type.h"
#include "client/examples/receiver/recent_ids.h"

namespace wink::webhooks::example {
namespace {

constexpr size_t kMaxHeadBytes = 16 * 1024;
constexpr size_t kLogFieldChars = 120;
constexpr size_t kPrintedBodyChars = 500;

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;
  HeaderList headers;
  std::string body;
  bool keep_alive = true;

  // The value of header `name` (any case), or "" if absent.
  std::string Header(absl::string_view name) const {
    for (const auto& [header_name, value] : headers) {
      if (absl::EqualsIgnoreCase(header_name, name)) return value;
    }
    return "";
  }
};

struct HttpResponse {
  int status = 200;
  std::string body;  // short plain text saying what happened
  HeaderList headers;
  bool close = false;  // close the connection after answering
};

absl::string_view Reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Content Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

// For log lines: printable ASCII only (a header or body is attacker-chosen
// until verified), shortened, "-" when empty. Spaces only in the last field.
std::string ForLog(absl::string_view text, bool keep_spaces = false) {
  if (text.empty()) return "-";
  std::string out(text.substr(0, kLogFieldChars));
  for (char& c : out) {
    if (!absl::ascii_isgraph(c) && !(keep_spaces && c == ' ')) c = '?';
  }
  if (text.size() > kLogFieldChars) out += "...";
  return out;
}

void PrintEvent(const Event& event) {
  std::string body(absl::string_view(event.body).substr(0, kPrintedBodyChars));
  for (char& c : body) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::printf("processing %s %s: %s%s\n", ForLog(event.webhook_id).c_str(),
              ForLog(event.type).c_str(), body.c_str(),
              event.body.size() > kPrintedBodyChars ? "..." : "");
  std::fflush(stdout);
}

void PrintLine(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// One TLS connection: reads requests off it, writes answers.
class Connection {
 public:
  explicit Connection(SSL* ssl) : ssl_(ssl) {}

  // What ReadRequest found.
  enum class Read { kRequest, kClosed, kBad };

  // Reads the next request into `*request`. kClosed when the peer closed
  // (or went idle, or sent half a request); kBad with `*error` set to the
  // answer when the request cannot be parsed or is too large.
  Read ReadRequest(size_t max_body_bytes, HttpRequest* request, HttpResponse* error) {
    size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (buffer_.size() > kMaxHeadBytes) return Bad(400, "request head too large", error);
      if (!Fill()) return Read::kClosed;
    }
    const std::string head = buffer_.substr(0, head_end);
    buffer_.erase(0, head_end + 4);

    std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
    std::vector<absl::string_view> request_line = absl::StrSplit(lines[0], ' ');
    if (request_line.size() != 3 || request_line[0].empty() ||
        (request_line[2] != "HTTP/1.1" && request_line[2] != "HTTP/1.0")) {
      return Bad(400, "malformed request line", error);
    }
    *request = HttpRequest();
    request->method = std::string(request_line[0]);
    for (size_t i = 1; i < lines.size(); ++i) {
      const size_t colon = lines[i].find(':');
      if (colon == 0 || colon == absl::string_view::npos ||
          lines[i].substr(0, colon).find_first_of(" \t") != absl::string_view::npos) {
        return Bad(400, "malformed header line", error);
      }
      request->headers.emplace_back(
          absl::AsciiStrToLower(lines[i].substr(0, colon)),
          std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1))));
    }

    // Content-Length only: the service (like most senders) never sends
    // chunked bodies to webhooks.
    if (!request->Header("transfer-encoding").empty()) {
      return Bad(400, "Transfer-Encoding is not supported; send Content-Length", error);
    }
    size_t length = 0;
    int length_headers = 0;
    for (const auto& [name, value] : request->headers) {
      if (name != "content-length") continue;
      ++length_headers;
      if (value.empty() || value.size() > 18 || !absl::c_all_of(value, absl::ascii_isdigit) ||
          !absl::SimpleAtoi(value, &length)) {
        return Bad(400, "malformed Content-Length", error);
      }
    }
    if (length_headers > 1) return Bad(400, "repeated Content-Length", error);
    if (length > max_body_bytes) {
      return Bad(413, absl::StrCat("body over ", max_body_bytes, " bytes"), error);
    }

    const std::string connection = absl::AsciiStrToLower(request->Header("connection"));
    request->keep_alive =
        request_line[2] == "HTTP/1.1" ? connection != "close" : connection == "keep-alive";
    if (absl::EqualsIgnoreCase(request->Header("expect"), "100-continue") &&
        buffer_.size() < length && !Write("HTTP/1.1 100 Continue\r\n\r\n")) {
      return Read::kClosed;
    }
    while (buffer_.size() < length) {
      if (!Fill()) return Read::kClosed;
    }
    request->body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return Read::kRequest;
  }

  bool WriteResponse(const HttpResponse& response) {
    std::string out = absl::StrCat(
        "HTTP/1.1 ", response.status, " ", Reason(response.status),
        "\r\nContent-Type: text/plain\r\nContent-Length: ", response.body.size() + 1, "\r\n");
    for (const auto& [name, value] : response.headers) {
      absl::StrAppend(&out, name, ": ", value, "\r\n");
    }
    if (response.close) out += "Connection: close\r\n";
    absl::StrAppend(&out, "\r\n", response.body, "\n");
    return Write(out);
  }

 private:
  static Read Bad(int status, std::string message, HttpResponse* error) {
    *error = HttpResponse();
    error->status = status;
    error->body = std::move(message);
    error->close = true;  // the rest of the stream cannot be trusted
    return Read::kBad;
  }

  // Appends what the peer sent next to buffer_. False on close, error or
  // idle timeout.
  bool Fill() {
    constexpr size_t kReadSize = 16 * 1024;
    const size_t used = buffer_.size();
    buffer_.resize(used + kReadSize);  // read straight into the buffer's tail
    size_t received = 0;
    const bool ok = SSL_read_ex(ssl_, buffer_.data() + used, kReadSize, &received) == 1;
    buffer_.resize(used + received);
    return ok && received > 0;
  }

  bool Write(absl::string_view data) {
    while (!data.empty()) {
      const int n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  SSL* ssl_;
  std::string buffer_;  // bytes read but not yet consumed (keep-alive)
};

// Closing a socket with unread input makes the kernel send a reset, which
// can destroy our error response before the client reads it (e.g. a 413
// answered while the body is still arriving). So stop writing, and read and
// drop what the client still sends, for a moment, before closing.
void LingeringClose(int fd) {
  shutdown(fd, SHUT_WR);
  timeval wait = absl::ToTimeval(absl::Seconds(1));
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
  char sink[16 * 1024];
  for (int i = 0; i < 64 && recv(fd, sink, sizeof(sink), 0) > 0; ++i) {
  }
}

// "host:port" → a listening socket. Empty host: every address.
absl::StatusOr<int> Listen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen: \"", listen, "\" is not host:port (e.g. 127.0.0.1:8443)"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* addresses = nullptr;
  const int resolved = getaddrinfo(host.empty() ? nullptr : host.c_str(),
                                   std::to_string(port).c_str(), &hints, &addresses);
  if (resolved != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen: cannot resolve \"", host, "\": ", gai_strerror(resolved)));
  }
  std::string last_error = "no address";
  int fd = -1;
  for (addrinfo* a = addresses; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      last_error = std::strerror(errno);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(addresses);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("listen: ", listen, ": ", last_error));
  return fd;
}

absl::StatusOr<SSL_CTX*> NewTlsContext(const std::string& cert_file, const std::string& key_file) {
  if (cert_file.empty()) return absl::InvalidArgumentError("cert_file: required (PEM)");
  if (key_file.empty()) return absl::InvalidArgumentError("key_file: required (PEM)");
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return absl::InternalError(OpenSslError());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  absl::Status status;
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    status = absl::InvalidArgumentError(
        absl::StrCat("cert_file: cannot load ", cert_file, ": ", OpenSslError()));
  } else if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    status = absl::InvalidArgumentError(
        absl::StrCat("key_file: cannot load ", key_file, ": ", OpenSslError()));
  } else if (SSL_CTX_check_private_key(ctx) != 1) {
    status = absl::InvalidArgumentError("key_file: does not match the certificate of cert_file");
  }
  if (!status.ok()) {
    SSL_CTX_free(ctx);
    return status;
  }
  return ctx;
}

absl::StatusOr<std::shared_ptr<const WebhookVerifier>> NewVerifier(
    const std::vector<std::string>& secrets, absl::Duration tolerance) {
  WebhookVerifier::Options options;
  options.tolerance = tolerance;
  absl::StatusOr<WebhookVerifier> verifier = WebhookVerifier::Create(secrets, options);
  if (!verifier.ok()) return verifier.status();
  return std::make_shared<const WebhookVerifier>(*std::move(verifier));
}

}  // namespace

class Receiver::Impl {
 public:
  Impl(ReceiverOptions options, SSL_CTX* ctx, int listen_fd,
       std::shared_ptr<const WebhookVerifier> verifier)
      : options_(std::move(options)),
        ctx_(ctx),
        listen_fd_(listen_fd),
        verifier_(std::move(verifier)),
        recent_ids_(options_.dedupe_capacity, options_.dedupe_window) {
    worker_ = std::thread([this] { Work(); });
    acceptor_ = std::thread([this] { Accept(); });
  }

  ~Impl() { Stop(); }

  absl::Status SetSecrets(const std::vector<std::string>& secrets) {
    auto verifier = NewVerifier(secrets, options_.tolerance);
    if (!verifier.ok()) return verifier.status();
    absl::MutexLock lock(&mu_);
    verifier_ = *std::move(verifier);
    return absl::OkStatus();
  }

  ReceiverStats stats() const {
    absl::MutexLock lock(&mu_);
    return stats_;
  }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    // shutdown() wakes the blocked accept() and SSL_read() calls.
    shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    close(listen_fd_);
    {
      absl::MutexLock lock(&mu_);
      for (OpenConnection& connection : connections_) {
        if (!connection.finished) shutdown(connection.fd, SHUT_RDWR);
      }
    }
    // No new connections can appear: the acceptor is gone.
    for (OpenConnection& connection : connections_) connection.thread.join();
    {
      absl::MutexLock lock(&mu_);
      worker_done_ = true;  // the worker drains the queue, then exits
    }
    worker_.join();
    SSL_CTX_free(ctx_);
  }

 private:
  struct OpenConnection {
    int fd;
    std::thread thread;
    bool finished = false;
  };

  // What became of a verified request.
  enum class Admission { kQueued, kDuplicate, kQueueFull };

  void Accept() {
    while (true) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        // Out of file descriptors: wait for connections to close rather
        // than spin. Other errors (a client that gave up, or Stop()'s
        // shutdown) need no pause.
        if (errno == EMFILE || errno == ENFILE) absl::SleepFor(absl::Milliseconds(100));
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
        continue;
      }
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        close(fd);
        return;
      }
      ReapFinishedConnections();
      timeval idle = absl::ToTimeval(options_.idle_timeout);
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof(idle));
      connections_.push_back(OpenConnection{fd, std::thread(), false});
      OpenConnection* connection = &connections_.back();
      connection->thread = std::thread([this, connection] { Serve(connection); });
    }
  }

  // Joins the threads of closed connections (instant: they have returned).
  void ReapFinishedConnections() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (auto it = connections_.begin(); it != connections_.end();) {
      if (!it->finished) {
        ++it;
        continue;
      }
      it->thread.join();
      it = connections_.erase(it);
    }
  }

  void Serve(OpenConnection* open) {
    SSL* ssl = SSL_new(ctx_);
    if (ssl != nullptr && SSL_set_fd(ssl, open->fd) == 1 && SSL_accept(ssl) == 1) {
      Connection connection(ssl);
      HttpRequest request;
      HttpResponse response;
      while (true) {
        const Connection::Read read =
            connection.ReadRequest(options_.max_body_bytes, &request, &response);
        if (read == Connection::Read::kClosed) break;
        if (read == Connection::Read::kBad) {
          Count(&ReceiverStats::rejected);
          Log(nullptr, false, response);
        } else {
          response = Handle(request);
          response.close = response.close || !request.keep_alive;
        }
        if (!connection.WriteResponse(response) || response.close) break;
      }
      SSL_shutdown(ssl);  // best effort close_notify; the peer may be gone
      if (response.close) LingeringClose(open->fd);
    }
    SSL_free(ssl);
    ERR_clear_error();  // OpenSSL errors are per thread; this one is ending
    // Closed under the lock, together with `finished`, so that Stop() never
    // shuts down a descriptor number that was closed and reused meanwhile.
    absl::MutexLock lock(&mu_);
    close(open->fd);
    open->finished = true;
  }

  // The heart of the example: verify, answer, queue.
  HttpResponse Handle(const HttpRequest& request) {
    HttpResponse response;
    if (request.method != "POST") {
      Count(&ReceiverStats::rejected);
      response.status = 405;
      response.body = "webhooks are POSTed";
      response.headers.emplace_back("Allow", "POST");
      Log(&request, false, response);
      return response;
    }
    std::shared_ptr<const WebhookVerifier> verifier;
    {
      absl::MutexLock lock(&mu_);
      verifier = verifier_;
    }
    const absl::Time now = options_.now();
    // 1. Verify the raw bytes before looking inside them.
    const absl::Status verified = verifier->Verify(request.headers, request.body, now);
    if (!verified.ok()) {
      Count(&ReceiverStats::unauthorized);
      response.status = 401;
      response.body = std::string(verified.message());  // never contains secrets
      Log(&request, false, response);
      return response;
    }
    // 2. Only a verified body is parsed.
    std::optional<std::string> type = EventType(request.body);
    if (!type.has_value()) {
      Count(&ReceiverStats::rejected);
      response.status = 400;
      response.body = "body is not a JSON object with a string \"type\"";
      Log(&request, true, response);
      return response;
    }
    // 3. Queue it (once per webhook-id) and answer at once.
    Event event{request.Header(kWebhookIdHeader), *std::move(type), request.body, now};
    switch (Admit(std::move(event))) {
      case Admission::kQueued:
        response.body = "queued";
        break;
      case Admission::kDuplicate:
        response.body = "duplicate webhook-id, already accepted";
        break;
      case Admission::kQueueFull:
        response.status = 503;
        response.body = "busy, retry later";
        response.headers.emplace_back("Retry-After", "5");
        break;
    }
    Log(&request, true, response);
    return response;
  }

  Admission Admit(Event event) {
    absl::MutexLock lock(&mu_);
    if (recent_ids_.Contains(event.webhook_id, event.receive_time)) {
      ++stats_.duplicates;
      return Admission::kDuplicate;
    }
    // Not remembered when refused: the retry must be processed.
    if (queue_.size() >= options_.queue_capacity) {
      ++stats_.overloaded;
      return Admission::kQueueFull;
    }
    recent_ids_.Add(event.webhook_id, event.receive_time);
    queue_.push_back(std::move(event));
    ++stats_.accepted;
    return Admission::kQueued;
  }

  void Work() {
    while (true) {
      Event event;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](Impl* impl) ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl->mu_) {
              return !impl->queue_.empty() || impl->worker_done_;
            },
            this));
        if (queue_.empty()) return;  // worker_done_ and nothing left
        event = std::move(queue_.front());
        queue_.pop_front();
      }
      // Outside the lock: processing may take long; requests keep being
      // answered meanwhile.
      options_.process(event);
      Count(&ReceiverStats::processed);
    }
  }

  void Count(int64_t ReceiverStats::*counter) {
    absl::MutexLock lock(&mu_);
    ++(stats_.*counter);
  }

  // `request` is null when it could not be parsed.
  void Log(const HttpRequest* request, bool verified, const HttpResponse& response) {
    {
      absl::MutexLock lock(&mu_);
      ++stats_.requests;
    }
    std::string id, type;
    size_t bytes = 0;
    if (request != nullptr) {
      id = request->Header(kWebhookIdHeader);
      type = EventType(request->body).value_or("");
      bytes = request->body.size();
    }
    options_.log(absl::StrCat("webhook-id=", ForLog(id), " type=", ForLog(type),
                              " verified=", verified ? "yes" : "no", " bytes=", bytes, " -> ",
                              response.status, " ", ForLog(response.body, true)));
  }

  const ReceiverOptions options_;
  SSL_CTX* const ctx_;
  const int listen_fd_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool worker_done_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<const WebhookVerifier> verifier_ ABSL_GUARDED_BY(mu_);
  RecentIds recent_ids_ ABSL_GUARDED_BY(mu_);
  std::deque<Event> queue_ ABSL_GUARDED_BY(mu_);
  ReceiverStats stats_ ABSL_GUARDED_BY(mu_);
  // A std::list, so that a connection's thread can hold a stable pointer to
  // its entry while others are added and removed.
  std::list<OpenConnection> connections_ ABSL_GUARDED_BY(mu_);

  std::thread worker_;
  std::thread acceptor_;
};

absl::StatusOr<std::unique_ptr<Receiver>> Receiver::Start(ReceiverOptions options) {
  if (options.queue_capacity < 1) {
    return absl::InvalidArgumentError("queue_capacity: must be at least 1");
  }
  if (options.tolerance < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("tolerance: must not be negative");
  }
  auto verifier = NewVerifier(options.secrets, options.tolerance);
  if (!verifier.ok()) return verifier.status();
  if (!options.now) options.now = [] { return absl::Now(); };
  if (!options.process) options.process = PrintEvent;
  if (!options.log) options.log = PrintLine;

  signal(SIGPIPE, SIG_IGN);
  auto ctx = NewTlsContext(options.cert_file, options.key_file);
  if (!ctx.ok()) return ctx.status();
  auto listen_fd = Listen(options.listen);
  if (!listen_fd.ok()) {
    SSL_CTX_free(*ctx);
    return listen_fd.status();
  }
  sockaddr_storage bound{};
  socklen_t bound_size = sizeof(bound);
  getsockname(*listen_fd, reinterpret_cast<sockaddr*>(&bound), &bound_size);
  const int port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  auto impl = std::make_unique<Impl>(std::move(options), *ctx, *listen_fd, *std::move(verifier));
  return std::unique_ptr<Receiver>(new Receiver(std::move(impl), port));
}

Receiver::Receiver(std::unique_ptr<Impl> impl, int port) : impl_(std::move(impl)), port_(port) {}

Receiver::~Receiver() { Stop(); }

absl::Status Receiver::SetSecrets(const std::vector<std::string>& secrets) {
  return impl_->SetSecrets(secrets);
}

ReceiverStats Receiver::stats() const { return impl_->stats(); }

void Receiver::Stop() { impl_->Stop(); }

}  // namespace wink::webhooks::example
