#include "tests/fakes/https_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/fakes/test_certificates.h"

namespace wink::webhooks::testing {
namespace {

// Limits that keep a broken client from exhausting memory; far above what
// delivery tests send.
constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kMaxBodyBytes = 64 * 1024 * 1024;

absl::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Status";
  }
}

absl::string_view PathWithoutQuery(absl::string_view path) {
  return path.substr(0, path.find('?'));
}

bool MatchesPath(const ReceivedRequest& request, absl::string_view path) {
  return request.path == path || PathWithoutQuery(request.path) == path;
}

// Whether the comma-separated header value `list` contains `token` (any case).
bool HasToken(absl::string_view list, absl::string_view token) {
  for (absl::string_view item : absl::StrSplit(list, ',')) {
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(item), token)) return true;
  }
  return false;
}

// Whether `text` is non-empty and all its characters satisfy `predicate`.
bool AllOf(absl::string_view text, bool (*predicate)(unsigned char)) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [predicate](char c) {
    return predicate(static_cast<unsigned char>(c));
  });
}

std::string OpenSslErrors() {
  std::string errors;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    absl::StrAppend(&errors, errors.empty() ? "" : "; ", buffer);
  }
  return errors.empty() ? "unknown error" : errors;
}

// The protocols of an ALPN list (length-prefixed names), comma-separated.
std::string AlpnNames(const unsigned char* list, unsigned int length) {
  std::string names;
  for (unsigned int at = 0; at < length && at + 1 + list[at] <= length; at += 1 + list[at]) {
    absl::StrAppend(&names, names.empty() ? "" : ",",
                    absl::string_view(reinterpret_cast<const char*>(list + at + 1), list[at]));
  }
  return names;
}

// A blocking TLS stream with a read buffer.
class TlsStream {
 public:
  explicit TlsStream(SSL* ssl) : ssl_(ssl) {}

