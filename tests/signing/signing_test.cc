// service/signing re-exports the verification library (client/verify), whose
// own tests (tests/verify) cover the behaviour in depth. These tests pin that
// the service's names still mean the same thing, through the service headers
// the delivery engine and the API use.
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/signing/secret.h"
#include "service/signing/signature.h"
#include "tests/verify/standard_webhooks_vectors.h"

namespace wink::webhooks::testing {
namespace {

TEST(SigningTest, ServiceSignsTheStandardWebhooksVector) {
  auto key = signing::ParseSecret(kSecret);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(signing::SignatureHeader({*key}, kMsgId, kTimestamp, kPayload), kSignature);
  EXPECT_EQ(signing::Sign(*key, kMsgId, kTimestamp, kPayload), kSignature);
}

TEST(SigningTest, VerifyDefaultsToFiveMinutes) {
  auto key = signing::ParseSecret(kSecret);
  ASSERT_TRUE(key.ok()) << key.status();
  const absl::Time sent = absl::FromUnixSeconds(kTimestamp);
  EXPECT_TRUE(signing::VerifySignature({*key}, kMsgId, kTimestampHeader, kSignature, kPayload,
                                       sent + absl::Minutes(5))
                  .ok());
  EXPECT_EQ(signing::VerifySignature({*key}, kMsgId, kTimestampHeader, kSignature, kPayload,
                                     sent + absl::Minutes(5) + absl::Seconds(1))
                .code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(SigningTest, GeneratedSecretsRoundTrip) {
  EXPECT_EQ(signing::kSecretKeyBytes, 32);
  auto key = signing::GenerateSecretKey();
  ASSERT_TRUE(key.ok()) << key.status();
  const std::string secret = signing::FormatSecret(*key);
  EXPECT_EQ(secret.substr(0, signing::kSecretPrefix.size()), "whsec_");
  auto parsed = signing::ParseSecret(secret);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, *key);
}

}  // namespace
}  // namespace wink::webhooks::testing
