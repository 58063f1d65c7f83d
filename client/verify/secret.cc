// Secrets in the Standard Webhooks format. The one implementation in the
// tree: service/signing/secret.h re-exports these names for the service.
#include <openssl/rand.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "wink/webhooks/verify.h"

namespace wink::webhooks {
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
  const absl::string_view encoded = secret.substr(kSecretPrefix.size());
  // absl's decoder skips whitespace and tolerates missing padding; a secret
  // is copied around by people, so accept exactly one spelling.
  const bool canonical =
      encoded.size() % 4 == 0 && std::all_of(encoded.begin(), encoded.end(), [](char c) {
        return absl::ascii_isalnum(c) || c == '+' || c == '/' || c == '=';
      });
  std::string key;
  if (!canonical || !absl::Base64Unescape(encoded, &key) || absl::Base64Escape(key) != encoded) {
    return absl::InvalidArgumentError("secret is not valid base64 after whsec_");
  }
  if (key.size() < kMinKeyBytes || key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("secret key must be ", kMinKeyBytes, "-",
                                                   kMaxKeyBytes, " bytes, got ", key.size()));
  }
  return key;
}

}  // namespace wink::webhooks
