// The libcurl client against the real fake HTTPS receiver on 127.0.0.1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/common/ip_range.h"
#include "service/http/http_client.h"
#include "tests/fakes/https_receiver.h"
#include "tests/fakes/temp_dir.h"

namespace wink::webhooks::http {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::wink::webhooks::testing::HttpsReceiver;
using ::wink::webhooks::testing::ReceivedRequest;
using ::wink::webhooks::testing::TempDir;

// Generous: a loaded CI machine, never a timing assertion.
constexpr absl::Duration kWait = absl::Seconds(30);
constexpr absl::string_view kUserAgent = "wink-webhooks-test/1.0";

std::vector<IpRange> Ranges(std::vector<absl::string_view> texts) {
  std::vector<IpRange> ranges;
  for (absl::string_view text : texts) ranges.push_back(IpRange::Parse(text).value());
  return ranges;
}

// One callback's result, waited for with a deadline.
struct Outcome {
  absl::Notification done;
  HttpResponse response;

  HttpClient::Callback Callback() {
    return [this](HttpResponse r) {
      response = std::move(r);
      done.Notify();
    };
  }
  bool Wait(absl::Duration timeout = kWait) { return done.WaitForNotificationWithTimeout(timeout); }
};

HttpRequest Post(std::string url, std::string body = "{}") {
  HttpRequest request;
  request.url = std::move(url);
  request.headers = {{"content-type", "application/json"}};
  request.body = std::move(body);
  return request;
}

bool HasHeaderNamed(const ReceivedRequest& request, absl::string_view name) {
  for (const auto& [n, v] : request.headers) {
    if (n == name) return true;
  }
  return false;
}

// A port on 127.0.0.1 with nothing listening (bound, then released).
int UnusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

class CurlHttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto receiver = HttpsReceiver::Start();
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = *std::move(receiver);
  }

  // Trusts the receiver's CA and may reach 127.0.0.0/8.
  HttpClientOptions LocalOptions() const {
    HttpClientOptions options;
    options.extra_ca_files = {receiver_->ca_file()};
    options.allowed_private_ranges = Ranges({"127.0.0.0/8"});
    options.user_agent = std::string(kUserAgent);
    return options;
  }

  std::unique_ptr<HttpClient> NewClient(const HttpClientOptions& options) {
    auto client = NewCurlHttpClient(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  // Sends and waits for the callback; fails the test on timeout.
  HttpResponse SendAndWait(HttpClient& client, HttpRequest request) {
    Outcome outcome;
    client.Send(std::move(request), outcome.Callback());
    EXPECT_TRUE(outcome.Wait()) << "no callback";
    return outcome.response;
  }

  std::string LocalUrl(absl::string_view host, absl::string_view path) const {
    return absl::StrCat("https://", host, ":", receiver_->port(), path);
  }

  std::unique_ptr<HttpsReceiver> receiver_;
};

TEST_F(CurlHttpClientTest, PostsHeadersAndBodyExactly) {
  receiver_->On("/hooks/a").Reply(200, "thanks");
  auto client = NewClient(LocalOptions());
  HttpRequest request;
  request.url = receiver_->Url("/hooks/a?x=1");
  request.headers = {{"content-type", "application/json"},
                     {"webhook-id", "msg_2fWq"},
                     {"webhook-timestamp", "1700000000"},
                     {"X-Custom", "a value, with: colons"}};
  // Non-ASCII, a NUL and a trailing newline: the body must arrive untouched.
  static constexpr char kBody[] = "{\"data\":\"\xc3\xa9\\u0000\"}\n\0tail";
  request.body = std::string(kBody, sizeof(kBody) - 1);

  const HttpResponse response = SendAndWait(*client, request);
  EXPECT_EQ(response.transport_error, TransportError::kNone) << response.error;
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "thanks");
  EXPECT_THAT(response.error, IsEmpty());
  EXPECT_EQ(response.notable_headers.count("retry-after"), 0u);
  EXPECT_GT(response.latency, absl::ZeroDuration());

  const std::vector<ReceivedRequest> received = receiver_->Requests("/hooks/a");
  ASSERT_EQ(received.size(), 1u);
  const ReceivedRequest& got = received[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.path, "/hooks/a?x=1");
  EXPECT_EQ(got.body, request.body);
  EXPECT_EQ(got.Header("content-type"), "application/json");
  EXPECT_EQ(got.Header("webhook-id"), "msg_2fWq");
  EXPECT_EQ(got.Header("webhook-timestamp"), "1700000000");
  EXPECT_EQ(got.Header("x-custom"), "a value, with: colons");
  EXPECT_EQ(got.Header("user-agent"), kUserAgent);
  EXPECT_EQ(got.Header("content-length"), absl::StrCat(request.body.size()));
  EXPECT_FALSE(HasHeaderNamed(got, "expect"));
  EXPECT_FALSE(HasHeaderNamed(got, "accept"));
  EXPECT_FALSE(HasHeaderNamed(got, "transfer-encoding"));
  // Our headers arrive in the order given.
  std::vector<std::string> ours;
  for (const auto& [name, value] : got.headers) {
    if (name == "content-type" || name == "webhook-id" || name == "webhook-timestamp" ||
        name == "x-custom") {
      ours.push_back(name);
    }
  }
  EXPECT_THAT(ours, ElementsAre("content-type", "webhook-id", "webhook-timestamp", "x-custom"));
}

