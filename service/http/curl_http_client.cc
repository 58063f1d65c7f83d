// NewCurlHttpClient: libcurl's multi interface driven by one event-loop
// thread, with our own DNS resolution so that the SSRF guard sees every
// address before curl may connect to it.
//
// Threads:
//   - callers: Send/Cancel/Shutdown only queue work under `mu_` and wake the
//     loop with curl_multi_wakeup, once per round of the loop: a burst of
//     Sends (the engine dispatches several at a time) costs one wake-up
//     syscall and one poll that returns at once, not one each;
//   - the loop thread: owns the CURLM, the CURLSH, every easy handle and
//     every in-flight Transfer; runs all callbacks (curl's and the caller's);
//   - kResolverThreads resolver threads: blocking getaddrinfo, so a slow DNS
//     server never stalls the loop. Results go back through `mu_`.
//
// Pinning: after the policy accepted all resolved addresses, the transfer
// gets CURLOPT_RESOLVE "+host:port:addr1,addr2", which replaces whatever
// curl's DNS cache held for host:port, so curl connects only to the checked
// addresses. Belt and braces: CURLOPT_RESOLVER_START_FUNCTION refuses any
// lookup curl would still start on its own (for a host name; IP literals
// need no lookup), and CURLOPT_OPENSOCKETFUNCTION re-checks the address of
// every socket curl opens.
//
// Reuse: the CURLM keeps up to max_connections idle connections (HTTP/1.1
// keep-alive; HTTP/2 is not offered, see Configure()); a CURLSH
// shares TLS sessions between easy handles; finished easy handles are
// reset and reused. Extra CA certificates are parsed once and added to each
// new SSL_CTX's store by CURLOPT_SSL_CTX_FUNCTION.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/common/errors.h"
#include "service/common/ip_range.h"
#include "service/common/log.h"
#include "service/common/thread_name.h"
#include "service/http/address_policy.h"
#include "service/http/http_client.h"
#include "service/http/url.h"

namespace wink::webhooks::http {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Response bytes read (and thrown away after the first
// kMaxResponseBodyBytes) before the transfer is aborted. Reading a moderate
// body to its end keeps the connection reusable.
constexpr size_t kMaxDrainedBodyBytes = size_t{1} << 20;
// Lookups of one host are shared, so this many hosts with a slow DNS server
// can be waited for at once before other (uncached) hosts queue behind them.
constexpr int kResolverThreads = 8;
constexpr absl::Duration kDnsCacheTtl = absl::Seconds(30);
// Expired entries are swept when the cache grows beyond this.
constexpr size_t kDnsCacheSweepSize = 4096;
// Easy handles kept for reuse after their transfer finished.
constexpr size_t kMaxIdleEasyHandles = 64;

void InitCurlOnce() {
  // curl_global_init is not thread-safe in general; a function-local static
  // runs it exactly once.
  static const CURLcode result = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)result;
}

std::string ErrnoText(int error) {
  char buf[256];
  // GNU strerror_r: returns a pointer that may or may not be `buf`.
  std::string text = ::strerror_r(error, buf, sizeof(buf));
  if (!text.empty()) text[0] = absl::ascii_tolower(static_cast<unsigned char>(text[0]));
  return text;
}

std::optional<IpAddress> FromSockaddr(const sockaddr* address, size_t length) {
  IpAddress out;
  if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    out.bytes[10] = 0xff;
    out.bytes[11] = 0xff;
    std::memcpy(&out.bytes[12], &v4->sin_addr, 4);
    out.is_v4 = true;
    return out;
  }
  if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    std::memcpy(out.bytes.data(), &v6->sin6_addr, 16);
    return out;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Resolver: getaddrinfo on a small thread pool, with a short-lived cache.

class Resolver {
 public:
  using Result = absl::StatusOr<std::vector<IpAddress>>;
  using Done = std::function<void(Result)>;

  Resolver() = default;
  ~Resolver() { Stop(); }

