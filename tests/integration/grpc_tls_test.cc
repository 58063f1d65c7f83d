// The gRPC listener with TLS and mutual TLS: the real in-process server and
// the real client library, with a throw-away PKI (tests/fakes/
// test_certificates.h). What a client without the right certificate sees is
// a failed handshake: UNAVAILABLE, before any handler (or token check) runs.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/fakes/temp_dir.h"
#include "tests/fakes/test_certificates.h"
#include "tests/integration/test_server.h"
#include "wink/webhooks/client.h"

namespace wink::webhooks::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// One PKI for every test of the process: generating keys is the slow part.
const MutualTlsFiles& Pki() {
  static const TempDir dir;
  static const MutualTlsFiles* const files = [] {
    absl::StatusOr<MutualTlsFiles> written = WriteMutualTlsCertificates(dir.Child("pki"));
    if (!written.ok()) {
      ADD_FAILURE() << written.status();
      return new MutualTlsFiles();
    }
    return new MutualTlsFiles(*std::move(written));
  }();
  return *files;
}

std::function<void(config::ServerConfig&)> WithTls(bool mutual) {
  return [mutual](config::ServerConfig& config) {
    config.mutable_tls()->set_cert_file(Pki().server.certificate_file);
    config.mutable_tls()->set_key_file(Pki().server.private_key_file);
    if (mutual) config.mutable_tls()->set_client_ca_file(Pki().server.ca_file);
  };
}

