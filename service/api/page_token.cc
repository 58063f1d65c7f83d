#include "service/api/page_token.h"

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace wink::webhooks::api {
namespace {

// Format: "v1" NUL parent NUL last_id, base64url without padding. Resource
// names and ids never contain NUL.
constexpr absl::string_view kVersion = "v1";

}  // namespace

std::string EncodePageToken(absl::string_view parent, absl::string_view last_id) {
  return absl::WebSafeBase64Escape(absl::StrCat(kVersion, absl::string_view("\0", 1), parent,
                                                absl::string_view("\0", 1), last_id));
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view token, absl::string_view parent) {
  if (token.empty()) return std::string();
  std::string raw;
  const auto invalid = absl::InvalidArgumentError(
      "page_token: not a token returned by this method; start again without one");
  // The decoder also takes padding, whitespace and stray low bits in the
  // last character; insisting on the one spelling EncodePageToken writes
  // keeps "a token this method returned" the only thing accepted.
  if (!absl::WebSafeBase64Unescape(token, &raw) || absl::WebSafeBase64Escape(raw) != token) {
    return invalid;
  }
  const size_t first = raw.find('\0');
  if (first == std::string::npos || absl::string_view(raw).substr(0, first) != kVersion) {
    return invalid;
  }
  const size_t second = raw.find('\0', first + 1);
  if (second == std::string::npos) return invalid;
  if (absl::string_view(raw).substr(first + 1, second - first - 1) != parent) {
    return absl::InvalidArgumentError(
        "page_token: was issued for a different parent; page tokens only work with the "
        "request they came from");
  }
  std::string last_id = raw.substr(second + 1);
  if (last_id.empty()) return invalid;
  return last_id;
}

absl::StatusOr<int> EffectivePageSize(int page_size) {
  if (page_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must not be negative, got ", page_size));
  }
  if (page_size == 0) return kDefaultPageSize;
  return page_size > kMaxPageSize ? kMaxPageSize : page_size;
}

}  // namespace wink::webhooks::api
