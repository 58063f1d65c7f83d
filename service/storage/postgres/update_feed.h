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
// node stops sending to a deleted webhook; so do application changes, on
// kApplicationChangedChannel, so every node's key registry reloads a changed
// application (a revoked key stops working everywhere). Both are notices
// only: one sent while the feed's connection was down is lost, and nothing
// reads them back (the key registry reloads everything now and then).
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_UPDATE_FEED_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_UPDATE_FEED_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
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
  // Payload "<origin> <account>/<id>": the origin (hex, no space) of the
  // process that committed the change, then the application. Ids never
  // contain '/' (API: [a-z0-9-] or app_...), so the last '/' splits.
  static constexpr absl::string_view kApplicationChangedChannel = "wink_application_changed";

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
  // The statement a transaction that creates, updates or deletes an
  // application sends before COMMIT, so that the other nodes reload it.
  Statement NotifyApplicationChangedStatement(absl::string_view account,
                                              absl::string_view id) const;

  // `listener(account, id)` is called on the feed's thread for each
  // application change another feed's origin (another node, or another
  // backend in this process) committed, in the order the notices arrive;
  // never for this feed's own. Replaces the previous listener; an empty one
  // stops the calls. No call is made after Stop() returns.
  using ApplicationChangeListener =
      std::function<void(const std::string& account, const std::string& id)>;
  void SetApplicationChangeListener(ApplicationChangeListener listener);

  // Updates this node committed, numbered from `first_sequence` on. Called
  // by the writer thread after COMMIT, in commit order.
  void OnLocalCommit(uint64_t first_sequence, std::vector<domain::DeliveryRecord> updates);

  // Waits until the feed's connection LISTENs (notices committed after
  // that reach it), up to `timeout`; false if it did not by then (the
  // feed keeps trying). OpenPostgresBackend waits so that a caller who
  // sets a listener and then reads everything misses no later change.
  bool WaitUntilListening(absl::Duration timeout) const;

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
  // Hands the other nodes' application changes to the application listener.
  void TellApplicationChanges(const std::vector<Connection::Notification>& notifications);
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
  // The current connection LISTENs.
  bool listening_ ABSL_GUARDED_BY(mu_) = false;

  // Separate from mu_: the listener runs without mu_ held (it may read the
  // store), and copying it out under this lock keeps a concurrent Set safe.
  absl::Mutex application_listener_mu_;
  ApplicationChangeListener application_listener_ ABSL_GUARDED_BY(application_listener_mu_);

  std::thread thread_;
};

}  // namespace wink::webhooks::storage::pg

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_UPDATE_FEED_H_
