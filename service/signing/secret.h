// Webhook signing secrets in the Standard Webhooks format: "whsec_"
// followed by the base64 (standard alphabet, padded) of 24-64 random bytes.
#ifndef WINK_WEBHOOKS_SERVICE_SIGNING_SECRET_H_
#define WINK_WEBHOOKS_SERVICE_SIGNING_SECRET_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wink::webhooks::signing {

inline constexpr absl::string_view kSecretPrefix = "whsec_";
// Size of the keys this service generates (the spec allows 24-64).
inline constexpr int kSecretKeyBytes = 32;

// Returns kSecretKeyBytes bytes from OpenSSL's CSPRNG. INTERNAL if the
// generator fails (it should not once seeded).
absl::StatusOr<std::string> GenerateSecretKey();

// "whsec_" + base64(key).
std::string FormatSecret(absl::string_view key);

// Inverse of FormatSecret. INVALID_ARGUMENT unless `secret` is "whsec_" and
// valid base64 of 24-64 bytes.
absl::StatusOr<std::string> ParseSecret(absl::string_view secret);

}  // namespace wink::webhooks::signing

#endif  // WINK_WEBHOOKS_SERVICE_SIGNING_SECRET_H_
