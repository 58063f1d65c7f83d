#include "service/http/address_policy.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace wink::webhooks::http {
namespace {

struct SpecialRange {
  absl::string_view cidr;
  // Completes "destination <address> is ...".
  absl::string_view what;
};

// IPv4 ranges no webhook receiver on the public internet can have (IANA
// IPv4 Special-Purpose Address Registry, RFC 6890, plus multicast and
// class E). First match names the category, so narrower ranges come first.
constexpr SpecialRange kV4Ranges[] = {
    // Source-only "this host on this network"; Linux connects 0.0.0.0 to
    // the local host.
    {"0.0.0.0/8", "a this-network address"},
    // RFC 1918: internal networks, the classic SSRF target.
    {"10.0.0.0/8", "a private address"},
    {"172.16.0.0/12", "a private address"},
    {"192.168.0.0/16", "a private address"},
    // RFC 6598 shared address space: carrier NAT, and some clouds' internal
    // networks.
    {"100.64.0.0/10", "a CGNAT address"},
    {"127.0.0.0/8", "a loopback address"},
    // Includes the cloud metadata endpoints (169.254.169.254 and friends),
    // which hand out credentials to anyone on the host.
    {"169.254.0.0/16", "a link-local address"},
    // IETF protocol assignments (DS-Lite, NAT64 discovery, ...).
    {"192.0.0.0/24", "a reserved address"},
    // TEST-NET-1/2/3 (RFC 5737): never routed, usually a copied example.
    {"192.0.2.0/24", "a reserved address"},
    {"198.51.100.0/24", "a reserved address"},
    {"203.0.113.0/24", "a reserved address"},
    // Benchmarking (RFC 2544): labs, not the internet.
    {"198.18.0.0/15", "a reserved address"},
    // Deprecated 6to4 relay anycast (RFC 7526).
    {"192.88.99.0/24", "a reserved address"},
    {"224.0.0.0/4", "a multicast address"},
    // Class E "future use" and the limited broadcast address.
    {"255.255.255.255/32", "a reserved address"},
    {"240.0.0.0/4", "a reserved address"},
};

// IPv6 ranges, likewise (IANA IPv6 Special-Purpose Address Registry). The
// IPv4-mapped range is handled before the allowlist, see Check().
constexpr SpecialRange kV6Ranges[] = {
    {"::/128", "an unspecified address"},
    {"::1/128", "a loopback address"},
    // Deprecated IPv4-compatible addresses (RFC 4291): nothing legitimate
    // lives there, and they embed IPv4 addresses like the mapped ones.
    {"::/96", "a reserved address"},
    // NAT64 prefixes embed an IPv4 address that a local translator would
    // reach on our behalf, private ones included.
    {"64:ff9b::/96", "a NAT64 address"},
    {"64:ff9b:1::/48", "a NAT64 address"},
    // SIIT IPv4-translated addresses (RFC 6052 / 2765), ::ffff:0:a.b.c.d:
    // like the mapped ones, they carry an IPv4 address.
    {"::ffff:0:0:0/96", "an IPv4-translated address"},
    // RFC 6666 discard-only prefix (remote-triggered black holes).
    {"100::/64", "a discard-only address"},
    // IETF protocol assignments, including Teredo (2001::/32), which embeds
    // an IPv4 server and client address.
    {"2001::/23", "an IETF special-purpose address"},
    {"2001:db8::/32", "a documentation address"},
    {"3fff::/20", "a documentation address"},  // RFC 9637
    // SRv6 segment identifiers (RFC 9602): steer packets inside an operator's
    // network.
    {"5f00::/16", "an SRv6 address"},
    // 6to4 embeds an IPv4 address reached through a relay.
    {"2002::/16", "a 6to4 address"},
    // Unique local addresses: the IPv6 counterpart of RFC 1918.
    {"fc00::/7", "a private address"},
    {"fe80::/10", "a link-local address"},
    // Deprecated site-local (RFC 3879), still routed internally on some
    // networks.
    {"fec0::/10", "a site-local address"},
    {"ff00::/8", "a multicast address"},
};

using ParsedTable = std::vector<std::pair<IpRange, absl::string_view>>;

template <size_t N>
ParsedTable ParseTable(const SpecialRange (&table)[N]) {
  ParsedTable parsed;
  parsed.reserve(N);
  for (const SpecialRange& entry : table) {
    // The table is constant and covered by tests: a parse failure is a bug.
    parsed.emplace_back(IpRange::Parse(entry.cidr).value(), entry.what);
  }
  return parsed;
}

const ParsedTable& V4Table() {
  static const ParsedTable* const table = new ParsedTable(ParseTable(kV4Ranges));
  return *table;
}

const ParsedTable& V6Table() {
  static const ParsedTable* const table = new ParsedTable(ParseTable(kV6Ranges));
  return *table;
}

const IpRange& V4MappedRange() {
  static const IpRange* const range = new IpRange(IpRange::Parse("::ffff:0:0/96").value());
  return *range;
}

}  // namespace

AddressPolicy::AddressPolicy(std::vector<IpRange> allowed_private_ranges)
    : allowed_private_ranges_(std::move(allowed_private_ranges)) {}

std::optional<absl::string_view> AddressPolicy::Refusal(const IpAddress& address) const {
  // IpAddress stores IPv4 as IPv4-mapped bytes, so an IPv6 literal
  // ::ffff:127.0.0.1 would match an allowed 127.0.0.0/8 byte for byte. Such
  // an address is refused before the allowlist is consulted.
  if (!address.is_v4 && V4MappedRange().Contains(address)) {
    return "an IPv4-mapped IPv6 address";
  }
  for (const IpRange& allowed : allowed_private_ranges_) {
    if (allowed.Contains(address)) return std::nullopt;
  }
  for (const auto& [range, what] : address.is_v4 ? V4Table() : V6Table()) {
    if (range.Contains(address)) return what;
  }
  return std::nullopt;
}

absl::Status AddressPolicy::Check(const IpAddress& address) const {
  const std::optional<absl::string_view> refusal = Refusal(address);
  if (!refusal.has_value()) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("destination refused: ", *refusal));
}

}  // namespace wink::webhooks::http
