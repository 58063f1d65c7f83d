#include "service/common/random.h"

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"

namespace wink::webhooks {
namespace {

class RealRandom final : public RandomSource {
 public:
  double Uniform01() override {
    absl::MutexLock lock(&mu_);
    return absl::Uniform<double>(bitgen_, 0.0, 1.0);
  }

 private:
  absl::Mutex mu_;
  absl::BitGen bitgen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

RandomSource& SystemRandom() {
  static RealRandom* const random = new RealRandom();
  return *random;
}

}  // namespace wink::webhooks
