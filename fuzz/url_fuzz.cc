// ParseWebhookUrl (service/http/url.h), the IP literal and CIDR parsers
// (service/common/ip_range.h) and the SSRF guard (service/http/address_policy.h)
// on arbitrary text. No DNS and no network: only literals are checked.
//
// Invariants:
//  - an accepted URL is short printable ASCII; its host is non-empty and
//    lower-case, its port in 1-65535, its path starts with '/';
//  - an accepted URL written back as https://host:port/path?query parses to
//    the same host, port and path (the URL we check is the one we call);
//  - an IP literal re-serialises (ToString) to one that parses to the same
//    address; a CIDR range re-serialises to itself and contains its address;
//  - the policy: Check() and Refusal() agree; refusals never name the address;
//    an IPv4-mapped address written as IPv6 is refused even when allowed; any
//    other address is allowed once its own range is on the allowlist.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "service/common/ip_range.h"
#include "service/http/address_policy.h"
#include "service/http/url.h"

namespace {

using ::wink::webhooks::IpAddress;
using ::wink::webhooks::IpRange;
using ::wink::webhooks::http::AddressPolicy;
using ::wink::webhooks::http::HttpsUrl;
using ::wink::webhooks::http::kMaxUrlLength;
using ::wink::webhooks::http::ParseWebhookUrl;

bool IsV4MappedWrittenAsV6(const IpAddress& address) {
  static const IpRange mapped = IpRange::Parse("::ffff:0:0/96").value();
  return !address.is_v4 && mapped.Contains(address);
}

void CheckPolicy(const IpAddress& address) {
  static const AddressPolicy strict({});
  const std::string text = address.ToString();
  const auto refusal = strict.Refusal(address);
  const absl::Status status = strict.Check(address);
  FUZZ_CHECK(status.ok() == !refusal.has_value(), "Check and Refusal disagree");
  if (!status.ok()) {
    FUZZ_CHECK(status.code() == absl::StatusCode::kPermissionDenied, status.ToString());
    FUZZ_CHECK(status.message() == absl::StrCat("destination refused: ", *refusal),
               status.ToString());
    FUZZ_CHECK(!absl::StrContains(status.message(), text), "the refusal names the address");
  }

  const AddressPolicy allowing(
      {IpRange(address, 128), IpRange::Parse("0.0.0.0/0").value(), IpRange::Parse("::/0").value()});
  if (IsV4MappedWrittenAsV6(address)) {
    FUZZ_CHECK(refusal.has_value() && allowing.Refusal(address).has_value(),
               "an IPv4-mapped IPv6 address is allowed: " + text);
  } else {
    FUZZ_CHECK(!allowing.Refusal(address).has_value(),
               "an allowlisted address is refused: " + text);
  }
}

void CheckIpLiteral(absl::string_view input) {
  const auto address = IpAddress::Parse(input);
  if (!address.ok()) return;
  const std::string text = address->ToString();
  const auto again = IpAddress::Parse(text);
  FUZZ_CHECK(again.ok(), "ToString does not parse: " + text);
  FUZZ_CHECK(*again == *address && again->is_v4 == address->is_v4, "ToString changes it: " + text);
  CheckPolicy(*address);
}

void CheckIpRange(absl::string_view input) {
  const auto range = IpRange::Parse(input);
  if (!range.ok()) return;
  const std::string text = range->ToString();
  const auto again = IpRange::Parse(text);
  FUZZ_CHECK(again.ok() && again->ToString() == text, "ToString does not round-trip: " + text);
  const auto network = IpAddress::Parse(input.substr(0, input.find('/')));
  FUZZ_CHECK(network.ok() && range->Contains(*network), "a range misses its address: " + text);
}

std::string WriteUrl(const HttpsUrl& url) {
  const bool v6 = url.host.find(':') != std::string::npos;
  return absl::StrCat("https://", v6 ? "[" : "", url.host, v6 ? "]" : "", ":", url.port,
                      url.path_and_query);
}

void CheckUrl(absl::string_view input) {
  const auto url = ParseWebhookUrl(input, "webhook.url");
  if (!url.ok()) {
    FUZZ_CHECK(url.status().code() == absl::StatusCode::kInvalidArgument ||
                   url.status().code() == absl::StatusCode::kResourceExhausted,
               url.status().ToString());
    FUZZ_CHECK(absl::StartsWith(url.status().message(), "webhook.url: ") ||
                   url.status().code() == absl::StatusCode::kResourceExhausted,
               url.status().ToString());
    return;
  }
  FUZZ_CHECK(input.size() <= kMaxUrlLength, "a URL above the length limit is accepted");
  FUZZ_CHECK(!url->host.empty(), "empty host");
  FUZZ_CHECK(url->host == absl::AsciiStrToLower(url->host), "host not lower-case: " + url->host);
  FUZZ_CHECK(url->port >= 1 && url->port <= 65535, "port out of range");
  FUZZ_CHECK(absl::StartsWith(url->path_and_query, "/"), "path: " + url->path_and_query);

  const std::string written = WriteUrl(*url);
  const auto again = ParseWebhookUrl(written, "webhook.url");
  FUZZ_CHECK(again.ok(), absl::StrCat(written, ": ", again.status().ToString()));
  FUZZ_CHECK(again->host == url->host, absl::StrCat("host ", url->host, " -> ", again->host));
  FUZZ_CHECK(again->port == url->port, "port changes when written back: " + written);
  FUZZ_CHECK(again->path_and_query == url->path_and_query,
             absl::StrCat("path ", url->path_and_query, " -> ", again->path_and_query));

  // A literal host is what the delivery connects to without DNS.
  CheckIpLiteral(url->host);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  CheckUrl(input);
  CheckIpLiteral(input);
  CheckIpRange(input);
  return 0;
}
