// Which signing secrets a webhook keeps across rotations.
//
// After a rotation the new secret is current and the previous one keeps
// signing until `now + overlap`, so receivers can switch over without
// rejecting deliveries. Rotating again within the overlap keeps the older
// ones too, up to kMaxPreviousSecrets; expired ones are dropped.
#ifndef WINK_WEBHOOKS_SERVICE_API_SECRET_ROTATION_H_
#define WINK_WEBHOOKS_SERVICE_API_SECRET_ROTATION_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "wink/webhooks/v1/webhook_service.pb.h"
#include "service/domain/states.h"

namespace wink::webhooks::api {

// Previous secrets kept at most besides the current one, however often a
// webhook is rotated within the overlap window.
inline constexpr int kMaxPreviousSecrets = 2;

// A new signing key of `scheme` (UNSPECIFIED means HMAC-SHA256) created at
// `now`: 32 random bytes in `key`, unsealed, and for Ed25519 its public key.
// INTERNAL if the random generator or OpenSSL fails.
absl::StatusOr<internal::v1::SigningSecretRecord> NewSigningSecret(v1::SignatureScheme scheme,
                                                                   absl::Time now);

// The scheme a stored key signs with: records from before the choice (0)
// are HMAC-SHA256.
v1::SignatureScheme SchemeOf(const internal::v1::SigningSecretRecord& secret);

// Makes `fresh` the current secret of `record` and counts the rotation in
// `secret_generation`. The old current secret
// expires at `now + overlap` (an overlap of zero drops it at once); previous
// secrets that have expired, or are beyond kMaxPreviousSecrets (oldest
// first), are dropped. Keys of different schemes mix freely: during the
// overlap after a switch of scheme both sign.
void RotateSecrets(domain::WebhookRecord& record, internal::v1::SigningSecretRecord fresh,
                   absl::Time now, absl::Duration overlap);

// When the last previous secret that still signs at `now` stops signing, or
// nullopt if only the current secret signs.
std::optional<absl::Time> PreviousSecretExpireTime(const domain::WebhookRecord& record,
                                                   absl::Time now);

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_SECRET_ROTATION_H_
