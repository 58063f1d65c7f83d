// The example receiver (client/examples/receiver) in-process on 127.0.0.1:0
// with a generated certificate, driven over real HTTPS with requests signed
// by the verification library. Its clock is a FakeClock, so timestamps and
// the dedupe window are under the test's control.
//
// To show that something was NOT processed, a test sends a valid "barrier"
// event afterwards and waits for it: the worker processes in queue order, so
// anything queued before the barrier would have been processed first.
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "client/examples/receiver/flags.h"
#include "client/examples/receiver/receiver.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/temp_dir.h"
#include "tests/fakes/test_certificates.h"
#include "tests/verify/https_test_client.h"
#include "wink/webhooks/verify.h"

namespace wink::webhooks::testing {
namespace {

using example::Event;
using example::ParseReceiverFlags;
using example::Receiver;
using example::ReceiverFlags;
using example::ReceiverOptions;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

using Headers = std::vector<std::pair<std::string, std::string>>;

std::string Envelope(const std::string& id, const std::string& type = "booking.created") {
  return absl::StrCat(R"({"id":")", id, R"(","type":")", type,
                      R"(","timestamp":"2025-11-24T16:00:00Z","data":{"booking_id":"B-1"}})");
}

std::string NewSecret() {
  auto key = GenerateSecretKey();
  EXPECT_TRUE(key.ok()) << key.status();
  return FormatSecret(key.value_or(""));
}

class ExampleReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto files = WriteTestCertificates(dir_.Child("certs"));
    ASSERT_TRUE(files.ok()) << files.status();
    certs_ = *files;
    secret_ = NewSecret();
    client_ = std::make_unique<HttpsTestClient>(certs_.ca_file);
  }

  void TearDown() override {
    // The gate first: Stop() waits for the worker.
    if (gate_ != nullptr && !gate_->HasBeenNotified()) gate_->Notify();
    if (receiver_ != nullptr) receiver_->Stop();
  }

  ReceiverOptions Options() {
    ReceiverOptions options;
    options.listen = "127.0.0.1:0";
    options.cert_file = certs_.certificate_file;
    options.key_file = certs_.private_key_file;
    options.secrets = {secret_};
    options.now = [this] { return clock_.Now(); };
    options.process = [this](const Event& event) {
      if (gate_ != nullptr) {
        if (!started_.HasBeenNotified()) started_.Notify();  // only this thread notifies
        gate_->WaitForNotification();
      }
      absl::MutexLock lock(&mu_);
      processed_.push_back(event);
    };
    options.log = [this](const std::string& line) {
      absl::MutexLock lock(&mu_);
      log_.push_back(line);
    };
    return options;
  }

  void Start(const std::function<void(ReceiverOptions&)>& tweak = nullptr) {
    ReceiverOptions options = Options();
    if (tweak) tweak(options);
    auto receiver = Receiver::Start(std::move(options));
    ASSERT_TRUE(receiver.ok()) << receiver.status();
    receiver_ = *std::move(receiver);
  }

  std::string Url() const { return absl::StrCat("https://127.0.0.1:", receiver_->port(), "/wh"); }

  HttpsResponse Post(const Headers& headers, const std::string& body) {
    auto response = client_->Post(Url(), headers, body);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.value_or(HttpsResponse());
  }

  // Signed now (by the fake clock) with `secret` (default: the receiver's).
  HttpsResponse Send(const std::string& id, const std::string& body, std::string secret = "") {
    auto signer = WebhookSigner::Create({secret.empty() ? secret_ : secret});
    EXPECT_TRUE(signer.ok()) << signer.status();
    return Post(signer->Headers(id, clock_.Now(), body), body);
  }

  // Sends a valid event and waits until it is processed: everything queued
  // before it has been processed by then.
  void Barrier() {
    const std::string id = absl::StrCat("msg_barrier_", ++barriers_);
    ASSERT_EQ(Send(id, Envelope(id)).status, 200);
    ASSERT_TRUE(WaitForProcessed(id));
  }

  bool WaitForProcessed(const std::string& id) {
    struct Wanted {
      ExampleReceiverTest* test;
      const std::string* id;
    } wanted{this, &id};
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(
        absl::Condition(
            +[](Wanted* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {  // mu_ is held by Await
              for (const Event& event : w->test->processed_) {
                if (event.webhook_id == *w->id) return true;
              }
              return false;
            },
            &wanted),
        absl::Seconds(10));
  }

  std::vector<std::string> ProcessedIds() {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> ids;
    for (const Event& event : processed_) ids.push_back(event.webhook_id);
    return ids;
  }

  std::vector<std::string> LogLines() {
    absl::MutexLock lock(&mu_);
    return log_;
  }

  TempDir dir_;
  TestCertificateFiles certs_;
  std::string secret_;
  FakeClock clock_;
  std::unique_ptr<HttpsTestClient> client_;
  std::unique_ptr<Receiver> receiver_;
  // When set, `process` signals `started_` and blocks until the gate opens.
  std::unique_ptr<absl::Notification> gate_;
  absl::Notification started_;
  int barriers_ = 0;

  absl::Mutex mu_;
  std::vector<Event> processed_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> log_ ABSL_GUARDED_BY(mu_);
};

