// Secrets at rest, with the shipped binary: under --secrets_key_file no
// signing key or custom header value is in the data directory's files while
// deliveries still carry them; the directory is 0700 and its files 0600; a
// server without the key says so clearly and loses nothing.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/auth/authenticator.h"
#include "tests/fakes/https_receiver.h"
#include "tests/fakes/temp_dir.h"
#include "tests/integration/server_process.h"
#include "wink/webhooks/v1/delivery_service.grpc.pb.h"
#include "wink/webhooks/v1/webhook_service.grpc.pb.h"
#include "wink/webhooks/verify.h"

namespace wink::webhooks::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kToken[] = "secrets-test-token-81c2";
constexpr char kHeaderValue[] = "receiver-credential-2b7d9e";
constexpr absl::Duration kStartTimeout = absl::Seconds(30);

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", std::string("Bearer ") + kToken);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

// Writes a key file holding `id` with a key of 32 bytes of `fill`.
std::string WriteKeyFile(const TempDir& dir, const std::string& name, const std::string& id,
                         char fill) {
  const std::string path = dir.Child(name);
  std::ofstream(path) << "# test key\n" << id << " " << absl::Base64Escape(std::string(32, fill)) << "\n";
  chmod(path.c_str(), 0600);
  return path;
}

class SecretsAtRestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto receiver = HttpsReceiver::Start();
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = std::move(*receiver);
  }

  std::vector<std::string> Args(const std::string& key_file) const {
    std::vector<std::string> args = {
        "--listen=127.0.0.1:0",
        "--data_dir=" + data_dir(),
        "--admin_token_sha256=" + auth::Sha256Hex(kToken),
        "--allow_private_targets=127.0.0.0/8",
        "--extra_ca_file=" + receiver_->ca_file(),
    };
    if (!key_file.empty()) args.push_back("--secrets_key_file=" + key_file);
    return args;
  }

  // Starts the binary; stubs talk to it.
  void StartServer(const std::string& key_file) {
    server_ = ServerProcess::Start(Args(key_file), dir_.Child(absl::StrCat("log-", ++starts_)));
    auto address = server_->WaitReady(kStartTimeout);
    ASSERT_TRUE(address.ok()) << address.status() << server_->Log();
    auto channel = grpc::CreateChannel(*address, grpc::InsecureChannelCredentials());
    webhooks_ = v1::WebhookService::NewStub(channel);
    deliveries_ = v1::DeliveryService::NewStub(channel);
  }

  void StopServer() {
    server_->Signal(SIGTERM);
    auto exit_code = server_->WaitExit(absl::Seconds(20));
    ASSERT_TRUE(exit_code.ok()) << exit_code.status();
    EXPECT_EQ(*exit_code, 0) << server_->Log();
  }

  v1::Webhook CreateWebhook() {
    v1::CreateWebhookRequest request;
    request.set_parent("accounts/acme");
    request.mutable_webhook()->set_display_name("sealed");
    request.mutable_webhook()->set_url(receiver_->Url("/hook"));
    (*request.mutable_webhook()->mutable_headers())["X-Api-Key"] = kHeaderValue;
    v1::Webhook created;
    const grpc::Status status = webhooks_->CreateWebhook(Context().get(), request, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created;
  }

  std::string Publish() {
    v1::PublishEventRequest publish;
    publish.set_parent("accounts/acme");
    publish.set_event_type("booking.created");
    publish.set_data_json(R"({"booking":"B-1"})");
    v1::PublishEventResponse published;
    const grpc::Status status = webhooks_->PublishEvent(Context().get(), publish, &published);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return published.event().name();
  }

  // Every regular file under the data directory, read whole.
  std::vector<std::pair<std::string, std::string>> DataFiles() const {
    std::vector<std::pair<std::string, std::string>> files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(data_dir())) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream bytes;
      bytes << in.rdbuf();
      files.emplace_back(entry.path().string(), bytes.str());
    }
    return files;
  }

  // Names of the data files that contain `needle`.
  std::vector<std::string> FilesContaining(const std::string& needle) const {
    std::vector<std::string> found;
    for (const auto& [path, bytes] : DataFiles()) {
      if (absl::StrContains(bytes, needle)) found.push_back(path);
    }
    return found;
  }

  std::string data_dir() const { return dir_.Child("data"); }

  TempDir dir_;
  int starts_ = 0;
  std::unique_ptr<HttpsReceiver> receiver_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::WebhookService::Stub> webhooks_;
  std::unique_ptr<v1::DeliveryService::Stub> deliveries_;
};

