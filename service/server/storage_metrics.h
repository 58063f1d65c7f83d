// Storage's reports (storage/observer.h) and gauges, fed to the process-wide
// Prometheus metrics (metrics/service_metrics.h). The one place storage meets
// metrics: storage itself depends on neither.
#ifndef WINK_WEBHOOKS_SERVICE_SERVER_STORAGE_METRICS_H_
#define WINK_WEBHOOKS_SERVICE_SERVER_STORAGE_METRICS_H_

#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "service/metrics/registry.h"
#include "service/storage/backend.h"
#include "service/storage/observer.h"

namespace wink::webhooks {

// Thread-safe.
class StorageMetrics final : public storage::StorageObserver {
 public:
  StorageMetrics();

  void OnCommit(int operations, absl::Duration duration) override;
  // The first failure after success logs one line, sets the
  // storage_writable gauge to 0 and calls the writability listener; the
  // next successful commit undoes that.
  void OnCommitFailed(int operations, const absl::Status& error) override;
  void OnWriteWaited(absl::Duration waited) override;
  void OnGroupWork(absl::Duration run, absl::Duration finish) override;
  void OnHeartbeat(const absl::Status& status) override;
  void OnPartitions(int owned, int draining, int taken, int released) override;
  void OnDeliveryFinished(domain::DeliveryStateRecord state) override;

  // Registers the gauges that read `backend` (writes waiting, the due
  // queue's estimated size) until StopWatching or destruction; `backend`
  // must outlive that.
  void WatchBackend(storage::StorageBackend& backend);
  void StopWatching() { gauges_.clear(); }

  // Called (on a storage thread) when storage stops or starts committing
  // writes again, e.g. to switch the health service. Set before writes run.
  void SetWritabilityListener(std::function<void(bool writable)> listener) {
    listener_ = std::move(listener);
  }

 private:
  void SetWritable(bool writable, const absl::Status& error);

  std::vector<metrics::CallbackRegistration> gauges_;
  std::function<void(bool)> listener_;
  absl::Mutex mu_;
  bool writable_ ABSL_GUARDED_BY(mu_) = true;
};

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_SERVER_STORAGE_METRICS_H_
