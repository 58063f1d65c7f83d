// Recoveries: bulk re-sends of one webhook's FAILED (and optionally
// SUCCEEDED) deliveries in a time range, after a receiver's outage or data
// loss (DeliveryService.RecoverDeliveries and GetRecovery).
//
// A recovery is a long-running operation of this node: Start returns at once
// and one worker thread does the work, a page of deliveries at a time, taking
// the running recoveries in turn so that a large one does not hold up the
// others. Each delivery is re-sent with DeliveryLedger::RetryNow, the path of
// RetryDelivery: durable, visible on WatchDeliveries, and sent by the engine
// under the webhook's own concurrency and rate limits.
//
// What is not durable: the recovery's own progress lives in memory, for
// kRecoveryRetention after it ends. A restart forgets it (GetRecovery:
// NOT_FOUND); every delivery re-sent until then stays re-sent, and starting
// it again re-sends what is still FAILED (a replay of SUCCEEDED ones would
// send those again: receivers dedupe on webhook-id).
#ifndef WINK_WEBHOOKS_SERVICE_API_RECOVERIES_H_
#define WINK_WEBHOOKS_SERVICE_API_RECOVERIES_H_

#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/common/clock.h"
#include "service/common/ids.h"
#include "service/storage/delivery_ledger.h"
#include "wink/webhooks/v1/delivery_service.pb.h"

namespace wink::webhooks::api {

// How long a finished recovery stays readable.
inline constexpr absl::Duration kRecoveryRetention = absl::Hours(1);
// Deliveries looked at per turn of one recovery.
inline constexpr int kRecoveryPageSize = 100;
// Recoveries remembered at most (running or finished); the oldest finished
// ones are forgotten first, and Start answers RESOURCE_EXHAUSTED when all of
// them are running.
inline constexpr int kMaxRecoveries = 1000;

// What to recover.
struct RecoveryRequest {
  std::string account;
  std::string webhook_id;
  absl::Time published_from;    // inclusive
  absl::Time published_before;  // exclusive; InfiniteFuture: no bound
  bool include_succeeded = false;
};

// Thread-safe. `deliveries` and `clock` must outlive it.
class RecoveryRunner {
 public:
  RecoveryRunner(storage::DeliveryLedger& deliveries, const Clock& clock);
  ~RecoveryRunner();  // Stop()

  // Starts a recovery and returns it RUNNING. FAILED_PRECONDITION if one of
  // the same webhook is running (naming it); RESOURCE_EXHAUSTED at
  // kMaxRecoveries running; UNAVAILABLE after Stop. The caller has checked
  // the webhook (exists, enabled) and the request's fields.
  absl::StatusOr<v1::Recovery> Start(const RecoveryRequest& request);

  // A recovery by its parts; NOT_FOUND if unknown to this node (never
  // started here, forgotten, or of another account or webhook).
  absl::StatusOr<v1::Recovery> Get(absl::string_view account, absl::string_view webhook_id,
                                   absl::string_view recovery_id) const;

  // Ends every running recovery as FAILED ("the server is shutting down")
  // after the page in progress, and joins the worker. Idempotent.
  void Stop();

 private:
  struct Job {
    RecoveryRequest request;
    v1::Recovery recovery;      // what Get returns
    std::string continue_from;  // the ledger's position within the webhook
  };

  // What one page of a recovery did.
  struct PageOutcome {
    int matched = 0;
    int resent = 0;
    int skipped = 0;
    std::string continue_from;  // empty: the range is done
    std::string error;          // set: the recovery stops FAILED
  };

  // The worker: a page of the first queued job, which then goes to the back
  // unless it is done.
  void Work();
  // One page from `continue_from`, outside mu_ (the ledger's calls block on
  // durable writes).
  PageOutcome RunPage(const RecoveryRequest& request, const std::string& continue_from);
  void Finish(Job& job, v1::RecoveryState state, std::string error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets finished recoveries past retention, and the oldest finished ones
  // beyond kMaxRecoveries.
  void ForgetOld() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  storage::DeliveryLedger& deliveries_;
  const Clock& clock_;
  IdGenerator ids_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Every remembered recovery by id; the running ones are also queued.
  absl::CondVar work_cv_;
  absl::flat_hash_map<std::string, std::shared_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<Job>> running_ ABSL_GUARDED_BY(mu_);
  std::thread worker_;
};

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_RECOVERIES_H_
