// Partition leases: how the nodes sharing one database share out the
// deliveries. Internal to the PostgreSQL backend.
//
// Deliveries belong to kPartitionCount partitions by webhook (PartitionOf
// in schema.h), so one webhook's deliveries are always sent by one node and
// its in-flight limit, round-robin and unresponsive-receiver rule stay
// exact. A node sends the deliveries of the partitions it leases:
// - Each node heartbeats its row in `nodes` and renews its leases every
//   ttl/3. A lease lapses `ttl` after its last renewal (the database's
//   clock); a node that cannot renew stops sending after 0.8 ttl (its own
//   clock), before anyone may take over.
// - Each node aims at its fair share, ceil(kPartitionCount / live nodes):
//   it takes lapsed or free partitions while it has fewer, and hands
//   partitions back while it has more (a node joined). A partition handed
//   back first drains: no new request starts, those in flight finish and
//   are recorded, then the lease is released. One whose last request
//   started longer than the drain ago has nothing in flight and goes at
//   once (at a cluster's start, most of them).
// - Each takeover increments the partition's epoch. Fencing: the writes
//   that change a delivery's state from the engine (RecordAttempt, Park)
//   hold the partition's fence lock shared (FenceStatements) and go through
//   only while this node's lease at that epoch is current; a takeover or
//   release needs the lock exclusively and skips a partition it cannot
//   have at once. A node that was paused or cut off past its lease
//   therefore changes nothing once another node took over.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_PARTITION_LEASES_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_PARTITION_LEASES_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/storage/observer.h"
#include "service/storage/postgres/connection.h"
#include "service/storage/postgres/schema.h"

namespace wink::webhooks::storage::pg {

struct LeaseOptions {
  // This node's name; two live nodes must not share one.
  std::string node_id;
  absl::Duration ttl = absl::Seconds(10);
  // How long a partition handed back drains before its lease is released:
  // longer than a delivery request may take.
  absl::Duration drain = absl::Seconds(16);
};

// What the leases look like now (for metrics and tests).
struct LeaseSnapshot {
  int owned = 0;     // leased and not draining
  int draining = 0;  // leased, being handed back
  int live_nodes = 0;
  // Partitions taken and handed back since start.
  int64_t acquired_total = 0;
  int64_t released_total = 0;
};

// Thread-safe.
class PartitionLeases {
 public:
  // Connects, heartbeats and takes this node's first share before it
  // returns (so that a lone node sends everything at once), then keeps the
  // leases on a thread of its own. UNAVAILABLE when PostgreSQL cannot be
  // reached.
  // `observer` (may be null) hears each round's outcome (OnHeartbeat) and
  // must outlive the leases.
  static absl::StatusOr<std::unique_ptr<PartitionLeases>> Start(std::string conninfo,
                                                                LeaseOptions options,
                                                                StorageObserver* observer);
  ~PartitionLeases();  // Stop()s

  // Stops renewing and releases every lease, so other nodes take over at
  // once. Idempotent.
  void Stop();

  // True when new requests for `webhook_id` may start here: its partition
  // is leased, not draining, and renewed recently enough. A true answer is
  // taken as a request starting (what a drain waits for).
  bool Owns(absl::string_view webhook_id) const;

  // The epoch of this node's lease on `partition`, draining included;
  // nullopt when it holds none. For FenceStatement.
  std::optional<int64_t> EpochOf(int partition) const;

  // Two statements, to run first in a transaction: the first holds the
  // partition's fence lock (shared) until the transaction ends, so no
  // takeover can commit in between; the second returns one row while this
  // node's lease on `partition` at `epoch` is current.
  std::vector<Statement> FenceStatements(int partition, int64_t epoch) const;

  // The partitions Owns() accepts, as a SQL array literal ("{0,5,7}").
  std::string OwnedArray() const;

  // Changes whenever the set of partitions Owns() accepts does.
  uint64_t version() const;

  LeaseSnapshot Snapshot() const;

  const std::string& node_id() const { return options_.node_id; }

 private:
  PartitionLeases(std::string conninfo, LeaseOptions options, StorageObserver* observer)
      : conninfo_(std::move(conninfo)), options_(std::move(options)), observer_(observer) {}

  // One round: heartbeat, renew, release drained partitions, hand back or
  // take partitions. Runs on the lease thread (or in Start).
  absl::Status Tick(Connection& connection);
  void Loop();

  const std::string conninfo_;
  const LeaseOptions options_;
  StorageObserver* const observer_;
  std::unique_ptr<Connection> connection_;  // lease thread only (after Start)

  mutable absl::Mutex mu_;
  // Partition -> epoch of the leases held, draining ones included.
  absl::flat_hash_map<int, int64_t> leases_ ABSL_GUARDED_BY(mu_);
  // Partition -> when its drain ends and the lease is released.
  absl::flat_hash_map<int, absl::Time> draining_ ABSL_GUARDED_BY(mu_);
  // Leases count only until then (the last renewal's start + 0.8 ttl).
  absl::Time valid_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  LeaseSnapshot counters_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::CondVar stop_signal_;
  // Per partition, when Owns() last said yes (unix micros; 0: never).
  mutable std::array<std::atomic<int64_t>, kPartitionCount> last_start_us_{};

  std::thread thread_;
};

}  // namespace wink::webhooks::storage::pg

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_PARTITION_LEASES_H_