// --- Valid, duplicate, bad signature ----------------------------------------------

TEST_F(ExampleReceiverTest, ValidEventIsAnsweredAndProcessedOnce) {
  Start();
  const std::string body = Envelope("msg_1");
  const HttpsResponse response = Send("msg_1", body);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "queued\n");
  ASSERT_TRUE(WaitForProcessed("msg_1"));
  Barrier();

  EXPECT_THAT(ProcessedIds(), ElementsAre("msg_1", "msg_barrier_1"));
  absl::MutexLock lock(&mu_);
  const Event& event = processed_[0];
  EXPECT_EQ(event.type, "booking.created");
  EXPECT_EQ(event.body, body);
  EXPECT_EQ(event.receive_time, clock_.Now());
  EXPECT_THAT(log_, Contains(absl::StrCat("webhook-id=msg_1 type=booking.created verified=yes "
                                          "bytes=",
                                          body.size(), " -> 200 queued")));
}

// A retry of a delivered event (new timestamp, new signature, same id) is
// answered 200 so the sender stops, and not processed again.
TEST_F(ExampleReceiverTest, SameWebhookIdTwiceIsProcessedOnce) {
  Start();
  const std::string body = Envelope("msg_1");
  ASSERT_EQ(Send("msg_1", body).status, 200);
  clock_.Advance(absl::Minutes(30));
  const HttpsResponse again = Send("msg_1", body);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, "duplicate webhook-id, already accepted\n");
  Barrier();

  EXPECT_THAT(ProcessedIds(), ElementsAre("msg_1", "msg_barrier_1"));
  receiver_->Stop();  // `processed` is counted after `process` returns
  const example::ReceiverStats stats = receiver_->stats();
  EXPECT_EQ(stats.accepted, 2);
  EXPECT_EQ(stats.duplicates, 1);
  EXPECT_EQ(stats.processed, 2);
}

