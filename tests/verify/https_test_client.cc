#include "tests/verify/https_test_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace wink::webhooks::testing {
namespace {

size_t AppendBody(char* data, size_t size, size_t count, void* out) {
  static_cast<HttpsResponse*>(out)->body.append(data, size * count);
  return size * count;
}

size_t AppendHeader(char* data, size_t size, size_t count, void* out) {
  absl::string_view line(data, size * count);
  line = absl::StripTrailingAsciiWhitespace(line);
  if (!line.empty()) static_cast<HttpsResponse*>(out)->header_lines.emplace_back(line);
  return size * count;
}

}  // namespace

HttpsTestClient::HttpsTestClient(std::string ca_file)
    : ca_file_(std::move(ca_file)), curl_(curl_easy_init()) {}

HttpsTestClient::~HttpsTestClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

absl::StatusOr<HttpsResponse> HttpsTestClient::Post(
    const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
    absl::string_view body) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);  // keeps the connection cache
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_slist* list = curl_slist_append(nullptr, "Content-Type: application/json");
  for (const auto& [name, value] : headers) {
    list = curl_slist_append(list, absl::StrCat(name, ": ", value).c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  absl::StatusOr<HttpsResponse> response = Perform();
  curl_slist_free_all(list);
  return response;
}

absl::StatusOr<HttpsResponse> HttpsTestClient::Get(const std::string& url) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  return Perform();
}

absl::StatusOr<HttpsResponse> HttpsTestClient::Perform() {
  CURL* curl = static_cast<CURL*>(curl_);
  HttpsResponse response;
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file_.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, AppendHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
  const CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat("curl: ", curl_easy_strerror(code)));
  }
  long status = 0;  // NOLINT(runtime/int): curl's type
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &last_new_connections_);
  response.status = static_cast<int>(status);
  return response;
}

absl::StatusOr<std::string> RawTlsExchange(int port, const std::string& ca_file,
                                           absl::string_view bytes) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  if (ctx == nullptr || SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) {
    return absl::InternalError("cannot load the CA file");
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  absl::StatusOr<std::string> result = absl::UnavailableError("TLS connection failed");
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      SSL_set_fd(ssl.get(), fd) == 1 &&
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), "127.0.0.1") == 1 &&
      SSL_connect(ssl.get()) == 1 &&
      SSL_write(ssl.get(), bytes.data(), static_cast<int>(bytes.size())) ==
          static_cast<int>(bytes.size())) {
    std::string received;
    char chunk[4096];
    int n;
    while ((n = SSL_read(ssl.get(), chunk, sizeof(chunk))) > 0) received.append(chunk, n);
    result = received;
  }
  ERR_clear_error();
  ssl.reset();
  close(fd);
  return result;
}

}  // namespace wink::webhooks::testing