  // Starts the threads. Call once.
  void Start(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] {
      NameThisThread("wink-http");
      Run();
    });
  }

  // The cached addresses of `host`, if a lookup succeeded within the TTL.
  std::optional<std::vector<IpAddress>> Cached(const std::string& host) {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(host);
    if (it == cache_.end() || it->second.expiry <= absl::Now()) return std::nullopt;
    return it->second.addresses;
  }

  // Looks `host` up on a resolver thread and calls `done` there. Concurrent
  // lookups of one host share one getaddrinfo call. After Stop(), `done` is
  // never called.
  void Resolve(const std::string& host, Done done) {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    auto& waiters = waiting_[host];
    waiters.push_back(std::move(done));
    if (waiters.size() == 1) queue_.push_back(host);
  }

  // Drops queued lookups and joins the threads (a getaddrinfo call in
  // progress is waited for: glibc offers no way to abort it).
  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
  }

 private:
  struct Entry {
    std::vector<IpAddress> addresses;
    absl::Time expiry;
  };

  static Result Lookup(const std::string& host) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &list);
    if (rc != 0) {
      const std::string why = rc == EAI_SYSTEM ? ErrnoText(errno) : ::gai_strerror(rc);
      return absl::NotFoundError(absl::StrCat("cannot resolve ", host, ": ", why));
    }
    std::vector<IpAddress> addresses;
    for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
      std::optional<IpAddress> address = FromSockaddr(ai->ai_addr, ai->ai_addrlen);
      if (address && std::find(addresses.begin(), addresses.end(), *address) == addresses.end()) {
        addresses.push_back(*address);
      }
    }
    ::freeaddrinfo(list);
    if (addresses.empty()) {
      return absl::NotFoundError(absl::StrCat("cannot resolve ", host, ": no IP addresses"));
    }
    return addresses;
  }

  void Run() {
    for (;;) {
      std::string host;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](Resolver* self) { return self->stopped_ || !self->queue_.empty(); }, this));
        if (stopped_) return;
        host = std::move(queue_.front());
        queue_.pop_front();
      }
      Result result = Lookup(host);
      std::vector<Done> waiters;
      {
        absl::MutexLock lock(&mu_);
        if (result.ok()) {
          const absl::Time now = absl::Now();
          if (cache_.size() >= kDnsCacheSweepSize) {
            absl::erase_if(cache_, [now](const auto& entry) { return entry.second.expiry <= now; });
          }
          cache_[host] = Entry{*result, now + kDnsCacheTtl};
        }
        auto node = waiting_.extract(host);
        if (stopped_ || node.empty()) continue;
        waiters = std::move(node.mapped());
      }
      for (Done& done : waiters) done(result);
    }
  }

  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::vector<Done>> waiting_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Entry> cache_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

// ---------------------------------------------------------------------------
// Extra CA certificates.

struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

absl::StatusOr<std::vector<X509Ptr>> LoadCertificates(const std::string& path) {
  constexpr absl::string_view kField = "extra_ca_file";
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (bio == nullptr) {
    const int error = errno;
    ERR_clear_error();
    return InvalidField(
        kField, absl::StrCat("cannot read ", QuoteForError(path, 256), ": ", ErrnoText(error)));
  }
  std::vector<X509Ptr> certificates;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    certificates.emplace_back(cert);
  }
  // The loop ends with "no start line" at the end of the file; anything else
  // is a damaged certificate.
  const unsigned long error = ERR_peek_last_error();
  const bool clean_end =
      ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE;
  ERR_clear_error();
  BIO_free(bio);
  if (error != 0 && !clean_end) {
    return InvalidField(kField, absl::StrCat("bad PEM certificate in ", QuoteForError(path, 256)));
  }
  if (certificates.empty()) {
    return InvalidField(kField, absl::StrCat("no PEM certificate in ", QuoteForError(path, 256)));
  }
  return certificates;
}

// CURLOPT_SSL_CTX_FUNCTION: curl has loaded the system CA bundle into the
// context's store; add ours.
CURLcode AddExtraCertificates(CURL*, void* ssl_ctx, void* user) {
  const auto* certificates = static_cast<const std::vector<X509Ptr>*>(user);
  X509_STORE* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ssl_ctx));
  for (const X509Ptr& cert : *certificates) {
    // Fails harmlessly for a certificate already in the store (curl may
    // reuse a cached store across connections).
    X509_STORE_add_cert(store, cert.get());
  }
  // Leave no stale entry for curl to misreport as a TLS error.
  ERR_clear_error();
  return CURLE_OK;
}

// ---------------------------------------------------------------------------
// The client.

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

bool Append(Slist& list, const std::string& line) {
  curl_slist* appended = curl_slist_append(list.get(), line.c_str());
  if (appended == nullptr) return false;
  list.release();
  list.reset(appended);
  return true;
}

// Header names are tokens (RFC 9110 5.1); values must not break the line.
bool ValidHeader(const std::string& name, const std::string& value) {
  static constexpr absl::string_view kTokenPunctuation = "!#$%&'*+-.^_`|~";
  if (name.empty()) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        kTokenPunctuation.find(c) == absl::string_view::npos) {
      return false;
    }
  }
  return absl::string_view(value).find_first_of(absl::string_view("\r\n\0", 3)) ==
         absl::string_view::npos;
}

