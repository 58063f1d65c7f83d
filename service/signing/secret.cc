#include "service/signing/secret.h"

#include <openssl/rand.h>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace wink::webhooks::signing {
namespace {

constexpr size_t kMinKeyBytes = 24;
constexpr size_t kMaxKeyBytes = 64;

}  // namespace

absl::StatusOr<std::string> GenerateSecretKey() {
  std::string key(kSecretKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), kSecretKeyBytes) != 1) {
    return absl::InternalError("OpenSSL RAND_bytes failed to generate a secret");
  }
  return key;
}

std::string FormatSecret(absl::string_view key) {
  return absl::StrCat(kSecretPrefix, absl::Base64Escape(key));
}

absl::StatusOr<std::string> ParseSecret(absl::string_view secret) {
  if (!absl::StartsWith(secret, kSecretPrefix)) {
    return absl::InvalidArgumentError("secret must start with whsec_");
  }
  std::string key;
  if (!absl::Base64Unescape(secret.substr(kSecretPrefix.size()), &key)) {
    return absl::InvalidArgumentError("secret is not valid base64 after whsec_");
  }
  if (key.size() < kMinKeyBytes || key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "secret key must be ", kMinKeyBytes, "-", kMaxKeyBytes, " bytes, got ", key.size()));
  }
  return key;
}

}  // namespace wink::webhooks::signing