// The raw key bytes behind a "whsec_..." secret.
std::string KeyBytes(const std::string& secret) {
  std::string key;
  EXPECT_TRUE(absl::Base64Unescape(secret.substr(6), &key)) << secret;
  return key;
}

void ExpectSignedBy(const ReceivedRequest& request, const std::string& secret) {
  auto verifier = WebhookVerifier::Create({secret});
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  EXPECT_TRUE(verifier->Verify(request.headers, request.body).ok());
}

TEST_F(SecretsAtRestTest, NoSecretInTheDataFilesYetDeliveriesAreSignedAndCarryTheHeaders) {
  StartServer(WriteKeyFile(dir_, "secrets.key", "k1", 'a'));
  const v1::Webhook created = CreateWebhook();
  ASSERT_FALSE(created.secret().empty());
  Publish();
  ASSERT_TRUE(receiver_->WaitForRequests("/hook", 1, absl::Seconds(20))) << server_->Log();
  ExpectSignedBy(receiver_->Requests("/hook")[0], created.secret());
  EXPECT_EQ(receiver_->Requests("/hook")[0].Header("x-api-key"), kHeaderValue);

  // The API still shows the headers in plaintext.
  v1::GetWebhookRequest get;
  get.set_name(created.name());
  v1::Webhook got;
  ASSERT_TRUE(webhooks_->GetWebhook(Context().get(), get, &got).ok());
  EXPECT_EQ(got.headers().at("X-Api-Key"), kHeaderValue);

  // A rotation seals the new key as well; both keys sign during the overlap.
  v1::RotateWebhookSecretRequest rotate;
  rotate.set_name(created.name());
  v1::Webhook rotated;
  ASSERT_TRUE(webhooks_->RotateWebhookSecret(Context().get(), rotate, &rotated).ok());
  Publish();
  ASSERT_TRUE(receiver_->WaitForRequests("/hook", 2, absl::Seconds(20))) << server_->Log();
  ExpectSignedBy(receiver_->Requests("/hook")[1], rotated.secret());
  ExpectSignedBy(receiver_->Requests("/hook")[1], created.secret());
  StopServer();

  // WAL, tables and logs alike.
  EXPECT_THAT(FilesContaining(kHeaderValue), ::testing::IsEmpty());
  EXPECT_THAT(FilesContaining(KeyBytes(created.secret())), ::testing::IsEmpty());
  EXPECT_THAT(FilesContaining(KeyBytes(rotated.secret())), ::testing::IsEmpty());
  // The server's own log names the key id, never the key.
  EXPECT_THAT(server_->Log(), HasSubstr("sealing_key_id=k1"));
  EXPECT_THAT(server_->Log(), ::testing::Not(HasSubstr(kHeaderValue)));

  // Only the service's user may read any of it.
  struct stat dir_stat {};
  ASSERT_EQ(stat(data_dir().c_str(), &dir_stat), 0);
  EXPECT_EQ(dir_stat.st_mode & 0777, 0700u);
  const auto files = DataFiles();
  ASSERT_FALSE(files.empty());
  for (const auto& [path, bytes] : files) {
    struct stat file_stat {};
    ASSERT_EQ(stat(path.c_str(), &file_stat), 0);
    EXPECT_EQ(file_stat.st_mode & 0077, 0u) << path << " has mode " << std::oct << file_stat.st_mode;
  }
}

