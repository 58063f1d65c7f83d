// Ends the open streams of credentials that stop working. A WatchDeliveries
// stream authenticates once, when it opens, and may stay open for days; an
// API key revoked, deleted, rotated out or expired since, or a config token
// removed by a reload, must not keep reading the account's deliveries.
#ifndef WINK_WEBHOOKS_SERVICE_API_KEYED_STREAMS_H_
#define WINK_WEBHOOKS_SERVICE_API_KEYED_STREAMS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/auth/principal.h"
#include "service/common/clock.h"

namespace wink::webhooks::api {

// Thread-safe.
class KeyedStreams {
 public:
  // Checks every stream's key every `check_interval` (expiries and the end
  // of rotation overlaps come with time, not with a change) and whenever
  // CheckNow() is called. `clock` must outlive this.
  KeyedStreams(const Clock& clock, absl::Duration check_interval);
  // Stops the thread; tracked streams are not ended.
  ~KeyedStreams();

  KeyedStreams(const KeyedStreams&) = delete;
  KeyedStreams& operator=(const KeyedStreams&) = delete;

  // Tracks a stream opened with `key` (an API key or a config token). `end`
  // is called once, on this class's thread, when it no longer works; it
  // must finish the stream without waiting for it. Returns the id to Remove
  // it with.
  uint64_t Add(std::shared_ptr<const auth::Principal> key, std::function<void()> end)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Stops tracking. When it returns, `end` is not running and will not run.
  void Remove(uint64_t id) ABSL_LOCKS_EXCLUDED(mu_);

  // Checks every stream now (e.g. a key was just revoked), on this class's
  // thread; returns at once.
  void CheckNow() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Stream {
    std::shared_ptr<const auth::Principal> key;
    std::function<void()> end;
  };

  void Loop();

  const Clock& clock_;
  const absl::Duration check_interval_;
  absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, Stream> streams_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool check_now_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_KEYED_STREAMS_H_
