#include "service/auth/authenticator.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/common/sha256.h"

namespace wink::webhooks::auth {
namespace {

constexpr absl::string_view kBearerPrefix = "bearer ";

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
    : keys_(keys), clock_(clock), entries_(MakeEntries(config, nullptr)) {}

std::shared_ptr<const Authenticator::Entries> Authenticator::MakeEntries(
    const config::ServerConfig& config, const Entries* previous) {
  auto entries = std::make_shared<Entries>();
  for (const auto& token : config.tokens()) {
    Entry entry;
    const std::string raw = absl::HexStringToBytes(token.sha256());
    std::copy(raw.begin(), raw.end(), entry.sha256.begin());
    entry.definition = token.SerializeAsString();
    if (previous != nullptr) {
      for (const Entry& old : *previous) {
        if (old.definition == entry.definition) entry.principal = old.principal;
      }
    }
    if (entry.principal == nullptr) {
      entry.principal = std::make_shared<Principal>(
          token.name(), token.admin(),
          absl::flat_hash_set<std::string>(token.accounts().begin(), token.accounts().end()));
    }
    entries->push_back(std::move(entry));
  }
  return entries;
}

int Authenticator::ReplaceTokens(const config::ServerConfig& config) {
  absl::MutexLock lock(&tokens_mu_);
  std::shared_ptr<const Entries> replaced = MakeEntries(config, entries_.get());
  int ended = 0;
  for (const Entry& old : *entries_) {
    const bool kept = std::any_of(replaced->begin(), replaced->end(), [&](const Entry& entry) {
      return entry.principal == old.principal;
    });
    if (!kept) {
      old.principal->SetNotAfter(absl::InfinitePast());
      ++ended;
    }
  }
  entries_ = std::move(replaced);
  return ended;
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
  std::shared_ptr<const Entries> entries;
  {
    absl::ReaderMutexLock lock(&tokens_mu_);
    entries = entries_;
  }
  const std::shared_ptr<Principal>* match = nullptr;
  // Compare against every entry, without stopping early.
  for (const Entry& entry : *entries) {
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
