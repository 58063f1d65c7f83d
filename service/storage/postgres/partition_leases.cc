#include "service/storage/postgres/partition_leases.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "service/common/log.h"
#include "service/common/status_macros.h"
#include "service/storage/postgres/schema.h"

namespace wink::webhooks::storage::pg {
namespace {

// Expiry times are the database's clock (clock_timestamp(), not the
// transaction's start), so that nodes whose clocks differ agree on them.
constexpr Sql kHeartbeat{"lease_heartbeat",
                         "INSERT INTO nodes (node_id, expires_at) "
                         "VALUES ($1, clock_timestamp() + make_interval(secs => $2::float8)) "
                         "ON CONFLICT (node_id) DO UPDATE SET expires_at = EXCLUDED.expires_at"};
constexpr Sql kRenew{"lease_renew",
                     "UPDATE partitions SET expires_at = clock_timestamp() + "
                     "make_interval(secs => $2::float8) "
                     "WHERE owner = $1 AND expires_at > clock_timestamp() RETURNING part, epoch"};
constexpr Sql kLiveNodes{"lease_live_nodes",
                         "SELECT count(*) FROM nodes WHERE expires_at > clock_timestamp()"};
// Fencing uses an advisory lock per partition, not the lease row: the
// writer takes it shared (FenceStatements), and whoever changes a
// partition's owner only tries it exclusively and skips the partitions it
// cannot have now, so nobody waits for a fenced write and no lock cycle can
// form. (Locking the lease rows instead deadlocked the renewal, which
// updates them all, against writer groups that had locked some.)
constexpr int kFenceLockSpace = 0x6c656173;  // "leas"
constexpr Sql kTake{
    "lease_take",
    "UPDATE partitions p SET owner = $1, epoch = p.epoch + 1, "
    "expires_at = clock_timestamp() + make_interval(secs => $2::float8) "
    "FROM (SELECT part FROM partitions WHERE expires_at <= clock_timestamp() "
    "ORDER BY part LIMIT $3 FOR UPDATE SKIP LOCKED) free "
    "WHERE p.part = free.part AND pg_try_advisory_xact_lock($4::int4, p.part::int4) "
    "RETURNING p.part, p.epoch"};
constexpr Sql kRelease{"lease_release",
                       "UPDATE partitions SET owner = '', expires_at = '-infinity' "
                       "WHERE owner = $1 AND part = ANY($2::smallint[]) "
                       "AND pg_try_advisory_xact_lock($3::int4, part::int4) RETURNING part"};
constexpr Sql kReleaseAll{"lease_release_all",
                          "UPDATE partitions SET owner = '', expires_at = '-infinity' "
                          "WHERE owner = $1"};
constexpr Sql kLeaveNodes{"lease_leave", "DELETE FROM nodes WHERE node_id = $1"};
constexpr Sql kFenceLock{"lease_fence_lock",
                         "SELECT pg_advisory_xact_lock_shared($1::int4, $2::int4)"};
// A statement of its own, after the lock: its snapshot then shows any
// takeover that committed while the lock was awaited.
constexpr Sql kFence{"lease_fence",
                     "SELECT 1 FROM partitions WHERE part = $1 AND owner = $2 AND epoch = $3 "
                     "AND expires_at > clock_timestamp()"};

constexpr absl::Duration kRetryAfterFailure = absl::Milliseconds(500);

std::string ArrayLiteral(const std::vector<int>& partitions) {
  return absl::StrCat("{", absl::StrJoin(partitions, ","), "}");
}

}  // namespace

absl::StatusOr<std::unique_ptr<PartitionLeases>> PartitionLeases::Start(std::string conninfo,
                                                                        LeaseOptions options,
                                                                        StorageObserver* observer) {
  std::unique_ptr<PartitionLeases> leases(
      new PartitionLeases(std::move(conninfo), std::move(options), observer));
  WINK_ASSIGN_OR_RETURN(leases->connection_, Connection::Open(leases->conninfo_));
  WINK_RETURN_IF_ERROR(leases->Tick(*leases->connection_));
  leases->thread_ = std::thread([raw = leases.get()] { raw->Loop(); });
  return leases;
}

PartitionLeases::~PartitionLeases() { Stop(); }

void PartitionLeases::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    stop_signal_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
  {
    absl::MutexLock lock(&mu_);
    leases_.clear();
    draining_.clear();
    ++version_;
  }
  if (connection_ == nullptr || connection_->broken()) return;  // they lapse by themselves
  const absl::Status released = connection_
                                    ->Run({Statement{kReleaseAll, {Param::Text(options_.node_id)}},
                                           Statement{kLeaveNodes, {Param::Text(options_.node_id)}}})
                                    .status();
  if (!released.ok()) {
    LogLine(LogLevel::kWarning, "partition_leases_not_released")
        .Field("error", released.message())
        .Field("effect", "other nodes take them over when they lapse");
  }
}