TEST_F(ExampleReceiverTest, BadSignatureIs401AndNotProcessed) {
  Start();
  const std::string body = Envelope("msg_bad");
  const HttpsResponse stranger = Send("msg_bad", body, NewSecret());
  EXPECT_EQ(stranger.status, 401);
  EXPECT_EQ(stranger.body, "webhook-signature: no matching signature\n");

  auto signer = WebhookSigner::Create({secret_});
  ASSERT_TRUE(signer.ok());
  const HttpsResponse tampered = Post(signer->Headers("msg_bad", clock_.Now(), body), body + " ");
  EXPECT_EQ(tampered.status, 401);
  EXPECT_EQ(tampered.body, "webhook-signature: no matching signature\n");

  Headers no_id = signer->Headers("msg_bad", clock_.Now(), body);
  no_id.erase(no_id.begin());
  const HttpsResponse missing = Post(no_id, body);
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.body, "webhook-id: header missing\n");

  // Signed 6 minutes before it arrives: a replay, or a badly skewed clock.
  const Headers old = signer->Headers("msg_bad", clock_.Now(), body);
  clock_.Advance(absl::Minutes(6));
  const HttpsResponse replayed = Post(old, body);
  EXPECT_EQ(replayed.status, 401);
  EXPECT_EQ(replayed.body, "webhook-timestamp: timestamp too old\n");

  Barrier();
  EXPECT_THAT(ProcessedIds(), ElementsAre("msg_barrier_1"));
  EXPECT_EQ(receiver_->stats().unauthorized, 4);
  EXPECT_THAT(LogLines(),
              Contains(AllOf(StartsWith("webhook-id=msg_bad type=booking.created verified=no "),
                             HasSubstr("-> 401 webhook-signature: no matching signature"))));
}

// An attacker must not be able to block a real event by sending its id
// first with a bad signature.
TEST_F(ExampleReceiverTest, RejectedRequestDoesNotMarkItsIdAsSeen) {
  Start();
  const std::string body = Envelope("msg_1");
  ASSERT_EQ(Send("msg_1", body, NewSecret()).status, 401);
  const HttpsResponse real = Send("msg_1", body);
  EXPECT_EQ(real.status, 200);
  EXPECT_EQ(real.body, "queued\n");
  EXPECT_TRUE(WaitForProcessed("msg_1"));
}

TEST_F(ExampleReceiverTest, VerifiedBodyWithoutTypeIs400) {
  Start();
  for (const std::string& body : {std::string(R"({"data":{}})"), std::string("[1,2]"),
                                  std::string(R"({"type":7})"), std::string("not json")}) {
    const HttpsResponse response = Send("msg_1", body);
    EXPECT_EQ(response.status, 400) << body;
    EXPECT_THAT(response.body, HasSubstr("\"type\"")) << body;
  }
  Barrier();
  EXPECT_THAT(ProcessedIds(), ElementsAre("msg_barrier_1"));
  EXPECT_THAT(LogLines(), Contains(StartsWith("webhook-id=msg_1 type=- verified=yes ")));
}

// --- HTTP ------------------------------------------------------------------------------

TEST_F(ExampleReceiverTest, MalformedRequestsAre400AndCloseTheConnection) {
  Start();
  for (const std::string& request :
       {std::string("HELLO\r\n\r\n"), std::string("POST /wh HTTP/2.0\r\n\r\n"),
        std::string("POST /wh HTTP/1.1\r\nno colon here\r\n\r\n"),
        std::string("POST /wh HTTP/1.1\r\nContent-Length: ten\r\n\r\n"),
        std::string("POST /wh HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}"),
        std::string("POST /wh HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")}) {
    auto response = RawTlsExchange(receiver_->port(), certs_.ca_file, request);
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_THAT(*response, StartsWith("HTTP/1.1 400 Bad Request\r\n")) << request;
    EXPECT_THAT(*response, HasSubstr("\r\nConnection: close\r\n")) << request;
  }
  EXPECT_EQ(receiver_->stats().rejected, 6);
  EXPECT_THAT(LogLines(), Contains("webhook-id=- type=- verified=no bytes=0 -> 400 malformed "
                                   "request line"));
}

TEST_F(ExampleReceiverTest, OtherMethodsAre405) {
  Start();
  auto response = client_->Get(Url());
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 405);
  EXPECT_THAT(response->header_lines, Contains("Allow: POST"));
}

TEST_F(ExampleReceiverTest, OversizedBodyIs413) {
  Start([](ReceiverOptions& options) { options.max_body_bytes = 100; });
  const HttpsResponse response = Send("msg_big", Envelope(std::string(200, 'x')));
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(receiver_->stats().rejected, 1);
}