TEST_F(CurlHttpClientTest, AddsNoContentTypeOfItsOwn) {
  auto client = NewClient(LocalOptions());
  HttpRequest request = Post(receiver_->Url("/plain"), "x");
  request.headers.clear();
  EXPECT_EQ(SendAndWait(*client, request).status, 200);
  const auto received = receiver_->Requests("/plain");
  ASSERT_EQ(received.size(), 1u);
  EXPECT_FALSE(HasHeaderNamed(received[0], "content-type"));
  EXPECT_EQ(received[0].body, "x");
}

TEST_F(CurlHttpClientTest, EmptyHeaderValueIsSent) {
  auto client = NewClient(LocalOptions());
  HttpRequest request = Post(receiver_->Url("/empty"));
  request.headers.push_back({"x-empty", ""});
  EXPECT_EQ(SendAndWait(*client, request).status, 200);
  const auto received = receiver_->Requests("/empty");
  ASSERT_EQ(received.size(), 1u);
  EXPECT_TRUE(HasHeaderNamed(received[0], "x-empty"));
  EXPECT_EQ(received[0].Header("x-empty"), "");
}

TEST_F(CurlHttpClientTest, RetryAfterCaptured) {
  receiver_->On("/busy").Reply(503, "busy").WithRetryAfter("120");
  auto client = NewClient(LocalOptions());
  const HttpResponse response = SendAndWait(*client, Post(receiver_->Url("/busy")));
  EXPECT_EQ(response.transport_error, TransportError::kNone) << response.error;
  EXPECT_EQ(response.status, 503);
  EXPECT_THAT(response.notable_headers, Contains(Pair("retry-after", "120")));
  EXPECT_EQ(response.body, "busy");
}

TEST_F(CurlHttpClientTest, RetryAfterAnyCaseLastOneWinsTrimmed) {
  receiver_->On("/limited")
      .Reply(429)
      .WithHeader("retry-after", "1")
      .WithHeader("RETRY-AFTER", "  Wed, 21 Oct 2026 07:28:00 GMT  ");
  auto client = NewClient(LocalOptions());
  const HttpResponse response = SendAndWait(*client, Post(receiver_->Url("/limited")));
  EXPECT_EQ(response.status, 429);
  EXPECT_THAT(response.notable_headers,
              Contains(Pair("retry-after", "Wed, 21 Oct 2026 07:28:00 GMT")));
}