bool PartitionLeases::Owns(absl::string_view webhook_id) const {
  const int partition = PartitionOf(webhook_id);
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    if (now >= valid_until_ || !leases_.contains(partition) || draining_.contains(partition)) {
      return false;
    }
  }
  last_start_us_[partition].store(absl::ToUnixMicros(now), std::memory_order_relaxed);
  return true;
}

std::optional<int64_t> PartitionLeases::EpochOf(int partition) const {
  absl::MutexLock lock(&mu_);
  auto it = leases_.find(partition);
  if (it == leases_.end()) return std::nullopt;
  return it->second;
}

std::vector<Statement> PartitionLeases::FenceStatements(int partition, int64_t epoch) const {
  return {
      Statement{kFenceLock, {Param::Int(kFenceLockSpace), Param::Int(partition)}},
      Statement{kFence, {Param::Int(partition), Param::Text(options_.node_id), Param::Int(epoch)}}};
}

std::string PartitionLeases::OwnedArray() const {
  std::vector<int> owned;
  {
    absl::MutexLock lock(&mu_);
    if (absl::Now() < valid_until_) {
      for (const auto& [partition, epoch] : leases_) {
        if (!draining_.contains(partition)) owned.push_back(partition);
      }
    }
  }
  std::sort(owned.begin(), owned.end());
  return ArrayLiteral(owned);
}

uint64_t PartitionLeases::version() const {
  absl::MutexLock lock(&mu_);
  return version_;
}

LeaseSnapshot PartitionLeases::Snapshot() const {
  absl::MutexLock lock(&mu_);
  LeaseSnapshot snapshot = counters_;
  const bool valid = absl::Now() < valid_until_;
  snapshot.draining = valid ? static_cast<int>(draining_.size()) : 0;
  snapshot.owned = valid ? static_cast<int>(leases_.size()) - snapshot.draining : 0;
  return snapshot;
}

