#include "service/server/storage_metrics.h"

#include "service/common/log.h"
#include "service/metrics/service_metrics.h"

namespace wink::webhooks {

StorageMetrics::StorageMetrics() { metrics::Global().storage_writable().WithLabels({}).Set(1); }

void StorageMetrics::OnCommit(int operations, absl::Duration duration) {
  metrics::Global().RecordCommit(static_cast<size_t>(operations), duration);
  SetWritable(true, absl::OkStatus());
}

void StorageMetrics::OnWriteWaited(absl::Duration waited) {
  metrics::Global().RecordWriteWait(waited);
}

void StorageMetrics::OnGroupWork(absl::Duration run, absl::Duration finish) {
  metrics::Global().RecordGroupWork(run, finish);
}

void StorageMetrics::OnCommitFailed(int operations, const absl::Status& error) {
  SetWritable(false, error);
}

void StorageMetrics::OnHeartbeat(const absl::Status& status) {
  if (status.ok()) {
    SetWritable(true, status);
  } else if (absl::IsUnavailable(status)) {
    SetWritable(false, status);
  }
}

void StorageMetrics::OnPartitions(int owned, int draining, int taken, int released) {
  metrics::ServiceMetrics& service_metrics = metrics::Global();
  service_metrics.partitions().WithLabels({"owned"}).Set(owned);
  service_metrics.partitions().WithLabels({"draining"}).Set(draining);
  if (taken > 0) {
    service_metrics.partition_lease_changes().WithLabels({"taken"}).Increment(taken);
  }
  if (released > 0) {
    service_metrics.partition_lease_changes().WithLabels({"released"}).Increment(released);
  }
}

void StorageMetrics::SetWritable(bool writable, const absl::Status& error) {
  {
    absl::MutexLock lock(&mu_);
    if (writable_ == writable) return;
    writable_ = writable;
  }
  metrics::Global().storage_writable().WithLabels({}).Set(writable ? 1 : 0);
  if (writable) {
    LogLine(LogLevel::kInfo, "storage_writable_again")
        .Field("effect", "publishes are accepted and deliveries resume");
  } else {
    LogLine(LogLevel::kError, "storage_unwritable")
        .Field("error", error.message())
        .Field("effect",
               "publishes get UNAVAILABLE, deliveries wait, health is NOT_SERVING; storage "
               "resumes by itself once it can commit (RocksDB: free disk space; PostgreSQL: a "
               "writable primary answers), else restart the server: nothing acknowledged is "
               "lost");
  }
  if (listener_) listener_(writable);
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
