// Standard Webhooks signatures (https://www.standardwebhooks.com, "v1"
// symmetric scheme): HMAC-SHA256 over "{webhook-id}.{webhook-timestamp}.{body}",
// sent base64-encoded as "v1,<signature>" in the `webhook-signature` header,
// several space-separated while more than one secret is valid.
#ifndef WINK_WEBHOOKS_SERVICE_SIGNING_SIGNATURE_H_
#define WINK_WEBHOOKS_SERVICE_SIGNING_SIGNATURE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace wink::webhooks::signing {

// "v1," + base64(HMAC-SHA256(key, msg_id + "." + timestamp + "." + body)).
// `key` is the raw secret (the bytes after "whsec_", base64-decoded);
// `timestamp` is Unix seconds.
std::string Sign(absl::string_view key, absl::string_view msg_id, int64_t timestamp,
                 absl::string_view body);

// The `webhook-signature` header value: one Sign() per key, in the order
// given, separated by single spaces.
std::string SignatureHeader(absl::Span<const std::string> keys, absl::string_view msg_id,
                            int64_t timestamp, absl::string_view body);

// Receiver-side check of one request. OK if `timestamp_header` is a Unix-seconds
// integer within `tolerance` of `now` and some "v1,..." entry of
// `signature_header` equals the signature by one of `keys` (constant-time
// comparison). Otherwise UNAUTHENTICATED with the reason ("timestamp too old",
// "no matching signature", ...); unknown versions (e.g. "v1a,") are skipped.
//
// Details: `timestamp_header` must be 1-19 ASCII digits (no sign, no spaces),
// else the message starts with "webhook-timestamp:"; it is signed as written.
// The window is inclusive: |now - timestamp| == tolerance still passes.
// `signature_header` holds space-separated "version,base64" entries; a v1
// entry must be padded standard base64 of the 32-byte MAC. No keys, or no v1
// entry, means "no matching signature". Messages never contain keys or
// signatures. Thread-safe.
absl::Status VerifySignature(absl::Span<const std::string> keys, absl::string_view msg_id,
                             absl::string_view timestamp_header, absl::string_view signature_header,
                             absl::string_view body, absl::Time now,
                             absl::Duration tolerance = absl::Minutes(5));

}  // namespace wink::webhooks::signing

#endif  // WINK_WEBHOOKS_SERVICE_SIGNING_SIGNATURE_H_
