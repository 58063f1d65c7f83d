// The SSRF guard: which IP addresses a webhook delivery may connect to.
#ifndef WINK_WEBHOOKS_SERVICE_HTTP_ADDRESS_POLICY_H_
#define WINK_WEBHOOKS_SERVICE_HTTP_ADDRESS_POLICY_H_

#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
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

  // Why a delivery may not connect to `address` (e.g. "a private address"),
  // or nullopt if it may.
  std::optional<absl::string_view> Refusal(const IpAddress& address) const;

  // OK if a delivery may connect to `address`; otherwise PERMISSION_DENIED
  // "destination refused: <Refusal>", e.g. "destination refused: a private
  // address". The message leaves the address out: it reaches the webhook's
  // owner (the attempt's error), who must not learn what a name resolves to
  // inside our network. Log the address for operators separately.
  absl::Status Check(const IpAddress& address) const;

 private:
  std::vector<IpRange> allowed_private_ranges_;
};

}  // namespace wink::webhooks::http

#endif  // WINK_WEBHOOKS_SERVICE_HTTP_ADDRESS_POLICY_H_
