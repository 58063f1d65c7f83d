// Resource ids: a type prefix and 26 characters of lower-case Crockford
// base32 encoding 48 bits of Unix milliseconds followed by 80 bits that make
// the id unique, e.g. "wh_01jdq3v8k2m7x9c4t6y1b5n0ra".
//
// Ids of one generator sort (as strings) in the order they were made: within
// one millisecond the 80-bit part counts up instead of being redrawn, so
// time-ordered keys need no separate sequence number.
#ifndef WINK_WEBHOOKS_SERVICE_COMMON_IDS_H_
#define WINK_WEBHOOKS_SERVICE_COMMON_IDS_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/common/clock.h"

namespace wink::webhooks {

// Prefixes of the id kinds. Part of every id and of resource names.
inline constexpr absl::string_view kWebhookIdPrefix = "wh_";
inline constexpr absl::string_view kEventIdPrefix = "evt_";
inline constexpr absl::string_view kRecoveryIdPrefix = "rec_";

// Number of base32 characters after the prefix.
inline constexpr int kIdBodyLength = 26;

// Makes time-sortable ids. Thread-safe.
class IdGenerator {
 public:
  // `clock` must outlive the generator.
  explicit IdGenerator(const Clock& clock);
  // Deterministic variant for tests: the random part starts from `seed`.
  IdGenerator(const Clock& clock, uint64_t seed);

  // Returns `prefix` + 26 base32 characters, greater than every id this
  // generator returned before for the same prefix (even if the clock goes
  // backwards: the last timestamp is reused then).
  std::string Next(absl::string_view prefix);

 private:
  const Clock& clock_;
  absl::Mutex mu_;
  absl::BitGen bitgen_ ABSL_GUARDED_BY(mu_);
  uint64_t last_millis_ ABSL_GUARDED_BY(mu_) = 0;
  // The 80-bit tail as (high 16 bits, low 64 bits).
  uint16_t last_high_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t last_low_ ABSL_GUARDED_BY(mu_) = 0;
};

// True if `id` is `prefix` followed by exactly 26 lower-case Crockford base32
// characters (0-9, a-z without i, l, o, u) whose first encodes at most 7.
bool IsValidId(absl::string_view id, absl::string_view prefix);

// The millisecond at which a valid id (IsValidId) was made.
absl::Time IdTime(absl::string_view id, absl::string_view prefix);

// The smallest id with `prefix` that could be made at `time`'s millisecond
// (rounded up) or later: every id made before it sorts below it. Times
// outside the ids' range are clamped to it. Where a time range starts in a
// table keyed by ids.
std::string FirstIdAt(absl::Time time, absl::string_view prefix);

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_COMMON_IDS_H_
