// WebhookVerifier and WebhookSigner: secrets, header handling and tolerance
// on top of the primitives tested in signature_test.cc.
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/verify/standard_webhooks_vectors.h"
#include "wink/webhooks/verify.h"

namespace wink::webhooks::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

using Headers = std::vector<std::pair<std::string, std::string>>;

const absl::Time kSent = absl::FromUnixSeconds(kTimestamp);

Headers VectorHeaders() {
  return {{"webhook-id", kMsgId},
          {"webhook-timestamp", kTimestampHeader},
          {"webhook-signature", kSignature}};
}

WebhookVerifier MakeVerifier(std::vector<std::string> secrets = {kSecret},
                             WebhookVerifier::Options options = {}) {
  auto verifier = WebhookVerifier::Create(secrets, options);
  EXPECT_TRUE(verifier.ok()) << verifier.status();
  return *std::move(verifier);
}

WebhookVerifier::Options WithTolerance(absl::Duration tolerance) {
  WebhookVerifier::Options options;
  options.tolerance = tolerance;
  return options;
}

std::string NewSecret() {
  auto key = GenerateSecretKey();
  EXPECT_TRUE(key.ok()) << key.status();
  return FormatSecret(*key);
}

void ExpectUnauthenticated(const absl::Status& status, absl::string_view message) {
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;
  EXPECT_EQ(status.message(), message) << status;
}

// --- Creation ------------------------------------------------------------------

TEST(WebhookVerifierCreateTest, NeedsAtLeastOneSecret) {
  auto verifier = WebhookVerifier::Create({});
  EXPECT_EQ(verifier.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(verifier.status().message()), HasSubstr("secrets: "));
}