bool HasHeader(const HttpRequest& request, absl::string_view name) {
  return std::any_of(request.headers.begin(), request.headers.end(), [&](const auto& header) {
    return absl::EqualsIgnoreCase(header.first, name);
  });
}

std::string FormatForCurlResolve(const IpAddress& address) {
  return address.is_v4 ? address.ToString() : absl::StrCat("[", address.ToString(), "]");
}

class CurlHttpClient final : public HttpClient {
 public:
  CurlHttpClient(const HttpClientOptions& options, std::vector<X509Ptr> extra_certificates)
      : options_(options),
        policy_(options.allowed_private_ranges),
        extra_certificates_(std::move(extra_certificates)) {}

  ~CurlHttpClient() override {
    // Must not run on the loop thread (from a callback): it joins it.
    Shutdown(absl::ZeroDuration());
    for (CURL* easy : idle_handles_) curl_easy_cleanup(easy);
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
    // Last: easy handles detach from the share when cleaned up.
    if (share_ != nullptr) curl_share_cleanup(share_);
  }

  absl::Status Start() {
    multi_ = curl_multi_init();
    share_ = curl_share_init();
    if (multi_ == nullptr || share_ == nullptr) {
      return absl::InternalError("cannot create libcurl handles");
    }
    // Only the loop thread uses the share, so it needs no lock callbacks
    // (they exist for shares used by several threads at once).
    if (curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
        curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS,
                          static_cast<long>(options_.max_connections)) != CURLM_OK) {
      return absl::InternalError("cannot configure libcurl handles");
    }
    // Only now: both threads use `multi_`.
    resolver_.Start(kResolverThreads);
    loop_thread_ = std::thread([this] {
      NameThisThread("wink-curl");
      Loop();
    });
    loop_thread_id_ = loop_thread_.get_id();
    return absl::OkStatus();
  }

  uint64_t Send(HttpRequest request, Callback done) override {
    auto transfer = std::make_unique<Transfer>();
    transfer->start = SteadyClock::now();
    transfer->request = std::move(request);
    transfer->done = std::move(done);
    uint64_t id;
    bool wake = false;
    {
      absl::MutexLock lock(&mu_);
      id = next_id_++;
      transfer->id = id;
      if (accepting_) {
        incoming_.push_back(std::move(transfer));
        wake = TakeWakeUp();
      }
    }
    if (transfer != nullptr) {
      // Shut down: there is no loop thread to run the callback on.
      HttpResponse response;
      response.transport_error = TransportError::kCancelled;
      response.error = "client shut down";
      response.latency = absl::ZeroDuration();
      transfer->done(std::move(response));
      return id;
    }
    if (wake) curl_multi_wakeup(multi_);
    return id;
  }

  void Cancel(uint64_t request_id) override {
    bool wake;
    {
      absl::MutexLock lock(&mu_);
      if (loop_exited_) return;
      cancels_.push_back(request_id);
      wake = TakeWakeUp();
    }
    if (wake) curl_multi_wakeup(multi_);
  }

  void Shutdown(absl::Duration grace) override {
    // Clamped so that adding it to now() cannot overflow.
    grace = std::clamp(grace, absl::ZeroDuration(), absl::Hours(24 * 365));
    const SteadyClock::time_point deadline =
        SteadyClock::now() +
        std::chrono::duration_cast<SteadyClock::duration>(absl::ToChronoNanoseconds(grace));
    {
      absl::MutexLock lock(&mu_);
      stop_deadline_ = accepting_ ? deadline : std::min(stop_deadline_, deadline);
      accepting_ = false;
    }
    curl_multi_wakeup(multi_);
    // From a callback: the loop stops once the callback returns; the
    // destructor joins it.
    if (std::this_thread::get_id() == loop_thread_id_) return;
    absl::MutexLock lock(&join_mu_);
    if (loop_thread_.joinable()) loop_thread_.join();
    resolver_.Stop();
  }

 private:
  // One request, from Send to its callback. Owned by the loop thread once
  // taken from `incoming_`.
  struct Transfer {
    uint64_t id = 0;
    HttpRequest request;
    Callback done;
    SteadyClock::time_point start;
    SteadyClock::time_point deadline;  // start + request_timeout
    HttpsUrl url;
    bool host_is_literal = false;
    bool resolving = false;
    // CURLOPT_CONNECTTIMEOUT_MS ends before CURLOPT_TIMEOUT_MS would.
    bool connect_timeout_is_sooner = false;
    const AddressPolicy* policy = nullptr;

    CURL* easy = nullptr;
    Slist headers;
    Slist resolve;
    char error_buffer[CURL_ERROR_SIZE] = {};
    std::string body;
    size_t body_bytes_received = 0;
    bool body_too_large = false;
    std::map<std::string, std::string> notable_headers;
    // Set when a curl callback refused a destination.
    std::string refused;
  };

  // --- curl callbacks (loop thread) ---

  static size_t OnBody(char* data, size_t size, size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    const size_t length = size * count;
    if (transfer->body.size() < kMaxResponseBodyBytes) {
      transfer->body.append(data, std::min(length, kMaxResponseBodyBytes - transfer->body.size()));
    }
    transfer->body_bytes_received += length;
    if (transfer->body_bytes_received > kMaxDrainedBodyBytes) {
      transfer->body_too_large = true;
      return 0;  // aborts with CURLE_WRITE_ERROR
    }
    return length;
  }

  static size_t OnHeader(char* data, size_t size, size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    const size_t length = size * count;
    const absl::string_view line(data, length);
    if (absl::StartsWith(line, "HTTP/")) {
      // A new response (after a 1xx): forget the previous one's headers.
      transfer->notable_headers.clear();
      return length;
    }
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) return length;
    const absl::string_view name = absl::StripAsciiWhitespace(line.substr(0, colon));
    for (const absl::string_view notable : kNotableResponseHeaders) {
      if (!absl::EqualsIgnoreCase(name, notable)) continue;
      absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
      value = value.substr(0, kMaxNotableHeaderBytes);
      // A repeated header keeps its last value.
      transfer->notable_headers.insert_or_assign(std::string(notable), std::string(value));
      break;
    }
    return length;
  }

  static curl_socket_t OnOpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
    auto* transfer = static_cast<Transfer*>(user);
    const std::optional<IpAddress> ip = FromSockaddr(&address->addr, address->addrlen);
    absl::Status allowed = ip ? transfer->policy->Check(*ip)
                              : absl::PermissionDeniedError("destination is not an IP address");
    if (!allowed.ok()) {
      transfer->refused = std::string(allowed.message());
      LogLine(LogLevel::kError, "http_destination_refused")
          .Field("host", transfer->url.host)
          .Field("address", ip ? ip->ToString() : "-")
          .Field("stage", "connect")
          .Field("reason", allowed.message());
      return CURL_SOCKET_BAD;
    }
    return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  }

  static int OnResolverStart(void*, void*, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    if (transfer->host_is_literal) return 0;  // curl parses it, no lookup
    transfer->refused = absl::StrCat("libcurl tried its own DNS lookup of ", transfer->url.host,
                                     " instead of the checked addresses");
    LogLine(LogLevel::kError, "http_destination_refused")
        .Field("host", transfer->url.host)
        .Field("stage", "resolve")
        .Field("reason", transfer->refused);
    return 1;
  }

  // --- the loop ---

  void Loop() {
    for (;;) {
      std::vector<std::unique_ptr<Transfer>> incoming;
      std::vector<std::pair<uint64_t, Resolver::Result>> resolved;
      std::vector<uint64_t> cancels;
      bool stopping;
      SteadyClock::time_point stop_deadline;
      {
        absl::MutexLock lock(&mu_);
        incoming.swap(incoming_);
        resolved.swap(resolved_);
        cancels.swap(cancels_);
        // Whatever is queued from here on needs a new wake-up.
        wake_up_sent_ = false;
        stopping = !accepting_;
        stop_deadline = stop_deadline_;
      }
      for (auto& transfer : incoming) Begin(std::move(transfer));
      for (auto& [id, result] : resolved) OnResolved(id, std::move(result));
      for (uint64_t id : cancels) {
        if (auto it = transfers_.find(id); it != transfers_.end()) {
          Finish(it->second.get(), Failure(TransportError::kCancelled, "cancelled"));
        }
      }
      int running = 0;
      curl_multi_perform(multi_, &running);
      ReapFinished();
      ExpireResolving();

      const SteadyClock::time_point now = SteadyClock::now();
      if (stopping && (transfers_.empty() || now >= stop_deadline)) break;

      SteadyClock::duration wait = max_idle_wait_;
      if (!resolve_deadlines_.empty()) {
        wait = std::min(wait, resolve_deadlines_.begin()->first - now);
      }
      if (stopping) wait = std::min(wait, stop_deadline - now);
      // Rounded up: waking a little early would only spin.
      const auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
      curl_multi_poll(multi_, nullptr, 0, static_cast<int>(std::max<int64_t>(wait_ms, 0)), nullptr);
    }

    {
      absl::MutexLock lock(&mu_);
      loop_exited_ = true;
    }
    while (!transfers_.empty()) {
      Finish(transfers_.begin()->second.get(),
             Failure(TransportError::kCancelled, "client shut down"));
    }
  }

  // Whether the caller, having just queued work for the loop, must wake it:
  // not when a wake-up was already sent since the loop last took the
  // queues, since that one makes the loop take this work too.
  bool TakeWakeUp() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (wake_up_sent_) return false;
    wake_up_sent_ = true;
    return true;
  }

  static HttpResponse Failure(TransportError error, std::string message) {
    HttpResponse response;
    response.transport_error = error;
    response.error = std::move(message);
    return response;
  }

  std::string TimeoutMessage() const {
    return absl::StrCat("timed out after ", absl::FormatDuration(options_.request_timeout));
  }

  void Begin(std::unique_ptr<Transfer> owned) {
    Transfer* transfer = owned.get();
    transfers_.emplace(transfer->id, std::move(owned));
    transfer->deadline = transfer->start + std::chrono::duration_cast<SteadyClock::duration>(
                                               absl::ToChronoNanoseconds(options_.request_timeout));
    transfer->policy = &policy_;

    absl::StatusOr<HttpsUrl> url = ParseWebhookUrl(transfer->request.url, "url");
    if (!url.ok()) {
      Finish(transfer, Failure(TransportError::kOther, std::string(url.status().message())));
      return;
    }
    transfer->url = *std::move(url);
    for (size_t i = 0; i < transfer->request.headers.size(); ++i) {
      const auto& [name, value] = transfer->request.headers[i];
      if (!ValidHeader(name, value)) {
        Finish(transfer,
               Failure(TransportError::kOther,
                       absl::StrCat("request header #", i + 1,
                                    " has an invalid name or a line break in its value")));
        return;
      }
    }

    if (absl::StatusOr<IpAddress> literal = IpAddress::Parse(transfer->url.host); literal.ok()) {
      transfer->host_is_literal = true;
      CheckAndStart(transfer, {*literal});
      return;
    }
    if (auto cached = resolver_.Cached(transfer->url.host)) {
      CheckAndStart(transfer, *cached);
      return;
    }
    transfer->resolving = true;
    resolve_deadlines_.emplace(transfer->deadline, transfer->id);
    const uint64_t id = transfer->id;
    resolver_.Resolve(transfer->url.host, [this, id](Resolver::Result result) {
      bool wake;
      {
        absl::MutexLock lock(&mu_);
        resolved_.emplace_back(id, std::move(result));
        wake = TakeWakeUp();
      }
      if (wake) curl_multi_wakeup(multi_);
    });
  }

  void OnResolved(uint64_t id, Resolver::Result result) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;  // cancelled or timed out meanwhile
    Transfer* transfer = it->second.get();
    resolve_deadlines_.erase({transfer->deadline, id});
    transfer->resolving = false;
    if (!result.ok()) {
      Finish(transfer,
             Failure(TransportError::kDnsFailure, std::string(result.status().message())));
      return;
    }
    CheckAndStart(transfer, *result);
  }

  void ExpireResolving() {
    const SteadyClock::time_point now = SteadyClock::now();
    while (!resolve_deadlines_.empty() && resolve_deadlines_.begin()->first <= now) {
      const uint64_t id = resolve_deadlines_.begin()->second;
      Transfer* transfer = transfers_.at(id).get();
      Finish(transfer, Failure(TransportError::kTimeout,
                               absl::StrCat(TimeoutMessage(), " resolving ", transfer->url.host)));
    }
  }

  // Refuses the whole request if any address is refused: a name that
  // resolves to one internal address is not trusted with the others.
  void CheckAndStart(Transfer* transfer, const std::vector<IpAddress>& addresses) {
    for (const IpAddress& address : addresses) {
      if (absl::Status allowed = policy_.Check(address); !allowed.ok()) {
        LogLine(LogLevel::kWarning, "http_destination_refused")
            .Field("host", transfer->url.host)
            .Field("address", address.ToString())
            .Field("reason", allowed.message());
        Finish(transfer,
               Failure(TransportError::kDestinationRefused, std::string(allowed.message())));
        return;
      }
    }
    const auto remaining = transfer->deadline - SteadyClock::now();
    if (remaining <= SteadyClock::duration::zero()) {
      Finish(transfer, Failure(TransportError::kTimeout, TimeoutMessage()));
      return;
    }
    if (!transfer->host_is_literal) {
      // "+": an ordinary cache entry that expires, instead of a permanent
      // one per host for the life of the process. Either replaces what the
      // cache held for host:port.
      const std::string pins = absl::StrJoin(
          addresses, ",",
          [](std::string* out, const IpAddress& a) { out->append(FormatForCurlResolve(a)); });
      const std::string port = absl::StrCat(transfer->url.port);
      bool ok =
          Append(transfer->resolve, absl::StrCat("+", transfer->url.host, ":", port, ":", pins));
      // In case curl drops a trailing dot before its cache lookup.
      if (ok && absl::EndsWith(transfer->url.host, ".")) {
        absl::string_view bare = transfer->url.host;
        bare.remove_suffix(1);
        ok = Append(transfer->resolve, absl::StrCat("+", bare, ":", port, ":", pins));
      }
      if (!ok) {
        Finish(transfer, Failure(TransportError::kOther, "out of memory"));
        return;
      }
    }
    const int64_t remaining_ms = std::max<int64_t>(
        1, std::chrono::duration_cast<std::chrono::milliseconds>(remaining).count());
    const int64_t connect_ms =
        std::max<int64_t>(1, absl::ToInt64Milliseconds(options_.connect_timeout));
    transfer->connect_timeout_is_sooner = connect_ms < remaining_ms;

    transfer->easy = AcquireHandle();
    if (transfer->easy == nullptr) {
      Finish(transfer, Failure(TransportError::kOther, "cannot create a libcurl handle"));
      return;
    }
    if (const CURLcode rc = Configure(transfer, remaining_ms, connect_ms); rc != CURLE_OK) {
      Finish(transfer,
             Failure(TransportError::kOther,
                     absl::StrCat("cannot configure the request: ", curl_easy_strerror(rc))));
      return;
    }
    if (const CURLMcode rc = curl_multi_add_handle(multi_, transfer->easy); rc != CURLM_OK) {
      // Not added: nothing to remove in Finish.
      ReleaseHandle(transfer->easy);
      transfer->easy = nullptr;
      Finish(transfer, Failure(TransportError::kOther, absl::StrCat("cannot start the request: ",
                                                                    curl_multi_strerror(rc))));
      return;
    }
  }

  CURLcode Configure(Transfer* transfer, int64_t timeout_ms, int64_t connect_timeout_ms) {
    const HttpRequest& request = transfer->request;
    for (const auto& [name, value] : request.headers) {
      // "Name;" is curl's way to send a header with an empty value.
      if (!Append(transfer->headers,
                  value.empty() ? absl::StrCat(name, ";") : absl::StrCat(name, ": ", value))) {
        return CURLE_OUT_OF_MEMORY;
      }
    }
    // "Name:" removes a header curl would add on its own.
    for (absl::string_view name : {"Content-Type", "Expect", "Accept"}) {
      if (!HasHeader(request, name) && !Append(transfer->headers, absl::StrCat(name, ":"))) {
        return CURLE_OUT_OF_MEMORY;
      }
    }

    CURL* easy = transfer->easy;
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption option, auto value) {
      if (rc == CURLE_OK) rc = curl_easy_setopt(easy, option, value);
    };
    set(CURLOPT_PRIVATE, static_cast<void*>(transfer));
    set(CURLOPT_ERRORBUFFER, transfer->error_buffer);
    set(CURLOPT_URL, request.url.c_str());
    set(CURLOPT_SHARE, share_);
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_PROTOCOLS_STR, "https");
    set(CURLOPT_REDIR_PROTOCOLS_STR, "https");
    set(CURLOPT_FOLLOWLOCATION, 0L);
    // Ignore http(s)_proxy and friends from the environment.
    set(CURLOPT_PROXY, "");
    set(CURLOPT_NOPROXY, "*");
    set(CURLOPT_SSL_VERIFYPEER, 1L);
    set(CURLOPT_SSL_VERIFYHOST, 2L);
    // Debian's libcurl trusts both the bundle file and the hashed directory
    // /etc/ssl/certs (the same certificates). With a CA directory set, curl
    // skips its CA store cache and parses the whole bundle again for every
    // new connection (tens of milliseconds of CPU with OpenSSL 3); with the
    // file alone the parsed store is kept for CURLOPT_CA_CACHE_TIMEOUT.
    set(CURLOPT_CAPATH, static_cast<const char*>(nullptr));
    // HTTP/1.1 only, never h2. Debian 12's libcurl (7.88) fails an HTTP/2
    // POST with CURLE_HTTP2_STREAM when the receiver answers before reading
    // the whole body and resets the stream with NO_ERROR, as RFC 9113 8.1
    // allows (nginx's `return 204` does): the receiver's answer was lost, and
    // against nginx 42-48% of attempts were retried (docs/BENCHMARKS.md).
    set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout_ms));
    set(CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
    set(CURLOPT_USERAGENT, options_.user_agent.c_str());
    set(CURLOPT_HTTPHEADER, transfer->headers.get());
    set(CURLOPT_POST, 1L);
    // Not copied: `request.body` lives in the Transfer until it finishes.
    set(CURLOPT_POSTFIELDS, request.body.data());
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    set(CURLOPT_HEADERFUNCTION, &OnHeader);
    set(CURLOPT_HEADERDATA, static_cast<void*>(transfer));
    set(CURLOPT_WRITEFUNCTION, &OnBody);
    set(CURLOPT_WRITEDATA, static_cast<void*>(transfer));
    set(CURLOPT_OPENSOCKETFUNCTION, &OnOpenSocket);
    set(CURLOPT_OPENSOCKETDATA, static_cast<void*>(transfer));
    set(CURLOPT_RESOLVER_START_FUNCTION, &OnResolverStart);
    set(CURLOPT_RESOLVER_START_DATA, static_cast<void*>(transfer));
    if (transfer->resolve != nullptr) set(CURLOPT_RESOLVE, transfer->resolve.get());
    if (!extra_certificates_.empty()) {
      set(CURLOPT_SSL_CTX_FUNCTION, &AddExtraCertificates);
      set(CURLOPT_SSL_CTX_DATA, const_cast<void*>(static_cast<const void*>(&extra_certificates_)));
    }
    return rc;
  }

  void ReapFinished() {
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      // `message` dies with curl_multi_remove_handle (in Finish): copy first.
      CURL* easy = message->easy_handle;
      const CURLcode code = message->data.result;
      void* user = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &user);
      auto* transfer = static_cast<Transfer*>(user);
      Finish(transfer, Outcome(transfer, code));
    }
  }

  HttpResponse Outcome(Transfer* transfer, CURLcode code) {
    long status = 0;
    curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &status);
    if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && transfer->body_too_large && status > 0)) {
      HttpResponse response;
      response.status = static_cast<int>(status);
      response.notable_headers = std::move(transfer->notable_headers);
      response.body = std::move(transfer->body);
      return response;
    }
    if (!transfer->refused.empty()) {
      return Failure(TransportError::kDestinationRefused, std::move(transfer->refused));
    }
    const std::string curl_message =
        transfer->error_buffer[0] != '\0' ? transfer->error_buffer : curl_easy_strerror(code);
    switch (code) {
      case CURLE_COULDNT_RESOLVE_HOST:
        return Failure(TransportError::kDnsFailure, curl_message);
      case CURLE_COULDNT_CONNECT: {
        long os_errno = 0;
        curl_easy_getinfo(transfer->easy, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno == 0) return Failure(TransportError::kConnectFailure, curl_message);
        return Failure(TransportError::kConnectFailure,
                       absl::StrCat("cannot connect to ", transfer->url.host, " port ",
                                    transfer->url.port, ": ", ErrnoText(os_errno)));
      }
      case CURLE_OPERATION_TIMEDOUT: {
        curl_off_t pretransfer = 0;
        curl_easy_getinfo(transfer->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
        if (pretransfer == 0 && transfer->connect_timeout_is_sooner) {
          return Failure(
              TransportError::kConnectFailure,
              absl::StrCat("cannot connect to ", transfer->url.host, " port ", transfer->url.port,
                           ": timed out after ", absl::FormatDuration(options_.connect_timeout)));
        }
        return Failure(TransportError::kTimeout, TimeoutMessage());
      }
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CIPHER:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CRL_BADFILE:
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      case CURLE_SSL_INVALIDCERTSTATUS:
      case CURLE_SSL_CLIENTCERT:
      case CURLE_SSL_SHUTDOWN_FAILED:
      case CURLE_SSL_ENGINE_NOTFOUND:
      case CURLE_SSL_ENGINE_SETFAILED:
      case CURLE_SSL_ENGINE_INITFAILED:
      case CURLE_USE_SSL_FAILED:
        return Failure(TransportError::kTlsFailure, curl_message);
      case CURLE_RECV_ERROR:
      case CURLE_SEND_ERROR:
      case CURLE_GOT_NOTHING:
      case CURLE_PARTIAL_FILE:
      case CURLE_HTTP2:
      case CURLE_HTTP2_STREAM:
        return Failure(TransportError::kConnectionReset, curl_message);
      default:
        return Failure(TransportError::kOther, curl_message);
    }
  }

  // Completes `transfer`: detaches it from curl, destroys it and runs its
  // callback (last, so the callback may Send or Cancel freely).
  void Finish(Transfer* transfer, HttpResponse response) {
    if (transfer->easy != nullptr) {
      curl_multi_remove_handle(multi_, transfer->easy);
      ReleaseHandle(transfer->easy);
      transfer->easy = nullptr;
    }
    if (transfer->resolving) resolve_deadlines_.erase({transfer->deadline, transfer->id});
    response.latency = absl::FromChrono(SteadyClock::now() - transfer->start);
    Callback done = std::move(transfer->done);
    transfers_.erase(transfer->id);  // destroys `transfer`
    done(std::move(response));
  }

  CURL* AcquireHandle() {
    if (idle_handles_.empty()) return curl_easy_init();
    CURL* easy = idle_handles_.back();
    idle_handles_.pop_back();
    return easy;
  }

  void ReleaseHandle(CURL* easy) {
    if (idle_handles_.size() < kMaxIdleEasyHandles) {
      curl_easy_reset(easy);
      idle_handles_.push_back(easy);
    } else {
      curl_easy_cleanup(easy);
    }
  }

  const HttpClientOptions options_;
  const SteadyClock::duration max_idle_wait_ =
      std::chrono::duration_cast<SteadyClock::duration>(
          absl::ToChronoNanoseconds(options_.max_idle_wait));
  const AddressPolicy policy_;
  const std::vector<X509Ptr> extra_certificates_;
  CURLM* multi_ = nullptr;
  CURLSH* share_ = nullptr;
  Resolver resolver_;

  absl::Mutex mu_;
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
  bool loop_exited_ ABSL_GUARDED_BY(mu_) = false;
  SteadyClock::time_point stop_deadline_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::vector<std::unique_ptr<Transfer>> incoming_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<uint64_t, Resolver::Result>> resolved_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> cancels_ ABSL_GUARDED_BY(mu_);
  // A curl_multi_wakeup is on its way for what is queued (see TakeWakeUp).
  bool wake_up_sent_ ABSL_GUARDED_BY(mu_) = false;

  // Loop thread only.
  absl::flat_hash_map<uint64_t, std::unique_ptr<Transfer>> transfers_;
  std::set<std::pair<SteadyClock::time_point, uint64_t>> resolve_deadlines_;
  std::vector<CURL*> idle_handles_;

  // Set by Start(), before any other thread can call in.
  std::thread::id loop_thread_id_;
  absl::Mutex join_mu_;
  std::thread loop_thread_ ABSL_GUARDED_BY(join_mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpClient>> NewCurlHttpClient(const HttpClientOptions& options) {
  if (options.connect_timeout <= absl::ZeroDuration()) {
    return InvalidField("connect_timeout", "must be positive");
  }
  if (options.request_timeout <= absl::ZeroDuration()) {
    return InvalidField("request_timeout", "must be positive");
  }
  if (options.max_connections < 1) return InvalidField("max_connections", "must be positive");
  // An hour at most: the loop passes it to curl_multi_poll in milliseconds, as an int.
  if (options.max_idle_wait < absl::Milliseconds(1) || options.max_idle_wait > absl::Hours(1)) {
    return InvalidField("max_idle_wait", "must be between 1ms and 1h");
  }
  std::vector<X509Ptr> extra_certificates;
  for (const std::string& file : options.extra_ca_files) {
    auto loaded = LoadCertificates(file);
    if (!loaded.ok()) return loaded.status();
    for (X509Ptr& certificate : *loaded) extra_certificates.push_back(std::move(certificate));
  }
  InitCurlOnce();
  auto client = std::make_unique<CurlHttpClient>(options, std::move(extra_certificates));
  if (absl::Status started = client->Start(); !started.ok()) return started;
  if (!options.allowed_private_ranges.empty()) {
    std::vector<std::string> ranges;
    for (const IpRange& range : options.allowed_private_ranges) ranges.push_back(range.ToString());
    LogLine(LogLevel::kWarning, "ssrf_guard_relaxed")
        .Field("allowed_private_ranges", absl::StrJoin(ranges, ","))
        .Field("note",
               "deliveries may reach these private/loopback ranges; development and tests "
               "only, never production");
  }
  return client;
}

}  // namespace wink::webhooks::http