absl::Status PartitionLeases::Tick(Connection& connection) {
  const absl::Time start = absl::Now();
  const Param node = Param::Text(options_.node_id);
  const Param ttl = Param::Text(absl::StrCat(absl::ToDoubleSeconds(options_.ttl)));
  WINK_ASSIGN_OR_RETURN(
      const std::vector<Rows> rows,
      connection.Run({Statement{kHeartbeat, {node, ttl}}, Statement{kRenew, {node, ttl}},
                      Statement{kLiveNodes, {}}}));
  absl::flat_hash_map<int, int64_t> held;
  for (int row = 0; row < rows[1].size(); ++row) {
    held[static_cast<int>(rows[1].Int(row, 0))] = rows[1].Int(row, 1);
  }
  const int live_nodes = std::max<int>(1, static_cast<int>(rows[2].Int(0, 0)));
  const int fair_share = (kPartitionCount + live_nodes - 1) / live_nodes;

  absl::flat_hash_map<int, absl::Time> draining;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [partition, until] : draining_) {
      if (held.contains(partition)) draining[partition] = until;
    }
  }
  // Drained: release, so that the node short of partitions takes them.
  // Drained early: nothing started within the drain, so nothing is in
  // flight.
  std::vector<int> drained;
  const int64_t quiet_since_us = absl::ToUnixMicros(start - options_.drain);
  for (const auto& [partition, until] : draining) {
    if (until <= start ||
        last_start_us_[partition].load(std::memory_order_relaxed) < quiet_since_us) {
      drained.push_back(partition);
    }
  }
  if (!drained.empty()) {
    // Those with a fenced write in progress stay until the next round.
    WINK_ASSIGN_OR_RETURN(
        const Rows released,
        connection.RunOne(Statement{
            kRelease, {node, Param::Text(ArrayLiteral(drained)), Param::Int(kFenceLockSpace)}}));
    drained.clear();
    for (int row = 0; row < released.size(); ++row) {
      const int partition = static_cast<int>(released.Int(row, 0));
      drained.push_back(partition);
      held.erase(partition);
      draining.erase(partition);
    }
  }
  // More than a fair share (a node joined): drain the surplus.
  const int active = static_cast<int>(held.size() - draining.size());
  const int surplus = std::max(0, active - fair_share);
  if (surplus > 0) {
    std::vector<int> candidates;
    for (const auto& [partition, epoch] : held) {
      if (!draining.contains(partition)) candidates.push_back(partition);
    }
    // The quietest first: they can go at the next round.
    std::sort(candidates.begin(), candidates.end(), [this](int a, int b) {
      const int64_t a_us = last_start_us_[a].load(std::memory_order_relaxed);
      const int64_t b_us = last_start_us_[b].load(std::memory_order_relaxed);
      return a_us != b_us ? a_us < b_us : a > b;
    });
    for (int i = 0; i < active - fair_share; ++i) draining[candidates[i]] = start + options_.drain;
  }
  // Fewer: take lapsed or free partitions.
  int taken = 0;
  if (static_cast<int>(held.size()) < fair_share) {
    WINK_ASSIGN_OR_RETURN(const Rows took,
                          connection.RunOne(Statement{
                              kTake,
                              {node, ttl, Param::Int(fair_share - static_cast<int>(held.size())),
                               Param::Int(kFenceLockSpace)}}));
    for (int row = 0; row < took.size(); ++row) {
      held[static_cast<int>(took.Int(row, 0))] = took.Int(row, 1);
    }
    taken = took.size();
  }

  absl::MutexLock lock(&mu_);
  // New work may start in another set of partitions (or again after the
  // leases lapsed): the engine must look at the whole queue.
  const bool lapsed = absl::Now() >= valid_until_;
  bool changed = lapsed || held.size() != leases_.size() || draining.size() != draining_.size();
  for (const auto& [partition, epoch] : held) {
    auto it = leases_.find(partition);
    changed = changed || it == leases_.end() || it->second != epoch ||
              draining.contains(partition) != draining_.contains(partition);
  }
  if (changed) ++version_;
  if (taken > 0 || surplus > 0 || !drained.empty() || lapsed) {
    LogLine(LogLevel::kInfo, "partition_leases")
        .Field("node", options_.node_id)
        .Field("owned", static_cast<int64_t>(held.size() - draining.size()))
        .Field("draining", static_cast<int64_t>(draining.size()))
        .Field("taken", static_cast<int64_t>(taken))
        .Field("handing_back", static_cast<int64_t>(surplus))
        .Field("released", static_cast<int64_t>(drained.size()))
        .Field("live_nodes", static_cast<int64_t>(live_nodes));
  }
  if (observer_ != nullptr) {
    observer_->OnPartitions(static_cast<int>(held.size() - draining.size()),
                            static_cast<int>(draining.size()), taken,
                            static_cast<int>(drained.size()));
  }
  leases_ = std::move(held);
  draining_ = std::move(draining);
  valid_until_ = start + options_.ttl * 0.8;
  counters_.live_nodes = live_nodes;
  counters_.acquired_total += taken;
  counters_.released_total += static_cast<int64_t>(drained.size());
  return absl::OkStatus();
}

void PartitionLeases::Loop() {
  bool failed = false;
  while (true) {
    {
      // After a failure, try again soon: a primary promoted within a few
      // seconds must not cost this node its leases.
      const absl::Duration wait =
          failed ? std::min(kRetryAfterFailure, options_.ttl / 3) : options_.ttl / 3;
      absl::MutexLock lock(&mu_);
      if (!stopping_) stop_signal_.WaitWithTimeout(&mu_, wait);
      if (stopping_) return;
    }
    absl::Status status = absl::OkStatus();
    // Twice at most: a connection that was fine at the last round may have
    // gone stale since (its server restarted, or a standby promoted in its
    // place), which only its next use shows. A round is safe to run again.
    for (int tries = 0; tries < 2; ++tries) {
      const bool fresh = connection_ == nullptr || connection_->broken();
      if (fresh) {
        auto opened = Connection::Open(conninfo_);
        status = opened.status();
        if (!opened.ok()) break;
        connection_ = std::move(*opened);
      }
      status = Tick(*connection_);
      if (status.ok() || fresh || !connection_->broken()) break;
    }
    failed = !status.ok();
    if (observer_ != nullptr) observer_->OnHeartbeat(status);
    if (failed) {
      LogLine(LogLevel::kWarning, "partition_leases_not_renewed")
          .Field("node", options_.node_id)
          .Field("error", status.message())
          .Field("effect", "this node stops sending when its leases lapse; others take over");
    }
  }
}

}  // namespace wink::webhooks::storage::pg
