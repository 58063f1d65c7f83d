// The service's persistent state: one RocksDB database (see database.h for
// the column families) and the stores over it. This is the header the rest
// of the service includes; it exposes no RocksDB types.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_STORAGE_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_STORAGE_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "service/common/clock.h"
#include "service/common/ids.h"
#include "service/storage/event_store.h"
#include "service/storage/update_listener.h"
#include "service/storage/webhook_store.h"

namespace wink::webhooks::storage {

class Database;
class Writer;

// Sequence number of the first entry of a new update log.
inline constexpr uint64_t kFirstUpdateSequence = 2;

struct StorageOptions {
  // Directory of the database; created if missing.
  std::string data_dir;
  // Fsync the write-ahead log before acknowledging a write (true), or only
  // hand it to the OS (false: survives kill -9, not power loss).
  bool sync_writes = true;
};

class Storage {
 public:
  // Opens the database. `clock` (for new ids) must outlive the storage.
  // Errors as Database::Open: FAILED_PRECONDITION when another process uses
  // `data_dir` or the data is from a newer version.
  static absl::StatusOr<std::unique_ptr<Storage>> Open(const StorageOptions& options,
                                                       const Clock& clock);
  ~Storage();

  WebhookStore& webhooks() { return *webhooks_; }
  EventStore& events() { return *events_; }

  // Sequence number the next update-log entry will get (the newest existing
  // one plus one).
  uint64_t next_update_sequence() const;

  // Sets who hears about committed delivery updates (the delivery engine).
  // Call before the first write that creates deliveries; null: nobody.
  void SetUpdateListener(UpdateListener* listener) { forwarder_.target = listener; }

  // Finishes every queued write, then refuses new ones (UNAVAILABLE). Called
  // by the destructor; call it earlier to stop writes before the listener
  // goes away.
  void StopWrites();

 private:
  Storage();
  // Members are destroyed in reverse: the stores before the database and
  // id generator they point into.
  // Forwards to the listener set later, so stores can be built first.
  struct Forwarder : UpdateListener {
    void OnDeliveryUpdate(const DeliveryUpdate& update) override {
      if (UpdateListener* listener = target.load()) listener->OnDeliveryUpdate(update);
    }
    void OnWebhookDeleted(const std::string& webhook_id) override {
      if (UpdateListener* listener = target.load()) listener->OnWebhookDeleted(webhook_id);
    }
    std::atomic<UpdateListener*> target{nullptr};
  };

  Forwarder forwarder_;
  std::unique_ptr<IdGenerator> ids_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<WebhookStore> webhooks_;
  std::unique_ptr<EventStore> events_;
};

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_STORAGE_H_
