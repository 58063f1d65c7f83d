// A Clock that only moves when a test says so.
#ifndef WINK_WEBHOOKS_TESTS_FAKES_FAKE_CLOCK_H_
#define WINK_WEBHOOKS_TESTS_FAKES_FAKE_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/common/clock.h"

namespace wink::webhooks::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1764000000)) : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_;
};

}  // namespace wink::webhooks::testing

#endif  // WINK_WEBHOOKS_TESTS_FAKES_FAKE_CLOCK_H_
