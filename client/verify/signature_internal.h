// The pieces signature.cc, ed25519.cc, secret.cc and verifier.cc share. Not
// installed: the public API is wink/webhooks/verify.h.
#ifndef WINK_WEBHOOKS_CLIENT_VERIFY_SIGNATURE_INTERNAL_H_
#define WINK_WEBHOOKS_CLIENT_VERIFY_SIGNATURE_INTERNAL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace wink::webhooks::internal {

// OK if `timestamp_header` is 1-19 ASCII digits of Unix seconds within
// `tolerance` of `now` (inclusive); otherwise UNAUTHENTICATED with the
// reason, starting with "webhook-timestamp:".
absl::Status CheckTimestamp(absl::string_view timestamp_header, absl::Time now,
                            absl::Duration tolerance);

// Whether some "v1,..." entry of `signature_header` is the HMAC of the
// signed content by one of `keys` (constant-time comparison).
bool MatchesHmac(absl::Span<const std::string> keys, absl::string_view msg_id,
                 absl::string_view timestamp_header, absl::string_view signature_header,
                 absl::string_view body);

// Whether some "v1a,..." entry of `signature_header` is a valid Ed25519
// signature of the signed content by one of `public_keys`.
bool MatchesEd25519(absl::Span<const std::string> public_keys, absl::string_view msg_id,
                    absl::string_view timestamp_header, absl::string_view signature_header,
                    absl::string_view body);

// The bytes after `prefix` in `text`, which must be exactly `prefix` and
// padded standard base64 (no whitespace) of min_bytes..max_bytes bytes.
// INVALID_ARGUMENT naming `what` ("secret", "public key", ...), never the
// text.
absl::StatusOr<std::string> ParsePrefixedKey(absl::string_view text, absl::string_view prefix,
                                             absl::string_view what, size_t min_bytes,
                                             size_t max_bytes);

}  // namespace wink::webhooks::internal

#endif  // WINK_WEBHOOKS_CLIENT_VERIFY_SIGNATURE_INTERNAL_H_