TEST_F(ExampleReceiverTest, KeepsConnectionsAlive) {
  Start();
  for (int i = 0; i < 3; ++i) {
    const std::string id = absl::StrCat("msg_", i);
    ASSERT_EQ(Send(id, Envelope(id)).status, 200);
    EXPECT_EQ(client_->last_new_connections(), i == 0 ? 1 : 0) << i;
  }
}

// --- Queue -----------------------------------------------------------------------------

TEST_F(ExampleReceiverTest, FullQueueAnswers503AndTheRetryIsProcessed) {
  gate_ = std::make_unique<absl::Notification>();
  Start([](ReceiverOptions& options) { options.queue_capacity = 1; });
  ASSERT_EQ(Send("msg_1", Envelope("msg_1")).status, 200);
  ASSERT_TRUE(started_.WaitForNotificationWithTimeout(absl::Seconds(10)));  // worker busy
  ASSERT_EQ(Send("msg_2", Envelope("msg_2")).status, 200);                  // queued
  const HttpsResponse full = Send("msg_3", Envelope("msg_3"));
  EXPECT_EQ(full.status, 503);
  EXPECT_THAT(full.header_lines, Contains("Retry-After: 5"));

  gate_->Notify();
  ASSERT_TRUE(WaitForProcessed("msg_2"));
  EXPECT_EQ(Send("msg_3", Envelope("msg_3")).status, 200);  // not remembered as seen
  ASSERT_TRUE(WaitForProcessed("msg_3"));
  EXPECT_THAT(ProcessedIds(), ElementsAre("msg_1", "msg_2", "msg_3"));
  EXPECT_EQ(receiver_->stats().overloaded, 1);
}

TEST_F(ExampleReceiverTest, StopProcessesWhatIsQueued) {
  gate_ = std::make_unique<absl::Notification>();
  Start();
  for (const char* id : {"msg_1", "msg_2", "msg_3"}) ASSERT_EQ(Send(id, Envelope(id)).status, 200);
  gate_->Notify();
  receiver_->Stop();
  EXPECT_THAT(ProcessedIds(), ElementsAre("msg_1", "msg_2", "msg_3"));
  EXPECT_EQ(receiver_->stats().processed, 3);
}

// --- Secrets and options ---------------------------------------------------------------

TEST_F(ExampleReceiverTest, SetSecretsRotatesWithoutRestart) {
  Start();
  const std::string new_secret = NewSecret();
  EXPECT_EQ(Send("msg_1", Envelope("msg_1"), new_secret).status, 401);
  ASSERT_TRUE(receiver_->SetSecrets({secret_, new_secret}).ok());
  EXPECT_EQ(Send("msg_2", Envelope("msg_2"), new_secret).status, 200);
  EXPECT_EQ(Send("msg_3", Envelope("msg_3"), secret_).status, 200);
  ASSERT_TRUE(receiver_->SetSecrets({new_secret}).ok());
  EXPECT_EQ(Send("msg_4", Envelope("msg_4"), secret_).status, 401);

  const absl::Status bad = receiver_->SetSecrets({"whsec_short"});
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()), StartsWith("secrets[0]: "));
  EXPECT_EQ(Send("msg_5", Envelope("msg_5"), new_secret).status, 200);  // still in force
}

