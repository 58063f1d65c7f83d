#include "service/common/clock.h"

#include "absl/time/clock.h"

namespace wink::webhooks {
namespace {

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

Clock& SystemClock() {
  static RealClock* const clock = new RealClock();
  return *clock;
}

}  // namespace wink::webhooks
