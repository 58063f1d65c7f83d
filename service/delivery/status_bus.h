// The in-process status bus: every committed delivery update, in update-log
// order, for WatchDeliveries streams.
//
// Watchers pull: each remembers its cursor and asks for the updates after it
// (Read), so a slow watcher costs no memory here and can never miss one.
// While anyone watches, the bus keeps the most recent updates in a ring;
// older ones come from the update log (storage/update_log.h). While nobody
// watches, it keeps none: a copy of every update was a tenth of the storage
// writer's time under batch publishes, for streams that mostly do not exist.
// So the first watcher to come reads what came before it from the log.
// Subscribers are woken when new updates arrive, on the bus's own thread:
// the storage thread that publishes never waits for a watcher. That thread
// never reads storage either: a watcher whose cursor is older than the ring
// catches up on a second thread (RequestCatchUp), so a stream replaying a
// long history cannot hold up the live ones. Subscribers may name their
// account: they are woken only for that account's updates and read only
// those from the ring (which is indexed by account), so thousands of idle
// watchers cost nothing per update of someone else.
#ifndef WINK_WEBHOOKS_SERVICE_DELIVERY_STATUS_BUS_H_
#define WINK_WEBHOOKS_SERVICE_DELIVERY_STATUS_BUS_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "service/storage/update_log.h"

namespace wink::webhooks::delivery {

// Thread-safe. Fed by the update log: subscribe it with
// UpdateLog::AddListener.
class StatusBus : public storage::UpdateListener {
 public:
  // `log` (for updates older than the ring) must outlive the bus.
  // `last_sequence` is the newest update already in the log at start
  // (UpdateLog::LastSequence()).
  StatusBus(storage::UpdateLog& log, uint64_t last_sequence, size_t ring_capacity = 1 << 16);
  ~StatusBus() override;  // Close()s and joins the wake-up thread

  // Appends one update (to the ring only while someone watches); sequences
  // must arrive in order. Its subscribers (of its account, or of every
  // account) are woken soon after, on the bus thread. With none, the bus
  // thread is left asleep: the storage thread that calls this pays no
  // wake-up for updates nobody watches.
  void OnDeliveryUpdate(const storage::DeliveryUpdate& update) override;

  // Rounds of wake-ups the bus thread has run so far (each wakes the
  // subscribers of the updates since the last).
  uint64_t wake_rounds() const;

  // Wakes subscriber `id` again soon (one that stopped early to keep a
  // wake-up short asks for the next).
  void RequestWake(int id);

  // Newest sequence number published (or in the log at start).
  uint64_t last_sequence() const;

  // Up to `max` updates with sequence > `after`, in order; empty when there
  // are none yet. From the ring when it holds them, else from the log.
  // OUT_OF_RANGE when the log no longer holds the update right after
  // `after` (purged by retention). Reads storage when they are older
  // than the ring: only on the catch-up thread (wake's `may_read_log`).
  absl::StatusOr<std::vector<storage::DeliveryUpdate>> Read(uint64_t after, int max);

  // The same from memory only: nullopt when the updates after `after` are
  // older than the ring (then RequestCatchUp).
  std::optional<std::vector<storage::DeliveryUpdate>> ReadRecent(uint64_t after, int max);

  struct AccountUpdates {
    // Up to `max` updates of the account, in order.
    std::vector<storage::DeliveryUpdate> updates;
    // Every update up to this sequence was looked at (those of other
    // accounts skipped): where the reader's cursor may move once it has
    // handled `updates`.
    uint64_t read_through = 0;
  };
  // Only `account`'s updates after `after`, from memory (the ring's index
  // by account), without looking at anyone else's; nullopt when the updates
  // after `after` are older than the ring (then RequestCatchUp).
  std::optional<AccountUpdates> ReadRecentOf(absl::string_view account, uint64_t after, int max);

