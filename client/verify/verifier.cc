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
#include "wink/webhooks/verify.h"

namespace wink::webhooks {
namespace {

// Raw keys of `secrets`, in order. Errors name the index, never the secret.
absl::StatusOr<std::vector<std::string>> ParseSecrets(absl::Span<const std::string> secrets) {
  if (secrets.empty()) {
    return absl::InvalidArgumentError("secrets: at least one whsec_ secret is required");
  }
  std::vector<std::string> keys;
  keys.reserve(secrets.size());
  for (size_t i = 0; i < secrets.size(); ++i) {
    absl::StatusOr<std::string> key = ParseSecret(secrets[i]);
    if (!key.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("secrets[", i, "]: ", key.status().message()));
    }
    keys.push_back(*std::move(key));
  }
  return keys;
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
  absl::StatusOr<std::vector<std::string>> keys = ParseSecrets(secrets);
  if (!keys.ok()) return keys.status();
  return WebhookVerifier(*std::move(keys), options.tolerance);
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
  return VerifySignature(keys_, webhook_id, webhook_timestamp, webhook_signature, body, now,
                         tolerance_);
}

absl::StatusOr<WebhookSigner> WebhookSigner::Create(absl::Span<const std::string> secrets) {
  absl::StatusOr<std::vector<std::string>> keys = ParseSecrets(secrets);
  if (!keys.ok()) return keys.status();
  return WebhookSigner(*std::move(keys));
}

std::string WebhookSigner::Sign(absl::string_view webhook_id, absl::Time timestamp,
                                absl::string_view body) const {
  return SignatureHeader(keys_, webhook_id, absl::ToUnixSeconds(timestamp), body);
}

std::vector<std::pair<std::string, std::string>> WebhookSigner::Headers(
    absl::string_view webhook_id, absl::Time timestamp, absl::string_view body) const {
  return {{std::string(kWebhookIdHeader), std::string(webhook_id)},
          {std::string(kWebhookTimestampHeader), absl::StrCat(absl::ToUnixSeconds(timestamp))},
          {std::string(kWebhookSignatureHeader), Sign(webhook_id, timestamp, body)}};
}

}  // namespace wink::webhooks
