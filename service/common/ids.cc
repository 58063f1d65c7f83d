#include "service/common/ids.h"

#include <algorithm>

namespace wink::webhooks {
namespace {

constexpr char kAlphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

// Encodes the 128-bit value (millis << 80 | high << 64 | low) as 26 base32
// digits, most significant first; the top digit holds only 3 bits.
std::string Encode(uint64_t millis, uint16_t high, uint64_t low) {
  using u128 = unsigned __int128;
  const u128 value = (u128{millis} << 80) | (u128{high} << 64) | u128{low};
  std::string out(kIdBodyLength, '0');
  for (int i = 0; i < kIdBodyLength; ++i) {
    const int shift = (kIdBodyLength - 1 - i) * 5;
    out[i] = kAlphabet[static_cast<int>((value >> shift) & 31)];
  }
  return out;
}

bool IsBase32Digit(char c) {
  return std::find(std::begin(kAlphabet), std::end(kAlphabet) - 1, c) != std::end(kAlphabet) - 1;
}

}  // namespace

IdGenerator::IdGenerator(const Clock& clock) : clock_(clock) {}

IdGenerator::IdGenerator(const Clock& clock, uint64_t seed) : clock_(clock) {
  std::seed_seq seq{seed};
  bitgen_ = absl::BitGen(seq);
}

std::string IdGenerator::Next(absl::string_view prefix) {
  const int64_t now = absl::ToUnixMillis(clock_.Now());
  const uint64_t millis =
      static_cast<uint64_t>(std::max<int64_t>(now, 0)) & ((uint64_t{1} << 48) - 1);
  absl::MutexLock lock(&mu_);
  if (millis > last_millis_) {
    last_millis_ = millis;
    // Leave headroom below the 80-bit maximum so that counting up within a
    // millisecond cannot overflow in practice.
    last_high_ = absl::Uniform<uint16_t>(bitgen_) & 0x7fff;
    last_low_ = absl::Uniform<uint64_t>(bitgen_);
  } else if (++last_low_ == 0) {
    ++last_high_;
  }
  std::string id(prefix);
  id += Encode(last_millis_, last_high_, last_low_);
  return id;
}

bool IsValidId(absl::string_view id, absl::string_view prefix) {
  if (id.size() != prefix.size() + kIdBodyLength) return false;
  if (id.substr(0, prefix.size()) != prefix) return false;
  const absl::string_view body = id.substr(prefix.size());
  if (body[0] < '0' || body[0] > '7') return false;
  return std::all_of(body.begin(), body.end(), IsBase32Digit);
}

std::string FirstIdAt(absl::Time time, absl::string_view prefix) {
  constexpr int64_t kMaxMillis = (int64_t{1} << 48) - 1;
  int64_t millis = 0;
  if (time == absl::InfiniteFuture()) {
    millis = kMaxMillis;
  } else if (time != absl::InfinitePast()) {
    const absl::Duration since_epoch = absl::Ceil(time - absl::UnixEpoch(), absl::Milliseconds(1));
    millis = std::clamp<int64_t>(absl::ToInt64Milliseconds(since_epoch), 0, kMaxMillis);
  }
  std::string id(prefix);
  id += Encode(static_cast<uint64_t>(millis), 0, 0);
  return id;
}

absl::Time IdTime(absl::string_view id, absl::string_view prefix) {
  // The first 10 digits hold the 48 bits of milliseconds (bits 80-129).
  uint64_t millis = 0;
  for (char c : id.substr(prefix.size(), 10)) {
    const char* digit = std::find(std::begin(kAlphabet), std::end(kAlphabet) - 1, c);
    millis = (millis << 5) | static_cast<uint64_t>(digit - kAlphabet);
  }
  return absl::FromUnixMillis(static_cast<int64_t>(millis));
}

}  // namespace wink::webhooks
