// WebhookVerifier and WebhookSigner: secrets parsed once, headers picked out
// of a request; the cryptography is in signature.cc.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "signature_internal.h"
#include "wink/webhooks/verify.h"

namespace wink::webhooks {
namespace {

// What a list of "whsec_"/"whpk_"/"whsk_" strings holds, by kind, in order.
struct ParsedKeys {
  std::vector<std::string> hmac;
  std::vector<std::string> public_keys;
  std::vector<SigningKey> signing;  // whsec_ and whsk_, in the order given
};

// Parses `secrets`; `accept_public` (verifiers) or `accept_private`
// (signers) says which asymmetric half is allowed. Errors name the index,
// never the key.
absl::StatusOr<ParsedKeys> ParseKeys(absl::Span<const std::string> secrets, bool for_signing) {
  if (secrets.empty()) {
    return absl::InvalidArgumentError(for_signing
                                          ? "secrets: at least one whsec_ or whsk_ key is required"
                                          : "secrets: at least one whsec_ or whpk_ key is required");
  }
  ParsedKeys parsed;
  for (size_t i = 0; i < secrets.size(); ++i) {
    const absl::string_view text = secrets[i];
    absl::StatusOr<std::string> key;
    if (absl::StartsWith(text, kPublicKeyPrefix)) {
      key = for_signing ? absl::InvalidArgumentError("a whpk_ public key cannot sign")
                        : ParsePublicKey(text);
      if (key.ok()) parsed.public_keys.push_back(*key);
    } else if (absl::StartsWith(text, kSigningKeyPrefix)) {
      key = for_signing ? ParseSigningKey(text)
                        : absl::InvalidArgumentError(
                              "a whsk_ private key does not belong on a receiver; give its "
                              "whpk_ public key");
      if (key.ok()) parsed.signing.push_back({SignatureScheme::kEd25519, *key});
    } else {
      key = ParseSecret(text);
      if (key.ok()) {
        parsed.hmac.push_back(*key);
        parsed.signing.push_back({SignatureScheme::kHmacSha256, *key});
      }
    }
    if (!key.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("secrets[", i, "]: ", key.status().message()));
    }
  }
  return parsed;
}

absl::Status Missing(absl::string_view header) {
  return absl::UnauthenticatedError(absl::StrCat(header, ": header missing"));
}

// Sets `*value` to the value of the header named `name` (any case). An
// absent header leaves it empty, which the caller reports as missing.
absl::Status FindHeader(absl::Span<const std::pair<std::string, std::string>> headers,
                        absl::string_view name, absl::string_view* value) {
  bool found = false;
  for (const auto& [header_name, header_value] : headers) {
    if (!absl::EqualsIgnoreCase(header_name, name)) continue;
    // Two values could be read differently by a proxy and by us; the
    // sender never repeats these headers, so refuse rather than pick one.
    if (found) return absl::UnauthenticatedError(absl::StrCat(name, ": header repeated"));
    found = true;
    *value = header_value;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WebhookVerifier> WebhookVerifier::Create(absl::Span<const std::string> secrets) {
  return Create(secrets, Options());
}

absl::StatusOr<WebhookVerifier> WebhookVerifier::Create(absl::Span<const std::string> secrets,
                                                        Options options) {
  if (options.tolerance < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("tolerance: must not be negative");
  }
  absl::StatusOr<ParsedKeys> keys = ParseKeys(secrets, /*for_signing=*/false);
  if (!keys.ok()) return keys.status();
  return WebhookVerifier(std::move(keys->hmac), std::move(keys->public_keys), options.tolerance);
}

absl::Status WebhookVerifier::Verify(absl::Span<const std::pair<std::string, std::string>> headers,
                                     absl::string_view body, absl::Time now) const {
  absl::string_view id, timestamp, signature;
  for (auto [name, value] :
       {std::make_pair(kWebhookIdHeader, &id), std::make_pair(kWebhookTimestampHeader, &timestamp),
        std::make_pair(kWebhookSignatureHeader, &signature)}) {
    absl::Status found = FindHeader(headers, name, value);
    if (!found.ok()) return found;
  }
  return Verify(id, timestamp, signature, body, now);
}

absl::Status WebhookVerifier::Verify(absl::string_view webhook_id,
                                     absl::string_view webhook_timestamp,
                                     absl::string_view webhook_signature, absl::string_view body,
                                     absl::Time now) const {
  if (webhook_id.empty()) return Missing(kWebhookIdHeader);
  if (webhook_timestamp.empty()) return Missing(kWebhookTimestampHeader);
  if (webhook_signature.empty()) return Missing(kWebhookSignatureHeader);
  if (absl::Status fresh = internal::CheckTimestamp(webhook_timestamp, now, tolerance_);
      !fresh.ok()) {
    return fresh;
  }
  if (internal::MatchesHmac(keys_, webhook_id, webhook_timestamp, webhook_signature, body) ||
      internal::MatchesEd25519(public_keys_, webhook_id, webhook_timestamp, webhook_signature,
                               body)) {
    return absl::OkStatus();
  }
  return absl::UnauthenticatedError("webhook-signature: no matching signature");
}

absl::StatusOr<WebhookSigner> WebhookSigner::Create(absl::Span<const std::string> secrets) {
  absl::StatusOr<ParsedKeys> keys = ParseKeys(secrets, /*for_signing=*/true);
  if (!keys.ok()) return keys.status();
  return WebhookSigner(std::move(keys->signing));
}

std::string WebhookSigner::Sign(absl::string_view webhook_id, absl::Time timestamp,
                                absl::string_view body) const {
  return SignatureHeaderFor(keys_, webhook_id, absl::ToUnixSeconds(timestamp), body);
}

std::vector<std::pair<std::string, std::string>> WebhookSigner::Headers(
    absl::string_view webhook_id, absl::Time timestamp, absl::string_view body) const {
  return {{std::string(kWebhookIdHeader), std::string(webhook_id)},
          {std::string(kWebhookTimestampHeader), absl::StrCat(absl::ToUnixSeconds(timestamp))},
          {std::string(kWebhookSignatureHeader), Sign(webhook_id, timestamp, body)}};
}

}  // namespace wink::webhooks
