// The metrics of the webhooks service (names `wink_webhooks_...`, listed
// with their meaning in docs/OPERATIONS.md), defined once and resolved up
// front, so the hot paths (a publish, an attempt, an RPC) cost a few relaxed
// atomic adds and no allocation.
//
// One process-wide instance, Global(), like the default registry of the
// Prometheus client libraries: the code that counts (the API, the engine,
// the storage writer) does not have to be handed an object, and a scrape
// sees the whole process. Counters only grow, also across servers started
// one after another in one process (tests compare before and after).
// Values that an object owns (queue lengths) are callback families: the
// owner registers a callback while it lives (CallbackRegistration).
//
// Thread-safe.
#ifndef WINK_WEBHOOKS_SERVICE_METRICS_SERVICE_METRICS_H_
#define WINK_WEBHOOKS_SERVICE_METRICS_SERVICE_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/metrics/registry.h"

namespace wink::webhooks::metrics {

// How a PublishEvent ended, per event.
enum class PublishOutcome { kAccepted, kReplayed, kRejected };
// The final state a delivery reached.
enum class DeliveryOutcome { kSucceeded, kFailed, kCancelled };
// What one delivery attempt got back.
enum class AttemptClass {
  k2xx,
  k3xx,
  k4xx,
  k5xx,
  kOtherStatus,   // an HTTP status outside 200-599
  kTimeout,       // no complete answer in time
  kNetworkError,  // DNS, refused or failed connection, reset, other transport errors
  kTlsError,      // handshake or certificate verification failed
  kRefused,       // the SSRF guard refused the destination
  kCancelled,     // the webhook was deleted while the request ran
};

// Webhooks that get their own series in
// wink_webhooks_webhook_failed_attempts_total; failures of any further
// webhook are counted under webhook="other". Webhook ids are data (up to
// max_webhooks_per_account per account, any number of accounts), and every
// label value is a time series kept in memory here and in Prometheus: an
// unbounded label would let tenants grow both without limit. The first 100
// webhooks that fail keep their series for the life of the process (a
// counter must not vanish or move); per-webhook detail beyond that is in the
// attempt log (GetDelivery) and the delivery_attempt log lines.
inline constexpr size_t kMaxWebhookSeries = 100;

class ServiceMetrics {
 public:
  // Registers every family in `registry`, which must outlive this object.
  explicit ServiceMetrics(Registry& registry);
  ServiceMetrics(const ServiceMetrics&) = delete;
  ServiceMetrics& operator=(const ServiceMetrics&) = delete;

  Registry& registry() { return registry_; }

  // `events` events of one call ended with `outcome`.
  void RecordPublished(PublishOutcome outcome, uint64_t events = 1) {
    events_published_[static_cast<int>(outcome)]->Increment(events);
  }
  // From the arrival of a publish call to its durable acknowledgement.
  void RecordPublishLatency(absl::Duration latency) {
    publish_latency_->Observe(absl::ToDoubleSeconds(latency));
  }
  // A delivery reached a final state (counted once per transition).
  void RecordDeliveryFinished(DeliveryOutcome outcome) {
    deliveries_finished_[static_cast<int>(outcome)]->Increment();
  }
  // One attempt ended: its class and how long the HTTP exchange took.
  void RecordAttempt(AttemptClass result, absl::Duration duration) {
    attempts_[static_cast<int>(result)]->Increment();
    attempt_duration_->Observe(absl::ToDoubleSeconds(duration));
  }
  // An attempt to `webhook_id` failed. Takes the family's lock (and
  // allocates the key), which is fine on the failure path only.
  void RecordWebhookFailure(absl::string_view webhook_id) {
    webhook_failures_->WithLabels({webhook_id}).Increment();
  }
  // A delivery to `webhook_id` waited for its webhook's rate limit.
  void RecordRateLimited(absl::string_view webhook_id) {
    rate_limited_->WithLabels({webhook_id}).Increment();
  }
  // A delivery's request went out `late` after the delivery was due (its
  // publish, or its retry time).
  void RecordSendDelay(absl::Duration late) {
    send_delay_->Observe(absl::ToDoubleSeconds(late));
  }
  // A successful attempt ended `since_publish` after the event was created.
  void RecordDelivered(absl::Duration since_publish) {
    publish_to_delivery_->Observe(absl::ToDoubleSeconds(since_publish));
  }
  // One RPC of `method` (e.g. "GetWebhook") finished with `code`. No lock:
  // a method's counters are resolved at its first call.
  void RecordRpc(absl::string_view method, absl::StatusCode code);
  // The storage writer committed a group of `operations` in `duration`.
  void RecordCommit(size_t operations, absl::Duration duration) {
    commit_operations_->Observe(static_cast<double>(operations));
    commit_duration_->Observe(absl::ToDoubleSeconds(duration));
  }
  // A write operation waited `waited` for the storage writer to start it.
  void RecordWriteWait(absl::Duration waited) {
    write_wait_->Observe(absl::ToDoubleSeconds(waited));
  }
  // The writer ran a group's operations in `run` and told their callers in
  // `finish` (everything it does besides the commit).
  void RecordGroupWork(absl::Duration run, absl::Duration finish) {
    group_run_->Observe(absl::ToDoubleSeconds(run));
    group_finish_->Observe(absl::ToDoubleSeconds(finish));
  }