TEST_F(CurlHttpClientTest, KeepsOnlyTheNotableHeadersCutToTheirLimit) {
  const std::string long_challenge = "Bearer realm=\"" + std::string(400, 'r') + "\"";
  receiver_->On("/denied")
      .Reply(401, "bad signature")
      .WithHeader("WWW-Authenticate", long_challenge)
      .WithHeader("Location", "https://example.com/login")
      .WithHeader("X-Internal-Trace", "not kept");
  auto client = NewClient(LocalOptions());
  const HttpResponse response = SendAndWait(*client, Post(receiver_->Url("/denied")));
  EXPECT_EQ(response.status, 401);
  EXPECT_THAT(response.notable_headers,
              Contains(Pair("www-authenticate", long_challenge.substr(0, kMaxNotableHeaderBytes))));
  EXPECT_THAT(response.notable_headers, Contains(Pair("location", "https://example.com/login")));
  EXPECT_EQ(response.notable_headers.count("x-internal-trace"), 0u);
}

TEST_F(CurlHttpClientTest, LargeBodyKeepsAnExcerptAndTheStatus) {
  receiver_->On("/big").Reply(500).WithBodySize(size_t{1} << 20);
  auto client = NewClient(LocalOptions());
  const HttpResponse response = SendAndWait(*client, Post(receiver_->Url("/big")));
  EXPECT_EQ(response.transport_error, TransportError::kNone) << response.error;
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(response.body.size(), kMaxResponseBodyBytes);
}

TEST_F(CurlHttpClientTest, HugeBodyIsAbortedButTheStatusReported) {
  receiver_->On("/huge").Reply(500).WithBodySize(size_t{8} << 20);
  auto client = NewClient(LocalOptions());
  const HttpResponse response = SendAndWait(*client, Post(receiver_->Url("/huge")));
  EXPECT_EQ(response.transport_error, TransportError::kNone) << response.error;
  EXPECT_EQ(response.status, 500);
  EXPECT_THAT(response.error, IsEmpty());
  EXPECT_EQ(response.body.size(), kMaxResponseBodyBytes);
}

TEST_F(CurlHttpClientTest, SequentialRequestsReuseOneConnection) {
  auto client = NewClient(LocalOptions());
  for (int i = 0; i < 20; ++i) {
    const HttpResponse response = SendAndWait(*client, Post(receiver_->Url("/seq")));
    ASSERT_EQ(response.status, 200) << i << ": " << response.error;
  }
  EXPECT_EQ(receiver_->connections_accepted(), 1);
  const auto received = receiver_->Requests("/seq");
  ASSERT_EQ(received.size(), 20u);
  for (const ReceivedRequest& request : received) EXPECT_EQ(request.connection_id, 1);
}

// Deliveries go over HTTP/1.1 only: the client must not offer h2, which
// Debian 12's libcurl (7.88) fails when a receiver answers before reading
// the whole body (nginx's `return 204`) (curl_http_client.cc).
TEST_F(CurlHttpClientTest, OffersOnlyHttp11) {
  auto client = NewClient(LocalOptions());
  const HttpResponse response = SendAndWait(*client, Post(receiver_->Url("/alpn")));
  ASSERT_EQ(response.status, 200) << response.error;
  EXPECT_THAT(receiver_->alpn_offers(), ElementsAre("http/1.1"));
}

TEST_F(CurlHttpClientTest, ConcurrentRequestsAllComplete) {
  constexpr int kRequests = 50;
  receiver_->On("/many").Reply(204).After(absl::Milliseconds(20));
  auto client = NewClient(LocalOptions());
  absl::Mutex mu;
  std::vector<HttpResponse> responses;
  for (int i = 0; i < kRequests; ++i) {
    client->Send(Post(receiver_->Url("/many"), absl::StrCat("{\"n\":", i, "}")),
                 [&](HttpResponse response) {
                   absl::MutexLock lock(&mu);
                   responses.push_back(std::move(response));
                 });
  }
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithTimeout(
        absl::Condition(
            +[](std::vector<HttpResponse>* r) { return r->size() == kRequests; }, &responses),
        kWait));
    for (const HttpResponse& response : responses) {
      EXPECT_EQ(response.status, 204) << response.error;
    }
  }
  EXPECT_EQ(receiver_->Requests("/many").size(), static_cast<size_t>(kRequests));
}