  // Appends whatever arrives next to buffer(). False once the peer closed,
  // the connection failed, or the receiver shut the socket down.
  bool Fill() {
    char chunk[16 * 1024];
    const int n = SSL_read(ssl_, chunk, sizeof(chunk));
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  // Fills until buffer() holds at least `size` bytes.
  bool FillTo(size_t size) {
    while (buffer_.size() < size) {
      if (!Fill()) return false;
    }
    return true;
  }

  bool Write(absl::string_view data) {
    // Without SSL_MODE_ENABLE_PARTIAL_WRITE a blocking SSL_write sends all
    // of `data` or fails.
    while (!data.empty()) {
      const int n =
          SSL_write(ssl_, data.data(), static_cast<int>(std::min<size_t>(data.size(), 1 << 30)));
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  std::string& buffer() { return buffer_; }

 private:
  SSL* ssl_;
  std::string buffer_;
};

enum class ReadResult { kRequest, kClosed, kBadRequest };

struct ParsedRequest {
  ReceivedRequest request;
  bool keep_alive = true;
  bool http10 = false;
  bool head = false;
  // Status for kBadRequest.
  int error_status = 400;
};

// Reads a chunked body (RFC 9112 section 7.1) that starts at the front of
// the stream's buffer; extensions and trailers are read and dropped.
ReadResult ReadChunkedBody(TlsStream& stream, std::string* body) {
  std::string& buffer = stream.buffer();
  size_t position = 0;
  // The next CRLF-terminated line at `position`, without the CRLF.
  auto next_line = [&](absl::string_view* line) {
    size_t end;
    while ((end = buffer.find("\r\n", position)) == std::string::npos) {
      if (buffer.size() - position > kMaxHeaderBytes || !stream.Fill()) return false;
    }
    *line = absl::string_view(buffer).substr(position, end - position);
    position = end + 2;
    return true;
  };
  for (;;) {
    absl::string_view line;
    if (!next_line(&line)) return ReadResult::kClosed;
    const absl::string_view size_text = absl::StripAsciiWhitespace(line.substr(0, line.find(';')));
    uint64_t size = 0;
    if (!AllOf(size_text, absl::ascii_isxdigit) || size_text.size() > 15 ||
        !absl::SimpleHexAtoi(size_text, &size)) {
      return ReadResult::kBadRequest;
    }
    if (size == 0) break;
    if (body->size() + size > kMaxBodyBytes) return ReadResult::kBadRequest;
    if (!stream.FillTo(position + size + 2)) return ReadResult::kClosed;
    if (buffer.compare(position + size, 2, "\r\n") != 0) return ReadResult::kBadRequest;
    body->append(buffer, position, size);
    position += size + 2;
  }
  for (;;) {  // trailer section, up to an empty line
    absl::string_view line;
    if (!next_line(&line)) return ReadResult::kClosed;
    if (line.empty()) break;
  }
  buffer.erase(0, position);
  return ReadResult::kRequest;
}

// Reads one request from the stream, leaving any pipelined bytes after it in
// the buffer. Sends "100 Continue" when the client waits for it.
ReadResult ReadRequest(TlsStream& stream, ParsedRequest* parsed) {
  std::string& buffer = stream.buffer();
  size_t head_end;
  for (;;) {
    // RFC 9112 section 2.2: ignore empty lines before a request line.
    while (absl::StartsWith(buffer, "\r\n")) buffer.erase(0, 2);
    head_end = buffer.find("\r\n\r\n");
    if (head_end != std::string::npos) break;
    if (buffer.size() > kMaxHeaderBytes) {
      parsed->error_status = 431;
      return ReadResult::kBadRequest;
    }
    if (!stream.Fill()) return ReadResult::kClosed;
  }
  const std::string head = buffer.substr(0, head_end);
  buffer.erase(0, head_end + 4);

  ReceivedRequest& request = parsed->request;
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  std::vector<absl::string_view> request_line = absl::StrSplit(lines[0], ' ');
  if (request_line.size() != 3 || request_line[0].empty() || request_line[1].empty() ||
      (request_line[2] != "HTTP/1.1" && request_line[2] != "HTTP/1.0")) {
    return ReadResult::kBadRequest;
  }
  request.method = std::string(request_line[0]);
  request.path = std::string(request_line[1]);
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos || colon == 0 ||
        absl::ascii_isspace(static_cast<unsigned char>(lines[i][0])) ||
        absl::ascii_isspace(static_cast<unsigned char>(lines[i][colon - 1]))) {
      return ReadResult::kBadRequest;  // also obsolete line folding
    }
    request.headers.emplace_back(
        absl::AsciiStrToLower(lines[i].substr(0, colon)),
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1))));
  }

  const bool http11 = request_line[2] == "HTTP/1.1";
  const std::string connection = request.Header("connection");
  parsed->keep_alive = http11 ? !HasToken(connection, "close") : HasToken(connection, "keep-alive");
  parsed->http10 = !http11;
  parsed->head = request.method == "HEAD";

  const std::string transfer_encoding = request.Header("transfer-encoding");
  const std::string content_length = request.Header("content-length");
  const bool chunked = !transfer_encoding.empty();
  if (chunked && (!absl::EqualsIgnoreCase(transfer_encoding, "chunked") || !http11 ||
                  !content_length.empty())) {
    return ReadResult::kBadRequest;
  }
  uint64_t length = 0;
  if (!content_length.empty() &&
      (!AllOf(content_length, absl::ascii_isdigit) || content_length.size() > 18 ||
       !absl::SimpleAtoi(content_length, &length))) {
    return ReadResult::kBadRequest;
  }
  if (length > kMaxBodyBytes) {
    parsed->error_status = 413;
    return ReadResult::kBadRequest;
  }
  if (http11 && HasToken(request.Header("expect"), "100-continue") &&
      (chunked || buffer.size() < length)) {
    if (!stream.Write("HTTP/1.1 100 Continue\r\n\r\n")) return ReadResult::kClosed;
  }
  if (chunked) return ReadChunkedBody(stream, &request.body);
  if (!stream.FillTo(length)) return ReadResult::kClosed;
  request.body = buffer.substr(0, length);
  buffer.erase(0, length);
  return ReadResult::kRequest;
}

std::string ResponseHead(int status, size_t content_length, bool body_allowed,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         bool keep_alive, bool http10) {
  std::string head = absl::StrCat("HTTP/1.1 ", status, " ", ReasonPhrase(status), "\r\n");
  if (body_allowed) absl::StrAppend(&head, "Content-Length: ", content_length, "\r\n");
  for (const auto& [name, value] : headers) absl::StrAppend(&head, name, ": ", value, "\r\n");
  if (!keep_alive) {
    absl::StrAppend(&head, "Connection: close\r\n");
  } else if (http10) {
    absl::StrAppend(&head, "Connection: keep-alive\r\n");
  }
  absl::StrAppend(&head, "\r\n");
  return head;
}

}  // namespace

