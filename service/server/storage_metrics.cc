#include "service/server/storage_metrics.h"

#include "service/metrics/service_metrics.h"

namespace wink::webhooks {

void StorageMetrics::OnCommit(int operations, absl::Duration duration) {
  metrics::Global().RecordCommit(static_cast<size_t>(operations), duration);
}

void StorageMetrics::OnDeliveryFinished(domain::DeliveryStateRecord state) {
  switch (state) {
    case domain::kSucceeded:
      metrics::Global().RecordDeliveryFinished(metrics::DeliveryOutcome::kSucceeded);
      break;
    case domain::kFailed:
      metrics::Global().RecordDeliveryFinished(metrics::DeliveryOutcome::kFailed);
      break;
    case domain::kCancelled:
      metrics::Global().RecordDeliveryFinished(metrics::DeliveryOutcome::kCancelled);
      break;
    default:
      break;
  }
}

void StorageMetrics::WatchBackend(storage::StorageBackend& backend) {
  metrics::ServiceMetrics& service_metrics = metrics::Global();
  gauges_.push_back(service_metrics.write_queue().Register(
      {}, [&backend] { return static_cast<double>(backend.PendingWrites()); }));
  gauges_.push_back(service_metrics.due_entries_estimate().Register(
      {}, [&backend] { return static_cast<double>(backend.due_queue().EstimatedSize()); }));
}

}  // namespace wink::webhooks
