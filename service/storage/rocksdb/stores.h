// The RocksDB backend's implementation of each storage interface. Internal
// to the RocksDB backend: the rest of the service opens it through
// storage/factory.h and sees only the interfaces.
//
// Column families (column_families.h) and keys (keys.h) are described
// there. Every mutation is one operation of the single writer (writer.h), so
// read-check-write sequences (idempotency keys, the per-account limit,
// fan-out against the current webhooks, every delivery transition) never
// race and need no locks, and concurrent callers share one WAL fsync. Reads
// go straight to the database.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_STORES_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_STORES_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "service/storage/application_store.h"
#include "service/storage/delivery_ledger.h"
#include "service/storage/due_queue.h"
#include "service/storage/event_log.h"
#include "service/storage/retention.h"
#include "service/storage/rocksdb/store_context.h"
#include "service/storage/update_log.h"
#include "service/storage/webhook_store.h"

namespace wink::webhooks::storage::rocks {

class RocksDbWebhookStore final : public WebhookStore {
 public:
  explicit RocksDbWebhookStore(const StoreContext& context) : context_(context) {}

  absl::StatusOr<CreateWebhookResult> Create(WebhookRecord webhook,
                                             const CreateWebhookOptions& options) override;
  absl::StatusOr<WebhookRecord> Get(absl::string_view account, absl::string_view id) override;
  absl::StatusOr<WebhookPage> List(absl::string_view account, absl::string_view after_id,
                                   int limit) override;
  absl::StatusOr<WebhookPage> ListAll(const std::optional<WebhookPosition>& after,
                                      int limit) override;
  absl::StatusOr<WebhookRecord> Update(absl::string_view account, absl::string_view id,
                                       const std::function<absl::Status(WebhookRecord&)>& mutate,
                                       const UpdateWebhookOptions& options) override;
  absl::Status Delete(absl::string_view account, absl::string_view id) override;

 private:
  const StoreContext& context_;
};

class RocksDbApplicationStore final : public ApplicationStore {
 public:
  explicit RocksDbApplicationStore(const StoreContext& context) : context_(context) {}

  absl::Status Create(ApplicationRecord application) override;
  absl::StatusOr<ApplicationRecord> Get(absl::string_view account, absl::string_view id) override;
  absl::StatusOr<ApplicationPage> List(absl::string_view account, absl::string_view after_id,
                                       int limit) override;
  absl::StatusOr<ApplicationPage> ListAll(const std::optional<ApplicationPosition>& after,
                                          int limit) override;
  absl::StatusOr<ApplicationRecord> Update(
      absl::string_view account, absl::string_view id,
      const std::function<absl::Status(ApplicationRecord&)>& mutate) override;
  absl::Status Delete(absl::string_view account, absl::string_view id) override;

 private:
  const StoreContext& context_;
};

class RocksDbEventLog final : public EventLog {
 public:
  explicit RocksDbEventLog(const StoreContext& context) : context_(context) {}

  void PublishBatch(std::vector<PublishRequest> requests, bool index_errors,
                    std::function<void(absl::StatusOr<std::vector<PublishResult>>)> done) override;
  absl::StatusOr<AccountUsage> UsageOf(absl::string_view account) override;
  absl::StatusOr<EventRecord> GetEvent(absl::string_view account,
                                       absl::string_view event_id) override;
  absl::StatusOr<EventPage> ListEvents(absl::string_view account, absl::string_view before_event_id,
                                       absl::string_view event_type, int limit) override;

 private:
  const StoreContext& context_;
};

class RocksDbDeliveryLedger final : public DeliveryLedger {
 public:
  explicit RocksDbDeliveryLedger(const StoreContext& context) : context_(context) {}

