#include "service/common/ip_range.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace wink::webhooks {
namespace {

constexpr int kV4MappedPrefixBits = 96;

}  // namespace

absl::StatusOr<IpAddress> IpAddress::Parse(absl::string_view text) {
  const std::string s(text);
  IpAddress out;
  in_addr v4;
  if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out.bytes[10] = 0xff;
    out.bytes[11] = 0xff;
    std::memcpy(&out.bytes[12], &v4, 4);
    out.is_v4 = true;
    return out;
  }
  in6_addr v6;
  if (::inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.bytes.data(), &v6, 16);
    return out;
  }
  return absl::InvalidArgumentError(absl::StrCat("not an IP address: \"", text, "\""));
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (is_v4) {
    ::inet_ntop(AF_INET, &bytes[12], buf, sizeof(buf));
  } else {
    ::inet_ntop(AF_INET6, bytes.data(), buf, sizeof(buf));
  }
  return buf;
}

IpRange::IpRange(const IpAddress& network, int prefix_length)
    : network_(network), prefix_length_(prefix_length) {}

absl::StatusOr<IpRange> IpRange::Parse(absl::string_view text) {
  const size_t slash = text.find('/');
  auto address = IpAddress::Parse(text.substr(0, slash));
  if (!address.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not a CIDR range: \"", text, "\""));
  }
  const int max_bits = address->is_v4 ? 32 : 128;
  int bits = max_bits;
  const absl::string_view prefix_text =
      slash == absl::string_view::npos ? absl::string_view() : text.substr(slash + 1);
  // SimpleAtoi tolerates whitespace and signs; a CIDR prefix is plain digits.
  if (slash != absl::string_view::npos &&
      (prefix_text.empty() || prefix_text.size() > 3 ||
       !std::all_of(prefix_text.begin(), prefix_text.end(), absl::ascii_isdigit) ||
       !absl::SimpleAtoi(prefix_text, &bits) || bits > max_bits)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad prefix length in CIDR range \"", text, "\""));
  }
  const int prefix = address->is_v4 ? bits + kV4MappedPrefixBits : bits;
  for (int bit = prefix; bit < 128; ++bit) {
    if (address->bytes[bit / 8] & (0x80 >> (bit % 8))) {
      return absl::InvalidArgumentError(
          absl::StrCat("CIDR range \"", text, "\" has host bits set beyond the prefix"));
    }
  }
  IpRange range(*address, prefix);
  return range;
}

bool IpRange::Contains(const IpAddress& address) const {
  const int full_bytes = prefix_length_ / 8;
  if (std::memcmp(network_.bytes.data(), address.bytes.data(), full_bytes) != 0) {
    return false;
  }
  const int rest = prefix_length_ % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (network_.bytes[full_bytes] & mask) == (address.bytes[full_bytes] & mask);
}

std::string IpRange::ToString() const {
  const int bits = network_.is_v4 ? prefix_length_ - kV4MappedPrefixBits : prefix_length_;
  return absl::StrCat(network_.ToString(), "/", bits);
}

}  // namespace wink::webhooks