TEST_F(ExampleReceiverTest, StartRejectsBadOptionsNamingThem) {
  const auto start_error = [this](const std::function<void(ReceiverOptions&)>& tweak) {
    ReceiverOptions options = Options();
    tweak(options);
    return Receiver::Start(std::move(options)).status();
  };
  auto other = WriteTestCertificates(dir_.Child("other"));
  ASSERT_TRUE(other.ok()) << other.status();
  const struct {
    std::function<void(ReceiverOptions&)> tweak;
    absl::StatusCode code;
    std::string prefix;
  } cases[] = {
      {[](ReceiverOptions& o) { o.secrets.clear(); }, absl::StatusCode::kInvalidArgument,
       "secrets: "},
      {[](ReceiverOptions& o) { o.secrets = {"whsec_not base64"}; },
       absl::StatusCode::kInvalidArgument, "secrets[0]: "},
      {[](ReceiverOptions& o) { o.listen = "8443"; }, absl::StatusCode::kInvalidArgument,
       "listen: "},
      {[](ReceiverOptions& o) { o.listen = "127.0.0.1:99999"; }, absl::StatusCode::kInvalidArgument,
       "listen: "},
      {[](ReceiverOptions& o) { o.cert_file = "/nonexistent.pem"; },
       absl::StatusCode::kInvalidArgument, "cert_file: "},
      {[](ReceiverOptions& o) { o.key_file = ""; }, absl::StatusCode::kInvalidArgument,
       "key_file: "},
      {[&](ReceiverOptions& o) { o.key_file = other->private_key_file; },
       absl::StatusCode::kInvalidArgument, "key_file: "},
      {[](ReceiverOptions& o) { o.queue_capacity = 0; }, absl::StatusCode::kInvalidArgument,
       "queue_capacity: "},
      {[](ReceiverOptions& o) { o.tolerance = absl::Seconds(-1); },
       absl::StatusCode::kInvalidArgument, "tolerance: "},
  };
  for (const auto& c : cases) {
    const absl::Status status = start_error(c.tweak);
    EXPECT_EQ(status.code(), c.code) << status;
    EXPECT_THAT(std::string(status.message()), StartsWith(c.prefix)) << status;
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr(secret_.substr(6))));
  }
}

TEST_F(ExampleReceiverTest, PortTakenIsUnavailable) {
  Start();
  const absl::Status status = Receiver::Start([&] {
                                ReceiverOptions options = Options();
                                options.listen = absl::StrCat("127.0.0.1:", receiver_->port());
                                return options;
                              }())
                                  .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(std::string(status.message()), StartsWith("listen: "));
}

// --- The secret from a file or the environment (flags.h) ----------------------------

class ExampleReceiverFlagsTest : public ExampleReceiverTest {
 protected:
  // The command line a user would type, up to the secret.
  std::vector<std::string> BaseArgs() const {
    return {"--listen", "127.0.0.1:0", "--cert", certs_.certificate_file,
            "--key",    certs_.private_key_file};
  }

  // Starts a receiver with the options of `flags`, as main.cc does, with the
  // fixture's clock and logging.
  void StartWith(const ReceiverFlags& flags) {
    Start([&](ReceiverOptions& options) {
      options.listen = flags.options.listen;
      options.cert_file = flags.options.cert_file;
      options.key_file = flags.options.key_file;
      options.secrets = flags.options.secrets;
    });
  }

  // A file holding `contents`; its path.
  std::string WriteFile(const std::string& name, const std::string& contents) {
    const std::string path = dir_.Child(name);
    std::ofstream(path) << contents;
    return path;
  }
};

TEST_F(ExampleReceiverFlagsTest, VerifiesWithTheSecretFromAFile) {
  const std::string other = NewSecret();
  std::vector<std::string> args = BaseArgs();
  args.push_back("--secret_file");
  // As `echo` writes it, with a comment: whitespace and comment lines are
  // not part of any secret.
  args.push_back(WriteFile("secret", absl::StrCat("# PMS webhook\n", secret_, "\n")));
  absl::StatusOr<ReceiverFlags> flags = ParseReceiverFlags(args, other.c_str());
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_THAT(flags->secrets_from, StartsWith("--secret_file "));
  StartWith(*flags);

  EXPECT_EQ(Send("msg_1", Envelope("msg_1")).status, 200);
  // The environment's secret is not accepted: the flag wins.
  EXPECT_EQ(Send("msg_2", Envelope("msg_2"), other).status, 401);
  ASSERT_TRUE(WaitForProcessed("msg_1"));
}

