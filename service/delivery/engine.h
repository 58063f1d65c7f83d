// The delivery engine: takes due deliveries from the durable `due` queue,
// sends them as signed HTTPS POSTs, and records every attempt.
//
// Threads: one scheduler thread (reads the queue, picks what to send, builds
// and signs requests), the HTTP client's own event loop (network), the
// storage writer (commits attempt results), and one maintenance thread
// (retention purge). Nothing here blocks on the network.
//
// Isolation: at most `max_in_flight` requests overall and
// `max_in_flight_per_webhook` per webhook; webhooks take turns, so a
// receiver that hangs only ever holds its own slots while the others keep
// flowing.
//
// Crash safety: a delivery leaves the `due` queue only in the same write that
// records its attempt, so after a crash every delivery that was waiting or in
// flight is found again; only those in flight can be sent twice (with the
// same webhook-id).
#ifndef WINK_WEBHOOKS_SERVICE_DELIVERY_ENGINE_H_
#define WINK_WEBHOOKS_SERVICE_DELIVERY_ENGINE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/common/clock.h"
#include "service/delivery/retry_policy.h"
#include "service/delivery/status_bus.h"
#include "service/http/http_client.h"
#include "service/metrics/registry.h"
#include "service/storage/event_store.h"
#include "service/storage/update_listener.h"
#include "service/storage/webhook_store.h"

namespace wink::webhooks::delivery {

struct EngineOptions {
  // Delay before each attempt (see RetryPolicy).
  std::vector<absl::Duration> retry_schedule = {
      absl::ZeroDuration(), absl::Seconds(5), absl::Minutes(5), absl::Minutes(30),
      absl::Hours(2),       absl::Hours(5),   absl::Hours(10),  absl::Hours(10)};
  absl::Duration max_retry_after = absl::Hours(1);
  absl::Duration disable_after_failing_for = absl::Hours(24 * 5);
  int max_in_flight = 256;
  int max_in_flight_per_webhook = 16;
  // Most due deliveries held in memory waiting for a slot (a quarter of
  // them at most for one webhook); the rest stay in the queue on disk until
  // there is room.
  int max_queued = 50000;
  // The queue is re-read at least this often even when nothing signalled
  // new work (e.g. a test clock moved).
  absl::Duration rescan_interval = absl::Seconds(1);
  // Events older than this are purged, checked every `purge_interval`.
  absl::Duration event_retention = absl::Hours(24 * 30);
  absl::Duration purge_interval = absl::Hours(1);
  // Sent as User-Agent by the HTTP client; used here only for logs.
  std::string user_agent = "wink-webhooks";
};

// Thread-safe. Collaborators must outlive the engine.
class DeliveryEngine : public storage::UpdateListener {
 public:
  DeliveryEngine(storage::EventStore& events, storage::WebhookStore& webhooks,
                 http::HttpClient& http, StatusBus& bus, const Clock& clock, EngineOptions options);
  ~DeliveryEngine() override;  // Shutdown(0) if still running

  // Starts the scheduler and maintenance threads; the first scan of the
  // queue picks up everything left by a previous run.
  void Start();

  // Stops taking work, lets requests in flight finish for up to `grace`
  // (their attempts are recorded), cancels the rest (not recorded: they stay
  // due and are sent again after a restart), and joins the threads.
  void Shutdown(absl::Duration grace);

  // From storage: every committed delivery update (writer thread). Feeds the
  // status bus and wakes the scheduler for new due work.
  void OnDeliveryUpdate(const storage::DeliveryUpdate& update) override;

  // From storage: aborts requests on the wire to a deleted webhook and marks
  // its deliveries in memory so none is sent.
  void OnWebhookDeleted(const std::string& webhook_id) override;

  // Re-reads the due queue now instead of at the next scan; for tests that
  // move a fake clock past retry times.
  void Wake();

  // Purges events older than the retention window now. Returns how many.
  absl::StatusOr<int> PurgeExpired();

  // Requests in flight right now (for tests and metrics).
  int in_flight() const;

  // Due deliveries held in memory waiting for a slot (for metrics).
  int queued() const;

