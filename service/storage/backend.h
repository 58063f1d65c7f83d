// A storage backend: the service's whole persistent state, behind one small
// interface per kind of caller (see each header), opened by factory.h.
//
//   caller                      interface
//   API webhook methods         WebhookStore    (webhook_store.h)
//   API applications, auth      ApplicationStore (application_store.h)
//   API publish and events      EventLog        (event_log.h)
//   API deliveries, the engine  DeliveryLedger  (delivery_ledger.h)
//   engine scheduler            DueQueue        (due_queue.h)
//   status bus, watchers        UpdateLog       (update_log.h)
//   engine maintenance          Retention       (retention.h)
//
// Every backend passes the conformance suite in tests/storage/conformance,
// which states the behaviour callers rely on.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_BACKEND_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_BACKEND_H_

#include <cstdint>

#include "service/storage/application_store.h"
#include "service/storage/delivery_ledger.h"
#include "service/storage/due_queue.h"
#include "service/storage/event_log.h"
#include "service/storage/retention.h"
#include "service/storage/update_log.h"
#include "service/storage/webhook_store.h"

namespace wink::webhooks::storage {

// Thread-safe. The interfaces it hands out live as long as it does.
class StorageBackend {
 public:
  // Stops writes (see StopWrites) and closes.
  virtual ~StorageBackend() = default;

  virtual WebhookStore& webhooks() = 0;
  virtual ApplicationStore& applications() = 0;
  virtual EventLog& events() = 0;
  virtual DeliveryLedger& deliveries() = 0;
  virtual DueQueue& due_queue() = 0;
  virtual UpdateLog& updates() = 0;
  virtual Retention& retention() = 0;

  // Writes accepted but not yet committed (for a gauge).
  virtual int64_t PendingWrites() = 0;

  // Finishes every write already accepted (and the follow-ups they start,
  // except the rest of a release, which the repair at the next start
  // finishes), then refuses new ones with UNAVAILABLE. Idempotent.
  virtual void StopWrites() = 0;
};

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_BACKEND_H_