// The loop is woken once per round however many requests arrive meanwhile
// (curl_http_client.cc, TakeWakeUp). With an idle wait of an hour, a request
// whose wake-up went missing would hang: sends from several threads, each
// right after its last answer, hit every moment of the loop's round.
TEST_F(CurlHttpClientTest, SendsFromSeveralThreadsNeverWaitForTheIdleTimeout) {
  constexpr int kThreads = 4;
  constexpr int kRequestsPerThread = 40;
  HttpClientOptions options = LocalOptions();
  options.max_idle_wait = absl::Hours(1);
  auto client = NewClient(options);
  std::vector<std::thread> senders;
  std::vector<int> answered(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kRequestsPerThread; ++i) {
        Outcome outcome;
        client->Send(Post(receiver_->Url(absl::StrCat("/burst/", t))), outcome.Callback());
        if (!outcome.Wait() || outcome.response.status != 200) return;
        ++answered[t];
      }
    });
  }
  for (std::thread& sender : senders) sender.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(answered[t], kRequestsPerThread) << "thread " << t;
    EXPECT_EQ(receiver_->Requests(absl::StrCat("/burst/", t)).size(),
              static_cast<size_t>(kRequestsPerThread));
  }
}

TEST_F(CurlHttpClientTest, CancelFromAnotherThreadWakesAnIdleClient) {
  receiver_->On("/hang").Hang();
  HttpClientOptions options = LocalOptions();
  options.max_idle_wait = absl::Hours(1);
  auto client = NewClient(options);
  Outcome outcome;
  const uint64_t id = client->Send(Post(receiver_->Url("/hang")), outcome.Callback());
  ASSERT_TRUE(receiver_->WaitForRequests("/hang", 1, kWait));
  std::thread([&] { client->Cancel(id); }).join();
  ASSERT_TRUE(outcome.Wait());
  EXPECT_EQ(outcome.response.transport_error, TransportError::kCancelled);
}

TEST_F(CurlHttpClientTest, HangingReceiverTimesOut) {
  receiver_->On("/hang").Hang();
  HttpClientOptions options = LocalOptions();
  options.request_timeout = absl::Milliseconds(300);
  auto client = NewClient(options);
  const HttpResponse response = SendAndWait(*client, Post(receiver_->Url("/hang")));
  EXPECT_EQ(response.transport_error, TransportError::kTimeout) << response.error;
  EXPECT_EQ(response.status, 0);
  EXPECT_EQ(response.error, "timed out after 300ms");
}

TEST_F(CurlHttpClientTest, ResetIsConnectionReset) {
  receiver_->On("/reset").Reset();
  auto client = NewClient(LocalOptions());
  const HttpResponse response = SendAndWait(*client, Post(receiver_->Url("/reset")));
  EXPECT_EQ(response.transport_error, TransportError::kConnectionReset) << response.error;
  EXPECT_EQ(response.status, 0);
  EXPECT_THAT(response.error, HasSubstr("reset"));
}

TEST_F(CurlHttpClientTest, RefusedConnectionIsConnectFailure) {
  auto client = NewClient(LocalOptions());
  const HttpResponse response =
      SendAndWait(*client, Post(absl::StrCat("https://127.0.0.1:", UnusedPort(), "/")));
  EXPECT_EQ(response.transport_error, TransportError::kConnectFailure) << response.error;
  EXPECT_THAT(response.error, HasSubstr("connection refused"));
}

TEST_F(CurlHttpClientTest, UnknownCaIsTlsFailure) {
  HttpClientOptions options = LocalOptions();
  options.extra_ca_files.clear();
  auto client = NewClient(options);
  const HttpResponse response = SendAndWait(*client, Post(receiver_->Url("/tls")));
  EXPECT_EQ(response.transport_error, TransportError::kTlsFailure) << response.error;
  EXPECT_EQ(response.status, 0);
  EXPECT_THAT(response.error, HasSubstr("certificate"));
  EXPECT_THAT(receiver_->Requests(), IsEmpty());
}