std::string ReceivedRequest::Header(absl::string_view name) const {
  for (const auto& [header_name, value] : headers) {
    if (absl::EqualsIgnoreCase(header_name, name)) return value;
  }
  return "";
}

// One thread accepts connections and starts a thread per connection, which
// serves it until either side closes it. mu_ guards all state those threads
// share; Stop() unblocks them with shutdown() and joins them.
class HttpsReceiver::Impl {
 public:
  struct RuleState {
    ScriptedResponse response;
    // Matching requests this rule still answers; -1: no limit.
    int remaining = -1;
  };

  static absl::StatusOr<std::unique_ptr<Impl>> Start(Options options);

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() { Stop(); }

  int port() const { return port_; }
  const std::string& ca_file() const { return ca_file_; }

  void ReplaceRule(const std::string& path) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    rules_[path] = RuleState{};
  }
  void EditRule(const std::string& path, absl::FunctionRef<void(RuleState&)> edit)
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    edit(rules_[path]);
  }

  // All requests, or those to `*path`.
  std::vector<ReceivedRequest> Requests(const absl::string_view* path) const
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    std::vector<ReceivedRequest> result;
    for (const ReceivedRequest& request : requests_) {
      if (path == nullptr || MatchesPath(request, *path)) result.push_back(request);
    }
    return result;
  }

  bool WaitForRequests(absl::string_view path, size_t count, absl::Duration timeout) const
      ABSL_LOCKS_EXCLUDED(mu_) {
    auto count_reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return static_cast<size_t>(std::count_if(requests_.begin(), requests_.end(),
                                               [&](const ReceivedRequest& request) {
                                                 return MatchesPath(request, path);
                                               })) >= count;
    };
    // No request arrives after Stop(): give up then instead of at the timeout.
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || count_reached(); };
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
    return count_reached();
  }

  int connections_accepted() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return connections_accepted_;
  }

  // The ALPN callback: offers only http/1.1, so that clients which would
  // prefer h2 fall back to HTTP/1.1 (the only protocol this receiver
  // speaks), and keeps what the client offered. `arg` is the Impl.
  static int SelectAlpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_length,
                        const unsigned char* offered, unsigned int offered_length, void* arg) {
    static_cast<Impl*>(arg)->RecordAlpnOffer(AlpnNames(offered, offered_length));
    static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, out_length, kHttp11, sizeof(kHttp11), offered,
                              offered_length) != OPENSSL_NPN_NEGOTIATED) {
      return SSL_TLSEXT_ERR_NOACK;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }

  void RecordAlpnOffer(std::string offer) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    alpn_offers_.push_back(std::move(offer));
  }
  std::vector<std::string> alpn_offers() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return alpn_offers_;
  }

  void Stop() ABSL_LOCKS_EXCLUDED(stop_mu_, mu_);

 private:
  struct Connection {
    int id = 0;
    // Closed by the connection's own thread, under mu_, so that Stop() never
    // shuts down a descriptor number that has since been reused.
    int fd = -1;
    bool closed = false;
    // The thread has finished and only needs joining.
    bool done = false;
    std::thread thread;
  };
  // How a connection ends: close_notify and FIN, RST, or just FIN (the
  // peer is gone or the receiver is stopping).
  enum class Ending { kGraceful, kReset, kSilent };

  void AcceptLoop() ABSL_LOCKS_EXCLUDED(mu_);
  void Serve(Connection* connection) ABSL_LOCKS_EXCLUDED(mu_);
  Ending ServeRequests(TlsStream& stream, int connection_id) ABSL_LOCKS_EXCLUDED(mu_);
  // Waits up to `timeout`; false if the receiver is stopping.
  bool WaitUnlessStopping(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

  std::string certificate_dir_;
  bool record_requests_ = true;
  std::function<void(const ReceivedRequest&, ScriptedResponse*)> on_request_;
  // certificate_dir_ is a temporary directory of ours, removed by Stop().
  bool owns_certificate_dir_ = false;
  std::string ca_file_;
  SSL_CTX* ssl_context_ = nullptr;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread accept_thread_;

  // Serialises Stop() calls.
  absl::Mutex stop_mu_;
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<ReceivedRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, RuleState, std::less<>> rules_ ABSL_GUARDED_BY(mu_);
  int connections_accepted_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> alpn_offers_ ABSL_GUARDED_BY(mu_);
  // A list: each connection's thread keeps a pointer to its element.
  std::list<Connection> connections_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::unique_ptr<HttpsReceiver::Impl>> HttpsReceiver::Impl::Start(Options options) {
  // On any error below, the destructor's Stop() releases what was set up.
  auto impl = std::make_unique<Impl>();
  impl->certificate_dir_ = options.certificate_dir;
  impl->record_requests_ = options.record_requests;
  impl->on_request_ = std::move(options.on_request);
  if (impl->certificate_dir_.empty()) {
    const char* base = std::getenv("TEST_TMPDIR");
    std::error_code ignored;
    std::string pattern = absl::StrCat(base != nullptr && *base != '\0'
                                           ? base
                                           : std::filesystem::temp_directory_path(ignored).string(),
                                       "/wink-receiver-XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("https receiver: cannot create a directory like ",
                                              pattern, ": ", strerror(errno)));
    }
    impl->certificate_dir_ = pattern;
    impl->owns_certificate_dir_ = true;
  }
  absl::StatusOr<TestCertificateFiles> files =
      impl->owns_certificate_dir_ ? WriteTestCertificates(impl->certificate_dir_)
                                  : ReuseOrWriteTestCertificates(impl->certificate_dir_);
  if (!files.ok()) return files.status();
  impl->ca_file_ = files->ca_file;

  SSL_CTX* context = SSL_CTX_new(TLS_server_method());
  impl->ssl_context_ = context;
  if (context == nullptr || SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) != 1 ||
      SSL_CTX_use_certificate_chain_file(context, files->certificate_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(context, files->private_key_file.c_str(), SSL_FILETYPE_PEM) !=
          1 ||
      SSL_CTX_check_private_key(context) != 1) {
    return absl::InternalError(absl::StrCat("https receiver: TLS setup: ", OpenSslErrors()));
  }
  SSL_CTX_set_alpn_select_cb(context, &Impl::SelectAlpn, impl.get());

  impl->listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (impl->listen_fd_ < 0) {
    return absl::InternalError(absl::StrCat("https receiver: socket: ", strerror(errno)));
  }
  // Lets the standalone receiver restart on its fixed port right away.
  const int one = 1;
  ::setsockopt(impl->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(options.port));
  socklen_t address_size = sizeof(address);
  if (::bind(impl->listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(impl->listen_fd_, SOMAXCONN) != 0 ||
      ::getsockname(impl->listen_fd_, reinterpret_cast<sockaddr*>(&address), &address_size) != 0) {
    return absl::InternalError(absl::StrCat(
        "https receiver: cannot listen on 127.0.0.1:", options.port, ": ", strerror(errno)));
  }
  impl->port_ = ntohs(address.sin_port);
  impl->accept_thread_ = std::thread(&Impl::AcceptLoop, impl.get());
  return impl;
}

