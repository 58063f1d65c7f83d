#include "service/api/webhook_service.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/types/span.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/message_differencer.h"
#include "service/api/page_token.h"
#include "service/api/resource_mapping.h"
#include "service/api/secret_rotation.h"
#include "service/api/unary_call.h"
#include "service/api/webhook_validation.h"
#include "service/common/errors.h"
#include "service/common/ids.h"
#include "service/common/resource_names.h"
#include "service/common/sha256.h"
#include "service/common/status_macros.h"
#include "service/secrets/webhook_secrets.h"
#include "service/signing/secret.h"

namespace wink::webhooks::api {
namespace {

using ::wink::webhooks::internal::v1::SigningSecretRecord;
using ::wink::webhooks::storage::WebhookRecord;

// Soft cap on the encoded size of one List page.
constexpr size_t kMaxPageBytes = 1 << 20;

// Fields a caller may change with UpdateWebhook.
enum class MutableField {
  kDisplayName,
  kUrl,
  kEventTypes,
  kEnabled,
  kDescription,
  kHeaders,
  kRateLimit,
  kOrderedDelivery,
};

// What CreateWebhook takes from the request: every mutable field but
// `enabled`, whose absence means true on create.
constexpr MutableField kCreateFields[] = {
    MutableField::kDisplayName, MutableField::kUrl,     MutableField::kEventTypes,
    MutableField::kDescription, MutableField::kHeaders, MutableField::kRateLimit,
    MutableField::kOrderedDelivery,
};

constexpr std::pair<absl::string_view, MutableField> kMutableFields[] = {
    {"display_name", MutableField::kDisplayName}, {"url", MutableField::kUrl},
    {"event_types", MutableField::kEventTypes},   {"enabled", MutableField::kEnabled},
    {"description", MutableField::kDescription},  {"headers", MutableField::kHeaders},
    {"rate_limit", MutableField::kRateLimit},
    {"ordered_delivery", MutableField::kOrderedDelivery},
};
constexpr absl::string_view kOutputOnlyFields[] = {
    "name",          "create_time",  "update_time",   "secret",    "previous_secret_expire_time",
    "disabled_reason", "disable_time", "failing_since", "public_key"};

// The scheme is set on create; after that only a rotation changes it, since
// a new scheme needs a new key.
constexpr absl::string_view kSchemeChangesByRotation =
    "update_mask: \"signature_scheme\" changes only with RotateWebhookSecret "
    "(its signature_scheme field), which makes the new key";

// `scheme` as a known value: UNSPECIFIED, HMAC_SHA256 or ED25519.
absl::Status ValidateSignatureScheme(v1::SignatureScheme scheme, absl::string_view field) {
  if (scheme == v1::SIGNATURE_SCHEME_UNSPECIFIED || scheme == v1::SIGNATURE_SCHEME_HMAC_SHA256 ||
      scheme == v1::SIGNATURE_SCHEME_ED25519) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": unknown value ", static_cast<int>(scheme),
      "; use SIGNATURE_SCHEME_HMAC_SHA256 or SIGNATURE_SCHEME_ED25519"));
}