// Two development receivers with CAs of their own, trusted side by side:
// as two files, or as one bundle holding both.
TEST_F(CurlHttpClientTest, TrustsTheCasOfSeveralFilesAndOfABundle) {
  auto other = HttpsReceiver::Start();
  ASSERT_TRUE(other.ok()) << other.status();
  const auto read = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  TempDir dir;
  const std::string bundle = dir.Child("bundle.pem");
  std::ofstream(bundle) << read(receiver_->ca_file()) << read((*other)->ca_file());

  for (const std::vector<std::string>& files :
       {std::vector<std::string>{receiver_->ca_file(), (*other)->ca_file()},
        std::vector<std::string>{bundle}}) {
    HttpClientOptions options = LocalOptions();
    options.extra_ca_files = files;
    auto client = NewClient(options);
    EXPECT_EQ(SendAndWait(*client, Post(receiver_->Url("/one"))).status, 200);
    const HttpResponse response = SendAndWait(*client, Post((*other)->Url("/two")));
    EXPECT_EQ(response.status, 200) << response.error;
  }
  EXPECT_EQ(receiver_->Requests("/one").size(), 2u);
  EXPECT_EQ((*other)->Requests("/two").size(), 2u);
}

TEST_F(CurlHttpClientTest, UnresolvableHostIsDnsFailure) {
  auto client = NewClient(LocalOptions());
  const HttpResponse response = SendAndWait(*client, Post("https://no-such-host.invalid/hook"));
  EXPECT_EQ(response.transport_error, TransportError::kDnsFailure) << response.error;
  EXPECT_THAT(response.error, HasSubstr("no-such-host.invalid"));
}

TEST_F(CurlHttpClientTest, InvalidRequestsFailWithoutSending) {
  auto client = NewClient(LocalOptions());
  HttpResponse response = SendAndWait(*client, Post("http://127.0.0.1/hook"));
  EXPECT_EQ(response.transport_error, TransportError::kOther);
  EXPECT_THAT(response.error, HasSubstr("https"));

  HttpRequest injected = Post(receiver_->Url("/inject"));
  injected.headers.push_back({"x-evil", "a\r\nx-injected: 1"});
  response = SendAndWait(*client, injected);
  EXPECT_EQ(response.transport_error, TransportError::kOther);
  EXPECT_THAT(response.error, HasSubstr("header #2"));
  EXPECT_THAT(response.error, ::testing::Not(HasSubstr("injected")));

  HttpRequest bad_name = Post(receiver_->Url("/inject"));
  bad_name.headers.push_back({"x bad", "v"});
  EXPECT_EQ(SendAndWait(*client, bad_name).transport_error, TransportError::kOther);
  EXPECT_EQ(receiver_->connections_accepted(), 0);
}

TEST_F(CurlHttpClientTest, SsrfGuardRefusesInternalDestinations) {
  HttpClientOptions options = LocalOptions();
  options.allowed_private_ranges.clear();
  auto client = NewClient(options);
  const int port = receiver_->port();
  struct Case {
    std::string url;
    std::string error;
  };
  const std::vector<Case> cases = {
      {receiver_->Url("/"), "destination refused: a loopback address"},
      {LocalUrl("localhost", "/"), "destination refused: a loopback address"},
      {"https://10.0.0.1/", "destination refused: a private address"},
      {"https://169.254.169.254/latest/meta-data/",
       "destination refused: a link-local address"},
      {absl::StrCat("https://[::ffff:127.0.0.1]:", port, "/"),
       "destination refused: an IPv4-mapped IPv6 address"},
      {absl::StrCat("https://[::1]:", port, "/"), "destination refused: a loopback address"},
      // 127.0.0.1 as one decimal number.
      {absl::StrCat("https://2130706433:", port, "/"), "destination refused: a loopback address"},
  };
  for (const Case& c : cases) {
    const HttpResponse response = SendAndWait(*client, Post(c.url));
    EXPECT_EQ(response.transport_error, TransportError::kDestinationRefused)
        << c.url << ": " << response.error;
    EXPECT_THAT(response.error, HasSubstr(c.error)) << c.url;
    // What a name resolved to inside our network is not the webhook owner's
    // to learn (the error becomes the attempt's, readable with GetDelivery).
    EXPECT_THAT(response.error, Not(HasSubstr("127.0.0.1")));
    EXPECT_THAT(response.error, Not(HasSubstr("::1")));
    EXPECT_EQ(response.status, 0);
  }
  EXPECT_THAT(receiver_->Requests(), IsEmpty());
  EXPECT_EQ(receiver_->connections_accepted(), 0);
}

