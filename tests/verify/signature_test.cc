#include <string>
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

using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(kTimestamp);

std::string Key() {
  auto key = ParseSecret(kSecret);
  EXPECT_TRUE(key.ok()) << key.status();
  return key.value_or("");
}

std::string OtherKey() { return std::string(32, 'o'); }

absl::Status Verify(const std::vector<std::string>& keys, absl::string_view signature_header,
                    absl::string_view body = kPayload, absl::string_view msg_id = kMsgId,
                    absl::string_view timestamp_header = kTimestampHeader, absl::Time now = kNow) {
  return VerifySignature(keys, msg_id, timestamp_header, signature_header, body, now);
}

void ExpectNoMatch(const absl::Status& status) {
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("no matching signature")) << status;
}

TEST(SignTest, MatchesStandardWebhooksVector) {
  const std::string key = Key();
  EXPECT_EQ(key.size(), 24u);
  EXPECT_EQ(Sign(key, kMsgId, kTimestamp, kPayload), kSignature);
}

TEST(SignTest, DependsOnEveryInput) {
  const std::string key = Key();
  EXPECT_NE(Sign(key, kMsgId, kTimestamp, R"({"test": 2432232315})"), kSignature);
  EXPECT_NE(Sign(key, "msg_other", kTimestamp, kPayload), kSignature);
  EXPECT_NE(Sign(key, kMsgId, kTimestamp + 1, kPayload), kSignature);
  EXPECT_NE(Sign(OtherKey(), kMsgId, kTimestamp, kPayload), kSignature);
}

// Keys are never empty in the service; this pins that the empty (possibly
// NULL-data) key is still plain HMAC-SHA256 and does not abort. Expected value
// from Python's hmac module.
TEST(SignTest, EmptyKeyIsPlainHmac) {
  EXPECT_EQ(Sign("", "msg_1", 1, "body"), "v1,16udf9yqzbDrUs9oRnSIjhhUUK/6v5dFkLLASERTqtc=");
  EXPECT_EQ(Sign(absl::string_view(), "msg_1", 1, "body"),
            "v1,16udf9yqzbDrUs9oRnSIjhhUUK/6v5dFkLLASERTqtc=");
}

// The signatures one thread makes share an HMAC context that each re-keys:
// none may sign with the key of the one before, the empty key included (to
// OpenSSL a null key means "the previous one"). Expected values from
// `openssl dgst -sha256 -hmac`.
TEST(SignTest, EachSignatureUsesItsOwnKeyWhateverTheThreadSignedBefore) {
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(Sign(OtherKey(), "msg_a", 1700000000, R"({"a":1})"),
              "v1,98/lGpPdZjXxVM0NUYW86ezvGax7EWpOjOP1SNV6bS4=");
    EXPECT_EQ(Sign(absl::string_view(), "msg_a", 1700000000, R"({"a":1})"),
              "v1,qrRJjoL+PbjIzQmbomEO4ndAbeYnP1Ha/meYj64NHYM=");
    EXPECT_EQ(Sign(Key(), kMsgId, kTimestamp, kPayload), kSignature);
  }
}

TEST(SignatureHeaderTest, OneEntryPerKeyInOrder) {
  const std::string other = Sign(OtherKey(), kMsgId, kTimestamp, kPayload);
  EXPECT_EQ(SignatureHeader({Key(), OtherKey()}, kMsgId, kTimestamp, kPayload),
            absl::StrCat(kSignature, " ", other));
  EXPECT_EQ(SignatureHeader({OtherKey(), Key()}, kMsgId, kTimestamp, kPayload),
            absl::StrCat(other, " ", kSignature));
}

TEST(SignatureHeaderTest, SingleAndNoKeys) {
  EXPECT_EQ(SignatureHeader({Key()}, kMsgId, kTimestamp, kPayload), kSignature);
  EXPECT_EQ(SignatureHeader({}, kMsgId, kTimestamp, kPayload), "");
}

TEST(VerifySignatureTest, AcceptsVector) { EXPECT_TRUE(Verify({Key()}, kSignature).ok()); }

TEST(VerifySignatureTest, AcceptsOwnHeader) {
  const std::vector<std::string> keys = {Key(), OtherKey()};
  EXPECT_TRUE(Verify(keys, SignatureHeader(keys, kMsgId, kTimestamp, kPayload)).ok());
}

TEST(VerifySignatureTest, RejectsTamperedBody) {
  ExpectNoMatch(Verify({Key()}, kSignature, R"({"test": 2432232315})"));
  ExpectNoMatch(Verify({Key()}, kSignature, R"({"test": 2432232314} )"));
  ExpectNoMatch(Verify({Key()}, kSignature, ""));
}

TEST(VerifySignatureTest, RejectsWrongMessageId) {
  ExpectNoMatch(Verify({Key()}, kSignature, kPayload, "msg_p5jXN8AQM9LWM0D4loKWxJeK"));
}

TEST(VerifySignatureTest, RejectsWrongKey) {
  ExpectNoMatch(Verify({OtherKey()}, kSignature));
  ExpectNoMatch(Verify({}, kSignature));
}

TEST(VerifySignatureTest, RejectsOtherSignatures) {
  ExpectNoMatch(Verify({Key()}, kForeignSignature));
  ExpectNoMatch(Verify({Key()}, kLastByteFlipped));
}

TEST(VerifySignatureTest, ToleranceIsInclusive) {
  const absl::Duration tolerance = absl::Minutes(5);
  EXPECT_TRUE(
      Verify({Key()}, kSignature, kPayload, kMsgId, kTimestampHeader, kNow + tolerance).ok());
  EXPECT_TRUE(
      Verify({Key()}, kSignature, kPayload, kMsgId, kTimestampHeader, kNow - tolerance).ok());
}