// Fills `out` from `record`. The current secret is included only when
// `include_secret` (Create and Rotate responses).
void ToApi(const WebhookRecord& record, absl::Time now, bool include_secret, v1::Webhook* out) {
  out->set_name(WebhookResourceName(record.account(), record.id()));
  out->set_display_name(record.display_name());
  out->set_url(record.url());
  out->mutable_event_types()->CopyFrom(record.event_types());
  out->set_enabled(record.enabled());
  out->set_description(record.description());
  out->mutable_headers()->insert(record.headers().begin(), record.headers().end());
  *out->mutable_create_time() = ToTimestamp(record.create_time_us());
  *out->mutable_update_time() = ToTimestamp(record.update_time_us());
  if (record.secrets_size() > 0) {
    const SigningSecretRecord& current = record.secrets(0);
    out->set_signature_scheme(SchemeOf(current));
    if (SchemeOf(current) == v1::SIGNATURE_SCHEME_ED25519) {
      out->set_public_key(signing::FormatPublicKey(current.public_key()));
    } else if (include_secret) {
      out->set_secret(signing::FormatSecret(current.key()));
    }
  }
  if (const auto expire = PreviousSecretExpireTime(record, now)) {
    *out->mutable_previous_secret_expire_time() = ToTimestamp(absl::ToUnixMicros(*expire));
  }
  if (!record.enabled()) {
    out->set_disabled_reason(static_cast<v1::DisabledReason>(record.disabled_reason()));
    if (record.disable_time_us() != 0) {
      *out->mutable_disable_time() = ToTimestamp(record.disable_time_us());
    }
  }
  if (record.failing_since_us() != 0) {
    *out->mutable_failing_since() = ToTimestamp(record.failing_since_us());
  }
  if (record.rate_limit_per_second() > 0) {
    out->mutable_rate_limit()->set_requests_per_second(record.rate_limit_per_second());
    out->mutable_rate_limit()->set_burst(record.rate_limit_burst());
  }
  out->set_ordered_delivery(record.ordered_delivery());
}

// SHA-256 of the deterministic encoding of the caller-settable fields: two
// CreateWebhook calls with one request_id must ask for the same webhook.
std::string Fingerprint(const v1::Webhook& requested) {
  v1::Webhook copy = requested;
  copy.clear_name();
  copy.clear_create_time();
  copy.clear_update_time();
  copy.clear_secret();
  copy.clear_previous_secret_expire_time();
  copy.clear_disabled_reason();
  copy.clear_disable_time();
  copy.clear_failing_since();
  copy.clear_public_key();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    copy.SerializeToCodedStream(&coded);
  }
  return Sha256Bytes(bytes);
}

// The fields UpdateWebhook must change: the mask's paths, "*" for all, or,
// without a mask, every field set in `webhook` (AIP-134).
absl::StatusOr<std::vector<MutableField>> ResolveUpdateFields(
    const v1::UpdateWebhookRequest& request) {
  std::vector<MutableField> fields;
  const auto& paths = request.update_mask().paths();
  if (paths.empty()) {
    const v1::Webhook& w = request.webhook();
    if (!w.display_name().empty()) fields.push_back(MutableField::kDisplayName);
    if (!w.url().empty()) fields.push_back(MutableField::kUrl);
    if (!w.event_types().empty()) fields.push_back(MutableField::kEventTypes);
    if (w.has_enabled()) fields.push_back(MutableField::kEnabled);
    if (!w.description().empty()) fields.push_back(MutableField::kDescription);
    if (!w.headers().empty()) fields.push_back(MutableField::kHeaders);
    if (w.has_rate_limit()) fields.push_back(MutableField::kRateLimit);
    // (false is the default, so only a mask can turn ordering off.)
    if (w.ordered_delivery()) fields.push_back(MutableField::kOrderedDelivery);
    if (w.signature_scheme() != v1::SIGNATURE_SCHEME_UNSPECIFIED) {
      return absl::InvalidArgumentError(kSchemeChangesByRotation);
    }
    if (fields.empty()) {
      return absl::InvalidArgumentError(
          "update_mask: nothing to update; set fields in webhook or name them in "
          "update_mask (to clear a field, name it in update_mask and leave it empty)");
    }
    return fields;
  }
  absl::flat_hash_set<MutableField> seen;
  for (const std::string& path : paths) {
    if (path == "*") {
      if (paths.size() != 1) {
        return absl::InvalidArgumentError("update_mask: \"*\" must be the only path");
      }
      for (const auto& [name, field] : kMutableFields) fields.push_back(field);
      return fields;
    }
    bool known = false;
    for (const auto& [name, field] : kMutableFields) {
      if (path == name) {
        known = true;
        if (seen.insert(field).second) fields.push_back(field);
      }
    }
    if (known) continue;
    if (path == "signature_scheme") return absl::InvalidArgumentError(kSchemeChangesByRotation);
    for (absl::string_view output_only : kOutputOnlyFields) {
      if (path == output_only) {
        return absl::InvalidArgumentError(
            absl::StrCat("update_mask: ", QuoteForError(path), " is output only and cannot be changed"));
      }
    }
    return absl::InvalidArgumentError(
        absl::StrCat("update_mask: unknown field ", QuoteForError(path), "; updatable fields are ",
                     absl::StrJoin(kMutableFields, ", ", [](std::string* out, const auto& entry) {
                       absl::StrAppend(out, entry.first);
                     })));
  }
  return fields;
}

