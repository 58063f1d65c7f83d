// How many WatchDeliveries streams may be open: in all and per account. A
// stream holds memory and a share of the status bus thread for as long as
// it is open, so one tenant opening thousands must not exhaust the server
// for the others.
#ifndef WINK_WEBHOOKS_SERVICE_API_WATCH_ADMISSION_H_
#define WINK_WEBHOOKS_SERVICE_API_WATCH_ADMISSION_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace wink::webhooks::api {

struct WatchLimits {
  int max_streams = 1000;
  int max_streams_per_account = 100;
};

// Thread-safe.
class WatchAdmission {
 public:
  explicit WatchAdmission(WatchLimits limits) : limits_(limits) {}

  // Counts a new stream of `account`, or RESOURCE_EXHAUSTED naming the
  // limit reached (and the config field that sets it). Every OK is paired
  // with one Leave(account).
  absl::Status Enter(absl::string_view account);
  void Leave(absl::string_view account);
  // New limits for streams opened from now on (a config reload); streams
  // already open stay, even above them.
  void SetLimits(WatchLimits limits);

  int open() const;
  int open_of(absl::string_view account) const;

 private:
  mutable absl::Mutex mu_;
  WatchLimits limits_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, int> open_by_account_ ABSL_GUARDED_BY(mu_);
};

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_WATCH_ADMISSION_H_