// A client of `server` that tries once (a failed handshake would otherwise
// be retried as UNAVAILABLE for seconds).
std::unique_ptr<Client> NewClient(TestServer& server, std::optional<TlsOptions> tls,
                                  std::string address = "") {
  ClientOptions options;
  options.address = address.empty() ? server.server().address() : std::move(address);
  options.token = kAdminToken;
  options.retry.max_attempts = 1;
  options.default_timeout = absl::Seconds(10);
  options.tls = std::move(tls);
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

absl::Status ListWebhooks(Client& client) {
  v1::ListWebhooksRequest request;
  request.set_parent("accounts/acme");
  return client.ListWebhooks(request).status();
}

TlsOptions TrustingTheTestCa() {
  TlsOptions tls;
  tls.ca_file = Pki().server.ca_file;
  return tls;
}

TlsOptions WithClientCertificate(bool from_other_ca) {
  TlsOptions tls = TrustingTheTestCa();
  tls.cert_file =
      from_other_ca ? Pki().other_client_certificate_file : Pki().client_certificate_file;
  tls.key_file =
      from_other_ca ? Pki().other_client_private_key_file : Pki().client_private_key_file;
  return tls;
}

TEST(GrpcTlsTest, CallsOverTlsSucceedAndPlaintextCallsFail) {
  TestServer server(WithTls(/*mutual=*/false));

  std::unique_ptr<Client> tls_client = NewClient(server, TrustingTheTestCa());
  ASSERT_NE(tls_client, nullptr);
  EXPECT_TRUE(ListWebhooks(*tls_client).ok()) << ListWebhooks(*tls_client);

  // The token is checked over TLS as over plaintext.
  ClientOptions no_token;
  no_token.address = server.server().address();
  no_token.tls = TrustingTheTestCa();
  no_token.retry.max_attempts = 1;
  auto anonymous = Client::Create(std::move(no_token));
  ASSERT_TRUE(anonymous.ok()) << anonymous.status();
  EXPECT_EQ(ListWebhooks(**anonymous).code(), absl::StatusCode::kUnauthenticated);

  std::unique_ptr<Client> plaintext = NewClient(server, std::nullopt);
  ASSERT_NE(plaintext, nullptr);
  EXPECT_EQ(ListWebhooks(*plaintext).code(), absl::StatusCode::kUnavailable);
}

TEST(GrpcTlsTest, TheServerCertificateMustBeTrustedAndNamed) {
  TestServer server(WithTls(/*mutual=*/false));

  TlsOptions other_ca;
  other_ca.ca_file = Pki().other_ca_file;
  std::unique_ptr<Client> untrusting = NewClient(server, other_ca);
  ASSERT_NE(untrusting, nullptr);
  EXPECT_EQ(ListWebhooks(*untrusting).code(), absl::StatusCode::kUnavailable);

  // The certificate names localhost and 127.0.0.1, not this.
  TlsOptions wrong_name = TrustingTheTestCa();
  wrong_name.server_name = "webhooks.example.com";
  std::unique_ptr<Client> misnamed = NewClient(server, wrong_name);
  ASSERT_NE(misnamed, nullptr);
  EXPECT_EQ(ListWebhooks(*misnamed).code(), absl::StatusCode::kUnavailable);

  TlsOptions right_name = TrustingTheTestCa();
  right_name.server_name = "localhost";
  std::unique_ptr<Client> named = NewClient(server, right_name);
  ASSERT_NE(named, nullptr);
  EXPECT_TRUE(ListWebhooks(*named).ok()) << ListWebhooks(*named);
}

TEST(GrpcTlsTest, MutualTlsRequiresAClientCertificateOfTheClientCa) {
  TestServer server(WithTls(/*mutual=*/true));

  std::unique_ptr<Client> without_certificate = NewClient(server, TrustingTheTestCa());
  ASSERT_NE(without_certificate, nullptr);
  EXPECT_EQ(ListWebhooks(*without_certificate).code(), absl::StatusCode::kUnavailable);

  std::unique_ptr<Client> other_ca = NewClient(server, WithClientCertificate(true));
  ASSERT_NE(other_ca, nullptr);
  EXPECT_EQ(ListWebhooks(*other_ca).code(), absl::StatusCode::kUnavailable);

  std::unique_ptr<Client> trusted = NewClient(server, WithClientCertificate(false));
  ASSERT_NE(trusted, nullptr);
  EXPECT_TRUE(ListWebhooks(*trusted).ok()) << ListWebhooks(*trusted);
}

// Health is served on the same listener: a probe needs TLS (and with mutual
// TLS a client certificate) too, but no token.
TEST(GrpcTlsTest, HealthIsServedOverMutualTls) {
  TestServer server(WithTls(/*mutual=*/true));
  const TlsOptions tls = WithClientCertificate(false);
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      TlsChannelCredentials(tls);
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  auto health = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(server.server().address(), *credentials));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = health->Check(ContextWithToken("").get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST(GrpcTlsTest, ClientTlsOptionsNameTheFileThatCannotBeUsed) {
  TlsOptions missing;
  missing.ca_file = "/nonexistent/ca.pem";
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      TlsChannelCredentials(missing);
  EXPECT_EQ(credentials.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(credentials.status().message()),
              StartsWith("tls.ca_file: cannot read \"/nonexistent/ca.pem\""));

  TempDir dir;
  TlsOptions not_pem;
  not_pem.ca_file = dir.path();  // a directory
  EXPECT_THAT(std::string(TlsChannelCredentials(not_pem).status().message()),
              StartsWith("tls.ca_file: cannot read"));

  TlsOptions half_pair = TrustingTheTestCa();
  half_pair.cert_file = Pki().client_certificate_file;
  EXPECT_THAT(std::string(TlsChannelCredentials(half_pair).status().message()),
              StartsWith("tls.key_file: required with tls.cert_file"));
  half_pair.cert_file.clear();
  half_pair.key_file = Pki().client_private_key_file;
  EXPECT_THAT(std::string(TlsChannelCredentials(half_pair).status().message()),
              StartsWith("tls.cert_file: required with tls.key_file"));

  // Through Client::Create, which reads the files at once.
  ClientOptions options;
  options.address = "127.0.0.1:1";
  options.tls = missing;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Create(options);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(client.status().message()), StartsWith("tls.ca_file: cannot read"));

  options.tls = TrustingTheTestCa();
  options.credentials = grpc::InsecureChannelCredentials();
  client = Client::Create(options);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(client.status().message()), HasSubstr("set either tls or credentials"));
}

// Server::Start reads the PEM files itself: one that went away after the
// config was validated stops the start with the field named.
TEST(GrpcTlsTest, ServerStartReportsAnUnreadableCertificateFile) {
  TempDir dir;
  config::ServerConfig config;
  config.set_listen_address("127.0.0.1:0");
  config.set_data_dir(dir.Child("data"));
  auto* token = config.add_tokens();
  token->set_name("admin");
  token->set_sha256(std::string(64, 'a'));
  token->set_admin(true);
  config.mutable_tls()->set_cert_file(dir.Child("gone.pem"));
  config.mutable_tls()->set_key_file(Pki().server.private_key_file);
  config::ApplyDefaults(config);
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(config);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(server.status().message()),
              StartsWith("tls.cert_file: cannot read \"" + dir.Child("gone.pem") + "\""));
}

}  // namespace
}  // namespace wink::webhooks::testing