// Validates the new values of `fields` and writes them into `record`.
absl::Status ApplyUpdate(const v1::Webhook& update, absl::Span<const MutableField> fields,
                         const EventCatalog& catalog, const http::AddressPolicy& destinations,
                         WebhookRecord& record) {
  for (MutableField field : fields) {
    switch (field) {
      case MutableField::kDisplayName:
        WINK_RETURN_IF_ERROR(ValidateDisplayName(update.display_name(), "webhook.display_name"));
        record.set_display_name(update.display_name());
        break;
      case MutableField::kUrl:
        WINK_RETURN_IF_ERROR(ValidateUrl(update.url(), destinations, "webhook.url"));
        record.set_url(update.url());
        break;
      case MutableField::kEventTypes: {
        WINK_ASSIGN_OR_RETURN(
            std::vector<std::string> types,
            NormalizeEventTypes(update.event_types(), catalog, "webhook.event_types"));
        record.clear_event_types();
        for (auto& type : types) record.add_event_types(std::move(type));
        break;
      }
      case MutableField::kEnabled:
        // An absent bool would silently mean "pause": make the caller say it.
        if (!update.has_enabled()) {
          return absl::InvalidArgumentError(
              "webhook.enabled: required (true or false) when update_mask names it");
        }
        record.set_enabled(update.enabled());
        break;
      case MutableField::kDescription:
        WINK_RETURN_IF_ERROR(ValidateDescription(update.description(), "webhook.description"));
        record.set_description(update.description());
        break;
      case MutableField::kHeaders:
        WINK_RETURN_IF_ERROR(ValidateHeaders(update.headers(), "webhook.headers"));
        record.clear_headers();
        record.mutable_headers()->insert(update.headers().begin(), update.headers().end());
        break;
      case MutableField::kRateLimit:
        // Named without a value: the limit is removed.
        if (!update.has_rate_limit()) {
          record.clear_rate_limit_per_second();
          record.clear_rate_limit_burst();
          break;
        }
        WINK_RETURN_IF_ERROR(ValidateRateLimit(update.rate_limit(), "webhook.rate_limit"));
        record.set_rate_limit_per_second(update.rate_limit().requests_per_second());
        record.set_rate_limit_burst(update.rate_limit().burst());
        break;
      case MutableField::kOrderedDelivery:
        record.set_ordered_delivery(update.ordered_delivery());
        break;
    }
  }
  return absl::OkStatus();
}

}  // namespace

WebhookServiceImpl::WebhookServiceImpl(storage::WebhookStore& store, storage::EventLog& events,
                                       storage::DeliveryLedger& deliveries,
                                       const auth::Authenticator& authenticator,
                                       const EventCatalog& catalog,
                                       const secrets::Keyring& keyring, const Clock& clock,
                                       WebhookServiceOptions options)
    : store_(store),
      events_(events),
      deliveries_(deliveries),
      authenticator_(authenticator),
      catalog_(catalog),
      keyring_(keyring),
      destinations_(options.allowed_private_targets),
      publish_limiter_(options.publish_rate, clock),
      clock_(clock),
      options_(options),
      max_webhooks_per_account_(options.max_webhooks_per_account),
      stored_quota_(options.stored_quota) {}