  absl::StatusOr<DeliveryRecord> GetDelivery(absl::string_view account,
                                             absl::string_view webhook_id,
                                             absl::string_view event_id) override;
  absl::StatusOr<std::vector<AttemptRecord>> ListAttempts(absl::string_view webhook_id,
                                                          absl::string_view event_id) override;
  absl::StatusOr<DeliveryPage> ListDeliveriesOfWebhook(absl::string_view account,
                                                       absl::string_view webhook_id,
                                                       absl::string_view after_event_id, int state,
                                                       int limit) override;
  absl::StatusOr<DeliveryPage> ListDeliveriesOfEvent(absl::string_view account,
                                                     absl::string_view event_id,
                                                     absl::string_view after_webhook_id, int state,
                                                     int limit) override;
  absl::StatusOr<DeliveryLogPage> ListDeliveriesOfAccount(
      absl::string_view account, const DeliveryLogFilter& filter,
      const std::optional<DeliveryLogPosition>& after, int limit) override;
  absl::StatusOr<DeliveryRecord> RetryNow(absl::string_view account, absl::string_view webhook_id,
                                          absl::string_view event_id) override;
  absl::StatusOr<AttemptContext> LoadAttempt(absl::string_view webhook_id,
                                             absl::string_view event_id) override;
  void RecordAttempt(RecordAttemptRequest request, std::function<void(absl::Status)> done) override;
  void Park(std::string webhook_id, std::string event_id, int64_t due_time_us,
            std::function<void(absl::Status)> done) override;
  absl::Status ProbeWritable() override;
  absl::StatusOr<int> RepairInterruptedCascades() override;

 private:
  // A delivery read outside the writer; NOT_FOUND if absent.
  absl::StatusOr<DeliveryRecord> ReadDelivery(absl::string_view webhook_id,
                                              absl::string_view event_id);
  // The webhook as LoadAttempt must see it: kept from an earlier attempt
  // while the writer's webhooks_generation() is the one taken before it was
  // read, else read. Every attempt needs its webhook, and webhooks rarely
  // change; a deleted one (nullopt) is read every time.
  absl::StatusOr<std::optional<WebhookRecord>> WebhookForAttempt(absl::string_view account,
                                                                 absl::string_view webhook_id);

  const StoreContext& context_;
  struct KeptWebhook {
    uint64_t generation = 0;
    WebhookRecord record;
  };
  // By WebhookKey(account, id). At most kMaxKeptWebhooks (a few MiB); when
  // full it starts over.
  static constexpr size_t kMaxKeptWebhooks = 4096;
  absl::Mutex kept_webhooks_mu_;
  absl::flat_hash_map<std::string, KeptWebhook> kept_webhooks_
      ABSL_GUARDED_BY(kept_webhooks_mu_);
};

// Fills `due_by_webhook` from `due` once per database: a database written
// before the index existed (schema version 2) gets it at the first start of
// a binary that keeps it. Must run before any write (the backend calls it
// on open).
absl::Status IndexDueByWebhookIfNotIndexed(Database& db);

class RocksDbDueQueue final : public DueQueue {
 public:
  explicit RocksDbDueQueue(const StoreContext& context) : context_(context) {}

  absl::Status ScanDue(absl::Time from, absl::Time before,
                       const std::function<bool(const DueDelivery&)>& visit) override;
  absl::StatusOr<std::optional<absl::Time>> EarliestDueTimeAfter(absl::Time after) override;
  absl::StatusOr<std::optional<DueDelivery>> FirstOfWebhook(absl::string_view webhook_id) override;
  uint64_t EstimatedSize() override;

 private:
  const StoreContext& context_;
};

class RocksDbUpdateLog final : public UpdateLog {
 public:
  explicit RocksDbUpdateLog(const StoreContext& context) : context_(context) {}

  absl::StatusOr<std::vector<DeliveryUpdate>> ReadUpdates(uint64_t after, int limit) override;
  absl::StatusOr<uint64_t> OldestSequence() override;
  uint64_t LastSequence() override;
  void AddListener(UpdateListener* listener) override;
  void RemoveListener(UpdateListener* listener) override;

 private:
  const StoreContext& context_;
};

class RocksDbRetention final : public Retention {
 public:
  explicit RocksDbRetention(const StoreContext& context) : context_(context) {}

  absl::StatusOr<PurgeResult> PurgeOlderThan(absl::Time cutoff, int limit) override;

 private:
  const StoreContext& context_;
};

}  // namespace wink::webhooks::storage::rocks

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_STORES_H_
