#include "service/secrets/webhook_secrets.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"

namespace wink::webhooks::secrets {
namespace {

// What each sealed value is bound to (see Keyring::Seal's `context`).
std::string SigningKeyContext(const WebhookRecord& record) {
  return absl::StrCat("webhook signing key\n", record.account());
}

std::string HeaderContext(const WebhookRecord& record, absl::string_view name) {
  return absl::StrCat("webhook header\n", record.account(), "\n", name);
}

}  // namespace

absl::Status SealWebhookSecrets(const Keyring& keyring, WebhookRecord& record) {
  if (!keyring.has_keys()) return absl::OkStatus();
  for (SigningSecretRecord& secret : *record.mutable_secrets()) {
    if (secret.key().empty()) continue;
    WINK_ASSIGN_OR_RETURN(std::string sealed, keyring.Seal(secret.key(), SigningKeyContext(record)));
    secret.set_sealed_key(std::move(sealed));
    secret.clear_key();
  }
  for (const auto& [name, value] : record.headers()) {
    WINK_ASSIGN_OR_RETURN(std::string sealed, keyring.Seal(value, HeaderContext(record, name)));
    (*record.mutable_sealed_headers())[name] = std::move(sealed);
  }
  record.clear_headers();
  return absl::OkStatus();
}

bool NeedsSealing(const Keyring& keyring, const WebhookRecord& record) {
  if (!keyring.has_keys()) return false;
  const auto stale = [&](const std::string& sealed) {
    return Keyring::KeyIdOf(sealed) != keyring.sealing_key_id();
  };
  if (!record.headers().empty()) return true;
  for (const auto& [name, sealed] : record.sealed_headers()) {
    if (stale(sealed)) return true;
  }
  for (const SigningSecretRecord& secret : record.secrets()) {
    if (!secret.key().empty() || stale(secret.sealed_key())) return true;
  }
  return false;
}

absl::StatusOr<std::string> OpenSigningKey(const Keyring& keyring, const WebhookRecord& record,
                                           const SigningSecretRecord& secret) {
  if (secret.sealed_key().empty()) return secret.key();
  return keyring.Open(secret.sealed_key(), SigningKeyContext(record));
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> OpenHeaders(
    const Keyring& keyring, const WebhookRecord& record) {
  std::vector<std::pair<std::string, std::string>> headers(record.headers().begin(),
                                                           record.headers().end());
  for (const auto& [name, sealed] : record.sealed_headers()) {
    WINK_ASSIGN_OR_RETURN(std::string value, keyring.Open(sealed, HeaderContext(record, name)));
    headers.emplace_back(name, std::move(value));
  }
  std::sort(headers.begin(), headers.end());
  return headers;
}

absl::Status OpenWebhookSecrets(const Keyring& keyring, WebhookRecord& record) {
  for (SigningSecretRecord& secret : *record.mutable_secrets()) {
    if (secret.sealed_key().empty()) continue;
    WINK_ASSIGN_OR_RETURN(std::string key, OpenSigningKey(keyring, record, secret));
    secret.set_key(std::move(key));
    secret.clear_sealed_key();
  }
  if (!record.sealed_headers().empty()) {
    WINK_ASSIGN_OR_RETURN(auto headers, OpenHeaders(keyring, record));
    record.clear_sealed_headers();
    record.clear_headers();
    for (auto& [name, value] : headers) (*record.mutable_headers())[name] = std::move(value);
  }
  return absl::OkStatus();
}

}  // namespace wink::webhooks::secrets
