#include "tests/fakes/https_receiver.h"

#include <curl/curl.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/temp_dir.h"
#include "tests/fakes/test_certificates.h"

namespace wink::webhooks::testing {
namespace {

using ::testing::AnyOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::IsEmpty;
using ::testing::Pair;

struct Request {
  std::string url;
  // Empty: curl's default trust store.
  std::string ca_file;
  std::optional<std::string> post_body;
  // Sends `post_body` with Transfer-Encoding: chunked, a few bytes per chunk.
  bool chunked = false;
  std::vector<std::string> headers;
  // "host:port:address" entries (CURLOPT_RESOLVE).
  std::vector<std::string> resolve;
  long timeout_ms = 20'000;
};

struct Response {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  std::string Header(absl::string_view name) const {
    for (const auto& [header_name, value] : headers) {
      if (header_name == name) return value;
    }
    return "";
  }
};

// A libcurl easy handle; like a delivery worker's, it keeps connections
// alive between Perform() calls.
class Client {
 public:
  Client() : curl_(curl_easy_init()) {}
  ~Client() { curl_easy_cleanup(curl_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Response Perform(const Request& request) {
    // Resets options only: cached connections survive.
    curl_easy_reset(curl_);
    Response response;
    UploadState upload{request.post_body.value_or(""), 0};
    curl_slist* headers = nullptr;
    for (const std::string& header : request.headers)
      headers = curl_slist_append(headers, header.c_str());
    if (request.chunked) headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    curl_slist* resolve = nullptr;
    for (const std::string& entry : request.resolve)
      resolve = curl_slist_append(resolve, entry.c_str());

    curl_easy_setopt(curl_, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, request.timeout_ms);
    if (!request.ca_file.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, request.ca_file.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &AppendBody);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &AddHeader);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &response);
    // Would the receiver not send "100 Continue", the request would time out
    // instead of going ahead after curl's default one second.
    curl_easy_setopt(curl_, CURLOPT_EXPECT_100_TIMEOUT_MS, 10L * request.timeout_ms);
    if (request.chunked) {
      curl_easy_setopt(curl_, CURLOPT_POST, 1L);
      curl_easy_setopt(curl_, CURLOPT_READFUNCTION, &ReadChunk);
      curl_easy_setopt(curl_, CURLOPT_READDATA, &upload);
    } else if (request.post_body.has_value()) {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.post_body->size()));
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, request.post_body->data());
    }
    response.code = curl_easy_perform(curl_);
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &response.status);
    curl_slist_free_all(headers);
    curl_slist_free_all(resolve);
    return response;
  }

 private:
  struct UploadState {
    std::string data;
    size_t sent;
  };

  static size_t AppendBody(char* data, size_t size, size_t count, void* response) {
    static_cast<Response*>(response)->body.append(data, size * count);
    return size * count;
  }

  static size_t AddHeader(char* data, size_t size, size_t count, void* user) {
    auto* response = static_cast<Response*>(user);
    const absl::string_view line(data, size * count);
    // A new status line (e.g. after "100 Continue") starts a new header set.
    if (absl::StartsWith(line, "HTTP/")) response->headers.clear();
    const size_t colon = line.find(':');
    if (colon != absl::string_view::npos) {
      response->headers.emplace_back(
          absl::AsciiStrToLower(line.substr(0, colon)),
          std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
    }
    return size * count;
  }

  // At most 5 bytes per call, so that the body goes out in several chunks.
  static size_t ReadChunk(char* buffer, size_t size, size_t count, void* user) {
    auto* upload = static_cast<UploadState*>(user);
    const size_t n = std::min({size * count, upload->data.size() - upload->sent, size_t{5}});
    upload->data.copy(buffer, n, upload->sent);
    upload->sent += n;
    return n;
  }

  CURL* curl_;
};

class HttpsReceiverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  static void TearDownTestSuite() { curl_global_cleanup(); }

  void SetUp() override {
    auto receiver = HttpsReceiver::Start();
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = *std::move(receiver);
  }

  Request Get(absl::string_view path) const {
    Request request;
    request.url = receiver_->Url(path);
    request.ca_file = receiver_->ca_file();
    return request;
  }

  Request Post(absl::string_view path, std::string body) const {
    Request request = Get(path);
    request.post_body = std::move(body);
    return request;
  }

  std::unique_ptr<HttpsReceiver> receiver_;
  Client client_;
};