void WebhookServiceImpl::SetLimits(int max_webhooks_per_account, PublishRateLimits publish_rate,
                                   storage::StoredQuota stored_quota) {
  publish_limiter_.SetLimits(publish_rate);
  absl::MutexLock lock(&limits_mu_);
  max_webhooks_per_account_ = max_webhooks_per_account;
  stored_quota.retention = options_.stored_quota.retention;
  stored_quota_ = stored_quota;
}

absl::StatusOr<WebhookRecord> WebhookServiceImpl::UpdateOpened(
    const std::string& account, const std::string& id,
    const std::function<absl::Status(WebhookRecord&)>& mutate,
    const storage::UpdateWebhookOptions& options) {
  WINK_ASSIGN_OR_RETURN(WebhookRecord updated,
                        store_.Update(
                            account, id,
                            [&](WebhookRecord& record) {
                              WINK_RETURN_IF_ERROR(secrets::OpenWebhookSecrets(keyring_, record));
                              WINK_RETURN_IF_ERROR(mutate(record));
                              return secrets::SealWebhookSecrets(keyring_, record);
                            },
                            options));
  return Opened(std::move(updated));
}

absl::StatusOr<WebhookRecord> WebhookServiceImpl::Opened(WebhookRecord record) const {
  WINK_RETURN_IF_ERROR(secrets::OpenWebhookSecrets(keyring_, record));
  return record;
}

