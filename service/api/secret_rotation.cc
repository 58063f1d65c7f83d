#include "service/api/secret_rotation.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "service/common/status_macros.h"
#include "service/signing/secret.h"

namespace wink::webhooks::api {

using ::wink::webhooks::internal::v1::SigningSecretRecord;

absl::StatusOr<SigningSecretRecord> NewSigningSecret(v1::SignatureScheme scheme, absl::Time now) {
  SigningSecretRecord secret;
  secret.set_create_time_us(absl::ToUnixMicros(now));
  if (scheme == v1::SIGNATURE_SCHEME_ED25519) {
    WINK_ASSIGN_OR_RETURN(std::string key, signing::GenerateSigningKey());
    WINK_ASSIGN_OR_RETURN(std::string public_key, signing::PublicKeyOf(key));
    secret.set_key(std::move(key));
    secret.set_public_key(std::move(public_key));
    secret.set_algorithm(internal::v1::SIGNING_ALGORITHM_ED25519);
  } else {
    WINK_ASSIGN_OR_RETURN(std::string key, signing::GenerateSecretKey());
    secret.set_key(std::move(key));
    secret.set_algorithm(internal::v1::SIGNING_ALGORITHM_HMAC_SHA256);
  }
  return secret;
}

v1::SignatureScheme SchemeOf(const SigningSecretRecord& secret) {
  return secret.algorithm() == internal::v1::SIGNING_ALGORITHM_ED25519
             ? v1::SIGNATURE_SCHEME_ED25519
             : v1::SIGNATURE_SCHEME_HMAC_SHA256;
}

void RotateSecrets(domain::WebhookRecord& record, SigningSecretRecord fresh, absl::Time now,
                   absl::Duration overlap) {
  const int64_t now_us = absl::ToUnixMicros(now);
  std::vector<SigningSecretRecord> kept;
  fresh.set_create_time_us(now_us);
  fresh.set_expire_time_us(0);
  kept.push_back(std::move(fresh));
  // Secrets are stored newest first, so the loop meets the oldest last.
  for (int i = 0; i < record.secrets_size(); ++i) {
    SigningSecretRecord old = record.secrets(i);
    if (i == 0) old.set_expire_time_us(absl::ToUnixMicros(now + overlap));
    if (old.expire_time_us() > now_us && static_cast<int>(kept.size()) <= kMaxPreviousSecrets) {
      kept.push_back(std::move(old));
    }
  }
  record.clear_secrets();
  for (auto& secret : kept) *record.add_secrets() = std::move(secret);
  record.set_secret_generation(record.secret_generation() + 1);
}

std::optional<absl::Time> PreviousSecretExpireTime(const domain::WebhookRecord& record,
                                                   absl::Time now) {
  const int64_t now_us = absl::ToUnixMicros(now);
  int64_t latest = 0;
  for (int i = 1; i < record.secrets_size(); ++i) {
    if (record.secrets(i).expire_time_us() > now_us) {
      latest = std::max(latest, record.secrets(i).expire_time_us());
    }
  }
  if (latest == 0) return std::nullopt;
  return absl::FromUnixMicros(latest);
}

}  // namespace wink::webhooks::api
