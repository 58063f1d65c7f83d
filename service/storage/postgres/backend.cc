#include "service/storage/postgres/backend.h"

#include <sys/random.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

#include "service/common/log.h"
#include "service/common/status_macros.h"
#include "service/storage/listeners.h"
#include "service/storage/postgres/connection.h"
#include "service/storage/postgres/partition_leases.h"
#include "service/storage/postgres/schema.h"
#include "service/storage/postgres/store_context.h"
#include "service/storage/postgres/stores.h"
#include "service/storage/postgres/update_feed.h"
#include "service/storage/postgres/writer.h"

namespace wink::webhooks::storage::pg {
namespace {

// How long opening waits for the update feed to LISTEN. PostgreSQL was
// just reached (the schema), so this is a safety bound, not a wait.
constexpr absl::Duration kFeedListenTimeout = absl::Seconds(10);

class PostgresBackend final : public StorageBackend {
 public:
  PostgresBackend(const PostgresOptions& options, uint64_t last_sequence,
                  std::unique_ptr<PartitionLeases> leases, const std::string& token,
                  const Clock& clock, StorageObserver* observer)
      : ids_(clock),
        leases_(std::move(leases)),
        readers_(options.conninfo, options.idle_read_connections),
        feed_(options.conninfo, listeners_, last_sequence, token),
        writer_(options.conninfo, feed_, observer),
        context_{writer_, readers_, ids_, clock, listeners_, feed_, *leases_, observer},
        webhooks_(context_),
        applications_(context_),
        events_(context_),
        deliveries_(context_),
        due_queue_(context_),
        updates_(context_),
        retention_(context_) {}

  ~PostgresBackend() override { StopWrites(); }

  // See UpdateFeed::WaitUntilListening.
  void WaitForFeed() {
    if (!feed_.WaitUntilListening(kFeedListenTimeout)) {
      LogLine(LogLevel::kWarning, "update_feed_not_listening_yet")
          .Field("waited", absl::FormatDuration(kFeedListenTimeout));
    }
  }

  WebhookStore& webhooks() override { return webhooks_; }
  ApplicationStore& applications() override { return applications_; }
  EventLog& events() override { return events_; }
  DeliveryLedger& deliveries() override { return deliveries_; }
  DueQueue& due_queue() override { return due_queue_; }
  UpdateLog& updates() override { return updates_; }
  Retention& retention() override { return retention_; }
  int64_t PendingWrites() override { return static_cast<int64_t>(writer_.queue_length()); }
  void StopWrites() override {
    writer_.Stop();
    feed_.Stop();
    // Last: the writes the writer finished may need their leases.
    leases_->Stop();
  }

 private:
  // Each member uses only those above it. The destructor stops the writer
  // first: queued operations use the stores.
  UpdateListeners listeners_;
  IdGenerator ids_;
  std::unique_ptr<PartitionLeases> leases_;
  ConnectionPool readers_;
  UpdateFeed feed_;
  Writer writer_;
  StoreContext context_;
  PostgresWebhookStore webhooks_;
  PostgresApplicationStore applications_;
  PostgresEventLog events_;
  PostgresDeliveryLedger deliveries_;
  PostgresDueQueue due_queue_;
  PostgresUpdateLog updates_;
  PostgresRetention retention_;
};

// A name no other process has: 16 random hex digits (the pid and the time
// without randomness).
std::string UniqueToken() {
  char bytes[8] = {};
  if (getrandom(bytes, sizeof(bytes), 0) != static_cast<ssize_t>(sizeof(bytes))) {
    return absl::StrCat(getpid(), "-", absl::ToUnixNanos(absl::Now()));
  }
  return absl::BytesToHexString(absl::string_view(bytes, sizeof(bytes)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<StorageBackend>> OpenPostgresBackend(const PostgresOptions& options,
                                                                    const Clock& clock,
                                                                    StorageObserver* observer) {
  WINK_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, Connection::Open(options.conninfo));
  WINK_ASSIGN_OR_RETURN(const uint64_t last_sequence, CreateSchema(*connection));
  LeaseOptions lease_options;
  const std::string token = UniqueToken();
  lease_options.node_id = options.node_id.empty() ? absl::StrCat("node-", token) : options.node_id;
  lease_options.ttl = options.lease_ttl;
  lease_options.drain = options.lease_drain;
  WINK_ASSIGN_OR_RETURN(std::unique_ptr<PartitionLeases> leases,
                        PartitionLeases::Start(options.conninfo, std::move(lease_options),
                                               observer));
  auto backend = std::make_unique<PostgresBackend>(options, last_sequence, std::move(leases), token,
                                                   clock, observer);
  backend->WaitForFeed();
  return std::unique_ptr<StorageBackend>(std::move(backend));
}

}  // namespace wink::webhooks::storage::pg