grpc::ServerUnaryReactor* WebhookServiceImpl::CreateWebhook(grpc::CallbackServerContext* context,
                                                            const grpc::ByteBuffer* request_bytes,
                                                            grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::CreateWebhookRequest, v1::Webhook>(
      context, "CreateWebhook", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::CreateWebhookRequest& request, v1::Webhook& response) {
        WINK_ASSIGN_OR_RETURN(const std::string account,
                              ParseAccountName(request.parent(), "parent"));
        WINK_RETURN_IF_ERROR(call.Authorize(account));
        if (!request.has_webhook()) return absl::InvalidArgumentError("webhook: required");
        const v1::Webhook& requested = request.webhook();
        if (!request.request_id().empty()) {
          WINK_RETURN_IF_ERROR(ValidateRequestId(request.request_id(), "request_id"));
        }

        const absl::Time now = clock_.Now();
        const int64_t now_us = absl::ToUnixMicros(now);
        WebhookRecord record;
        record.set_account(account);
        record.set_enabled(requested.has_enabled() ? requested.enabled() : true);
        record.set_create_time_us(now_us);
        record.set_update_time_us(now_us);
        WINK_RETURN_IF_ERROR(ApplyUpdate(requested, kCreateFields, catalog_, destinations_, record));
        WINK_RETURN_IF_ERROR(
            ValidateSignatureScheme(requested.signature_scheme(), "webhook.signature_scheme"));
        WINK_ASSIGN_OR_RETURN(*record.add_secrets(),
                              NewSigningSecret(requested.signature_scheme(), now));
        WINK_RETURN_IF_ERROR(secrets::SealWebhookSecrets(keyring_, record));

        storage::CreateWebhookOptions create;
        {
          absl::MutexLock lock(&limits_mu_);
          create.max_webhooks_per_account = max_webhooks_per_account_;
        }
        create.request_id = request.request_id();
        if (!create.request_id.empty()) create.request_fingerprint = Fingerprint(requested);
        create.request_id_expire_time = now + options_.request_id_retention;
        create.now = now;
        WINK_ASSIGN_OR_RETURN(storage::CreateWebhookResult result,
                              store_.Create(std::move(record), create));
        // A replay returns the secret only while it is still the one the
        // first call created: a request id must not become a way to read the
        // current secret after a rotation.
        const bool include_secret = result.created || result.webhook.secret_generation() == 0;
        WINK_ASSIGN_OR_RETURN(const WebhookRecord created, Opened(std::move(result.webhook)));
        ToApi(created, now, include_secret, &response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* WebhookServiceImpl::GetWebhook(grpc::CallbackServerContext* context,
                                                         const grpc::ByteBuffer* request_bytes,
                                                         grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::GetWebhookRequest, v1::Webhook>(
      context, "GetWebhook", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::GetWebhookRequest& request, v1::Webhook& response) {
        WINK_ASSIGN_OR_RETURN(const WebhookName name, ParseWebhookName(request.name(), "name"));
        WINK_RETURN_IF_ERROR(call.Authorize(name.account));
        WINK_ASSIGN_OR_RETURN(WebhookRecord stored, store_.Get(name.account, name.webhook_id));
        WINK_ASSIGN_OR_RETURN(const WebhookRecord record, Opened(std::move(stored)));
        ToApi(record, clock_.Now(), /*include_secret=*/false, &response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* WebhookServiceImpl::ListWebhooks(grpc::CallbackServerContext* context,
                                                           const grpc::ByteBuffer* request_bytes,
                                                           grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::ListWebhooksRequest, v1::ListWebhooksResponse>(
      context, "ListWebhooks", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::ListWebhooksRequest& request,
          v1::ListWebhooksResponse& response) {
        WINK_ASSIGN_OR_RETURN(const std::string account,
                              ParseAccountName(request.parent(), "parent"));
        WINK_RETURN_IF_ERROR(call.Authorize(account));
        WINK_ASSIGN_OR_RETURN(const int page_size, EffectivePageSize(request.page_size()));
        WINK_ASSIGN_OR_RETURN(const std::string after_id,
                              DecodePageToken(request.page_token(), request.parent()));
        if (!after_id.empty() && !IsValidId(after_id, kWebhookIdPrefix)) {
          return absl::InvalidArgumentError("page_token: not a token returned by this method");
        }
        WINK_ASSIGN_OR_RETURN(const storage::WebhookPage page,
                              store_.List(account, after_id, page_size));
        const absl::Time now = clock_.Now();
        size_t page_bytes = 0;
        const WebhookRecord* last = nullptr;  // the last one in the response
        for (const WebhookRecord& record : page.webhooks) {
          WINK_ASSIGN_OR_RETURN(const WebhookRecord opened, Opened(record));
          v1::Webhook webhook;
          ToApi(opened, now, /*include_secret=*/false, &webhook);
          // Keep every page far below clients' 4 MiB default receive limit,
          // whatever the page size and the webhooks' sizes.
          page_bytes += webhook.ByteSizeLong();
          if (page_bytes > kMaxPageBytes && last != nullptr) break;
          *response.add_webhooks() = std::move(webhook);
          last = &record;
        }
        const bool cut_short = last != nullptr && last != &page.webhooks.back();
        if ((page.has_more || cut_short) && last != nullptr) {
          response.set_next_page_token(EncodePageToken(request.parent(), last->id()));
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* WebhookServiceImpl::UpdateWebhook(grpc::CallbackServerContext* context,
                                                            const grpc::ByteBuffer* request_bytes,
                                                            grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::UpdateWebhookRequest, v1::Webhook>(
      context, "UpdateWebhook", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::UpdateWebhookRequest& request, v1::Webhook& response) {
        if (!request.has_webhook()) return absl::InvalidArgumentError("webhook: required");
        WINK_ASSIGN_OR_RETURN(const WebhookName name,
                              ParseWebhookName(request.webhook().name(), "webhook.name"));
        WINK_RETURN_IF_ERROR(call.Authorize(name.account));
        WINK_ASSIGN_OR_RETURN(const std::vector<MutableField> fields, ResolveUpdateFields(request));
        const absl::Time now = clock_.Now();
        WINK_ASSIGN_OR_RETURN(
            const WebhookRecord updated,
            UpdateOpened(name.account, name.webhook_id, [&](WebhookRecord& record) {
              const WebhookRecord before = record;
              WINK_RETURN_IF_ERROR(ApplyUpdate(request.webhook(), fields, catalog_, destinations_, record));
              if (!google::protobuf::util::MessageDifferencer::Equals(before, record)) {
                record.set_update_time_us(absl::ToUnixMicros(now));
              }
              return absl::OkStatus();
            },
            storage::UpdateWebhookOptions{request.drop_held_deliveries()}));
        ToApi(updated, now, /*include_secret=*/false, &response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* WebhookServiceImpl::DeleteWebhook(grpc::CallbackServerContext* context,
                                                            const grpc::ByteBuffer* request_bytes,
                                                            grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::DeleteWebhookRequest, google::protobuf::Empty>(
      context, "DeleteWebhook", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::DeleteWebhookRequest& request,
          google::protobuf::Empty& response) {
        WINK_ASSIGN_OR_RETURN(const WebhookName name, ParseWebhookName(request.name(), "name"));
        WINK_RETURN_IF_ERROR(call.Authorize(name.account));
        return store_.Delete(name.account, name.webhook_id);
      });
}

grpc::ServerUnaryReactor* WebhookServiceImpl::RotateWebhookSecret(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::RotateWebhookSecretRequest, v1::Webhook>(
      context, "RotateWebhookSecret", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::RotateWebhookSecretRequest& request, v1::Webhook& response) {
        WINK_ASSIGN_OR_RETURN(const WebhookName name, ParseWebhookName(request.name(), "name"));
        WINK_RETURN_IF_ERROR(call.Authorize(name.account));
        WINK_RETURN_IF_ERROR(
            ValidateSignatureScheme(request.signature_scheme(), "signature_scheme"));
        const absl::Time now = clock_.Now();
        WINK_ASSIGN_OR_RETURN(
            const WebhookRecord rotated,
            UpdateOpened(name.account, name.webhook_id, [&](WebhookRecord& record) {
              // Unspecified keeps the scheme of the current key.
              const v1::SignatureScheme scheme =
                  request.signature_scheme() != v1::SIGNATURE_SCHEME_UNSPECIFIED ||
                          record.secrets_size() == 0
                      ? request.signature_scheme()
                      : SchemeOf(record.secrets(0));
              WINK_ASSIGN_OR_RETURN(SigningSecretRecord fresh, NewSigningSecret(scheme, now));
              RotateSecrets(record, std::move(fresh), now, options_.secret_rotation_overlap);
              return absl::OkStatus();
            }));
        ToApi(rotated, now, /*include_secret=*/true, &response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* WebhookServiceImpl::ListEventTypes(grpc::CallbackServerContext* context,
                                                             const grpc::ByteBuffer* request_bytes,
                                                             grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::ListEventTypesRequest, v1::ListEventTypesResponse>(
      context, "ListEventTypes", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::ListEventTypesRequest& request,
          v1::ListEventTypesResponse& response) {
        WINK_ASSIGN_OR_RETURN(const std::string account,
                              ParseAccountName(request.parent(), "parent"));
        WINK_RETURN_IF_ERROR(call.Authorize(account));
        WINK_ASSIGN_OR_RETURN(const int page_size, EffectivePageSize(request.page_size()));
        WINK_ASSIGN_OR_RETURN(const std::string after,
                              DecodePageToken(request.page_token(), request.parent()));
        const auto& entries = catalog_.entries();  // sorted by name
        auto it = std::upper_bound(
            entries.begin(), entries.end(), after,
            [](const std::string& name, const EventCatalog::Entry& e) { return name < e.name; });
        for (; it != entries.end() && response.event_types_size() < page_size; ++it) {
          v1::EventType* type = response.add_event_types();
          type->set_name(it->name);
          type->set_description(it->description);
        }
        if (it != entries.end()) {
          response.set_next_page_token(EncodePageToken(request.parent(), std::prev(it)->name));
        }
        return absl::OkStatus();
      });
}

}  // namespace wink::webhooks::api