// The control for the test above: without a key the same scan finds them.
TEST_F(SecretsAtRestTest, WithoutAKeyFileTheyAreInPlaintextAndTheServerWarns) {
  StartServer("");
  const v1::Webhook created = CreateWebhook();
  StopServer();
  EXPECT_THAT(FilesContaining(kHeaderValue), ::testing::Not(::testing::IsEmpty()));
  EXPECT_THAT(FilesContaining(KeyBytes(created.secret())), ::testing::Not(::testing::IsEmpty()));
  EXPECT_THAT(server_->Log(), HasSubstr("secrets_unencrypted"));
}

TEST_F(SecretsAtRestTest, WithoutItsKeyTheServerSaysSoAndTheDeliveryWaitsForIt) {
  const std::string key_file = WriteKeyFile(dir_, "secrets.key", "k1", 'a');
  StartServer(key_file);
  const v1::Webhook created = CreateWebhook();
  StopServer();

  // No key file: reading the webhook names the missing key.
  StartServer("");
  v1::GetWebhookRequest get;
  get.set_name(created.name());
  v1::Webhook got;
  const grpc::Status no_key = webhooks_->GetWebhook(Context().get(), get, &got);
  EXPECT_EQ(no_key.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(no_key.error_message(), HasSubstr("key \"k1\""));
  EXPECT_THAT(no_key.error_message(), HasSubstr("--secrets_key_file"));

  // An event is accepted, but nothing unsigned goes out: the attempt is
  // recorded as not sent and retried.
  const std::string event_name = Publish();
  const std::string event_id = event_name.substr(event_name.rfind('/') + 1);
  v1::GetDeliveryRequest get_delivery;
  get_delivery.set_name(absl::StrCat(created.name(), "/deliveries/", event_id));
  v1::Delivery delivery;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    ASSERT_TRUE(deliveries_->GetDelivery(Context().get(), get_delivery, &delivery).ok());
    if (delivery.attempt_count() > 0) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_EQ(delivery.attempt_count(), 1) << server_->Log();
  EXPECT_EQ(delivery.state(), v1::DELIVERY_STATE_RETRY_SCHEDULED);
  EXPECT_THAT(delivery.last_attempt().error(), HasSubstr("not sent"));
  EXPECT_THAT(delivery.last_attempt().error(), HasSubstr("key \"k1\""));
  EXPECT_TRUE(receiver_->Requests("/hook").empty());
  StopServer();

  // A different key under the same id does not open them either.
  StartServer(WriteKeyFile(dir_, "other.key", "k1", 'b'));
  const grpc::Status wrong_key = webhooks_->GetWebhook(Context().get(), get, &got);
  EXPECT_EQ(wrong_key.error_code(), grpc::StatusCode::DATA_LOSS) << wrong_key.error_message();
  StopServer();

  // Given its key back, the server sends the waiting delivery, signed (at
  // once when asked to, rather than at its next retry time).
  StartServer(key_file);
  v1::RetryDeliveryRequest retry;
  retry.set_name(get_delivery.name());
  const grpc::Status retried = deliveries_->RetryDelivery(Context().get(), retry, &delivery);
  ASSERT_TRUE(retried.ok()) << retried.error_message();
  ASSERT_TRUE(receiver_->WaitForRequests("/hook", 1, absl::Seconds(30))) << server_->Log();
  ExpectSignedBy(receiver_->Requests("/hook")[0], created.secret());
  EXPECT_EQ(receiver_->Requests("/hook")[0].Header("x-api-key"), kHeaderValue);
}

TEST_F(SecretsAtRestTest, ABadKeyFileStopsTheStartWithTheLineAtFault) {
  const std::string path = dir_.Child("bad.key");
  std::ofstream(path) << "k1 " << absl::Base64Escape(std::string(32, 'a')) << "\n"
                      << "k2 c2hvcnQ=\n";
  auto server = ServerProcess::Start(Args(path), dir_.Child("log-bad"));
  auto exit_code = server->WaitExit(absl::Seconds(20));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 1);
  EXPECT_THAT(server->Log(), HasSubstr("bad.key:2: the key must be the base64 of exactly 32 bytes"));
  EXPECT_THAT(server->Log(), ::testing::Not(HasSubstr("c2hvcnQ")));
}

}  // namespace
}  // namespace wink::webhooks::testing
