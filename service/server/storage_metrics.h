// Storage's reports (storage/observer.h) and gauges, fed to the process-wide
// Prometheus metrics (metrics/service_metrics.h). The one place storage meets
// metrics: storage itself depends on neither.
#ifndef WINK_WEBHOOKS_SERVICE_SERVER_STORAGE_METRICS_H_
#define WINK_WEBHOOKS_SERVICE_SERVER_STORAGE_METRICS_H_

#include <vector>

#include "service/metrics/registry.h"
#include "service/storage/backend.h"
#include "service/storage/observer.h"

namespace wink::webhooks {

// Thread-safe.
class StorageMetrics final : public storage::StorageObserver {
 public:
  void OnCommit(int operations, absl::Duration duration) override;
  void OnDeliveryFinished(domain::DeliveryStateRecord state) override;

  // Registers the gauges that read `backend` (writes waiting, the due
  // queue's estimated size) until StopWatching or destruction; `backend`
  // must outlive that.
  void WatchBackend(storage::StorageBackend& backend);
  void StopWatching() { gauges_.clear(); }

 private:
  std::vector<metrics::CallbackRegistration> gauges_;
};

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_SERVER_STORAGE_METRICS_H_
