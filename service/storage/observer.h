// What storage reports about itself, to whoever watches (the server feeds
// it to the Prometheus metrics). Storage depends on nothing above it: it is
// handed an observer instead of reaching for the metrics module.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_OBSERVER_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_OBSERVER_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "service/domain/states.h"

namespace wink::webhooks::storage {

// Called on storage threads: implementations must be thread-safe and quick.
class StorageObserver {
 public:
  virtual ~StorageObserver() = default;

  // A group of `operations` writes was committed in `duration`.
  virtual void OnCommit(int operations, absl::Duration duration) {}

  // A write operation waited `waited` in the writer's queue, from its
  // submission until the writer started running it.
  virtual void OnWriteWaited(absl::Duration waited) {}

  // The writer spent `run` running a group's operations (their reads and
  // staged writes) before its commit, and `finish` after the commit
  // telling their callers (which, for a publish, sends the response).
  virtual void OnGroupWork(absl::Duration run, absl::Duration finish) {}

  // A group of `operations` writes could not be committed: `error` as
  // storage logs it. UNAVAILABLE when the disk refused it (full, failing):
  // storage takes no writes until one commits again (OnCommit), which
  // DeliveryLedger::ProbeWritable tries.
  virtual void OnCommitFailed(int operations, const absl::Status& error) {}

  // Storage's own periodic write (in cluster mode, the partition lease
  // heartbeat, every few seconds even while nobody writes) committed (OK)
  // or not (UNAVAILABLE: no writable primary answers).
  virtual void OnHeartbeat(const absl::Status& status) {}

  // Cluster mode, after each lease round: the partitions of the deliveries
  // this node holds (`owned`, and `draining` on their way to another node),
  // and how many it took and released in that round.
  virtual void OnPartitions(int owned, int draining, int taken, int released) {}

  // A delivery entered the final `state` (SUCCEEDED, FAILED or CANCELLED),
  // once per transition, after the change is durable.
  virtual void OnDeliveryFinished(domain::DeliveryStateRecord state) {}
};

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_OBSERVER_H_
