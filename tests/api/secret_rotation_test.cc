#include "service/api/secret_rotation.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wink::webhooks::api {
namespace {

using ::testing::ElementsAre;

const absl::Time kStart = absl::FromUnixSeconds(1764000000);

domain::WebhookRecord WithSecret(const std::string& key) {
  domain::WebhookRecord record;
  auto* secret = record.add_secrets();
  secret->set_key(key);
  secret->set_create_time_us(absl::ToUnixMicros(kStart));
  return record;
}

internal::v1::SigningSecretRecord Hmac(const std::string& key) {
  internal::v1::SigningSecretRecord secret;
  secret.set_key(key);
  return secret;
}

std::vector<std::string> Keys(const domain::WebhookRecord& record) {
  std::vector<std::string> keys;
  for (const auto& secret : record.secrets()) keys.push_back(secret.key());
  return keys;
}

TEST(RotateSecretsTest, NewSecretIsCurrentAndThePreviousSignsForTheOverlap) {
  domain::WebhookRecord record = WithSecret("k1");
  const absl::Time now = kStart + absl::Hours(1);
  RotateSecrets(record, Hmac("k2"), now, absl::Hours(24));

  EXPECT_THAT(Keys(record), ElementsAre("k2", "k1"));
  EXPECT_EQ(record.secret_generation(), 1u);
  EXPECT_EQ(record.secrets(0).create_time_us(), absl::ToUnixMicros(now));
  EXPECT_EQ(record.secrets(0).expire_time_us(), 0);
  EXPECT_EQ(record.secrets(1).expire_time_us(), absl::ToUnixMicros(now + absl::Hours(24)));
  EXPECT_EQ(PreviousSecretExpireTime(record, now), now + absl::Hours(24));
  EXPECT_EQ(PreviousSecretExpireTime(record, now + absl::Hours(24)), std::nullopt);
}

TEST(RotateSecretsTest, ZeroOverlapDropsThePreviousSecretAtOnce) {
  domain::WebhookRecord record = WithSecret("k1");
  RotateSecrets(record, Hmac("k2"), kStart, absl::ZeroDuration());
  EXPECT_THAT(Keys(record), ElementsAre("k2"));
  EXPECT_EQ(PreviousSecretExpireTime(record, kStart), std::nullopt);
}

TEST(RotateSecretsTest, RapidRotationsKeepAtMostTwoPreviousSecretsNewestFirst) {
  domain::WebhookRecord record = WithSecret("k1");
  absl::Time now = kStart;
  for (const char* key : {"k2", "k3", "k4", "k5"}) {
    now += absl::Minutes(1);
    RotateSecrets(record, Hmac(key), now, absl::Hours(24));
  }
  EXPECT_THAT(Keys(record), ElementsAre("k5", "k4", "k3"));
  EXPECT_EQ(PreviousSecretExpireTime(record, now), now + absl::Hours(24));
}

TEST(RotateSecretsTest, ExpiredPreviousSecretsAreDropped) {
  domain::WebhookRecord record = WithSecret("k1");
  RotateSecrets(record, Hmac("k2"), kStart, absl::Hours(1));
  RotateSecrets(record, Hmac("k3"), kStart + absl::Hours(2), absl::Hours(1));  // k1 expired
  EXPECT_THAT(Keys(record), ElementsAre("k3", "k2"));
}

}  // namespace
}  // namespace wink::webhooks::api
