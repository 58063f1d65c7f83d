// IPv4/IPv6 addresses and CIDR ranges, for the SSRF guard and its allowlist.
#ifndef WINK_WEBHOOKS_SERVICE_COMMON_IP_RANGE_H_
#define WINK_WEBHOOKS_SERVICE_COMMON_IP_RANGE_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wink::webhooks {

// An IP address as 16 bytes; IPv4 addresses are stored IPv4-mapped
// (::ffff:a.b.c.d) so one range type covers both families.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool is_v4 = false;

  // Parses a literal such as "10.1.2.3" or "::1" (no brackets, no port).
  static absl::StatusOr<IpAddress> Parse(absl::string_view text);
  std::string ToString() const;
  friend bool operator==(const IpAddress& a, const IpAddress& b) { return a.bytes == b.bytes; }
};

// A CIDR range, e.g. 127.0.0.0/8 or fd00::/8.
class IpRange {
 public:
  // Parses "address/prefix" or a bare address (a /32 or /128 range).
  // INVALID_ARGUMENT on anything else, including host bits set beyond the
  // prefix ("10.0.0.1/8"), which is almost always a typo.
  static absl::StatusOr<IpRange> Parse(absl::string_view text);
  IpRange(const IpAddress& network, int prefix_length);

  bool Contains(const IpAddress& address) const;
  std::string ToString() const;

 private:
  IpAddress network_;
  int prefix_length_;  // in bits of the 16-byte form
};

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_COMMON_IP_RANGE_H_
