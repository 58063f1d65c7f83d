#include "service/metrics/service_metrics.h"

#include <dirent.h>
#include <sys/resource.h>

#include <fstream>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace wink::webhooks::metrics {
namespace {

// Taken when the program starts (static initialization), for
// process_start_time_seconds.
const absl::Time kProcessStart = absl::Now();

// Bucket bounds, in seconds unless named otherwise.
const std::vector<double> kPublishLatencyBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const std::vector<double> kAttemptDurationBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                    1,     2.5,  5,     10,   15,  30,   60};
// Milliseconds while deliveries keep pace; seconds or minutes when a
// webhook's backlog waits for its slots or its rate limit.
const std::vector<double> kSendDelayBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1,      2.5,   5,    10,    30,   60,  300};
// Retries stretch a delivery over hours: the buckets follow the default
// retry schedule (0s, 5s, 5m, 30m, 2h, 5h, 10h, 10h).
const std::vector<double> kPublishToDeliveryBounds = {
    0.01, 0.025, 0.05, 0.1,  0.25, 0.5,  1,     2.5,   5,     10,    30,
    60,   300,   900,  1800, 3600, 7200, 18000, 36000, 72000, 129600};
const std::vector<double> kCommitDurationBounds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
const std::vector<double> kCommitOperationsBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};

// "VmRSS:     1234 kB" in /proc/self/status, in bytes; 0 if unreadable.
double ProcStatusBytes(absl::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, field) || !absl::ConsumePrefix(&rest, ":")) continue;
    rest = absl::StripAsciiWhitespace(rest);
    int64_t kib = 0;
    if (absl::ConsumeSuffix(&rest, " kB") && absl::SimpleAtoi(rest, &kib)) return kib * 1024.0;
    return 0;
  }
  return 0;
}

double OpenFileDescriptors() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  int count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // the descriptor opendir itself holds
}

double CpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Registered once for the life of the process.
void RegisterProcessMetrics(Registry& registry) {
  static auto* const registrations = new std::vector<CallbackRegistration>();
  auto add = [&](absl::string_view name, absl::string_view help, MetricType type,
                 std::function<double()> read) {
    registrations->push_back(registry.AddCallbacks(name, help, type).Register({}, std::move(read)));
  };
  add("process_resident_memory_bytes", "Resident memory size in bytes (VmRSS).", MetricType::kGauge,
      [] { return ProcStatusBytes("VmRSS"); });
  add("process_virtual_memory_bytes", "Virtual memory size in bytes (VmSize).", MetricType::kGauge,
      [] { return ProcStatusBytes("VmSize"); });
  add("process_open_fds", "Open file descriptors.", MetricType::kGauge, OpenFileDescriptors);
  add("process_cpu_seconds_total", "User and system CPU time spent, in seconds.",
      MetricType::kCounter, CpuSeconds);
  add("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.",
      MetricType::kGauge, [] { return absl::ToDoubleSeconds(kProcessStart - absl::UnixEpoch()); });
}

// The children of `family` for `values`, in that order.
template <size_t N>
std::array<Counter*, N> Children(CounterFamily& family,
                                 const std::array<absl::string_view, N>& values) {
  std::array<Counter*, N> out;
  for (size_t i = 0; i < N; ++i) out[i] = &family.WithLabels({values[i]});
  return out;
}

}  // namespace

ServiceMetrics::RpcMethod::RpcMethod(std::string method_name) : name(std::move(method_name)) {
  for (auto& counter : by_code) counter.store(nullptr, std::memory_order_relaxed);
}

