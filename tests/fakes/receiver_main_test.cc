// The webhooks_test_receiver program (receiver_main.cc) run as a user runs it
// (scripts/receiver.sh): on port 0 with its certificates in a temp dir, the
// endpoint secret from a file, from $WEBHOOK_SECRET or from --secret, and
// real signed HTTPS POSTs (libcurl) whose check it prints.
#include <curl/curl.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/subprocess.h"
#include "tests/fakes/temp_dir.h"
#include "wink/webhooks/verify.h"

namespace wink::webhooks::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr absl::Duration kWait = absl::Seconds(20);

std::string ReceiverBinary() {
  if (const char* path = std::getenv("WEBHOOKS_TEST_RECEIVER_BINARY");
      path != nullptr && *path != '\0') {
    return path;
  }
  return WEBHOOKS_TEST_RECEIVER_BINARY;
}

std::string NewSecret() {
  auto key = GenerateSecretKey();
  EXPECT_TRUE(key.ok()) << key.status();
  return FormatSecret(key.value_or(""));
}

size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }

// POSTs `body` to `url` with `headers`, trusting only `ca_file`; the HTTP
// status, or 0 if the request failed.
long Post(const std::string& url, const std::string& ca_file,  // NOLINT(runtime/int)
          const std::vector<std::pair<std::string, std::string>>& headers,
          const std::string& body) {
  CURL* curl = curl_easy_init();
  curl_slist* header_list = nullptr;
  for (const auto& [name, value] : headers) {
    header_list = curl_slist_append(header_list, absl::StrCat(name, ": ", value).c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10'000L);
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Discard);
  long status = 0;  // NOLINT(runtime/int): curl's type
  const CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  EXPECT_EQ(code, CURLE_OK) << curl_easy_strerror(code);
  curl_slist_free_all(header_list);
  curl_easy_cleanup(curl);
  return status;
}

class ReceiverMainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  static void TearDownTestSuite() { curl_global_cleanup(); }

  ReceiverMainTest() : secret_(NewSecret()) {}

  ~ReceiverMainTest() override {
    if (receiver_ != nullptr) {
      receiver_->Signal(SIGTERM);
      receiver_->Wait(kWait);
    }
  }

  // Starts the program on a free port with `args` and the environment
  // changed by `env`; waits for its banner and reads the port from it.
  void Start(std::vector<std::string> args, Subprocess::EnvChanges env = {}) {
    args.insert(args.begin(), {ReceiverBinary(), "--port", "0", "--certificate_dir", certs()});
    // Whatever the test's own environment holds must not leak in.
    env.emplace("WEBHOOK_SECRET", std::nullopt);
    receiver_ = std::make_unique<Subprocess>(args, env);
    ASSERT_TRUE(receiver_->WaitForOutput("Stop with Ctrl-C.", kWait)) << receiver_->out();
    const std::string out = receiver_->out();
    const std::string prefix = "Test receiver on https://127.0.0.1:";
    const size_t at = out.find(prefix);
    ASSERT_NE(at, std::string::npos) << out;
    const size_t begin = at + prefix.size();
    ASSERT_TRUE(absl::SimpleAtoi(out.substr(begin, out.find('/', begin) - begin), &port_)) << out;
  }

  // A POST of a test event signed with `secret`, as the service sends it.
  void SendSignedWith(const std::string& secret, const std::string& id) {
    auto signer = WebhookSigner::Create({secret});
    ASSERT_TRUE(signer.ok()) << signer.status();
    const std::string body = absl::StrCat(R"({"id":")", id, R"(","type":"booking.created"})");
    EXPECT_EQ(Post(absl::StrCat("https://127.0.0.1:", port_, "/hooks/demo"),
                   absl::StrCat(certs(), "/ca.pem"), signer->Headers(id, absl::Now(), body), body),
              200);  // it answers 200 to everything; the check is in its output
  }

  std::string certs() const { return dir_.Child("certs"); }

  std::string WriteSecretFile(const std::string& contents) {
    const std::string path = dir_.Child("secret");
    std::ofstream(path) << contents;
    return path;
  }

  TempDir dir_;
  std::string secret_;
  std::unique_ptr<Subprocess> receiver_;
  int port_ = 0;
};

TEST_F(ReceiverMainTest, VerifiesWithTheSecretFromAFile) {
  const std::string file = WriteSecretFile(absl::StrCat(secret_, "\n"));
  // A stale $WEBHOOK_SECRET loses against the flag.
  Start({"--secret_file", file}, {{"WEBHOOK_SECRET", NewSecret()}});
  EXPECT_THAT(receiver_->out(),
              HasSubstr(absl::StrCat("Signatures: checked against 1 key(s) from --secret_file ",
                                     file, "\n")));

  SendSignedWith(secret_, "msg_good");
  SendSignedWith(NewSecret(), "msg_forged");
  EXPECT_TRUE(receiver_->WaitForOutput("webhook-id=msg_good signature=verified", kWait))
      << receiver_->out();
  EXPECT_TRUE(receiver_->WaitForOutput("webhook-id=msg_forged signature=INVALID", kWait))
      << receiver_->out();
  EXPECT_THAT(receiver_->out(), Not(HasSubstr(secret_)));  // never printed
}