void HttpsReceiver::Impl::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  // shutdown() wakes a thread blocked in accept() or read(); close() alone
  // would not, and would let the descriptor number be reused under it.
  if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
  if (accept_thread_.joinable()) accept_thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;

  std::list<Connection> connections;
  {
    absl::MutexLock lock(&mu_);
    for (Connection& connection : connections_) {
      if (!connection.closed) ::shutdown(connection.fd, SHUT_RDWR);
    }
    // splice() keeps the elements where they are, so the threads' pointers
    // stay valid until they are joined below.
    connections.splice(connections.end(), connections_);
  }
  for (Connection& connection : connections) connection.thread.join();

  if (ssl_context_ != nullptr) SSL_CTX_free(ssl_context_);
  ssl_context_ = nullptr;
  if (owns_certificate_dir_) {
    std::error_code ignored;
    std::filesystem::remove_all(certificate_dir_, ignored);
  }
}

bool HttpsReceiver::Impl::WaitUnlessStopping(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), timeout);
  return !stopping_;
}

void HttpsReceiver::Impl::AcceptLoop() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    const int accept_errno = errno;
    std::list<Connection> finished;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        if (fd >= 0) ::close(fd);
        return;
      }
      // Join finished threads as we go: a long-running receiver (the
      // standalone one) would otherwise keep every thread's stack.
      for (auto it = connections_.begin(); it != connections_.end();) {
        auto next = std::next(it);
        if (it->done) finished.splice(finished.end(), connections_, it);
        it = next;
      }
      if (fd >= 0) {
        // The TLS 1.3 session tickets and the response are separate writes:
        // with Nagle the response would wait for the client's delayed ACK.
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        Connection& connection = connections_.emplace_back();
        connection.id = ++connections_accepted_;
        connection.fd = fd;
        connection.thread = std::thread(&Impl::Serve, this, &connection);
      }
    }
    for (Connection& connection : finished) connection.thread.join();
    if (fd < 0 && accept_errno != EINTR && accept_errno != ECONNABORTED) {
      // E.g. EMFILE: retry later rather than spin. Stop() ends the wait.
      if (!WaitUnlessStopping(absl::Milliseconds(50))) return;
    }
  }
}

