// The PostgreSQL backend: the service's state in a PostgreSQL database
// that several service nodes may share (cluster mode), written with group
// commit (writer.h). Tables in schema.h.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_BACKEND_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_BACKEND_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/common/clock.h"
#include "service/storage/backend.h"
#include "service/storage/observer.h"

namespace wink::webhooks::storage::pg {

struct PostgresOptions {
  // libpq connection string, e.g. "host=db1,db2 port=5432 dbname=webhooks
  // target_session_attrs=read-write" (a multi-host list finds the primary
  // after a failover). The tables go to the first schema of the search
  // path.
  std::string conninfo;
  // Connections kept open for reads between uses.
  int idle_read_connections = 8;
  // This node's name among those sharing the database (partition leases);
  // empty: a unique one is made up.
  std::string node_id;
  // How long a partition lease lasts without renewal, and how long a
  // partition handed to another node drains first (partition_leases.h).
  absl::Duration lease_ttl = absl::Seconds(10);
  absl::Duration lease_drain = absl::Seconds(16);
};

// Connects, creates the tables that are missing, takes this node's share of
// the partitions and opens the backend. Returns once the update feed
// listens (or after 10 s, logged, if it could not: it keeps trying), so
// other nodes' changes committed after the return are told to the
// listeners set then (e.g. ApplicationStore::SetRemoteChangeListener).
// `clock` (ids, record times) and `observer` (may be null) must outlive the
// backend. UNAVAILABLE when PostgreSQL cannot be reached; FAILED_PRECONDITION
// when the database holds a newer schema.
absl::StatusOr<std::unique_ptr<StorageBackend>> OpenPostgresBackend(const PostgresOptions& options,
                                                                    const Clock& clock,
                                                                    StorageObserver* observer);

}  // namespace wink::webhooks::storage::pg

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_BACKEND_H_
