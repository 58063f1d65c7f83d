// Opaque page tokens of List methods (AIP-158). A token records where the
// previous page ended and which parent it belongs to; it grants nothing
// (authorization is checked on the parent of every call), so it is encoded,
// not encrypted.
#ifndef WINK_WEBHOOKS_SERVICE_API_PAGE_TOKEN_H_
#define WINK_WEBHOOKS_SERVICE_API_PAGE_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wink::webhooks::api {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

// Token for the page after `last_id` of `parent`.
std::string EncodePageToken(absl::string_view parent, absl::string_view last_id);

// Returns the last id of the previous page, or "" for an empty token.
// INVALID_ARGUMENT "page_token: ..." if the token is malformed (anything
// but the exact bytes EncodePageToken returned, e.g. with base64 padding
// added) or was issued for another parent.
absl::StatusOr<std::string> DecodePageToken(absl::string_view token, absl::string_view parent);

// 0 -> kDefaultPageSize, above kMaxPageSize -> kMaxPageSize;
// INVALID_ARGUMENT "page_size: ..." if negative.
absl::StatusOr<int> EffectivePageSize(int page_size);

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_PAGE_TOKEN_H_
