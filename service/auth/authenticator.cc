#include "service/auth/authenticator.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace wink::webhooks::auth {
namespace {

constexpr absl::string_view kBearerPrefix = "bearer ";

std::array<unsigned char, 32> Sha256(absl::string_view data) {
  std::array<unsigned char, 32> digest;
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data());
  return digest;
}

}  // namespace

std::string Sha256Hex(absl::string_view token) {
  const auto digest = Sha256(token);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

Authenticator::Authenticator(const config::ServerConfig& config)
    : Authenticator(config, nullptr, SystemClock()) {}

Authenticator::Authenticator(const config::ServerConfig& config, const KeyRegistry* keys,
                             const Clock& clock)
    : keys_(keys), clock_(clock) {
  for (const auto& token : config.tokens()) {
    Entry entry{{},
                std::make_shared<const Principal>(
                    token.name(), token.admin(),
                    absl::flat_hash_set<std::string>(token.accounts().begin(),
                                                     token.accounts().end()))};
    const std::string raw = absl::HexStringToBytes(token.sha256());
    std::copy(raw.begin(), raw.end(), entry.sha256.begin());
    entries_.push_back(std::move(entry));
  }
}

absl::StatusOr<std::shared_ptr<const Principal>> Authenticator::Authenticate(
    absl::Span<const absl::string_view> values) const {
  if (values.empty()) {
    return absl::UnauthenticatedError(
        "missing authorization metadata; send \"authorization: Bearer <token>\"");
  }
  if (values.size() > 1) {
    return absl::UnauthenticatedError("send exactly one authorization header");
  }
  const absl::string_view authorization = values[0];
  if (authorization.size() <= kBearerPrefix.size() ||
      !absl::StartsWithIgnoreCase(authorization, kBearerPrefix)) {
    return absl::UnauthenticatedError("authorization metadata must be \"Bearer <token>\"");
  }
  const absl::string_view token =
      absl::StripAsciiWhitespace(authorization.substr(kBearerPrefix.size()));
  // An empty token would match a config holding sha256("") — what an unset
  // shell variable produces.
  if (token.empty()) return absl::UnauthenticatedError("empty bearer token");
  const auto presented = Sha256(token);
  const std::shared_ptr<const Principal>* match = nullptr;
  // Compare against every entry, without stopping early.
  for (const Entry& entry : entries_) {
    if (CRYPTO_memcmp(entry.sha256.data(), presented.data(), presented.size()) == 0) {
      match = &entry.principal;
    }
  }
  if (match != nullptr) return *match;
  if (keys_ != nullptr) {
    std::shared_ptr<const Principal> key = keys_->Find(absl::string_view(
        reinterpret_cast<const char*>(presented.data()), presented.size()));
    if (key != nullptr) {
      const absl::Time now = clock_.Now();
      if (!key->ValidAt(now)) {
        return absl::UnauthenticatedError("this API key was revoked, rotated out or has expired");
      }
      if (use_recorder_ && key->ShouldRecordUse(now)) use_recorder_(*key, now);
      return key;
    }
  }
  return absl::UnauthenticatedError("invalid bearer token");
}

}  // namespace wink::webhooks::auth
