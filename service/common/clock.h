// Time source of the service. Code that decides by time takes a Clock so
// tests can drive it (see tests/fakes/fake_clock.h).
#ifndef WINK_WEBHOOKS_SERVICE_COMMON_CLOCK_H_
#define WINK_WEBHOOKS_SERVICE_COMMON_CLOCK_H_

#include "absl/time/time.h"

namespace wink::webhooks {

// Wall-clock time. Implementations must be thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The real clock. Never deleted; safe to use from any thread.
Clock& SystemClock();

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_COMMON_CLOCK_H_