  // Callback families, fed by the objects that own the values (no labels).
  // Deliveries being sent (the engine's in-flight slots).
  CallbackFamily& deliveries_in_flight() { return *deliveries_in_flight_; }
  // Due deliveries the engine holds in memory, waiting for a slot.
  CallbackFamily& deliveries_queued() { return *deliveries_queued_; }
  // Scans of the due queue by the delivery engine, and the entries they read.
  CallbackFamily& due_queue_scans() { return *due_queue_scans_; }
  CallbackFamily& due_queue_scan_entries() { return *due_queue_scan_entries_; }
  // RocksDB's estimate of the keys in the `due` column family.
  CallbackFamily& due_entries_estimate() { return *due_entries_estimate_; }
  // Operations waiting for the storage writer.
  CallbackFamily& write_queue() { return *write_queue_; }
  // Label: version. Set to 1 by the server.
  GaugeFamily& build_info() { return *build_info_; }
  // 1 while storage commits writes, 0 after a commit failed (a full or
  // failing disk) until one succeeds again.
  GaugeFamily& storage_writable() { return *storage_writable_; }

  // Cluster mode: partitions of the deliveries this node leases, by state
  // (owned, draining), and leases taken and released.
  GaugeFamily& partitions() { return *partitions_; }
  CounterFamily& partition_lease_changes() { return *partition_lease_changes_; }

 private:
  // One gRPC method's counters, one per status code, created at first use.
  // absl::StatusCode OK (0) .. UNAUTHENTICATED (16).
  static constexpr int kStatusCodes = 17;
  struct RpcMethod {
    explicit RpcMethod(std::string method_name);
    const std::string name;
    std::array<std::atomic<Counter*>, kStatusCodes> by_code;
  };
  using RpcTable = absl::flat_hash_map<std::string, RpcMethod*>;
  RpcMethod* AddRpcMethod(absl::string_view method);

  Registry& registry_;
  std::array<Counter*, 3> events_published_;
  Histogram* publish_latency_;
  std::array<Counter*, 3> deliveries_finished_;
  std::array<Counter*, 10> attempts_;
  Histogram* attempt_duration_;
  CounterFamily* webhook_failures_;
  CounterFamily* rate_limited_;
  Histogram* publish_to_delivery_;
  Histogram* send_delay_;
  CounterFamily* rpcs_;
  Histogram* commit_duration_;
  Histogram* commit_operations_;
  Histogram* write_wait_;
  Histogram* group_run_;
  Histogram* group_finish_;
  CallbackFamily* deliveries_in_flight_;
  CallbackFamily* deliveries_queued_;
  CallbackFamily* due_queue_scans_;
  CallbackFamily* due_queue_scan_entries_;
  CallbackFamily* due_entries_estimate_;
  CallbackFamily* write_queue_;
  GaugeFamily* build_info_;
  GaugeFamily* storage_writable_;
  GaugeFamily* partitions_;
  CounterFamily* partition_lease_changes_;

  // Read without a lock: a new method copies the table, publishes the copy
  // and keeps every old one (readers may still hold it; there are a few
  // dozen methods at most).
  std::atomic<const RpcTable*> rpc_table_;
  absl::Mutex rpc_mu_;
  std::vector<std::unique_ptr<const RpcTable>> rpc_tables_ ABSL_GUARDED_BY(rpc_mu_);
  std::vector<std::unique_ptr<RpcMethod>> rpc_methods_ ABSL_GUARDED_BY(rpc_mu_);
};

// The process-wide metrics, including process_* basics (resident memory,
// CPU time, open descriptors, start time). Created at first use, never
// destroyed (so it outlives every thread that counts).
ServiceMetrics& Global();

// The process-wide registry's text: what GET /metrics serves.
std::string RenderGlobal();

}  // namespace wink::webhooks::metrics

#endif  // WINK_WEBHOOKS_SERVICE_METRICS_SERVICE_METRICS_H_
