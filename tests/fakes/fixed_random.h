// A RandomSource that returns what the test set, so retry jitter is exact.
#ifndef WINK_WEBHOOKS_TESTS_FAKES_FIXED_RANDOM_H_
#define WINK_WEBHOOKS_TESTS_FAKES_FIXED_RANDOM_H_

#include "absl/synchronization/mutex.h"
#include "service/common/random.h"

namespace wink::webhooks::testing {

class FixedRandom final : public RandomSource {
 public:
  explicit FixedRandom(double value = 0.5) : value_(value) {}

  double Uniform01() override {
    absl::MutexLock lock(&mu_);
    return value_;
  }
  void Set(double value) {
    absl::MutexLock lock(&mu_);
    value_ = value;
  }

 private:
  absl::Mutex mu_;
  double value_;
};

}  // namespace wink::webhooks::testing

#endif  // WINK_WEBHOOKS_TESTS_FAKES_FIXED_RANDOM_H_