TEST_F(HttpsReceiverTest, AnswersUnmatchedRequestsWith200AndRecordsThem) {
  Request request = Post("/hooks/a?attempt=1", R"({"type":"invoice.paid"})");
  request.headers = {"Content-Type: application/json", "Webhook-Id: msg_1"};
  const absl::Time before = absl::Now();

  const Response response = client_.Perform(request);

  ASSERT_EQ(response.code, CURLE_OK) << curl_easy_strerror(response.code);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("content-length"), "0");
  EXPECT_THAT(response.body, IsEmpty());
  const std::vector<ReceivedRequest> requests = receiver_->Requests();
  ASSERT_EQ(requests.size(), 1u);
  const ReceivedRequest& received = requests[0];
  EXPECT_EQ(received.method, "POST");
  EXPECT_EQ(received.path, "/hooks/a?attempt=1");
  EXPECT_EQ(received.body, R"({"type":"invoice.paid"})");
  EXPECT_EQ(received.Header("WEBHOOK-ID"), "msg_1");
  EXPECT_EQ(received.Header("content-type"), "application/json");
  EXPECT_EQ(received.Header("content-length"), "23");
  EXPECT_EQ(received.Header("x-missing"), "");
  ASSERT_FALSE(received.headers.empty());
  EXPECT_THAT(received.headers[0], Pair("host", absl::StrCat("127.0.0.1:", receiver_->port())));
  for (const auto& [name, value] : received.headers) EXPECT_EQ(name, absl::AsciiStrToLower(name));
  EXPECT_EQ(received.connection_id, 1);
  EXPECT_GE(received.receive_time, before);
  EXPECT_LE(received.receive_time, absl::Now());
}

TEST_F(HttpsReceiverTest, FiltersRequestsByPathWithoutQuery) {
  for (absl::string_view path : {"/a", "/b", "/a?x=1", "/ab"}) {
    ASSERT_EQ(client_.Perform(Get(path)).code, CURLE_OK);
  }

  std::vector<std::string> paths;
  for (const ReceivedRequest& request : receiver_->Requests("/a")) paths.push_back(request.path);
  EXPECT_THAT(paths, ElementsAre("/a", "/a?x=1"));
  EXPECT_EQ(receiver_->Requests("/a?x=1").size(), 1u);
  EXPECT_EQ(receiver_->Requests().size(), 4u);
  EXPECT_TRUE(receiver_->WaitForRequests("/a", 2, absl::Seconds(10)));
}

TEST_F(HttpsReceiverTest, WaitForRequestsReturnsFalseOnTimeout) {
  ASSERT_EQ(client_.Perform(Get("/a")).code, CURLE_OK);

  EXPECT_FALSE(receiver_->WaitForRequests("/a", 2, absl::Milliseconds(50)));
  EXPECT_FALSE(receiver_->WaitForRequests("/never", 1, absl::Milliseconds(50)));
}

TEST_F(HttpsReceiverTest, ScriptedAnswerAppliesToTheNextRequestsOnly) {
  receiver_->On("/hooks/a").Reply(503).WithRetryAfter("7").Times(1);

  const Response first = client_.Perform(Post("/hooks/a", "{}"));
  const Response second = client_.Perform(Post("/hooks/a", "{}"));

  ASSERT_EQ(first.code, CURLE_OK);
  EXPECT_EQ(first.status, 503);
  EXPECT_EQ(first.Header("retry-after"), "7");
  ASSERT_EQ(second.code, CURLE_OK);
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.Header("retry-after"), "");
  EXPECT_EQ(receiver_->Requests("/hooks/a").size(), 2u);
}

TEST_F(HttpsReceiverTest, RuleSetsBodyAndHeadersAndALaterRuleReplacesIt) {
  receiver_->On("/a").Reply(201, "made").WithHeader("X-Extra", "1").WithRetryAfter("1");
  receiver_->On("/a")
      .Reply(201, "made")
      .WithHeader("X-Extra", "1")
      .WithRetryAfter("1")
      .WithRetryAfter("2");
  receiver_->On("/b").Reply(404).Times(0);

  const Response scripted = client_.Perform(Get("/a?query=is-not-part-of-the-rule"));
  const Response unlimited = client_.Perform(Get("/a"));
  const Response used_up = client_.Perform(Get("/b"));
  receiver_->On("/a").Reply(202);
  const Response replaced = client_.Perform(Get("/a"));

  EXPECT_EQ(scripted.status, 201);
  EXPECT_EQ(scripted.body, "made");
  EXPECT_EQ(scripted.Header("x-extra"), "1");
  EXPECT_THAT(scripted.headers, Contains(Pair("retry-after", "2")).Times(1));
  EXPECT_THAT(scripted.headers, Contains(Pair("retry-after", "1")).Times(0));
  EXPECT_EQ(unlimited.status, 201);
  EXPECT_EQ(used_up.status, 200);
  EXPECT_EQ(replaced.status, 202);
  EXPECT_THAT(replaced.body, IsEmpty());
  EXPECT_EQ(replaced.Header("x-extra"), "");
}