void HttpsReceiver::Impl::Serve(Connection* connection) {
  // A write to a connection the client has closed raises SIGPIPE in the
  // writing thread; blocked, it stays pending here (and dies with the
  // thread) while the write fails with EPIPE. Leaves the process's
  // disposition alone.
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);

  Ending ending = Ending::kSilent;
  SSL* ssl = SSL_new(ssl_context_);
  if (ssl != nullptr && SSL_set_fd(ssl, connection->fd) == 1 && SSL_accept(ssl) == 1) {
    TlsStream stream(ssl);
    ending = ServeRequests(stream, connection->id);
    if (ending == Ending::kGraceful) SSL_shutdown(ssl);  // close_notify; no reply awaited
  }
  SSL_free(ssl);  // leaves the descriptor open (BIO_NOCLOSE)
  ERR_clear_error();

  absl::MutexLock lock(&mu_);
  if (!connection->closed) {
    if (ending == Ending::kReset) {
      // Zero linger time: close() sends RST instead of FIN.
      const linger reset{/*l_onoff=*/1, /*l_linger=*/0};
      ::setsockopt(connection->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    }
    ::close(connection->fd);
    connection->closed = true;
  }
  connection->done = true;
}

HttpsReceiver::Impl::Ending HttpsReceiver::Impl::ServeRequests(TlsStream& stream,
                                                               int connection_id) {
  for (;;) {
    ParsedRequest parsed;
    switch (ReadRequest(stream, &parsed)) {
      case ReadResult::kClosed:
        return Ending::kSilent;
      case ReadResult::kBadRequest:
        stream.Write(ResponseHead(parsed.error_status, 0, true, {}, false, false));
        return Ending::kGraceful;
      case ReadResult::kRequest:
        break;
    }
    parsed.request.connection_id = connection_id;
    parsed.request.receive_time = absl::Now();

    ScriptedResponse response;
    {
      absl::MutexLock lock(&mu_);
      auto rule = rules_.find(PathWithoutQuery(parsed.request.path));
      if (rule != rules_.end() && rule->second.remaining != 0) {
        response = rule->second.response;
        if (rule->second.remaining > 0) --rule->second.remaining;
      }
      if (record_requests_ && on_request_) {
        requests_.push_back(parsed.request);
      } else if (record_requests_) {
        requests_.push_back(std::move(parsed.request));
      }
    }
    if (on_request_) on_request_(parsed.request, &response);

    if (response.delay > absl::ZeroDuration() && !WaitUnlessStopping(response.delay)) {
      return Ending::kSilent;
    }
    if (response.reset) return Ending::kReset;
    if (response.hang) {
      // Read and drop whatever comes until the client closes or Stop()
      // shuts the socket down.
      while (stream.Fill()) stream.buffer().clear();
      return Ending::kSilent;
    }

    std::string body =
        response.body_size > 0 ? std::string(response.body_size, 'x') : std::move(response.body);
    const bool body_allowed =
        response.status >= 200 && response.status != 204 && response.status != 304;
    std::string message = ResponseHead(response.status, body.size(), body_allowed, response.headers,
                                       parsed.keep_alive, parsed.http10);
    if (body_allowed && !parsed.head) message += body;
    if (!stream.Write(message)) return Ending::kSilent;
    if (!parsed.keep_alive) return Ending::kGraceful;
  }
}

