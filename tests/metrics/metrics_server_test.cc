// The /metrics endpoint over real sockets on 127.0.0.1.
#include "service/metrics/metrics_server.h"

#include <unistd.h>

#include <atomic>
#include <memory>
#include <vector>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/metrics/scrape.h"

namespace wink::webhooks::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::wink::webhooks::testing::ConnectLoopback;
using ::wink::webhooks::testing::HttpExchange;
using ::wink::webhooks::testing::HttpGet;
using ::wink::webhooks::testing::HttpReply;

constexpr char kBody[] = "# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n";

// A TCP connection to 127.0.0.1:port that never sends anything.
class SilentClient {
 public:
  explicit SilentClient(int port) : fd_(ConnectLoopback(port)) {}
  ~SilentClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return fd_ >= 0; }

 private:
  const int fd_;
};

class MetricsServerTest : public ::testing::Test {
 protected:
  void Start(MetricsServerOptions options = {}) {
    auto server = MetricsServer::Start(
        "127.0.0.1:0",
        [this] {
          ++scrapes_;
          return std::string(kBody);
        },
        options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_GT(server_->port(), 0);
  }

  HttpReply Exchange(absl::string_view request) {
    auto reply = HttpExchange(server_->port(), request);
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *reply : HttpReply{};
  }

  std::atomic<int> scrapes_{0};
  std::unique_ptr<MetricsServer> server_;
};

TEST_F(MetricsServerTest, ServesTheRenderedTextAtMetrics) {
  Start();
  auto reply = HttpGet(server_->port(), "/metrics");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(reply->headers["content-length"], std::to_string(sizeof(kBody) - 1));
  EXPECT_EQ(reply->headers["connection"], "close");
  EXPECT_EQ(reply->body, kBody);
  EXPECT_EQ(scrapes_.load(), 1);
}

TEST_F(MetricsServerTest, RendersAgainForEveryScrapeAndIgnoresTheQuery) {
  Start();
  for (int i = 0; i < 3; ++i) {
    auto reply = HttpGet(server_->port(), "/metrics?name[]=x_total");
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->status, 200);
  }
  EXPECT_EQ(scrapes_.load(), 3);
}

TEST_F(MetricsServerTest, OtherPathsAreNotFound) {
  Start();
  for (const char* path : {"/", "/metrics/", "/metricsx", "/debug"}) {
    auto reply = HttpGet(server_->port(), path);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->status, 404) << path;
    EXPECT_EQ(reply->body, "not found; metrics are at /metrics\n");
  }
  EXPECT_EQ(scrapes_.load(), 0);
}

TEST_F(MetricsServerTest, HeadGetsHeadersOnly) {
  Start();
  const HttpReply reply = Exchange("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.headers.at("content-length"), std::to_string(sizeof(kBody) - 1));
  EXPECT_EQ(reply.body, "");
}

TEST_F(MetricsServerTest, OtherMethodsAreNotAllowed) {
  Start();
  const HttpReply reply = Exchange("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(reply.headers.at("allow"), "GET, HEAD");
  EXPECT_EQ(scrapes_.load(), 0);
}

TEST_F(MetricsServerTest, MalformedRequestsAreBadRequests) {
  Start();
  EXPECT_EQ(Exchange("GET\r\n\r\n").status, 400);
  EXPECT_EQ(Exchange("GET /metrics SPDY/3\r\n\r\n").status, 400);
  // A bare-LF request still parses.
  EXPECT_EQ(Exchange("GET /metrics HTTP/1.0\n\n").status, 200);
}

TEST_F(MetricsServerTest, OversizedRequestsAreRefused) {
  MetricsServerOptions options;
  options.max_request_bytes = 1024;
  Start(options);
  const HttpReply reply = Exchange(
      absl::StrCat("GET /metrics HTTP/1.1\r\nX-Filler: ", std::string(4096, 'a'), "\r\n\r\n"));
  EXPECT_EQ(reply.status, 431);
  EXPECT_EQ(scrapes_.load(), 0);
}

TEST_F(MetricsServerTest, ASilentClientIsDroppedAfterTheTimeoutAndOthersAreServed) {
  MetricsServerOptions options;
  options.io_timeout = absl::Milliseconds(300);
  Start(options);
  SilentClient silent(server_->port());
  ASSERT_TRUE(silent.connected());
  // Served once the silent connection has used up its time.
  auto reply = HttpGet(server_->port(), "/metrics");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, kBody);
}

// Idle sockets used to be served one after the other: three of them held a
// scrape for 3 x 5 s. Now they wait side by side with it.
TEST_F(MetricsServerTest, IdleClientsDoNotDelayAScrape) {
  Start();  // 5 s to send a request
  std::vector<std::unique_ptr<SilentClient>> idle;
  for (int i = 0; i < 3; ++i) {
    idle.push_back(std::make_unique<SilentClient>(server_->port()));
    ASSERT_TRUE(idle.back()->connected());
  }
  const absl::Time start = absl::Now();
  auto reply = HttpGet(server_->port(), "/metrics");
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, kBody);
  EXPECT_LT(took, absl::Seconds(4)) << "the scrape waited for an idle client";
}

TEST_F(MetricsServerTest, StopReturnsWhileAClientHoldsAConnection) {
  Start();  // 5 s timeout: Stop must not wait for it
  SilentClient silent(server_->port());
  ASSERT_TRUE(silent.connected());
  const int port = server_->port();
  server_->Stop();
  server_->Stop();  // idempotent
  EXPECT_FALSE(HttpGet(port, "/metrics").ok());
}

TEST(MetricsServerStartTest, APortInUseIsUnavailable) {
  auto first = MetricsServer::Start("127.0.0.1:0", [] { return std::string(); });
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string address = absl::StrCat("127.0.0.1:", (*first)->port());
  auto second = MetricsServer::Start(address, [] { return std::string(); });
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()),
              StartsWith(absl::StrCat("cannot listen for metrics on \"", address, "\": ")));
}

TEST(MetricsServerStartTest, MalformedAddressesAreInvalid) {
  for (const char* address : {"127.0.0.1", ":9464", "127.0.0.1:http", "127.0.0.1:70000"}) {
    auto server = MetricsServer::Start(address, [] { return std::string(); });
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << address;
    EXPECT_THAT(std::string(server.status().message()),
                StartsWith("metrics_listen_address: expected host:port"));
  }
}

TEST(MetricsServerStartTest, AnAddressThatIsNotLocalIsUnavailable) {
  auto server = MetricsServer::Start("192.0.2.1:0", [] { return std::string(); });
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
}

TEST(MetricsServerStartTest, ListensOnIpv6Loopback) {
  auto server = MetricsServer::Start("[::1]:0", [] { return std::string("x 1\n"); });
  if (!server.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << server.status();
  EXPECT_GT((*server)->port(), 0);
}

}  // namespace
}  // namespace wink::webhooks::metrics
