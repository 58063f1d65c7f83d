// Secrets in the Standard Webhooks format. The one implementation in the
// tree: service/signing/secret.h re-exports these names for the service.
#include <openssl/rand.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "signature_internal.h"
#include "wink/webhooks/verify.h"

namespace wink::webhooks {
namespace {

constexpr size_t kMinKeyBytes = 24;
constexpr size_t kMaxKeyBytes = 64;

}  // namespace

namespace internal {

absl::StatusOr<std::string> ParsePrefixedKey(absl::string_view text, absl::string_view prefix,
                                             absl::string_view what, size_t min_bytes,
                                             size_t max_bytes) {
  if (!absl::StartsWith(text, prefix)) {
    return absl::InvalidArgumentError(absl::StrCat(what, " must start with ", prefix));
  }
  const absl::string_view encoded = text.substr(prefix.size());
  // absl's decoder skips whitespace and tolerates missing padding; a key is
  // copied around by people, so accept exactly one spelling.
  const bool canonical =
      encoded.size() % 4 == 0 && std::all_of(encoded.begin(), encoded.end(), [](char c) {
        return absl::ascii_isalnum(c) || c == '+' || c == '/' || c == '=';
      });
  std::string key;
  if (!canonical || !absl::Base64Unescape(encoded, &key) || absl::Base64Escape(key) != encoded) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not valid base64 after ", prefix));
  }
  if (key.size() < min_bytes || key.size() > max_bytes) {
    const std::string sizes = min_bytes == max_bytes ? absl::StrCat(min_bytes)
                                                     : absl::StrCat(min_bytes, "-", max_bytes);
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must decode to ", sizes, " bytes, got ", key.size()));
  }
  return key;
}

}  // namespace internal

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
  return internal::ParsePrefixedKey(secret, kSecretPrefix, "secret", kMinKeyBytes, kMaxKeyBytes);
}

std::vector<std::string> SplitSecretList(absl::string_view text) {
  std::vector<std::string> secrets;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (absl::StartsWith(line, "#")) continue;
    for (absl::string_view secret :
         absl::StrSplit(line, absl::ByAnyChar(", \t\r"), absl::SkipEmpty())) {
      secrets.emplace_back(secret);
    }
  }
  return secrets;
}

absl::StatusOr<std::vector<std::string>> ReadSecretFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  const std::string contents = file ? std::string(std::istreambuf_iterator<char>(file), {}) : "";
  if (!file || file.bad()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read '", path, "': ", std::strerror(errno)));
  }
  std::vector<std::string> secrets = SplitSecretList(contents);
  if (secrets.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no secret in '", path, "' (expected whsec_... lines)"));
  }
  return secrets;
}

}  // namespace wink::webhooks