 private:
  struct WebhookQueue {
    std::deque<storage::DueDelivery> waiting;
    int in_flight = 0;
    // Current in-flight limit: max_in_flight_per_webhook, or 1 while the
    // receiver does not answer (0: not set yet).
    int limit = 0;
    bool in_ready_list = false;
    // Due deliveries were left on disk because `waiting` was full.
    bool overflowed = false;
  };
  enum class EnqueueResult { kQueued, kWebhookFull, kMemoryFull };
  // A delivery the engine has taken from the queue: waiting in memory, being
  // sent, or having its result committed.
  struct Flight {
    // Counts towards the in-flight limits (from dispatch until the HTTP
    // exchange ends).
    bool holds_slot = false;
    uint64_t http_request_id = 0;
    bool sent = false;
    // The delivery was cancelled (webhook deleted) while being sent.
    bool cancel_requested = false;
  };

  void SchedulerLoop();
  void MaintenanceLoop();
  // Loads due deliveries into the per-webhook queues.
  void Scan() ABSL_LOCKS_EXCLUDED(mu_);
  EnqueueResult TryEnqueue(const storage::DueDelivery& due) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops the newest waiting delivery of the longest queue other than
  // `except` from memory (it stays due on disk) if that queue holds more than
  // `fair_share`. False if there is none.
  bool EvictFromLongestQueue(const std::string& except, size_t fair_share)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MarkReady(const std::string& webhook_id, WebhookQueue& queue)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reads the records, then parks the delivery or sends it.
  void Attempt(const storage::DueDelivery& due) ABSL_LOCKS_EXCLUDED(mu_);
  // `event_time`: when the event was created (for the publish-to-delivery
  // latency).
  void OnResponse(const storage::DueDelivery& due, const std::string& account, absl::Time start,
                  absl::Time event_time, http::HttpResponse response);
  // Gives back the delivery's in-flight slot, if it holds one.
  void ReleaseSlot(const storage::DueDelivery& due) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The delivery's attempt (or park) is durable, or failed to commit.
  void Finished(const storage::DueDelivery& due, const absl::Status& status);

  storage::EventStore& events_;
  storage::WebhookStore& webhooks_;
  http::HttpClient& http_;
  StatusBus& bus_;
  const Clock& clock_;
  const EngineOptions options_;
  const RetryPolicy policy_;
  // Most deliveries one webhook may have waiting in memory.
  const int max_queued_per_webhook_;

  mutable absl::Mutex mu_;
  absl::CondVar wake_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool shutting_down_http_ ABSL_GUARDED_BY(mu_) = false;
  bool rescan_ ABSL_GUARDED_BY(mu_) = true;
  // Something due did not fit in memory (max_queued).
  bool memory_full_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time next_wake_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Earliest due time of the due updates since the last Scan began (Scan
  // starts no later than this).
  absl::Time lowest_update_due_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  absl::flat_hash_map<std::string, WebhookQueue> queues_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> ready_ ABSL_GUARDED_BY(mu_);
  // Deliveries queued or in flight, by "webhook_id/event_id".
  absl::flat_hash_map<std::string, Flight> known_ ABSL_GUARDED_BY(mu_);
  // Deliveries holding a slot (being sent), over all webhooks.
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  absl::BitGen bitgen_ ABSL_GUARDED_BY(mu_);

  // Where the next Scan starts (see Scan); only the scheduler thread uses
  // these.
  static constexpr absl::Duration kLateCommitMargin = absl::Seconds(5);
  static constexpr absl::Duration kFullScanInterval = absl::Minutes(1);
  absl::Time scan_floor_ = absl::InfinitePast();
  absl::Time last_full_scan_ = absl::InfinitePast();

  std::thread scheduler_;
  std::thread maintenance_;
  // The in-flight and queued gauges read this engine while it exists
  // (registered by Start; destroyed first, before what they read).
  std::vector<metrics::CallbackRegistration> metric_sources_;
};

}  // namespace wink::webhooks::delivery

#endif  // WINK_WEBHOOKS_SERVICE_DELIVERY_ENGINE_H_
