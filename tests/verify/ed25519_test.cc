// The asymmetric "v1a" scheme (Ed25519): the Standard Webhooks vector, key
// formats, and WebhookVerifier / WebhookSigner with whpk_ and whsk_ keys,
// alone and mixed with whsec_ secrets.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/verify/standard_webhooks_vectors.h"
#include "wink/webhooks/verify.h"

namespace wink::webhooks::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const absl::Time kSent = absl::FromUnixSeconds(kTimestamp);

std::string VectorSigningKey() {
  auto key = ParseSigningKey(kSigningKey);
  EXPECT_TRUE(key.ok()) << key.status();
  return *key;
}

std::string VectorPublicKey() {
  auto public_key = PublicKeyOf(VectorSigningKey());
  EXPECT_TRUE(public_key.ok()) << public_key.status();
  return FormatPublicKey(*public_key);
}

WebhookVerifier MakeVerifier(std::vector<std::string> keys) {
  auto verifier = WebhookVerifier::Create(keys);
  EXPECT_TRUE(verifier.ok()) << verifier.status();
  return *std::move(verifier);
}

void ExpectNoMatch(const absl::Status& status) {
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;
  EXPECT_EQ(status.message(), "webhook-signature: no matching signature") << status;
}

TEST(Ed25519Test, SignsTheStandardWebhooksVector) {
  EXPECT_EQ(SignEd25519(VectorSigningKey(), kMsgId, kTimestamp, kPayload), kAsymmetricSignature);
}

TEST(Ed25519Test, PublicKeyVerifiesTheVector) {
  auto public_key = ParsePublicKey(VectorPublicKey());
  ASSERT_TRUE(public_key.ok()) << public_key.status();
  EXPECT_TRUE(VerifyEd25519Signature({*public_key}, kMsgId, kTimestampHeader,
                                     kAsymmetricSignature, kPayload, kSent)
                  .ok());
}

TEST(Ed25519Test, RejectsTheSpecsInvalidAndPartialSignatures) {
  auto public_key = ParsePublicKey(VectorPublicKey());
  ASSERT_TRUE(public_key.ok());
  for (const char* signature : {kAsymmetricInvalid, kAsymmetricPartial}) {
    ExpectNoMatch(VerifyEd25519Signature({*public_key}, kMsgId, kTimestampHeader, signature,
                                         kPayload, kSent));
  }
}

TEST(Ed25519Test, RejectsTamperedContentAndAnotherKey) {
  auto public_key = ParsePublicKey(VectorPublicKey());
  ASSERT_TRUE(public_key.ok());
  ExpectNoMatch(VerifyEd25519Signature({*public_key}, kMsgId, kTimestampHeader,
                                       kAsymmetricSignature, R"({"test": 2432232315})", kSent));
  ExpectNoMatch(VerifyEd25519Signature({*public_key}, "msg_other", kTimestampHeader,
                                       kAsymmetricSignature, kPayload, kSent));
  auto other = GenerateSigningKey();
  ASSERT_TRUE(other.ok());
  auto other_public = PublicKeyOf(*other);
  ASSERT_TRUE(other_public.ok());
  ExpectNoMatch(VerifyEd25519Signature({*other_public}, kMsgId, kTimestampHeader,
                                       kAsymmetricSignature, kPayload, kSent));
}

TEST(Ed25519Test, RejectsNonCanonicalBase64OfAValidSignature) {
  auto public_key = ParsePublicKey(VectorPublicKey());
  ASSERT_TRUE(public_key.ok());
  std::string signature = kAsymmetricSignature;  // "...L8Ag=="
  // 'g' (100000) ends the last group; 'h' sets one of the four bits the
  // padding leaves unused. Without padding, or with it doubled, also fails.
  const std::string unused_bits = absl::StrCat(signature.substr(0, signature.size() - 3), "h==");
  const std::string unpadded = signature.substr(0, signature.size() - 2);
  for (const std::string& variant : {unused_bits, unpadded, signature + "=="}) {
    ExpectNoMatch(VerifyEd25519Signature({*public_key}, kMsgId, kTimestampHeader, variant,
                                         kPayload, kSent));
  }
}