TEST(VerifySignatureTest, RejectsTimestampTooOld) {
  const absl::Status status = Verify({Key()}, kSignature, kPayload, kMsgId, kTimestampHeader,
                                     kNow + absl::Minutes(5) + absl::Seconds(1));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(status.message(), "webhook-timestamp: timestamp too old");
}

TEST(VerifySignatureTest, RejectsTimestampTooNew) {
  const absl::Status status = Verify({Key()}, kSignature, kPayload, kMsgId, kTimestampHeader,
                                     kNow - absl::Minutes(5) - absl::Seconds(1));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(status.message(), "webhook-timestamp: timestamp too new");
}

TEST(VerifySignatureTest, HonoursCustomTolerance) {
  const absl::Status status =
      VerifySignature({Key()}, kMsgId, kTimestampHeader, kSignature, kPayload,
                      kNow + absl::Seconds(11), absl::Seconds(10));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(status.message()), HasSubstr("timestamp too old"));
}

TEST(VerifySignatureTest, RejectsMalformedTimestamp) {
  for (absl::string_view timestamp :
       {"hello", "", "-1614265330", "+1614265330", " 1614265330", "1614265330 ", "1614265330.0",
        "1614265330e0", "0x603872f2", "16142653300000000000" /* 20 digits */}) {
    const absl::Status status = Verify({Key()}, kSignature, kPayload, kMsgId, timestamp, kNow);
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << timestamp;
    EXPECT_THAT(std::string(status.message()), HasSubstr("webhook-timestamp: ")) << timestamp;
  }
}

TEST(VerifySignatureTest, HugeNineteenDigitTimestampIsTooNew) {
  const absl::Status status =
      Verify({Key()}, kSignature, kPayload, kMsgId, "9999999999999999999", kNow);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(status.message()), HasSubstr("timestamp too new"));
}

// The signed content holds the header text; a re-spelled number is another
// message.
TEST(VerifySignatureTest, SignsTimestampAsWritten) {
  ExpectNoMatch(Verify({Key()}, kSignature, kPayload, kMsgId, "01614265330", kNow));
}

TEST(VerifySignatureTest, RejectsHeaderWithoutV1Entry) {
  const std::string base64 = std::string(kSignature).substr(3);
  ExpectNoMatch(Verify({Key()}, ""));
  ExpectNoMatch(Verify({Key()}, "   "));
  ExpectNoMatch(Verify({Key()}, absl::StrCat("v2,", base64)));
  ExpectNoMatch(Verify({Key()}, absl::StrCat("V1,", base64)));
  ExpectNoMatch(Verify({Key()}, base64));
  ExpectNoMatch(Verify({Key()}, "v1,"));
}

TEST(VerifySignatureTest, SkipsV1aEntries) {
  // "v1a" is the asymmetric (ed25519) scheme; its value is never an HMAC.
  ExpectNoMatch(Verify({Key()}, absl::StrCat("v1a,", std::string(kSignature).substr(3))));
}

TEST(VerifySignatureTest, RejectsNonCanonicalBase64) {
  const std::string base64 = std::string(kSignature).substr(3);
  ExpectNoMatch(Verify({Key()}, absl::StrCat("v1,", base64.substr(0, 43))));  // no padding
  ExpectNoMatch(Verify({Key()}, absl::StrCat("v1,", base64, "=")));
  ExpectNoMatch(Verify({Key()}, absl::StrCat("v1,\t", base64)));
  ExpectNoMatch(Verify({Key()}, absl::StrCat("v1,", base64.substr(0, 42), "==")));
}

TEST(VerifySignatureTest, RejectsStrayBitsInTheLastBase64Character) {
  // 32 bytes are 42 characters and 4 bits of the 43rd, whose 2 low bits must
  // be zero: the other three characters with the same high bits used to pass.
  constexpr absl::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string base64 = std::string(kSignature).substr(3);
  const size_t value = kAlphabet.find(base64[42]);
  ASSERT_EQ(value % 4, 0u);
  for (size_t low_bits = 1; low_bits < 4; ++low_bits) {
    base64[42] = kAlphabet[value + low_bits];
    ExpectNoMatch(Verify({Key()}, absl::StrCat("v1,", base64)));
  }
}

TEST(VerifySignatureTest, AcceptsSecondOfSeveralSignatures) {
  EXPECT_TRUE(Verify({Key()}, absl::StrCat(kForeignSignature, " ", kSignature)).ok());
  // The multi-signature case of the reference tests: unknown versions and
  // non-matching v1 entries around the valid one.
  EXPECT_TRUE(Verify({Key()}, absl::StrCat(kForeignSignature, " v2,",
                                           std::string(kForeignSignature).substr(3), " ",
                                           kSignature, " ", kForeignSignature))
                  .ok());
}

TEST(VerifySignatureTest, AcceptsWhenOnlySecondKeyMatches) {
  EXPECT_TRUE(Verify({OtherKey(), Key()}, kSignature).ok());
}

TEST(VerifySignatureTest, MessagesNeverContainSecretsOrSignatures) {
  const std::string base64 = std::string(kSignature).substr(3);
  const std::string secret_base64 = std::string(kSecret).substr(6);
  for (const absl::Status& status :
       {Verify({Key()}, kSignature, "tampered"),
        Verify({Key()}, kSignature, kPayload, kMsgId, "x", kNow),
        Verify({Key()}, kSignature, kPayload, kMsgId, kTimestampHeader, kNow + absl::Hours(1))}) {
    ASSERT_FALSE(status.ok());
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr(base64)));
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr(secret_base64)));
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr(Key())));
  }
}

}  // namespace
}  // namespace wink::webhooks::testing