  // `wake(may_read_log)` runs on the bus thread with false after new updates
  // arrive, after its RequestWake(id), and once when the bus closes; and on the
  // catch-up thread with true after RequestCatchUp(id). It should be short,
  // may call Read() (only when `may_read_log`), ReadRecent(),
  // last_sequence(), RequestWake(id) and RequestCatchUp(), and must not call
  // Subscribe/Unsubscribe (the subscriber list is locked while wake-ups run,
  // which is what lets Unsubscribe promise the next sentence). Returns an id
  // for Unsubscribe. After Unsubscribe returns, `wake` is not running and
  // will not run again.
  int Subscribe(std::function<void(bool may_read_log)> wake);
  // The same for a subscriber that reads only `account`'s updates: after new
  // updates it is woken only if some are of its account (still after its
  // own RequestWake(id), and at close).
  int Subscribe(std::string account, std::function<void(bool may_read_log)> wake);
  void Unsubscribe(int id);

  // Runs subscriber `id`'s wake(true) soon on the catch-up thread, which
  // serves the subscribers whose cursor is older than the ring one at a
  // time. Repeated requests before it runs count once.
  void RequestCatchUp(int id);

  // Ends watching: closed() turns true and subscribers are woken. Idempotent.
  void Close();
  bool closed() const;

 private:
  void WakeLoop();
  void CatchUpLoop();
  bool NobodyWatchesLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return watchers_of_all_ == 0 && watchers_of_.empty();
  }

  storage::UpdateLog& log_;
  const size_t ring_capacity_;
  mutable absl::Mutex mu_;
  // Consecutive updates ending at last_sequence_; empty while no one
  // watches (NobodyWatchesLocked).
  std::deque<storage::DeliveryUpdate> ring_ ABSL_GUARDED_BY(mu_);
  // The sequences of each account's updates in `ring_`, in order.
  absl::flat_hash_map<std::string, std::deque<uint64_t>> ring_by_account_ ABSL_GUARDED_BY(mu_);
  uint64_t last_sequence_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  // What the next wake-up round is for: the accounts with new updates and
  // the subscribers that asked (everyone once closed).
  bool wake_pending_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<std::string> accounts_updated_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<int> wake_requested_ ABSL_GUARDED_BY(mu_);
  bool thread_done_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t wake_rounds_ ABSL_GUARDED_BY(mu_) = 0;
  // How many subscribers each account has, and how many watch every
  // account: the same as below, kept under mu_ for OnDeliveryUpdate.
  absl::flat_hash_map<std::string, int> watchers_of_ ABSL_GUARDED_BY(mu_);
  int watchers_of_all_ ABSL_GUARDED_BY(mu_) = 0;

  // Subscribers, and a lock held while waking them so Unsubscribe can wait
  // for a running wake-up to end. Taken before mu_ when both are held.
  absl::Mutex subscribers_mu_;
  struct Subscriber {
    std::optional<std::string> account;  // nullopt: every account
    std::function<void(bool)> wake;
  };
  absl::flat_hash_map<int, Subscriber> subscribers_ ABSL_GUARDED_BY(subscribers_mu_);
  // Subscribers by their account, and those of every account.
  absl::flat_hash_map<std::string, absl::flat_hash_set<int>> subscribers_of_
      ABSL_GUARDED_BY(subscribers_mu_);
  absl::flat_hash_set<int> subscribers_of_all_ ABSL_GUARDED_BY(subscribers_mu_);
  int next_subscriber_id_ ABSL_GUARDED_BY(subscribers_mu_) = 1;

  // Subscribers waiting for the catch-up thread, in request order (each
  // once), and a lock it holds while it runs one, for Unsubscribe to wait.
  absl::Mutex catch_up_mu_;
  std::deque<int> catch_up_queue_ ABSL_GUARDED_BY(catch_up_mu_);
  absl::flat_hash_set<int> catch_up_requested_ ABSL_GUARDED_BY(catch_up_mu_);
  bool catch_up_closed_ ABSL_GUARDED_BY(catch_up_mu_) = false;
  absl::Mutex catch_up_running_mu_;

  std::thread thread_;
  std::thread catch_up_thread_;
};

}  // namespace wink::webhooks::delivery

#endif  // WINK_WEBHOOKS_SERVICE_DELIVERY_STATUS_BUS_H_
