// wink.webhooks.v1.DeliveryService: what happened to an account's events, live
// (WatchDeliveries, a server stream fed by the status bus) or after the fact
// (List/GetDelivery), RetryDelivery, and bulk re-sends (RecoverDeliveries,
// GetRecovery; see recoveries.h).
#ifndef WINK_WEBHOOKS_SERVICE_API_DELIVERY_SERVICE_H_
#define WINK_WEBHOOKS_SERVICE_API_DELIVERY_SERVICE_H_

#include "service/auth/authenticator.h"
#include "service/delivery/status_bus.h"
#include "service/api/keyed_streams.h"
#include "service/api/recoveries.h"
#include "service/common/clock.h"
#include "service/api/watch_admission.h"
#include "service/storage/delivery_ledger.h"
#include "service/storage/event_log.h"
#include "service/storage/webhook_store.h"
#include "wink/webhooks/v1/delivery_service.grpc.pb.h"

namespace wink::webhooks::api {

// Registered as raw methods, like WebhookService (see request_codec.h).
using RawDeliveryService = v1::DeliveryService::WithRawCallbackMethod_WatchDeliveries<
    v1::DeliveryService::WithRawCallbackMethod_ListDeliveries<
        v1::DeliveryService::WithRawCallbackMethod_GetDelivery<
            v1::DeliveryService::WithRawCallbackMethod_RetryDelivery<
                v1::DeliveryService::WithRawCallbackMethod_RecoverDeliveries<
                    v1::DeliveryService::WithRawCallbackMethod_GetRecovery<
                        v1::DeliveryService::Service>>>>>>;

// Thread-safe. Every collaborator must outlive the service.
class DeliveryServiceImpl final : public RawDeliveryService {
 public:
  // `webhooks` and `events` check that a watch's filters name existing
  // resources; `watch_limits` bound the open streams; `keyed_streams` (may
  // be null) ends the streams of API keys that stop working.
  DeliveryServiceImpl(storage::DeliveryLedger& deliveries, storage::WebhookStore& webhooks,
                      storage::EventLog& events, delivery::StatusBus& bus,
                      const auth::Authenticator& authenticator, const Clock& clock,
                      WatchLimits watch_limits, KeyedStreams* keyed_streams = nullptr);

  // One stream per call; each keeps at most one write in flight and pulls
  // the next updates from the bus when it completes, so a slow watcher uses
  // no memory beyond one batch and cannot miss an update.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchDeliveries(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) override;

  // New stream limits for streams opened from now on (a config reload).
  void SetWatchLimits(WatchLimits limits) { watch_admission_.SetLimits(limits); }

  grpc::ServerUnaryReactor* ListDeliveries(grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetDelivery(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RetryDelivery(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RecoverDeliveries(grpc::CallbackServerContext* context,
                                              const grpc::ByteBuffer* request,
                                              grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetRecovery(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;

  // Ends the running recoveries (FAILED, "the server is shutting down") and
  // their thread; call while storage still takes writes.
  void StopRecoveries() { recoveries_.Stop(); }

 private:
  storage::DeliveryLedger& deliveries_;
  storage::WebhookStore& webhooks_;
  storage::EventLog& events_;
  delivery::StatusBus& bus_;
  const auth::Authenticator& authenticator_;
  WatchAdmission watch_admission_;
  KeyedStreams* keyed_streams_;
  RecoveryRunner recoveries_;
};

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_DELIVERY_SERVICE_H_
