// The delivery engine: takes due deliveries from the durable due queue,
// sends them as signed HTTPS POSTs, and records every attempt.
//
// Threads: one scheduler thread (scans the queue, picks what to send by the
// rules of dispatch_queue.h, builds and signs requests), the HTTP client's
// own event loop (network), the storage threads (commit attempt results and
// call back), and one maintenance thread (retention). Nothing here blocks on
// the network.
//
// Everything the engine decides by time or chance comes from outside: the
// Clock (due times, scan pacing, records) and the RandomSource (retry
// jitter); its storage is the DeliveryLedger, DueQueue and Retention
// interfaces, and its network the HttpClient interface, so tests can drive
// it with a fake clock and a scripted client.
//
// Ordered webhooks (WebhookRecord.ordered_delivery): the dispatch queue
// sends their deliveries one at a time in event id order, and before each
// send the engine asks storage for the webhook's oldest unfinished delivery;
// only that one goes (WaitsForOlderDelivery). A failing delivery so holds
// the later ones until it succeeds or fails for good.
//
// Crash safety: a delivery leaves the due queue only in the same write that
// records its attempt, so after a crash every delivery that was waiting or in
// flight is found again; only those in flight can be sent twice (with the
// same webhook-id).
#ifndef WINK_WEBHOOKS_SERVICE_DELIVERY_ENGINE_H_
#define WINK_WEBHOOKS_SERVICE_DELIVERY_ENGINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/common/clock.h"
#include "service/common/random.h"
#include "service/common/token_bucket.h"
#include "service/delivery/dispatch_queue.h"
#include "service/domain/delivery_lifecycle.h"
#include "service/http/http_client.h"
#include "service/metrics/registry.h"
#include "service/storage/delivery_ledger.h"
#include "service/secrets/keyring.h"
#include "service/storage/due_queue.h"
#include "service/storage/retention.h"
#include "service/storage/update_log.h"

namespace wink::webhooks::delivery {

struct EngineOptions {
  // Delay before each attempt (see domain::RetryPolicy).
  std::vector<absl::Duration> retry_schedule = {
      absl::ZeroDuration(), absl::Seconds(5), absl::Minutes(5), absl::Minutes(30),
      absl::Hours(2),       absl::Hours(5),   absl::Hours(10),  absl::Hours(10)};
  absl::Duration max_retry_after = absl::Hours(1);
  absl::Duration disable_after_failing_for = absl::Hours(24 * 5);
  int max_in_flight = 256;
  int max_in_flight_per_webhook = 16;
  // Most requests the webhooks of one account may have in flight together
  // (dispatch_queue.h): slow receivers of one tenant leave the rest of
  // max_in_flight to the others.
  int max_in_flight_per_account = 64;
  // Most due deliveries held in memory (dispatch_queue.h); the rest stay in
  // the queue on disk until there is room.
  int max_queued = 50000;
  // The queue is re-read at least this often (by the engine's clock) even
  // when nothing signalled new work.
  absl::Duration rescan_interval = absl::Seconds(1);
  // When an attempt's result cannot be stored (the disk full or failing),
  // nothing is sent until storage takes writes again: it is probed after
  // the first delay, then after twice as long, up to the longest.
  absl::Duration storage_probe_first = absl::Seconds(1);
  absl::Duration storage_probe_longest = absl::Seconds(30);
  // Events older than this are purged, checked every `purge_interval`.
  absl::Duration event_retention = absl::Hours(24 * 30);
  absl::Duration purge_interval = absl::Hours(1);
};

// What the engine needs of storage.
struct EngineStorage {
  storage::DeliveryLedger& deliveries;
  storage::DueQueue& due_queue;
  storage::Retention& retention;
};

// Thread-safe. Collaborators must outlive the engine. Listens to the update
// log (subscribe it with UpdateLog::AddListener before Start).
class DeliveryEngine : public storage::UpdateListener {
 public:
  // `keyring` opens the webhooks' sealed secrets and headers (service/secrets).
  DeliveryEngine(EngineStorage storage, http::HttpClient& http, const secrets::Keyring& keyring,
                 const Clock& clock, RandomSource& random, EngineOptions options);
  ~DeliveryEngine() override;  // Shutdown(0) if still running

