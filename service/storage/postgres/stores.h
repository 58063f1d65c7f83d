// The PostgreSQL backend's implementation of each storage interface.
// Internal to the PostgreSQL backend: the rest of the service opens it
// through storage/factory.h and sees only the interfaces.
//
// Tables are described in schema.h, locks in delivery_writes.h. Every
// mutation is an operation of the writer (writer.h: group commit); reads
// go to the database through the reader pool.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_STORES_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_STORES_H_

#include <functional>
#include <string>
#include <vector>

#include "service/storage/application_store.h"
#include "service/storage/delivery_ledger.h"
#include "service/storage/due_queue.h"
#include "service/storage/event_log.h"
#include "service/storage/postgres/store_context.h"
#include "service/storage/retention.h"
#include "service/storage/update_log.h"
#include "service/storage/webhook_store.h"

namespace wink::webhooks::storage::pg {

class PostgresWebhookStore final : public WebhookStore {
 public:
  explicit PostgresWebhookStore(const StoreContext& context) : context_(context) {}

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

// Table `applications`. Create serializes an account's creates with an
// advisory lock of its own (not the account lock publishes take), so the
// count against kMaxApplicationsPerAccount holds until the insert commits
// on whichever node runs it. Each committed change sends a notice on
// UpdateFeed::kApplicationChangedChannel in its transaction, which the
// other nodes' feeds hand to their remote-change listener.
class PostgresApplicationStore final : public ApplicationStore {
 public:
  explicit PostgresApplicationStore(const StoreContext& context) : context_(context) {}

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
  // Hands `listener` to the update feed, whose thread calls it.
  void SetRemoteChangeListener(RemoteChangeListener listener) override;

 private:
  const StoreContext& context_;
};

class PostgresEventLog final : public EventLog {
 public:
  explicit PostgresEventLog(const StoreContext& context) : context_(context) {}

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

class PostgresDeliveryLedger final : public DeliveryLedger {
 public:
  explicit PostgresDeliveryLedger(const StoreContext& context) : context_(context) {}

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
  // The fence for the engine's writes to `webhook_id`'s delivery
  // (partition_leases.h), and its check; FAILED_PRECONDITION when this node
  // does not hold the partition's lease.
  absl::StatusOr<std::vector<Statement>> FenceFor(const std::string& webhook_id) const;
  absl::Status CheckFence(const Rows& fence, const std::string& webhook_id) const;

  const StoreContext& context_;
};

class PostgresDueQueue final : public DueQueue {
 public:
  explicit PostgresDueQueue(const StoreContext& context) : context_(context) {}

  absl::Status ScanDue(absl::Time from, absl::Time before,
                       const std::function<bool(const DueDelivery&)>& visit) override;
  absl::StatusOr<std::optional<absl::Time>> EarliestDueTimeAfter(absl::Time after) override;
  absl::StatusOr<std::optional<DueDelivery>> FirstOfWebhook(absl::string_view webhook_id) override;
  uint64_t EstimatedSize() override;
  bool Owns(absl::string_view webhook_id) override;
  uint64_t OwnershipVersion() override;

 private:
  const StoreContext& context_;
};

class PostgresUpdateLog final : public UpdateLog {
 public:
  explicit PostgresUpdateLog(const StoreContext& context) : context_(context) {}

  absl::StatusOr<std::vector<DeliveryUpdate>> ReadUpdates(uint64_t after, int limit) override;
  absl::StatusOr<uint64_t> OldestSequence() override;
  uint64_t LastSequence() override;
  void AddListener(UpdateListener* listener) override;
  void RemoveListener(UpdateListener* listener) override;

 private:
  const StoreContext& context_;
};

class PostgresRetention final : public Retention {
 public:
  explicit PostgresRetention(const StoreContext& context) : context_(context) {}

  absl::StatusOr<PurgeResult> PurgeOlderThan(absl::Time cutoff, int limit) override;

 private:
  const StoreContext& context_;
};

}  // namespace wink::webhooks::storage::pg

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_STORES_H_