TEST_F(CurlHttpClientTest, SsrfAllowlistOpensOnlyItsRanges) {
  HttpClientOptions options = LocalOptions();
  // localhost may also resolve to ::1: every resolved address must pass.
  options.allowed_private_ranges = Ranges({"127.0.0.0/8", "::1/128"});
  auto client = NewClient(options);
  EXPECT_EQ(SendAndWait(*client, Post(receiver_->Url("/ip"))).status, 200);
  const HttpResponse by_name = SendAndWait(*client, Post(LocalUrl("localhost", "/name")));
  EXPECT_EQ(by_name.status, 200) << by_name.error;
  // Still refused: not in the allowlist.
  const HttpResponse mapped = SendAndWait(
      *client, Post(absl::StrCat("https://[::ffff:127.0.0.1]:", receiver_->port(), "/mapped")));
  EXPECT_EQ(mapped.transport_error, TransportError::kDestinationRefused);
  EXPECT_EQ(SendAndWait(*client, Post("https://10.0.0.1/")).transport_error,
            TransportError::kDestinationRefused);
  EXPECT_EQ(receiver_->Requests("/ip").size(), 1u);
  EXPECT_EQ(receiver_->Requests("/name").size(), 1u);
  EXPECT_THAT(receiver_->Requests("/mapped"), IsEmpty());
}

TEST_F(CurlHttpClientTest, CancelAbortsAHangingRequest) {
  receiver_->On("/hang").Hang();
  auto client = NewClient(LocalOptions());
  Outcome outcome;
  const uint64_t id = client->Send(Post(receiver_->Url("/hang")), outcome.Callback());
  ASSERT_TRUE(receiver_->WaitForRequests("/hang", 1, kWait));
  EXPECT_FALSE(outcome.done.HasBeenNotified());
  client->Cancel(id);
  ASSERT_TRUE(outcome.Wait());
  EXPECT_EQ(outcome.response.transport_error, TransportError::kCancelled);
  EXPECT_EQ(outcome.response.error, "cancelled");
  client->Cancel(id);         // finished: ignored
  client->Cancel(id + 1000);  // unknown: ignored
  // The client still works.
  EXPECT_EQ(SendAndWait(*client, Post(receiver_->Url("/after"))).status, 200);
}

TEST_F(CurlHttpClientTest, ShutdownCancelsHangingRequests) {
  receiver_->On("/hang").Hang();
  auto client = NewClient(LocalOptions());
  Outcome outcome;
  client->Send(Post(receiver_->Url("/hang")), outcome.Callback());
  ASSERT_TRUE(receiver_->WaitForRequests("/hang", 1, kWait));
  client->Shutdown(absl::ZeroDuration());
  // Shutdown returns only after the callbacks ran.
  ASSERT_TRUE(outcome.done.HasBeenNotified());
  EXPECT_EQ(outcome.response.transport_error, TransportError::kCancelled);
  EXPECT_EQ(outcome.response.error, "client shut down");
}

TEST_F(CurlHttpClientTest, ShutdownGraceLetsRunningRequestsFinish) {
  receiver_->On("/slow").Reply(202).After(absl::Milliseconds(200));
  auto client = NewClient(LocalOptions());
  Outcome outcome;
  client->Send(Post(receiver_->Url("/slow")), outcome.Callback());
  client->Shutdown(kWait);
  ASSERT_TRUE(outcome.done.HasBeenNotified());
  EXPECT_EQ(outcome.response.status, 202) << outcome.response.error;
}