HttpsReceiver::Rule::Rule(HttpsReceiver* receiver, std::string path)
    : receiver_(receiver), path_(std::move(path)) {}

HttpsReceiver::Rule& HttpsReceiver::Rule::Reply(int status, std::string body) {
  receiver_->impl_->EditRule(path_, [&](Impl::RuleState& rule) {
    rule.response.status = status;
    rule.response.body = std::move(body);
  });
  return *this;
}

HttpsReceiver::Rule& HttpsReceiver::Rule::WithHeader(std::string name, std::string value) {
  receiver_->impl_->EditRule(path_, [&](Impl::RuleState& rule) {
    rule.response.headers.emplace_back(std::move(name), std::move(value));
  });
  return *this;
}

HttpsReceiver::Rule& HttpsReceiver::Rule::WithRetryAfter(std::string value) {
  receiver_->impl_->EditRule(path_, [&](Impl::RuleState& rule) {
    auto& headers = rule.response.headers;
    headers.erase(std::remove_if(headers.begin(), headers.end(),
                                 [](const auto& header) {
                                   return absl::EqualsIgnoreCase(header.first, "Retry-After");
                                 }),
                  headers.end());
    headers.emplace_back("Retry-After", std::move(value));
  });
  return *this;
}

HttpsReceiver::Rule& HttpsReceiver::Rule::WithBodySize(size_t bytes) {
  receiver_->impl_->EditRule(path_,
                             [&](Impl::RuleState& rule) { rule.response.body_size = bytes; });
  return *this;
}

HttpsReceiver::Rule& HttpsReceiver::Rule::After(absl::Duration delay) {
  receiver_->impl_->EditRule(path_, [&](Impl::RuleState& rule) { rule.response.delay = delay; });
  return *this;
}

HttpsReceiver::Rule& HttpsReceiver::Rule::Hang() {
  receiver_->impl_->EditRule(path_, [](Impl::RuleState& rule) { rule.response.hang = true; });
  return *this;
}

HttpsReceiver::Rule& HttpsReceiver::Rule::Reset() {
  receiver_->impl_->EditRule(path_, [](Impl::RuleState& rule) { rule.response.reset = true; });
  return *this;
}

HttpsReceiver::Rule& HttpsReceiver::Rule::Times(int n) {
  receiver_->impl_->EditRule(path_,
                             [&](Impl::RuleState& rule) { rule.remaining = std::max(n, 0); });
  return *this;
}

absl::StatusOr<std::unique_ptr<HttpsReceiver>> HttpsReceiver::Start(Options options) {
  absl::StatusOr<std::unique_ptr<Impl>> impl = Impl::Start(std::move(options));
  if (!impl.ok()) return impl.status();
  return std::unique_ptr<HttpsReceiver>(new HttpsReceiver(*std::move(impl)));
}

HttpsReceiver::HttpsReceiver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpsReceiver::~HttpsReceiver() { Stop(); }

int HttpsReceiver::port() const { return impl_->port(); }

const std::string& HttpsReceiver::ca_file() const { return impl_->ca_file(); }

std::string HttpsReceiver::Url(absl::string_view path) const {
  return absl::StrCat("https://127.0.0.1:", port(), path);
}

HttpsReceiver::Rule HttpsReceiver::On(absl::string_view path) {
  impl_->ReplaceRule(std::string(path));
  return Rule(this, std::string(path));
}

std::vector<ReceivedRequest> HttpsReceiver::Requests() const { return impl_->Requests(nullptr); }

std::vector<ReceivedRequest> HttpsReceiver::Requests(absl::string_view path) const {
  return impl_->Requests(&path);
}

bool HttpsReceiver::WaitForRequests(absl::string_view path, size_t count,
                                    absl::Duration timeout) const {
  return impl_->WaitForRequests(path, count, timeout);
}

int HttpsReceiver::connections_accepted() const { return impl_->connections_accepted(); }

std::vector<std::string> HttpsReceiver::alpn_offers() const { return impl_->alpn_offers(); }

void HttpsReceiver::Stop() { impl_->Stop(); }

}  // namespace wink::webhooks::testing