TEST_F(HttpsReceiverTest, ReusesKeepAliveConnections) {
  ASSERT_EQ(client_.Perform(Post("/a", "1")).code, CURLE_OK);
  ASSERT_EQ(client_.Perform(Post("/b", "2")).code, CURLE_OK);

  const std::vector<ReceivedRequest> requests = receiver_->Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].connection_id, requests[1].connection_id);
  EXPECT_EQ(receiver_->connections_accepted(), 1);
}

TEST_F(HttpsReceiverTest, HonoursConnectionClose) {
  Request closing = Get("/a");
  closing.headers = {"Connection: close"};

  const Response first = client_.Perform(closing);
  ASSERT_EQ(client_.Perform(Get("/a")).code, CURLE_OK);

  EXPECT_EQ(first.Header("connection"), "close");
  const std::vector<ReceivedRequest> requests = receiver_->Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].connection_id, 1);
  EXPECT_EQ(requests[1].connection_id, 2);
  EXPECT_EQ(receiver_->connections_accepted(), 2);
}

TEST_F(HttpsReceiverTest, ReadsChunkedRequestBodies) {
  Request request = Post("/a", "a body sent in several chunks");
  request.chunked = true;

  const Response response = client_.Perform(request);

  ASSERT_EQ(response.code, CURLE_OK) << curl_easy_strerror(response.code);
  EXPECT_EQ(response.status, 200);
  const std::vector<ReceivedRequest> requests = receiver_->Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].Header("transfer-encoding"), "chunked");
  EXPECT_EQ(requests[0].body, "a body sent in several chunks");
}

TEST_F(HttpsReceiverTest, RejectsOtherTransferEncodingsWith400) {
  Request request = Post("/a", "x");
  request.headers = {"Transfer-Encoding: gzip"};

  const Response response = client_.Perform(request);

  ASSERT_EQ(response.code, CURLE_OK) << curl_easy_strerror(response.code);
  EXPECT_EQ(response.status, 400);
  EXPECT_THAT(receiver_->Requests(), IsEmpty());
}

TEST_F(HttpsReceiverTest, AnswersExpectContinue) {
  Request request = Post("/a", std::string(100'000, 'b'));
  request.headers = {"Expect: 100-continue"};

  const Response response = client_.Perform(request);

  ASSERT_EQ(response.code, CURLE_OK) << curl_easy_strerror(response.code);
  EXPECT_EQ(response.status, 200);
  const std::vector<ReceivedRequest> requests = receiver_->Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].body.size(), 100'000u);
}

TEST_F(HttpsReceiverTest, GeneratesBodiesOfTheRequestedSize) {
  receiver_->On("/big").WithBodySize(1 << 20);

  const Response response = client_.Perform(Get("/big"));

  ASSERT_EQ(response.code, CURLE_OK) << curl_easy_strerror(response.code);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body.size(), size_t{1} << 20);
  EXPECT_EQ(response.Header("content-length"), "1048576");
}

TEST_F(HttpsReceiverTest, AnswersAfterTheDelay) {
  receiver_->On("/slow").Reply(204).After(absl::Milliseconds(50));
  const absl::Time start = absl::Now();

  const Response response = client_.Perform(Get("/slow"));

  ASSERT_EQ(response.code, CURLE_OK) << curl_easy_strerror(response.code);
  EXPECT_EQ(response.status, 204);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
}

TEST_F(HttpsReceiverTest, ResetEndsTheConnectionWithoutAnAnswer) {
  receiver_->On("/reset").Reset();

  const Response response = client_.Perform(Post("/reset", "{}"));

  EXPECT_THAT(response.code,
              AnyOf(Eq(CURLE_RECV_ERROR), Eq(CURLE_SEND_ERROR), Eq(CURLE_GOT_NOTHING)))
      << curl_easy_strerror(response.code);
  EXPECT_EQ(response.status, 0);
  EXPECT_EQ(receiver_->Requests("/reset").size(), 1u);
}

TEST_F(HttpsReceiverTest, HangLetsTheClientTimeOut) {
  receiver_->On("/hang").Hang();
  Request request = Post("/hang", "{}");
  request.timeout_ms = 300;

  const Response response = client_.Perform(request);

  EXPECT_EQ(response.code, CURLE_OPERATION_TIMEDOUT) << curl_easy_strerror(response.code);
  EXPECT_TRUE(receiver_->WaitForRequests("/hang", 1, absl::Seconds(10)));
  receiver_->Stop();
}