TEST(Ed25519Test, ChecksTheTimestampLikeV1) {
  auto public_key = ParsePublicKey(VectorPublicKey());
  ASSERT_TRUE(public_key.ok());
  const absl::Status late = VerifyEd25519Signature({*public_key}, kMsgId, kTimestampHeader,
                                                   kAsymmetricSignature, kPayload,
                                                   kSent + absl::Minutes(5) + absl::Seconds(1));
  EXPECT_EQ(late.message(), "webhook-timestamp: timestamp too old");
  const absl::Status early = VerifyEd25519Signature(
      {*public_key}, kMsgId, kTimestampHeader, kAsymmetricSignature, kPayload,
      kSent - absl::Minutes(5) - absl::Seconds(1));
  EXPECT_EQ(early.message(), "webhook-timestamp: timestamp too new");
}

TEST(Ed25519Test, KeyFormatsRoundTripAndRefuseOtherSizes) {
  auto key = GenerateSigningKey();
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->size(), 32u);
  EXPECT_THAT(FormatSigningKey(*key), StartsWith("whsk_"));
  EXPECT_EQ(*ParseSigningKey(FormatSigningKey(*key)), *key);
  auto public_key = PublicKeyOf(*key);
  ASSERT_TRUE(public_key.ok());
  EXPECT_THAT(FormatPublicKey(*public_key), StartsWith("whpk_"));
  EXPECT_EQ(*ParsePublicKey(FormatPublicKey(*public_key)), *public_key);

  EXPECT_EQ(PublicKeyOf(std::string(31, 'k')).status().code(),
            absl::StatusCode::kInvalidArgument);
  const auto short_key = ParsePublicKey(FormatPublicKey(std::string(31, 'k')));
  EXPECT_EQ(short_key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(short_key.status().message()), HasSubstr("32 bytes"));
  // A key of one kind is not accepted as the other.
  EXPECT_EQ(ParsePublicKey(FormatSigningKey(*key)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseSigningKey(FormatPublicKey(*public_key)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519VerifierTest, AcceptsPublicKeysAndRefusesPrivateOnes) {
  const WebhookVerifier verifier = MakeVerifier({VectorPublicKey()});
  EXPECT_TRUE(verifier.Verify(kMsgId, kTimestampHeader, kAsymmetricSignature, kPayload, kSent).ok());
  // A v1 signature means nothing to a verifier holding only a public key.
  ExpectNoMatch(verifier.Verify(kMsgId, kTimestampHeader, kSignature, kPayload, kSent));

  auto with_private = WebhookVerifier::Create({VectorPublicKey(), kSigningKey});
  ASSERT_EQ(with_private.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(with_private.status().message());
  EXPECT_THAT(message, HasSubstr("secrets[1]: "));
  EXPECT_THAT(message, HasSubstr("whpk_"));
  EXPECT_THAT(message, Not(HasSubstr(std::string(kSigningKey).substr(5))));
}

TEST(Ed25519VerifierTest, MixedKeysAcceptEitherScheme) {
  // A receiver mid-way through a switch of schemes holds both.
  const WebhookVerifier verifier = MakeVerifier({kSecret, VectorPublicKey()});
  EXPECT_TRUE(verifier.Verify(kMsgId, kTimestampHeader, kSignature, kPayload, kSent).ok());
  EXPECT_TRUE(verifier.Verify(kMsgId, kTimestampHeader, kAsymmetricSignature, kPayload, kSent).ok());
  // The spec's multi-signature case: the valid one among others.
  const std::string several = absl::StrCat(kForeignSignature, " v2,", "Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
                                           " ", kAsymmetricSignature, " ", kForeignSignature);
  EXPECT_TRUE(MakeVerifier({VectorPublicKey()})
                  .Verify(kMsgId, kTimestampHeader, several, kPayload, kSent)
                  .ok());
}

TEST(Ed25519SignerTest, SignsWithEveryKeyInOrderAndRefusesPublicKeys) {
  auto signer = WebhookSigner::Create({kSigningKey, kSecret});
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ(signer->Sign(kMsgId, kSent, kPayload),
            absl::StrCat(kAsymmetricSignature, " ", kSignature));

  auto from_public = WebhookSigner::Create({VectorPublicKey()});
  ASSERT_EQ(from_public.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(from_public.status().message()), HasSubstr("cannot sign"));
}

TEST(Ed25519SignerTest, SignatureHeaderMixesSchemes) {
  auto hmac_key = ParseSecret(kSecret);
  ASSERT_TRUE(hmac_key.ok());
  const std::vector<SigningKey> keys = {{SignatureScheme::kHmacSha256, *hmac_key},
                                        {SignatureScheme::kEd25519, VectorSigningKey()}};
  EXPECT_EQ(SignatureHeaderFor(keys, kMsgId, kTimestamp, kPayload),
            absl::StrCat(kSignature, " ", kAsymmetricSignature));
}

}  // namespace
}  // namespace wink::webhooks::testing
