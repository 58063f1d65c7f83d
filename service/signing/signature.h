// Standard Webhooks signatures (https://www.standardwebhooks.com, "v1"
// symmetric scheme): HMAC-SHA256 over "{webhook-id}.{webhook-timestamp}.{body}",
// sent base64-encoded as "v1,<signature>" in the `webhook-signature` header,
// several space-separated while more than one secret is valid.
//
// The implementation is the receiver-side library's (client/verify,
// "wink/webhooks/verify.h"), so what the delivery engine signs is checked by
// the very code receivers use; this header keeps the service's names.
#ifndef WINK_WEBHOOKS_SERVICE_SIGNING_SIGNATURE_H_
#define WINK_WEBHOOKS_SERVICE_SIGNING_SIGNATURE_H_

#include "wink/webhooks/verify.h"

namespace wink::webhooks::signing {

// Sign(key, msg_id, timestamp, body): "v1," + base64 HMAC-SHA256 with a raw
// key. SignatureHeader(keys, ...): one Sign() per key, space-separated, in
// order. VerifySignature(keys, msg_id, timestamp_header, signature_header,
// body, now, tolerance = 5 min): OK, or UNAUTHENTICATED with the reason
// (constant-time comparison, inclusive window, unknown versions skipped).
// Full contracts in wink/webhooks/verify.h. Thread-safe.
using ::wink::webhooks::Sign;
using ::wink::webhooks::SignatureHeader;
using ::wink::webhooks::VerifySignature;

// Both schemes: a SigningKey is a raw key and its SignatureScheme
// (kHmacSha256 "v1", kEd25519 "v1a"); SignatureHeaderFor(Span<const
// SigningKey>, ...) signs with each, in order.
using ::wink::webhooks::SignatureScheme;
using ::wink::webhooks::SignEd25519;
using ::wink::webhooks::VerifyEd25519Signature;
using ::wink::webhooks::SignatureHeaderFor;
using ::wink::webhooks::SigningKey;

}  // namespace wink::webhooks::signing

#endif  // WINK_WEBHOOKS_SERVICE_SIGNING_SIGNATURE_H_