ServiceMetrics::ServiceMetrics(Registry& registry) : registry_(registry) {
  // Order matters only for reading the output: publish, delivery, API,
  // storage, process.
  events_published_ = Children<3>(
      registry.AddCounter("wink_webhooks_events_published_total",
                          "Events by how their publish call ended: accepted (stored and fanned "
                          "out), replayed (same idempotency key as an earlier publish; nothing "
                          "new stored), rejected (the call failed).",
                          {"outcome"}),
      {"accepted", "replayed", "rejected"});
  publish_latency_ = &registry
                          .AddHistogram("wink_webhooks_publish_latency_seconds",
                                        "Time from the arrival of a successful publish call to "
                                        "its durable acknowledgement, in seconds.",
                                        {}, kPublishLatencyBounds)
                          .WithLabels({});
  deliveries_finished_ = Children<3>(
      registry.AddCounter("wink_webhooks_deliveries_finished_total",
                          "Deliveries that reached a final state: succeeded (a 2xx answer), "
                          "failed (retries exhausted or 410 Gone), cancelled (webhook deleted "
                          "or held deliveries dropped).",
                          {"outcome"}),
      {"succeeded", "failed", "cancelled"});
  attempts_ = Children<10>(
      registry.AddCounter("wink_webhooks_delivery_attempts_total",
                          "Delivery attempts by result: the HTTP status class, or why there "
                          "was no status (timeout, network_error, tls_error, refused by the "
                          "SSRF guard, cancelled by a delete).",
                          {"class"}),
      {"2xx", "3xx", "4xx", "5xx", "other_status", "timeout", "network_error", "tls_error",
       "refused", "cancelled"});
  attempt_duration_ = &registry
                           .AddHistogram("wink_webhooks_delivery_attempt_duration_seconds",
                                         "Duration of each delivery attempt's HTTP exchange "
                                         "(connecting included), in seconds.",
                                         {}, kAttemptDurationBounds)
                           .WithLabels({});
  publish_to_delivery_ =
      &registry
           .AddHistogram("wink_webhooks_publish_to_delivery_latency_seconds",
                         "Time from an event's creation to the end of the attempt that "
                         "delivered it (retries included), in seconds.",
                         {}, kPublishToDeliveryBounds)
           .WithLabels({});
  send_delay_ =
      &registry
           .AddHistogram("wink_webhooks_delivery_send_delay_seconds",
                         "Time from a delivery being due (its event's publish, or its retry "
                         "time) to its request being sent, in seconds: waiting for a free slot "
                         "of its webhook or of the service, for its rate limit, or for the "
                         "scheduler.",
                         {}, kSendDelayBounds)
           .WithLabels({});
  webhook_failures_ = &registry.AddCounter(
      "wink_webhooks_webhook_failed_attempts_total",
      "Failed delivery attempts per webhook id; the first 100 webhooks with failures get their "
      "own series, the rest count under webhook=\"other\".",
      {"webhook"}, FamilyOptions{kMaxWebhookSeries});
  rate_limited_ = &registry.AddCounter(
      "wink_webhooks_rate_limited_deliveries_total",
      "Times a delivery was put off because its webhook's rate_limit had no token left, per "
      "webhook id (the first 100 such webhooks; the rest count under webhook=\"other\").",
      {"webhook"}, FamilyOptions{kMaxWebhookSeries});
  deliveries_in_flight_ =
      &registry.AddCallbacks("wink_webhooks_deliveries_in_flight",
                             "Delivery requests being sent right now.", MetricType::kGauge);
  deliveries_queued_ = &registry.AddCallbacks(
      "wink_webhooks_deliveries_queued",
      "Due deliveries the engine holds in memory, waiting for a free slot.", MetricType::kGauge);
  due_queue_scans_ = &registry.AddCallbacks(
      "wink_webhooks_due_queue_scans_total",
      "Scans of the due queue by the delivery engine (each reads up to 2 x max_queued entries).",
      MetricType::kCounter);
  due_queue_scan_entries_ = &registry.AddCallbacks(
      "wink_webhooks_due_queue_scan_entries_total",
      "Due-queue entries read by the delivery engine's scans.", MetricType::kCounter);
  due_entries_estimate_ = &registry.AddCallbacks(
      "wink_webhooks_due_entries_estimate",
      "Entries in the due queue: deliveries pending or scheduled for a retry, including those "
      "queued in memory or in flight (RocksDB: exact; PostgreSQL: the planner's estimate).",
      MetricType::kGauge);
  rpcs_ =
      &registry.AddCounter("wink_webhooks_rpcs_total",
                           "Finished gRPC calls by method and status code.", {"method", "code"});
  write_queue_ = &registry.AddCallbacks("wink_webhooks_storage_write_queue_operations",
                                        "Write operations waiting for the storage writer.",
                                        MetricType::kGauge);
  commit_duration_ = &registry
                          .AddHistogram("wink_webhooks_storage_commit_duration_seconds",
                                        "Time to commit one group of writes (one WAL write, "
                                        "one fsync in the default sync mode), in seconds.",
                                        {}, kCommitDurationBounds)
                          .WithLabels({});
  commit_operations_ = &registry
                            .AddHistogram("wink_webhooks_storage_commit_operations",
                                          "Write operations committed together in one group.", {},
                                          kCommitOperationsBounds)
                            .WithLabels({});
  write_wait_ = &registry
                     .AddHistogram("wink_webhooks_storage_write_wait_seconds",
                                   "Time a write operation waited in the storage writer's "
                                   "queue before the writer started it, in seconds.",
                                   {}, kCommitDurationBounds)
                     .WithLabels({});
  group_run_ = &registry
                    .AddHistogram("wink_webhooks_storage_group_run_seconds",
                                  "Time the storage writer spent running one group's "
                                  "operations (reads, staged writes) before its commit, in "
                                  "seconds.",
                                  {}, kCommitDurationBounds)
                    .WithLabels({});
  group_finish_ = &registry
                       .AddHistogram("wink_webhooks_storage_group_finish_seconds",
                                     "Time the storage writer spent after a commit telling the "
                                     "group's callers (for publishes: sending the responses), "
                                     "in seconds.",
                                     {}, kCommitDurationBounds)
                       .WithLabels({});
  build_info_ = &registry.AddGauge("wink_webhooks_build_info",
                                   "Always 1; the label carries the server version.", {"version"});
  storage_writable_ = &registry.AddGauge(
      "wink_webhooks_storage_writable",
      "1 while storage commits writes; 0 after a commit failed (disk full or failing) until "
      "one succeeds again. While 0 publishes get UNAVAILABLE and deliveries wait.",
      {});
  partitions_ = &registry.AddGauge(
      "wink_webhooks_partitions",
      "Cluster mode: partitions of the deliveries this node leases; state=owned (it sends "
      "their deliveries) or draining (being handed to another node).",
      {"state"});
  partition_lease_changes_ = &registry.AddCounter(
      "wink_webhooks_partition_lease_changes_total",
      "Cluster mode: partition leases this node took (change=taken) or handed back "
      "(change=released).",
      {"change"});
  auto empty = std::make_unique<const RpcTable>();
  rpc_table_.store(empty.get(), std::memory_order_release);
  absl::MutexLock lock(&rpc_mu_);
  rpc_tables_.push_back(std::move(empty));
}

