// wink.webhooks.v1.WebhookService: webhook subscription management over the
// gRPC callback API. Handlers validate the request, check the caller's
// access to the account, map between API messages and stored records, and
// delegate persistence to storage::WebhookStore. They do not block on
// anything slower than one (group-committed) RocksDB write.
#ifndef WINK_WEBHOOKS_SERVICE_API_WEBHOOK_SERVICE_H_
#define WINK_WEBHOOKS_SERVICE_API_WEBHOOK_SERVICE_H_

#include "absl/time/time.h"
#include "service/api/event_catalog.h"
#include "service/auth/authenticator.h"
#include "service/common/clock.h"
#include "service/common/ids.h"
#include "service/storage/webhook_store.h"
#include "wink/webhooks/v1/webhook_service.grpc.pb.h"

namespace wink::webhooks::api {

struct WebhookServiceOptions {
  int max_webhooks_per_account = 100;
  // How long a rotated-out secret keeps signing.
  absl::Duration secret_rotation_overlap = absl::Hours(24);
  // How long a CreateWebhook request_id is remembered.
  absl::Duration request_id_retention = absl::Hours(24);
};

// Thread-safe. Every collaborator must outlive the service.
class WebhookServiceImpl final : public v1::WebhookService::CallbackService {
 public:
  WebhookServiceImpl(storage::WebhookStore& store, const auth::Authenticator& authenticator,
                     const EventCatalog& catalog, const Clock& clock, IdGenerator& ids,
                     WebhookServiceOptions options);

  grpc::ServerUnaryReactor* CreateWebhook(grpc::CallbackServerContext* context,
                                          const v1::CreateWebhookRequest* request,
                                          v1::Webhook* response) override;
  grpc::ServerUnaryReactor* GetWebhook(grpc::CallbackServerContext* context,
                                       const v1::GetWebhookRequest* request,
                                       v1::Webhook* response) override;
  grpc::ServerUnaryReactor* ListWebhooks(grpc::CallbackServerContext* context,
                                         const v1::ListWebhooksRequest* request,
                                         v1::ListWebhooksResponse* response) override;
  grpc::ServerUnaryReactor* UpdateWebhook(grpc::CallbackServerContext* context,
                                          const v1::UpdateWebhookRequest* request,
                                          v1::Webhook* response) override;
  grpc::ServerUnaryReactor* DeleteWebhook(grpc::CallbackServerContext* context,
                                          const v1::DeleteWebhookRequest* request,
                                          google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* RotateWebhookSecret(grpc::CallbackServerContext* context,
                                                const v1::RotateWebhookSecretRequest* request,
                                                v1::Webhook* response) override;
  grpc::ServerUnaryReactor* ListEventTypes(grpc::CallbackServerContext* context,
                                           const v1::ListEventTypesRequest* request,
                                           v1::ListEventTypesResponse* response) override;

 private:
  storage::WebhookStore& store_;
  const auth::Authenticator& authenticator_;
  const EventCatalog& catalog_;
  const Clock& clock_;
  IdGenerator& ids_;
  const WebhookServiceOptions options_;
};

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_WEBHOOK_SERVICE_H_