  // Finishes cascades a crash interrupted, then starts the scheduler and
  // maintenance threads; the first scan of the queue picks up everything left
  // by a previous run.
  void Start();

  // Stops taking work, lets requests in flight finish for up to `grace`
  // (their attempts are recorded), cancels the rest (not recorded: they stay
  // due and are sent again after a restart), and joins the threads.
  void Shutdown(absl::Duration grace);

  // From the update log (storage thread): wakes the scheduler for new due
  // work, and aborts a cancelled delivery's request on the wire.
  void OnDeliveryUpdate(const storage::DeliveryUpdate& update) override;

  // From the update log: aborts requests on the wire to a deleted webhook and
  // marks its deliveries in memory so none is sent.
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

  // A webhook's current in-flight limit (for tests).
  int limit_of(const std::string& webhook_id) const;

  // Scans of the due queue since Start, and the entries they read (for tests
  // and metrics). A scan reads up to 2 x max_queued entries, so many scans
  // per delivery sent means the scheduler spends its time reading.
  struct ScanCounts {
    int64_t scans = 0;
    int64_t entries_read = 0;
  };
  ScanCounts scan_counts() const;

 private:
  void SchedulerLoop();
  // Purges expired events every purge_interval, and repairs interrupted
  // cascades when this node's share of the deliveries changed.
  void MaintenanceLoop();
  // DeliveryLedger::RepairInterruptedCascades, logged.
  void RepairInterruptedCascades();
  // Loads due deliveries into the dispatch queue. The part of the queue
  // written since the last full walk is read in slices (kScanSlice), and
  // what is ready is sent between them, so a long walk does not hold up
  // sending.
  void Scan() ABSL_LOCKS_EXCLUDED(mu_);
  // Takes what the dispatch queue lets go now (round-robin, limits, rate
  // limits) after `to_attempt`, already taken, and attempts each; counts
  // the webhooks rate-limited meanwhile, and `rate_limited` (NextToAttempt).
  void SendWhatIsReady(std::vector<storage::DueDelivery> to_attempt = {},
                       std::vector<std::string> rate_limited = {}) ABSL_LOCKS_EXCLUDED(mu_);
  // Reads the records, then parks the delivery or sends it.
  void Attempt(const storage::DueDelivery& due) ABSL_LOCKS_EXCLUDED(mu_);
  void Park(const storage::DueDelivery& due);
  // For a delivery of an ordered webhook, about to be sent: when storage
  // holds an older unfinished delivery of the webhook (DueQueue::
  // FirstOfWebhook, the committed state, so the order holds across
  // restarts, pauses and nodes), defers it behind that one and returns
  // true. Also true when the check failed (the delivery stays due).
  bool WaitsForOlderDelivery(const storage::DueDelivery& due, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The next delivery to attempt (DispatchQueue::NextToSend), after the
  // rate limit of its webhook, when one is known, took a token for it
  // (DispatchQueue::MarkRateCharged), unless it still holds the one taken
  // before it was deferred. Deliveries without a token are
  // deferred here, before any storage read, and their webhooks added to
  // `rate_limited` (for the metric, counted outside mu_).
  std::optional<storage::DueDelivery> NextToAttempt(absl::Time now,
                                                    std::vector<std::string>& rate_limited)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Brings the known rate limit of the delivery's webhook up to date with
  // its record; when the scheduler did not charge the delivery (the limit
  // was not known yet), takes its token now. How long the delivery must
  // wait; zero to send it now.
  absl::Duration ChargeRateLimit(const storage::DueDelivery& due,
                                 const domain::WebhookRecord& webhook, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What OnResponse needs to know of the attempt it judges.
  struct SentAttempt {
    std::string account;
    absl::Time start;
    // When the event was created (for the publish-to-delivery latency).
    absl::Time event_time;
    // The event's W3C trace id, for the log line; empty when it has none.
    std::string trace_id;
  };
  void OnResponse(const storage::DueDelivery& due, const SentAttempt& sent,
                  http::HttpResponse response);
  // When the scheduler must scan again for entries due after `now`: the
  // first that nothing else brings in (see Scan), or nullopt.
  absl::StatusOr<std::optional<absl::Time>> NextWakeAfter(absl::Time now);
  // The due time of the first entry in [from, before) that nothing will
  // take into memory (DispatchQueue::WillBeTaken), or nullopt if all will.
  absl::StatusOr<std::optional<absl::Time>> FirstEntryNotTaken(absl::Time from, absl::Time before)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The timer fired: true (and the timer set at the next entry) when every
  // entry it was set for is in memory by now, so no scan is needed.
  bool TimerWasForEntriesTakenSince();
  // The delivery's attempt (or park) is durable, or failed to commit.
  void Finished(const storage::DueDelivery& due, const absl::Status& status);
  // While paused for storage: asks it whether it takes writes again, and
  // resumes or doubles the delay to the next probe.
  void ProbeStorage();

  storage::DeliveryLedger& deliveries_;
  storage::DueQueue& due_queue_;
  storage::Retention& retention_;
  http::HttpClient& http_;
  const secrets::Keyring& keyring_;
  const Clock& clock_;
  RandomSource& random_;
  const EngineOptions options_;
  const std::shared_ptr<const domain::DeliveryRules> rules_;

  mutable absl::Mutex mu_;
  absl::CondVar wake_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool shutting_down_http_ ABSL_GUARDED_BY(mu_) = false;
  bool rescan_ ABSL_GUARDED_BY(mu_) = true;
  absl::Time next_wake_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // While storage cannot record results: when to probe it next (infinite
  // past: it can), and the delay after that.
  absl::Time storage_probe_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration storage_probe_delay_ ABSL_GUARDED_BY(mu_);
  // Earliest due time of the due updates since the last Scan began (Scan
  // starts no later than this).
  absl::Time lowest_update_due_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  DispatchQueue dispatch_ ABSL_GUARDED_BY(mu_);
  // The rate limits of webhooks as their last attempt's record had them,
  // with their token buckets, by webhook id.
  struct RateLimit {
    int per_second = 0;
    int burst = 0;
    TokenBucket bucket;
  };
  absl::flat_hash_map<std::string, RateLimit> rate_limits_ ABSL_GUARDED_BY(mu_);
  ScanCounts scan_counts_ ABSL_GUARDED_BY(mu_);

  // Where the next Scan starts (see Scan); only the scheduler thread uses
  // these.
  static constexpr absl::Duration kLateCommitMargin = absl::Seconds(5);
  static constexpr absl::Duration kFullScanInterval = absl::Minutes(1);
  // A scan walks the part of the queue written since the last full walk
  // (dense with deleted entries) in slices of this much due time, or in
  // kMaxScanSlices wider ones, sending what is ready between them. A scan
  // once a second from ~6 s back: 100 ms slices; a full walk: ~1.1 s ones.
  static constexpr absl::Duration kScanSlice = absl::Milliseconds(100);
  static constexpr int kMaxScanSlices = 60;
  absl::Time scan_floor_ = absl::InfinitePast();
  absl::Time last_full_scan_ = absl::InfinitePast();
  // DueQueue::OwnershipVersion() at the last scan, and at the last repair
  // (the maintenance thread's after Start).
  uint64_t scanned_ownership_ = 0;
  uint64_t repaired_ownership_ = 0;
  static constexpr absl::Duration kOwnershipCheckInterval = absl::Seconds(1);

  std::thread scheduler_;
  std::thread maintenance_;
  // The in-flight, queued and scan metrics read this engine while it exists
  // (registered by Start; destroyed first, before what they read).
  std::vector<metrics::CallbackRegistration> metric_sources_;
};

}  // namespace wink::webhooks::delivery

#endif  // WINK_WEBHOOKS_SERVICE_DELIVERY_ENGINE_H_
