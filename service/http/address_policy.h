// The SSRF guard: which IP addresses a webhook delivery may connect to.
#ifndef WINK_WEBHOOKS_SERVICE_HTTP_ADDRESS_POLICY_H_
#define WINK_WEBHOOKS_SERVICE_HTTP_ADDRESS_POLICY_H_

#include <vector>

#include "absl/status/status.h"
#include "service/common/ip_range.h"

namespace wink::webhooks::http {

// Refuses every address that is not plainly public: loopback, private
// (RFC 1918, unique local), link-local (which includes cloud metadata
// endpoints such as 169.254.169.254), CGNAT, multicast, documentation,
// benchmarking, NAT64/6to4/Teredo and other reserved ranges, unless the
// address lies in one of `allowed_private_ranges` (development and tests).
//
// IPv4-mapped IPv6 addresses written as IPv6 (::ffff:a.b.c.d) are always
// refused, even when the embedded IPv4 address is public or allowed: a
// public DNS name has no business resolving to one, and refusing them keeps
// the two families from being used to sneak past each other's rules.
//
// Immutable after construction; thread-safe.
class AddressPolicy {
 public:
  explicit AddressPolicy(std::vector<IpRange> allowed_private_ranges);

  // OK if a delivery may connect to `address`; otherwise PERMISSION_DENIED
  // naming the address and why, e.g. "destination 10.0.0.7 is a private
  // address".
  absl::Status Check(const IpAddress& address) const;

 private:
  std::vector<IpRange> allowed_private_ranges_;
};

}  // namespace wink::webhooks::http

#endif  // WINK_WEBHOOKS_SERVICE_HTTP_ADDRESS_POLICY_H_
