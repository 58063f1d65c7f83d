#include "service/delivery/delivery_request.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/delivery/envelope.h"
#include "service/signing/signature.h"

namespace wink::webhooks::delivery {

http::HttpRequest BuildDeliveryRequest(const domain::WebhookRecord& webhook,
                                       const domain::EventRecord& event, absl::Time now) {
  const int64_t now_us = absl::ToUnixMicros(now);
  std::vector<std::string> keys;
  for (const auto& secret : webhook.secrets()) {
    if (secret.expire_time_us() == 0 || secret.expire_time_us() > now_us) {
      keys.push_back(secret.key());
    }
  }
  http::HttpRequest request;
  request.url = webhook.url();
  request.body = BuildEnvelope(event);
  const int64_t timestamp = absl::ToUnixSeconds(now);
  request.headers.reserve(4 + webhook.headers_size());
  request.headers.emplace_back("content-type", "application/json");
  request.headers.emplace_back("webhook-id", event.id());
  request.headers.emplace_back("webhook-timestamp", absl::StrCat(timestamp));
  request.headers.emplace_back("webhook-signature",
                               signing::SignatureHeader(keys, event.id(), timestamp, request.body));
  std::vector<std::pair<std::string, std::string>> custom(webhook.headers().begin(),
                                                          webhook.headers().end());
  std::sort(custom.begin(), custom.end());
  for (auto& header : custom) request.headers.push_back(std::move(header));
  return request;
}

}  // namespace wink::webhooks::delivery
