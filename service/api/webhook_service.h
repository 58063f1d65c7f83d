// wink.webhooks.v1.WebhookService: webhook subscription management and event
// publication over the gRPC callback API. Handlers validate the request, check the caller's
// access to the account, map between API messages and stored records, and
// delegate persistence to the storage interfaces (WebhookStore, EventLog,
// DeliveryLedger). They do not block on anything slower than one
// group-committed write.
#ifndef WINK_WEBHOOKS_SERVICE_API_WEBHOOK_SERVICE_H_
#define WINK_WEBHOOKS_SERVICE_API_WEBHOOK_SERVICE_H_

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/api/event_catalog.h"
#include "service/api/publish_rate_limiter.h"
#include "service/auth/authenticator.h"
#include "service/common/clock.h"
#include "service/common/ip_range.h"
#include "service/http/address_policy.h"
#include "service/secrets/keyring.h"
#include "service/storage/delivery_ledger.h"
#include "service/storage/event_log.h"
#include "service/storage/webhook_store.h"
#include "wink/webhooks/v1/webhook_service.grpc.pb.h"

namespace wink::webhooks::api {

struct WebhookServiceOptions {
  int max_webhooks_per_account = 100;
  // How long a rotated-out secret keeps signing.
  absl::Duration secret_rotation_overlap = absl::Hours(24);
  // How long a CreateWebhook request_id is remembered.
  absl::Duration request_id_retention = absl::Hours(24);
  // How long a PublishEvent idempotency_key is remembered.
  absl::Duration idempotency_key_retention = absl::Hours(24);
  // The delivery engine's allow_private_targets: URLs whose host is an IP
  // address the SSRF guard refuses are refused at create and update.
  std::vector<IpRange> allowed_private_targets;
  // Per-account publish rate (publish_rate_limiter.h); off by default.
  PublishRateLimits publish_rate;
  // Per-account stored events and bytes; off by default.
  storage::StoredQuota stored_quota;
};

// Largest event payload (the JSON of `data` / `data_json`).
inline constexpr size_t kMaxEventDataBytes = 256 * 1024;

// Most events one BatchPublishEvents call may carry (AIP-233 asks for a
// bound). The whole request is also bounded by limits.max_request_bytes.
inline constexpr int kMaxBatchPublishEvents = 100;

// Every method is registered as a raw callback method (see
// request_codec.h for why); on the wire it is the ordinary protobuf service.
using RawWebhookService = v1::WebhookService::WithRawCallbackMethod_CreateWebhook<
    v1::WebhookService::WithRawCallbackMethod_GetWebhook<
        v1::WebhookService::WithRawCallbackMethod_ListWebhooks<
            v1::WebhookService::WithRawCallbackMethod_UpdateWebhook<
                v1::WebhookService::WithRawCallbackMethod_DeleteWebhook<
                    v1::WebhookService::WithRawCallbackMethod_RotateWebhookSecret<
                        v1::WebhookService::WithRawCallbackMethod_ListEventTypes<
                            v1::WebhookService::WithRawCallbackMethod_PublishEvent<
                                v1::WebhookService::WithRawCallbackMethod_GetEvent<
                                    v1::WebhookService::WithRawCallbackMethod_ListEvents<
                                        v1::WebhookService::
                                            WithRawCallbackMethod_BatchPublishEvents<
                                                v1::WebhookService::
                                                    WithRawCallbackMethod_SendTestEvent<
                                                        v1::WebhookService::Service>>>>>>>>>>>>;

// Thread-safe. Every collaborator must outlive the service.
class WebhookServiceImpl final : public RawWebhookService {
 public:
  WebhookServiceImpl(storage::WebhookStore& store, storage::EventLog& events,
                     storage::DeliveryLedger& deliveries, const auth::Authenticator& authenticator,
                     const EventCatalog& catalog, const secrets::Keyring& keyring,
                     const Clock& clock, WebhookServiceOptions options);

  grpc::ServerUnaryReactor* CreateWebhook(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetWebhook(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListWebhooks(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* UpdateWebhook(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* DeleteWebhook(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RotateWebhookSecret(grpc::CallbackServerContext* context,
                                                const grpc::ByteBuffer* request,
                                                grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListEventTypes(grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;

  // Event methods (event_methods.cc). PublishEvent finishes from a storage
  // thread once the event is durable; no gRPC thread waits for it.
  grpc::ServerUnaryReactor* PublishEvent(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  // Like PublishEvent, for up to kMaxBatchPublishEvents events in one
  // atomic write.
  grpc::ServerUnaryReactor* BatchPublishEvents(grpc::CallbackServerContext* context,
                                               const grpc::ByteBuffer* request,
                                               grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetEvent(grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* request,
                                     grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListEvents(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;

  // Publishes a `webhook.test` event to one webhook (PublishRequest's
  // only_webhook_id) and, when asked, answers once the first attempt has a
  // result, polling the ledger on a gRPC alarm (no thread waits).
  grpc::ServerUnaryReactor* SendTestEvent(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;

  // The options a config reload may change (limits.*), for calls from now
  // on; `stored_quota.retention` stays the one of the start.
  void SetLimits(int max_webhooks_per_account, PublishRateLimits publish_rate,
                 storage::StoredQuota stored_quota) ABSL_LOCKS_EXCLUDED(limits_mu_);

 private:
  // Checks one publish request of `account` and turns it into the store's
  // form. Field names in errors start with `field_prefix`
  // ("requests[2]." in a batch).
  absl::StatusOr<storage::PublishRequest> CheckPublish(const v1::PublishEventRequest& request,
                                                       const std::string& account,
                                                       absl::string_view field_prefix) const;

  // The stored-event quota as of the last config (re)load.
  storage::StoredQuota CurrentStoredQuota() const ABSL_LOCKS_EXCLUDED(limits_mu_);

  // store_.Update with `mutate` seeing the webhook's secrets and headers in
  // plaintext; they are sealed again before the write (with the current
  // key, which also moves a webhook off an older one). Returns the webhook
  // as written, opened.
  absl::StatusOr<storage::WebhookRecord> UpdateOpened(
      const std::string& account, const std::string& id,
      const std::function<absl::Status(storage::WebhookRecord&)>& mutate,
      const storage::UpdateWebhookOptions& options = {});
  // `record` with its secrets and headers in plaintext, for a response.
  absl::StatusOr<storage::WebhookRecord> Opened(storage::WebhookRecord record) const;

  storage::WebhookStore& store_;
  storage::EventLog& events_;
  storage::DeliveryLedger& deliveries_;
  const auth::Authenticator& authenticator_;
  const EventCatalog& catalog_;
  const secrets::Keyring& keyring_;
  const http::AddressPolicy destinations_;
  PublishRateLimiter publish_limiter_;
  const Clock& clock_;
  // Fixed at start, but for what SetLimits changes (read those below).
  const WebhookServiceOptions options_;
  // SendTestEvent calls waiting for their first attempt (event_methods.cc
  // bounds them).
  std::atomic<int> attempt_waits_{0};
  mutable absl::Mutex limits_mu_;
  int max_webhooks_per_account_ ABSL_GUARDED_BY(limits_mu_);
  storage::StoredQuota stored_quota_ ABSL_GUARDED_BY(limits_mu_);
};

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_WEBHOOK_SERVICE_H_