TEST_F(CurlHttpClientTest, SendAfterShutdownIsCancelledAtOnce) {
  auto client = NewClient(LocalOptions());
  client->Shutdown(absl::ZeroDuration());
  Outcome outcome;
  client->Send(Post(receiver_->Url("/late")), outcome.Callback());
  ASSERT_TRUE(outcome.done.HasBeenNotified());
  EXPECT_EQ(outcome.response.transport_error, TransportError::kCancelled);
  EXPECT_EQ(outcome.response.error, "client shut down");
  client->Shutdown(absl::ZeroDuration());  // idempotent
  EXPECT_THAT(receiver_->Requests(), IsEmpty());
}

TEST_F(CurlHttpClientTest, DestructorCancelsRunningRequests) {
  receiver_->On("/hang").Hang();
  auto client = NewClient(LocalOptions());
  Outcome outcome;
  client->Send(Post(receiver_->Url("/hang")), outcome.Callback());
  ASSERT_TRUE(receiver_->WaitForRequests("/hang", 1, kWait));
  client.reset();
  ASSERT_TRUE(outcome.done.HasBeenNotified());
  EXPECT_EQ(outcome.response.transport_error, TransportError::kCancelled);
}

TEST_F(CurlHttpClientTest, CallbackMaySendTheNextRequest) {
  auto client = NewClient(LocalOptions());
  Outcome second;
  Outcome first;
  client->Send(Post(receiver_->Url("/first")), [&](HttpResponse response) {
    first.response = std::move(response);
    client->Send(Post(receiver_->Url("/second")), second.Callback());
    first.done.Notify();
  });
  ASSERT_TRUE(first.Wait());
  ASSERT_TRUE(second.Wait());
  EXPECT_EQ(first.response.status, 200);
  EXPECT_EQ(second.response.status, 200);
}

TEST_F(CurlHttpClientTest, ShutdownFromACallbackStopsTheClient) {
  auto client = NewClient(LocalOptions());
  Outcome first;
  client->Send(Post(receiver_->Url("/first")), [&](HttpResponse response) {
    first.response = std::move(response);
    client->Shutdown(absl::ZeroDuration());  // must not wait for itself
    first.done.Notify();
  });
  ASSERT_TRUE(first.Wait());
  EXPECT_EQ(first.response.status, 200);
  Outcome late;
  client->Send(Post(receiver_->Url("/late")), late.Callback());
  ASSERT_TRUE(late.done.HasBeenNotified());
  EXPECT_EQ(late.response.transport_error, TransportError::kCancelled);
  client.reset();  // joins the loop thread
}

TEST(NewCurlHttpClientTest, RejectsUnreadableExtraCaFile) {
  HttpClientOptions options;
  options.extra_ca_files = {"/nonexistent/ca.pem"};
  auto client = NewCurlHttpClient(options);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client.status().message(), HasSubstr("extra_ca_file"));
}

TEST(NewCurlHttpClientTest, RejectsExtraCaFileWithoutCertificates) {
  char path[] = "/tmp/curl_http_client_test_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  constexpr absl::string_view kText = "not a certificate\n";
  ASSERT_EQ(::write(fd, kText.data(), kText.size()), static_cast<ssize_t>(kText.size()));
  ::close(fd);
  HttpClientOptions options;
  options.extra_ca_files = {path};
  auto client = NewCurlHttpClient(options);
  ::unlink(path);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client.status().message(), HasSubstr("no PEM certificate"));
}

TEST(NewCurlHttpClientTest, RejectsAnIdleWaitOutOfRange) {
  for (const absl::Duration wait : {absl::ZeroDuration(), absl::Hours(2)}) {
    HttpClientOptions options;
    options.max_idle_wait = wait;
    const absl::Status status = NewCurlHttpClient(options).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << wait;
    EXPECT_THAT(status.message(), HasSubstr("max_idle_wait")) << wait;
  }
}

TEST(NewCurlHttpClientTest, RejectsNonPositiveTimeouts) {
  HttpClientOptions options;
  options.request_timeout = absl::ZeroDuration();
  EXPECT_EQ(NewCurlHttpClient(options).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace wink::webhooks::http