TEST_F(ReceiverMainTest, VerifiesWithTheSecretsFromTheEnvironment) {
  const std::string next = NewSecret();
  Start({}, {{"WEBHOOK_SECRET", absl::StrCat(secret_, ",", next)}});
  EXPECT_THAT(receiver_->out(),
              HasSubstr("Signatures: checked against 2 key(s) from $WEBHOOK_SECRET\n"));

  SendSignedWith(next, "msg_next");
  SendSignedWith(NewSecret(), "msg_forged");
  EXPECT_TRUE(receiver_->WaitForOutput("webhook-id=msg_next signature=verified", kWait))
      << receiver_->out();
  EXPECT_TRUE(receiver_->WaitForOutput("webhook-id=msg_forged signature=INVALID", kWait))
      << receiver_->out();
}

// An Ed25519 webhook's receiver holds its public key, next to a secret
// while a rotation switches schemes.
TEST_F(ReceiverMainTest, VerifiesV1aWithAPublicKeyBesideASecret) {
  auto signing_key = GenerateSigningKey();
  ASSERT_TRUE(signing_key.ok());
  auto public_key = PublicKeyOf(*signing_key);
  ASSERT_TRUE(public_key.ok());
  const std::string file =
      WriteSecretFile(absl::StrCat(secret_, "\n", FormatPublicKey(*public_key), "\n"));
  Start({"--secret_file", file});
  EXPECT_THAT(receiver_->out(),
              HasSubstr(absl::StrCat("Signatures: checked against 2 key(s) from --secret_file ",
                                     file, "\n")));

  SendSignedWith(FormatSigningKey(*signing_key), "msg_v1a");
  SendSignedWith(secret_, "msg_v1");
  auto other = GenerateSigningKey();
  ASSERT_TRUE(other.ok());
  SendSignedWith(FormatSigningKey(*other), "msg_forged");
  EXPECT_TRUE(receiver_->WaitForOutput("webhook-id=msg_v1a signature=verified", kWait))
      << receiver_->out();
  EXPECT_TRUE(receiver_->WaitForOutput("webhook-id=msg_v1 signature=verified", kWait))
      << receiver_->out();
  EXPECT_TRUE(receiver_->WaitForOutput("webhook-id=msg_forged signature=INVALID", kWait))
      << receiver_->out();
}

TEST_F(ReceiverMainTest, PrintsTheTraceparentWhenARequestCarriesOne) {
  Start({});
  const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  EXPECT_EQ(Post(absl::StrCat("https://127.0.0.1:", port_, "/hooks/traced"),
                 absl::StrCat(certs(), "/ca.pem"),
                 {{"webhook-id", "msg_traced"}, {"traceparent", traceparent}}, "{}"),
            200);
  EXPECT_TRUE(receiver_->WaitForOutput(
      absl::StrCat("webhook-id=msg_traced traceparent=", traceparent, " signature=unchecked"),
      kWait))
      << receiver_->out();
}

TEST_F(ReceiverMainTest, SecretOnTheCommandLineStillWorks) {
  Start({"--secret", secret_});
  EXPECT_THAT(receiver_->out(),
              HasSubstr("Signatures: checked against 1 key(s) from --secret\n"));
  SendSignedWith(secret_, "msg_good");
  EXPECT_TRUE(receiver_->WaitForOutput("webhook-id=msg_good signature=verified", kWait))
      << receiver_->out();
}

TEST_F(ReceiverMainTest, WithoutSecretsSaysHowToGiveThem) {
  Start({});
  EXPECT_THAT(receiver_->out(), HasSubstr("Signatures: not checked (give the secret or public key in "
                                          "a file, --secret_file FILE, or in $WEBHOOK_SECRET)"));
}

TEST_F(ReceiverMainTest, UnreadableOrEmptySecretFileIsAFlagError) {
  const ProcessResult missing = RunProcess({ReceiverBinary(), "--port", "0", "--certificate_dir",
                                            certs(), "--secret_file", dir_.Child("nope")},
                                           {}, "", kWait);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, AllOf(StartsWith("--secret_file: cannot read '"),
                                 HasSubstr("No such file or directory")));
  EXPECT_THAT(missing.out, IsEmpty());  // stopped before listening

  const ProcessResult empty = RunProcess({ReceiverBinary(), "--port", "0", "--certificate_dir",
                                          certs(), "--secret_file=" + WriteSecretFile("\n")},
                                         {}, "", kWait);
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_THAT(empty.err, StartsWith("--secret_file: no secret in '"));
}

}  // namespace
}  // namespace wink::webhooks::testing