// An Ed25519 webhook: the receiver holds only the "whpk_" public key that
// GetWebhook shows, and checks the service's "v1a" signatures with it.
TEST_F(ExampleReceiverFlagsTest, VerifiesV1aSignaturesWithAPublicKeyFromAFile) {
  auto signing_key = GenerateSigningKey();
  ASSERT_TRUE(signing_key.ok());
  auto public_key = PublicKeyOf(*signing_key);
  ASSERT_TRUE(public_key.ok());
  std::vector<std::string> args = BaseArgs();
  args.push_back("--secret_file");
  args.push_back(WriteFile("public_key", FormatPublicKey(*public_key) + "\n"));
  absl::StatusOr<ReceiverFlags> flags = ParseReceiverFlags(args, nullptr);
  ASSERT_TRUE(flags.ok()) << flags.status();
  StartWith(*flags);

  EXPECT_EQ(Send("msg_1", Envelope("msg_1"), FormatSigningKey(*signing_key)).status, 200);
  auto other = GenerateSigningKey();
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(Send("msg_2", Envelope("msg_2"), FormatSigningKey(*other)).status, 401);
  // A v1 signature, even by a secret the receiver once had, is not enough.
  EXPECT_EQ(Send("msg_3", Envelope("msg_3"), secret_).status, 401);
  ASSERT_TRUE(WaitForProcessed("msg_1"));
}

TEST_F(ExampleReceiverFlagsTest, VerifiesWithTheSecretsFromTheEnvironment) {
  const std::string next = NewSecret();
  // Two while rotating, comma-separated.
  absl::StatusOr<ReceiverFlags> flags =
      ParseReceiverFlags(BaseArgs(), absl::StrCat(secret_, ",", next).c_str());
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->secrets_from, "$WEBHOOK_SECRET");
  StartWith(*flags);

  EXPECT_EQ(Send("msg_1", Envelope("msg_1")).status, 200);
  EXPECT_EQ(Send("msg_2", Envelope("msg_2"), next).status, 200);
  EXPECT_EQ(Send("msg_3", Envelope("msg_3"), NewSecret()).status, 401);
}

TEST_F(ExampleReceiverFlagsTest, SecretOnTheCommandLineStillWorks) {
  std::vector<std::string> args = BaseArgs();
  args.push_back(absl::StrCat("--secret=", secret_));
  absl::StatusOr<ReceiverFlags> flags = ParseReceiverFlags(args, nullptr);
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->secrets_from, "--secret");
  StartWith(*flags);
  EXPECT_EQ(Send("msg_1", Envelope("msg_1")).status, 200);
}

TEST_F(ExampleReceiverFlagsTest, MissingOrEmptySecretsAreFlagErrors) {
  std::vector<std::string> missing_file = BaseArgs();
  missing_file.push_back("--secret_file");
  missing_file.push_back(dir_.Child("nope"));
  const absl::Status unreadable = ParseReceiverFlags(missing_file, secret_.c_str()).status();
  EXPECT_EQ(unreadable.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unreadable.message()),
              AllOf(StartsWith("--secret_file: cannot read '"), HasSubstr("No such file")));

  std::vector<std::string> empty_file = BaseArgs();
  empty_file.push_back("--secret_file=" + WriteFile("empty", "\n# nothing yet\n"));
  const absl::Status empty = ParseReceiverFlags(empty_file, nullptr).status();
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(empty.message()), StartsWith("--secret_file: no secret in '"));

  const absl::Status none = ParseReceiverFlags(BaseArgs(), "").status();
  EXPECT_EQ(none.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(none.message()),
              AllOf(StartsWith("no signing secret"), HasSubstr("--secret_file"),
                    HasSubstr("WEBHOOK_SECRET")));
}

}  // namespace
}  // namespace wink::webhooks::testing