void ServiceMetrics::RecordRpc(absl::string_view method, absl::StatusCode code) {
  const RpcTable* table = rpc_table_.load(std::memory_order_acquire);
  const auto it = table->find(method);
  RpcMethod* entry = it != table->end() ? it->second : AddRpcMethod(method);
  int index = static_cast<int>(code);
  if (index < 0 || index >= kStatusCodes) index = static_cast<int>(absl::StatusCode::kUnknown);
  Counter* counter = entry->by_code[index].load(std::memory_order_acquire);
  if (counter == nullptr) {
    // First call with this code: WithLabels returns the same child to
    // racing callers, so storing it twice is harmless.
    counter = &rpcs_->WithLabels(
        {entry->name, absl::StatusCodeToString(static_cast<absl::StatusCode>(index))});
    entry->by_code[index].store(counter, std::memory_order_release);
  }
  counter->Increment();
}

ServiceMetrics::RpcMethod* ServiceMetrics::AddRpcMethod(absl::string_view method) {
  absl::MutexLock lock(&rpc_mu_);
  const RpcTable& current = *rpc_table_.load(std::memory_order_acquire);
  if (auto it = current.find(method); it != current.end()) return it->second;
  rpc_methods_.push_back(std::make_unique<RpcMethod>(std::string(method)));
  auto next = std::make_unique<RpcTable>(current);
  next->emplace(std::string(method), rpc_methods_.back().get());
  rpc_table_.store(next.get(), std::memory_order_release);
  rpc_tables_.push_back(std::move(next));
  return rpc_methods_.back().get();
}

ServiceMetrics& Global() {
  static ServiceMetrics* const metrics = [] {
    auto* registry = new Registry();
    auto* service = new ServiceMetrics(*registry);
    RegisterProcessMetrics(*registry);
    return service;
  }();
  return *metrics;
}

std::string RenderGlobal() { return Global().registry().Render(); }

}  // namespace wink::webhooks::metrics
