#include "service/storage/postgres/backend.h"

#include <utility>

#include "service/common/status_macros.h"
#include "service/storage/listeners.h"
#include "service/storage/postgres/connection.h"
#include "service/storage/postgres/schema.h"
#include "service/storage/postgres/store_context.h"
#include "service/storage/postgres/stores.h"
#include "service/storage/postgres/update_feed.h"
#include "service/storage/postgres/writer.h"

namespace wink::webhooks::storage::pg {
namespace {

class PostgresBackend final : public StorageBackend {
 public:
  PostgresBackend(const PostgresOptions& options, uint64_t last_sequence, const Clock& clock,
                  StorageObserver* observer)
      : ids_(clock),
        readers_(options.conninfo, options.idle_read_connections),
        feed_(options.conninfo, listeners_, last_sequence),
        writer_(options.conninfo, feed_, observer),
        context_{writer_, readers_, ids_, clock, listeners_, feed_, observer},
        webhooks_(context_),
        events_(context_),
        deliveries_(context_),
        due_queue_(context_),
        updates_(context_),
        retention_(context_) {}

  ~PostgresBackend() override { StopWrites(); }

  WebhookStore& webhooks() override { return webhooks_; }
  EventLog& events() override { return events_; }
  DeliveryLedger& deliveries() override { return deliveries_; }
  DueQueue& due_queue() override { return due_queue_; }
  UpdateLog& updates() override { return updates_; }
  Retention& retention() override { return retention_; }
  int64_t PendingWrites() override { return static_cast<int64_t>(writer_.queue_length()); }
  void StopWrites() override {
    writer_.Stop();
    feed_.Stop();
  }

 private:
  // Each member uses only those above it. The destructor stops the writer
  // first: queued operations use the stores.
  UpdateListeners listeners_;
  IdGenerator ids_;
  ConnectionPool readers_;
  UpdateFeed feed_;
  Writer writer_;
  StoreContext context_;
  PostgresWebhookStore webhooks_;
  PostgresEventLog events_;
  PostgresDeliveryLedger deliveries_;
  PostgresDueQueue due_queue_;
  PostgresUpdateLog updates_;
  PostgresRetention retention_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<StorageBackend>> OpenPostgresBackend(const PostgresOptions& options,
                                                                    const Clock& clock,
                                                                    StorageObserver* observer) {
  WINK_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, Connection::Open(options.conninfo));
  WINK_ASSIGN_OR_RETURN(const uint64_t last_sequence, CreateSchema(*connection));
  return std::make_unique<PostgresBackend>(options, last_sequence, clock, observer);
}

}  // namespace wink::webhooks::storage::pg