TEST(WebhookVerifierCreateTest, NamesTheBadSecretWithoutEchoingIt) {
  const std::string bad = "whsec_c2hvcnQtYnV0LXNlY3JldA==";  // 17 bytes: too short
  auto verifier = WebhookVerifier::Create({kSecret, bad});
  ASSERT_EQ(verifier.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(verifier.status().message());
  EXPECT_THAT(message, HasSubstr("secrets[1]: "));
  EXPECT_THAT(message, HasSubstr("24-64 bytes"));
  EXPECT_THAT(message, Not(HasSubstr("c2hvcnQtYnV0LXNlY3JldA")));
}

TEST(WebhookVerifierCreateTest, RejectsSecretWithoutPrefix) {
  // The reference libraries also take the bare base64; we accept exactly
  // what the service hands out, so a pasted fragment is noticed at start.
  auto verifier = WebhookVerifier::Create({std::string(kSecret).substr(6)});
  ASSERT_EQ(verifier.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(verifier.status().message()), HasSubstr("secrets[0]: "));
  EXPECT_THAT(std::string(verifier.status().message()), HasSubstr("whsec_"));
}

TEST(WebhookVerifierCreateTest, RejectsNegativeTolerance) {
  auto verifier = WebhookVerifier::Create({kSecret}, WithTolerance(absl::Seconds(-1)));
  EXPECT_EQ(verifier.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(verifier.status().message()), HasSubstr("tolerance: "));
}

TEST(WebhookVerifierCreateTest, DefaultToleranceIsFiveMinutes) {
  EXPECT_EQ(MakeVerifier().tolerance(), absl::Minutes(5));
}

// --- Verify(headers, ...) --------------------------------------------------------

TEST(WebhookVerifierTest, AcceptsStandardWebhooksVector) {
  EXPECT_TRUE(MakeVerifier().Verify(VectorHeaders(), kPayload, kSent).ok());
  EXPECT_TRUE(MakeVerifier().Verify(kMsgId, kTimestampHeader, kSignature, kPayload, kSent).ok());
}

TEST(WebhookVerifierTest, HeaderNamesAreCaseInsensitiveAndOthersIgnored) {
  const Headers headers = {{"Content-Type", "application/json"},
                           {"Webhook-Signature", kSignature},
                           {"WEBHOOK-ID", kMsgId},
                           {"User-Agent", "test"},
                           {"webHook-timeStamp", kTimestampHeader}};
  EXPECT_TRUE(MakeVerifier().Verify(headers, kPayload, kSent).ok());
}

TEST(WebhookVerifierTest, RejectsTamperedBodyIdAndTimestamp) {
  const WebhookVerifier verifier = MakeVerifier();
  ExpectUnauthenticated(verifier.Verify(VectorHeaders(), R"({"test": 2432232315})", kSent),
                        "webhook-signature: no matching signature");
  Headers id = VectorHeaders();
  id[0].second = "msg_p5jXN8AQM9LWM0D4loKWxJel";
  ExpectUnauthenticated(verifier.Verify(id, kPayload, kSent),
                        "webhook-signature: no matching signature");
  // One second later is well inside the tolerance: only the MAC can object.
  Headers timestamp = VectorHeaders();
  timestamp[1].second = absl::StrCat(kTimestamp + 1);
  ExpectUnauthenticated(verifier.Verify(timestamp, kPayload, kSent),
                        "webhook-signature: no matching signature");
}

TEST(WebhookVerifierTest, ReportsEachMissingHeader) {
  for (size_t drop = 0; drop < 3; ++drop) {
    Headers headers = VectorHeaders();
    const std::string name = headers[drop].first;
    headers.erase(headers.begin() + drop);
    ExpectUnauthenticated(MakeVerifier().Verify(headers, kPayload, kSent),
                          absl::StrCat(name, ": header missing"));
  }
  ExpectUnauthenticated(MakeVerifier().Verify(Headers{}, kPayload, kSent),
                        "webhook-id: header missing");
}

TEST(WebhookVerifierTest, EmptyHeaderCountsAsMissing) {
  for (size_t blank = 0; blank < 3; ++blank) {
    Headers headers = VectorHeaders();
    headers[blank].second = "";
    ExpectUnauthenticated(MakeVerifier().Verify(headers, kPayload, kSent),
                          absl::StrCat(headers[blank].first, ": header missing"));
  }
}

TEST(WebhookVerifierTest, RejectsRepeatedHeaderEvenWithSameValue) {
  Headers headers = VectorHeaders();
  headers.emplace_back("Webhook-Signature", kSignature);
  ExpectUnauthenticated(MakeVerifier().Verify(headers, kPayload, kSent),
                        "webhook-signature: header repeated");
  headers = VectorHeaders();
  headers.emplace_back("webhook-id", "msg_other");
  ExpectUnauthenticated(MakeVerifier().Verify(headers, kPayload, kSent),
                        "webhook-id: header repeated");
}

TEST(WebhookVerifierTest, RejectsMalformedHeaders) {
  const WebhookVerifier verifier = MakeVerifier();
  for (absl::string_view timestamp : {"soon", "-1614265330", "1614265330.5", "1e9"}) {
    const absl::Status status = verifier.Verify(kMsgId, timestamp, kSignature, kPayload, kSent);
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << timestamp;
    EXPECT_THAT(std::string(status.message()), HasSubstr("webhook-timestamp: must be Unix seconds"))
        << timestamp;
  }
  const std::string base64 = std::string(kSignature).substr(3);
  for (const std::string& signature :
       {base64, absl::StrCat("v1:", base64), absl::StrCat("v1,", base64, ",extra"),
        absl::StrCat("v1,", base64.substr(0, 20)), std::string("v1,,,"), std::string(" , ")}) {
    ExpectUnauthenticated(verifier.Verify(kMsgId, kTimestampHeader, signature, kPayload, kSent),
                          "webhook-signature: no matching signature");
  }
}

// The spec's edge: exactly `tolerance` away passes, one second more fails,
// both for old (replayed) and for future (skewed clock) timestamps.
TEST(WebhookVerifierTest, ToleranceEdgesBothWays) {
  const WebhookVerifier verifier = MakeVerifier();
  const absl::Duration five = absl::Minutes(5);
  const absl::Duration second = absl::Seconds(1);
  EXPECT_TRUE(verifier.Verify(VectorHeaders(), kPayload, kSent + five).ok());
  EXPECT_TRUE(verifier.Verify(VectorHeaders(), kPayload, kSent - five).ok());
  ExpectUnauthenticated(verifier.Verify(VectorHeaders(), kPayload, kSent + five + second),
                        "webhook-timestamp: timestamp too old");
  ExpectUnauthenticated(verifier.Verify(VectorHeaders(), kPayload, kSent - five - second),
                        "webhook-timestamp: timestamp too new");
  ExpectUnauthenticated(verifier.Verify(VectorHeaders(), kPayload, kSent + absl::Hours(24 * 365)),
                        "webhook-timestamp: timestamp too old");
}

TEST(WebhookVerifierTest, CustomToleranceAndSubSecondNow) {
  const WebhookVerifier verifier = MakeVerifier({kSecret}, WithTolerance(absl::Seconds(30)));
  EXPECT_EQ(verifier.tolerance(), absl::Seconds(30));
  EXPECT_TRUE(verifier.Verify(VectorHeaders(), kPayload, kSent + absl::Seconds(30)).ok());
  ExpectUnauthenticated(
      verifier.Verify(VectorHeaders(), kPayload, kSent + absl::Seconds(30) + absl::Milliseconds(1)),
      "webhook-timestamp: timestamp too old");
  ExpectUnauthenticated(verifier.Verify(VectorHeaders(), kPayload, kSent - absl::Seconds(31)),
                        "webhook-timestamp: timestamp too new");
}

TEST(WebhookVerifierTest, InfiniteToleranceOnlyChecksTheSignature) {
  const WebhookVerifier verifier = MakeVerifier({kSecret}, WithTolerance(absl::InfiniteDuration()));
  EXPECT_TRUE(verifier.Verify(VectorHeaders(), kPayload, kSent + absl::Hours(24 * 3650)).ok());
  ExpectUnauthenticated(verifier.Verify(VectorHeaders(), "{}", kSent + absl::Hours(1)),
                        "webhook-signature: no matching signature");
}

// --- Rotation ----------------------------------------------------------------------

TEST(WebhookVerifierTest, SeveralSignaturesOneValid) {
  const std::string header =
      absl::StrCat(kForeignSignature, " v1a,", std::string(kSignature).substr(3), " ",
                   kLastByteFlipped, " ", kSignature);
  EXPECT_TRUE(MakeVerifier().Verify(kMsgId, kTimestampHeader, header, kPayload, kSent).ok());
  ExpectUnauthenticated(
      MakeVerifier().Verify(kMsgId, kTimestampHeader,
                            absl::StrCat(kForeignSignature, " ", kLastByteFlipped), kPayload,
                            kSent),
      "webhook-signature: no matching signature");
}

// The receiver side of a rotation: it knows old and new secret while the
// sender may sign with either, or both.
TEST(WebhookVerifierTest, AnyOfSeveralSecretsVerifies) {
  const std::string old_secret = NewSecret();
  const std::string new_secret = NewSecret();
  const WebhookVerifier verifier = MakeVerifier({old_secret, new_secret});
  for (const auto& secrets : std::vector<std::vector<std::string>>{
           {old_secret}, {new_secret}, {new_secret, old_secret}}) {
    auto signer = WebhookSigner::Create(secrets);
    ASSERT_TRUE(signer.ok()) << signer.status();
    EXPECT_TRUE(verifier.Verify(signer->Headers("msg_1", kSent, "{}"), "{}", kSent).ok());
  }
  auto stranger = WebhookSigner::Create({NewSecret()});
  ASSERT_TRUE(stranger.ok());
  ExpectUnauthenticated(verifier.Verify(stranger->Headers("msg_1", kSent, "{}"), "{}", kSent),
                        "webhook-signature: no matching signature");
}

// --- WebhookSigner -----------------------------------------------------------------

TEST(WebhookSignerTest, ProducesTheVectorAndTheThreeHeaders) {
  auto signer = WebhookSigner::Create({kSecret});
  ASSERT_TRUE(signer.ok()) << signer.status();
  // Sub-second parts are dropped: the header carries whole seconds.
  const absl::Time when = kSent + absl::Milliseconds(999);
  EXPECT_EQ(signer->Sign(kMsgId, when, kPayload), kSignature);
  EXPECT_THAT(signer->Headers(kMsgId, when, kPayload),
              ElementsAre(Pair("webhook-id", kMsgId), Pair("webhook-timestamp", kTimestampHeader),
                          Pair("webhook-signature", kSignature)));
}

TEST(WebhookSignerTest, SignsWithEverySecretInOrder) {
  const std::string other = NewSecret();
  auto signer = WebhookSigner::Create({kSecret, other});
  ASSERT_TRUE(signer.ok()) << signer.status();
  auto other_key = ParseSecret(other);
  ASSERT_TRUE(other_key.ok());
  EXPECT_EQ(signer->Sign(kMsgId, kSent, kPayload),
            absl::StrCat(kSignature, " ", Sign(*other_key, kMsgId, kTimestamp, kPayload)));
}

TEST(WebhookSignerTest, CreateValidatesSecrets) {
  EXPECT_EQ(WebhookSigner::Create({}).status().code(), absl::StatusCode::kInvalidArgument);
  auto signer = WebhookSigner::Create({kSecret, "whsec_!!"});
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(signer.status().message()), HasSubstr("secrets[1]: "));
}

// --- Threads -------------------------------------------------------------------------

// One verifier shared by several threads, as a server shares it between
// connections: every thread gets the same answers.
TEST(WebhookVerifierTest, SharedAcrossThreads) {
  const WebhookVerifier verifier = MakeVerifier();
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const bool good = verifier.Verify(VectorHeaders(), kPayload, kSent).ok();
        const bool bad = verifier.Verify(VectorHeaders(), "tampered", kSent).ok();
        if (!good || bad) ++failures[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(failures, ElementsAre(0, 0, 0, 0));
}

}  // namespace
}  // namespace wink::webhooks::testing
