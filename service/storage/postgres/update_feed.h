// The update feed: tells this node's update listeners (the engine, the
// status bus) every committed update of every node sharing the database, in
// sequence order and without gaps, as UpdateLog promises. Internal to the
// PostgreSQL backend.
//
// Updates this node commits are told at once, by the writer thread, when
// they are next in sequence. Other nodes' updates, and this node's when they
// arrive after a gap, are read from the `updates` table by the feed's own
// thread, which wakes:
// - when a transaction that appended updates commits on any node: it sends
//   NOTIFY on kUpdatesChannel (NotifyUpdatesStatement) and the feed
//   LISTENs;
// - when this node commits updates that are not next in sequence (another
//   node's commit took the numbers in between);
// - every kBackstopInterval, in case a notification was lost (PostgreSQL
//   keeps none for a connection that was down).
//
// Gap-free reads work because numbers are taken at the end of each
// transaction under the counter row's lock (writer.h): when update N is
// visible, every update below N committed before it.
//
// Webhook deletions travel the same way, on kWebhookDeletedChannel, so every
// node stops sending to a deleted webhook.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_UPDATE_FEED_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_UPDATE_FEED_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/storage/listeners.h"
#include "service/storage/postgres/connection.h"

namespace wink::webhooks::storage::pg {

// Up to `limit` updates with sequence > `after`, in order: the statement and
// the decoding of its rows.
Statement ReadUpdatesStatement(uint64_t after, int limit);
absl::StatusOr<std::vector<DeliveryUpdate>> DecodeUpdates(const Rows& rows);

// Thread-safe.
class UpdateFeed {
 public:
  static constexpr absl::Duration kBackstopInterval = absl::Seconds(1);
  static constexpr absl::string_view kUpdatesChannel = "wink_updates";
  static constexpr absl::string_view kWebhookDeletedChannel = "wink_webhook_deleted";

  // `last_sequence` is the newest sequence committed when the backend
  // opened: listeners hear the updates after it. `listeners` must outlive
  // the feed. Starts the feed's thread, which connects with `conninfo`
  // (and reconnects when the connection is lost). `origin`, unique to this
  // process, tags its notifications.
  UpdateFeed(std::string conninfo, UpdateListeners& listeners, uint64_t last_sequence,
             std::string origin);
  ~UpdateFeed();  // Stop()s

  UpdateFeed(const UpdateFeed&) = delete;
  UpdateFeed& operator=(const UpdateFeed&) = delete;

  // The statement a transaction that appends updates sends before COMMIT,
  // so that the other nodes' feeds read them.
  Statement NotifyUpdatesStatement() const;
  // The statement a transaction that deletes `webhook_id` sends before
  // COMMIT, so that the other nodes stop sending to it.
  Statement NotifyWebhookDeletedStatement(const std::string& webhook_id) const;

  // Updates this node committed, numbered from `first_sequence` on. Called
  // by the writer thread after COMMIT, in commit order.
  void OnLocalCommit(uint64_t first_sequence, std::vector<domain::DeliveryRecord> updates);

  // The newest sequence the listeners were told (at least the one given at
  // construction).
  uint64_t last_sequence() const;

  // Ends the feed's thread. Idempotent.
  void Stop();

 private:
  void Loop();
  // Reads and tells everything committed after last_sequence().
  absl::Status CatchUp(Connection& connection);
  // Hands the other nodes' webhook deletions to the listeners.
  void TellDeletions(const std::vector<Connection::Notification>& notifications);
  // Tells `update` if it is the next in sequence (an older one is
  // dropped: it was told already).
  void TellLocked(DeliveryUpdate update) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Wake();

  const std::string conninfo_;
  UpdateListeners& listeners_;
  // Tags this feed's own notifications, which it need not act on.
  const std::string origin_;
  int wake_fd_ = -1;

  mutable absl::Mutex mu_;
  uint64_t told_ ABSL_GUARDED_BY(mu_);
  // Local updates that wait for the ones before them, by sequence.
  std::map<uint64_t, domain::DeliveryRecord> waiting_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::thread thread_;
};

}  // namespace wink::webhooks::storage::pg

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_UPDATE_FEED_H_
