#include "service/delivery/delivery_request.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"
#include "service/delivery/envelope.h"
#include "service/secrets/webhook_secrets.h"
#include "service/signing/signature.h"

namespace wink::webhooks::delivery {

absl::StatusOr<http::HttpRequest> BuildDeliveryRequest(const domain::WebhookRecord& webhook,
                                                       const domain::EventRecord& event,
                                                       absl::Time now,
                                                       const secrets::Keyring& keyring) {
  const int64_t now_us = absl::ToUnixMicros(now);
  std::vector<signing::SigningKey> keys;
  for (const auto& secret : webhook.secrets()) {
    if (secret.expire_time_us() == 0 || secret.expire_time_us() > now_us) {
      WINK_ASSIGN_OR_RETURN(std::string key, secrets::OpenSigningKey(keyring, webhook, secret));
      const bool ed25519 = secret.algorithm() == internal::v1::SIGNING_ALGORITHM_ED25519;
      // SignEd25519 takes only well-formed keys; a damaged record must fail
      // this attempt, not the process.
      if (ed25519 && key.size() != static_cast<size_t>(kEd25519KeyBytes)) {
        return absl::DataLossError(absl::StrCat("the Ed25519 signing key of webhook ",
                                                webhook.id(), " is damaged (", key.size(),
                                                " bytes)"));
      }
      keys.push_back({ed25519 ? signing::SignatureScheme::kEd25519
                              : signing::SignatureScheme::kHmacSha256,
                      std::move(key)});
    }
  }
  WINK_ASSIGN_OR_RETURN(auto custom_headers, secrets::OpenHeaders(keyring, webhook));
  http::HttpRequest request;
  request.url = webhook.url();
  request.body = BuildEnvelope(event);
  const int64_t timestamp = absl::ToUnixSeconds(now);
  request.headers.reserve(6 + custom_headers.size());
  request.headers.emplace_back("content-type", "application/json");
  request.headers.emplace_back("webhook-id", event.id());
  request.headers.emplace_back("webhook-timestamp", absl::StrCat(timestamp));
  request.headers.emplace_back("webhook-signature",
                               signing::SignatureHeaderFor(keys, event.id(), timestamp, request.body));
  const bool traced = !event.traceparent().empty();
  if (traced) {
    request.headers.emplace_back("traceparent", event.traceparent());
    if (!event.tracestate().empty()) {
      request.headers.emplace_back("tracestate", event.tracestate());
    }
  }
  // OpenHeaders returns them in name order. A webhook stored before the
  // trace headers were reserved may still carry its own: the event's win.
  for (auto& header : custom_headers) {
    if (traced && (absl::EqualsIgnoreCase(header.first, "traceparent") ||
                   absl::EqualsIgnoreCase(header.first, "tracestate"))) {
      continue;
    }
    request.headers.push_back(std::move(header));
  }
  return request;
}

}  // namespace wink::webhooks::delivery