// The clients would wait a minute; Stop() must end both requests at once.
TEST_F(HttpsReceiverTest, StopEndsHangingAndDelayedRequests) {
  receiver_->On("/hang").Hang();
  receiver_->On("/slow").After(absl::Hours(1));
  Request hang = Post("/hang", "{}");
  Request slow = Post("/slow", "{}");
  hang.timeout_ms = slow.timeout_ms = 60'000;
  Response hang_response, slow_response;
  std::thread hang_client([&] { hang_response = Client().Perform(hang); });
  std::thread slow_client([&] { slow_response = Client().Perform(slow); });
  const bool both_arrived = receiver_->WaitForRequests("/hang", 1, absl::Seconds(30)) &&
                            receiver_->WaitForRequests("/slow", 1, absl::Seconds(30));

  receiver_->Stop();
  hang_client.join();
  slow_client.join();

  EXPECT_TRUE(both_arrived);
  for (const Response* response : {&hang_response, &slow_response}) {
    EXPECT_NE(response->code, CURLE_OK);
    EXPECT_NE(response->code, CURLE_OPERATION_TIMEDOUT);
    EXPECT_EQ(response->status, 0);
  }
  receiver_->Stop();  // idempotent
}

TEST_F(HttpsReceiverTest, CertificateIsValidFor127001AndLocalhost) {
  Request localhost = Get("/a");
  localhost.url = absl::StrCat("https://localhost:", receiver_->port(), "/a");
  // Not whatever /etc/hosts says: the receiver listens on IPv4 only.
  localhost.resolve = {absl::StrCat("localhost:", receiver_->port(), ":127.0.0.1")};

  const Response by_address = client_.Perform(Get("/a"));
  const Response by_name = Client().Perform(localhost);

  EXPECT_EQ(by_address.code, CURLE_OK) << curl_easy_strerror(by_address.code);
  EXPECT_EQ(by_name.code, CURLE_OK) << curl_easy_strerror(by_name.code);
}

TEST_F(HttpsReceiverTest, CertificateIsRejectedWithoutItsCa) {
  TempDir other_dir;
  const auto other = WriteTestCertificates(other_dir.path());
  ASSERT_TRUE(other.ok()) << other.status();
  Request other_ca = Get("/a");
  other_ca.ca_file = other->ca_file;
  Request default_trust = Get("/a");
  default_trust.ca_file.clear();

  const Response with_other_ca = Client().Perform(other_ca);
  const Response with_default_trust = Client().Perform(default_trust);

  EXPECT_EQ(with_other_ca.code, CURLE_PEER_FAILED_VERIFICATION)
      << curl_easy_strerror(with_other_ca.code);
  // CURLE_SSL_CACERT_BADFILE where the system has no CA bundle.
  EXPECT_THAT(with_default_trust.code,
              AnyOf(Eq(CURLE_PEER_FAILED_VERIFICATION), Eq(CURLE_SSL_CACERT_BADFILE)))
      << curl_easy_strerror(with_default_trust.code);
  EXPECT_THAT(receiver_->Requests(), IsEmpty());
}

TEST(HttpsReceiverLifetimeTest, RemovesItsTemporaryCertificatesOnStop) {
  auto receiver = HttpsReceiver::Start();
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  const std::string ca_file = (*receiver)->ca_file();
  ASSERT_TRUE(std::filesystem::exists(ca_file));

  (*receiver)->Stop();

  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(ca_file).parent_path()));
}

TEST(HttpsReceiverLifetimeTest, KeepsCertificatesInAGivenDirectory) {
  TempDir dir;
  auto receiver = HttpsReceiver::Start({dir.Child("certs"), 0});
  ASSERT_TRUE(receiver.ok()) << receiver.status();
  EXPECT_EQ((*receiver)->ca_file(), dir.Child("certs/ca.pem"));
  EXPECT_GT((*receiver)->port(), 0);

  receiver->reset();

  EXPECT_TRUE(std::filesystem::exists(dir.Child("certs/ca.pem")));
  EXPECT_TRUE(std::filesystem::exists(dir.Child("certs/server.pem")));
  struct stat key_stat {};
  ASSERT_EQ(::stat(dir.Child("certs/server.key").c_str(), &key_stat), 0);
  EXPECT_EQ(key_stat.st_mode & 0777, 0600u);
}

TEST(HttpsReceiverLifetimeTest, FailsToStartOnAPortInUse) {
  auto first = HttpsReceiver::Start();
  ASSERT_TRUE(first.ok()) << first.status();

  auto second = HttpsReceiver::Start({"", (*first)->port()});

  EXPECT_EQ(second.status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace wink::webhooks::testing
