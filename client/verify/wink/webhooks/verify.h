// Standard Webhooks signatures (https://www.standardwebhooks.com) for the
// receivers of Wink Webhooks deliveries, and for anyone who signs requests
// the same way (tests, other senders): the symmetric "v1" scheme
// (HMAC-SHA256) and the asymmetric "v1a" scheme (Ed25519).
//
// Every delivery is an HTTPS POST with three headers:
//   webhook-id:        the event id, stable across retries (dedupe on it)
//   webhook-timestamp: Unix seconds when this attempt was signed
//   webhook-signature: "v1,<base64 HMAC-SHA256>" or "v1a,<base64 Ed25519
//                      signature>", several space-separated while a
//                      rotated-out key is still valid
// The signed content is "{webhook-id}.{webhook-timestamp}.{raw body}". A v1
// endpoint shares a secret with the sender, "whsec_" + base64(key bytes); a
// v1a endpoint holds only the sender's public key, "whpk_" + base64(32
// bytes), so it can check signatures but never make one.
//
// Typical receiver:
//
//   auto verifier = wink::webhooks::WebhookVerifier::Create({secret_or_public_key});
//   if (!verifier.ok()) ... // INVALID_ARGUMENT: the key is malformed
//   absl::Status status = verifier->Verify(request_headers, raw_body);
//   if (!status.ok()) ... // answer 401; status.message() says why
//   // Only now parse the body and trust its contents.
//
// Verify the raw bytes as received, before any JSON parsing or re-encoding.
//
// Errors are absl::Status values; nothing here throws. No message ever
// contains a secret, a key or a signature, so messages may be logged.
// Library: CMake `WinkWebhooks::verify` (in-tree `webhooks::verify`), Bazel
// `//client/verify`; depends on OpenSSL (libcrypto) and Abseil only.
#ifndef WINK_WEBHOOKS_VERIFY_H_
#define WINK_WEBHOOKS_VERIFY_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace wink::webhooks {

// Header names as the spec writes them. HTTP header names are
// case-insensitive; WebhookVerifier matches them in any case.
inline constexpr absl::string_view kWebhookIdHeader = "webhook-id";
inline constexpr absl::string_view kWebhookTimestampHeader = "webhook-timestamp";
inline constexpr absl::string_view kWebhookSignatureHeader = "webhook-signature";

// How far webhook-timestamp may be from the receiver's clock, either way,
// unless configured otherwise (the spec's recommendation).
inline constexpr absl::Duration kDefaultTolerance = absl::Minutes(5);

// --- Secrets ---------------------------------------------------------------

inline constexpr absl::string_view kSecretPrefix = "whsec_";
// Size of the keys GenerateSecretKey() makes (ParseSecret accepts 24-64).
inline constexpr int kSecretKeyBytes = 32;

// Returns kSecretKeyBytes bytes from OpenSSL's CSPRNG. INTERNAL if the
// generator fails (it should not once seeded).
absl::StatusOr<std::string> GenerateSecretKey();

// "whsec_" + base64(key) (standard alphabet, padded).
std::string FormatSecret(absl::string_view key);

// Inverse of FormatSecret: the raw key bytes. INVALID_ARGUMENT unless
// `secret` is exactly "whsec_" followed by padded standard base64 (no
// whitespace) of 24-64 bytes. The message names the problem, never the
// secret.
absl::StatusOr<std::string> ParseSecret(absl::string_view secret);

// The secrets kept in `text`, e.g. a secrets file or an environment variable
// (so that they stay off command lines, which `ps` shows to every user):
// separated by newlines, commas or other whitespace; lines starting with '#'
// are skipped. Returned as given (ParseSecret checks them).
std::vector<std::string> SplitSecretList(absl::string_view text);

// SplitSecretList of the file at `path`. INVALID_ARGUMENT "cannot read
// '<path>': <reason>" or "no secret in '<path>' (...)"; never the contents.
absl::StatusOr<std::vector<std::string>> ReadSecretFile(const std::string& path);

// --- Asymmetric keys (v1a, Ed25519) ------------------------------------------

// "whpk_" + base64 of a 32-byte Ed25519 public key: what receivers hold.
inline constexpr absl::string_view kPublicKeyPrefix = "whpk_";
// "whsk_" + base64 of a 32-byte Ed25519 private key (RFC 8032's seed): what
// a sender holds. Wink Webhooks keeps its own and never shows them.
inline constexpr absl::string_view kSigningKeyPrefix = "whsk_";
inline constexpr int kEd25519KeyBytes = 32;

// kEd25519KeyBytes from OpenSSL's CSPRNG: a new Ed25519 private key (every
// 32-byte string is one). INTERNAL if the generator fails.
absl::StatusOr<std::string> GenerateSigningKey();

// The 32-byte public key of a 32-byte private key. INVALID_ARGUMENT for a
// key of another size; INTERNAL if OpenSSL fails.
absl::StatusOr<std::string> PublicKeyOf(absl::string_view signing_key);

// "whpk_"/"whsk_" + base64(key) (standard alphabet, padded), and their
// inverses: the raw 32 bytes, INVALID_ARGUMENT for anything but the prefix
// followed by padded standard base64 of exactly 32 bytes (never echoing it).
std::string FormatPublicKey(absl::string_view public_key);
absl::StatusOr<std::string> ParsePublicKey(absl::string_view text);
std::string FormatSigningKey(absl::string_view signing_key);
absl::StatusOr<std::string> ParseSigningKey(absl::string_view text);

// --- Signing and checking with raw keys --------------------------------------
// The building blocks of WebhookSigner and WebhookVerifier below. `key`/`keys`
// are raw key bytes (ParseSecret's result). All are thread-safe.

// Which of the spec's schemes a key signs with.
enum class SignatureScheme {
  kHmacSha256,  // "v1": a shared secret
  kEd25519,     // "v1a": a private key; receivers hold its public key
};

// A raw key and the scheme it signs with: HMAC key bytes (ParseSecret's
// result) or a 32-byte Ed25519 private key (ParseSigningKey's result).
struct SigningKey {
  SignatureScheme scheme = SignatureScheme::kHmacSha256;
  std::string key;
};

// "v1," + base64(HMAC-SHA256(key, msg_id + "." + timestamp + "." + body)),
// `timestamp` being Unix seconds written in decimal.
std::string Sign(absl::string_view key, absl::string_view msg_id, int64_t timestamp,
                 absl::string_view body);

// The webhook-signature header value: one Sign() per key, in the order
// given, separated by single spaces ("" for no keys).
std::string SignatureHeader(absl::Span<const std::string> keys, absl::string_view msg_id,
                            int64_t timestamp, absl::string_view body);

// "v1a," + base64(Ed25519(signing_key, msg_id + "." + timestamp + "." +
// body)). `signing_key` is a 32-byte private key; any other size aborts (a
// programming error: keys come from GenerateSigningKey or ParseSigningKey).
std::string SignEd25519(absl::string_view signing_key, absl::string_view msg_id,
                        int64_t timestamp, absl::string_view body);

// The webhook-signature header value for keys of either scheme: one
// signature per key, in the order given, separated by single spaces.
std::string SignatureHeaderFor(absl::Span<const SigningKey> keys, absl::string_view msg_id,
                            int64_t timestamp, absl::string_view body);

// Receiver-side check of one request. OK if `timestamp_header` is a
// Unix-seconds integer within `tolerance` of `now` and some "v1,..." entry of
// `signature_header` equals the signature by one of `keys` (constant-time
// comparison). Otherwise UNAUTHENTICATED with the reason ("timestamp too old",
// "no matching signature", ...); unknown versions (e.g. "v1a,") are skipped.
//
// Details: `timestamp_header` must be 1-19 ASCII digits (no sign, no spaces),
// else the message starts with "webhook-timestamp:"; it is signed as written.
// The window is inclusive: |now - timestamp| == tolerance still passes.
// `signature_header` holds space-separated "version,base64" entries; a v1
// entry must be the canonical padded standard base64 of the 32-byte MAC (the
// unused low bits of its last character zero). No keys, or no v1
// entry, means "no matching signature". An empty `msg_id` is not rejected
// here (WebhookVerifier does).
absl::Status VerifySignature(absl::Span<const std::string> keys, absl::string_view msg_id,
                             absl::string_view timestamp_header, absl::string_view signature_header,
                             absl::string_view body, absl::Time now,
                             absl::Duration tolerance = kDefaultTolerance);

// VerifySignature for the v1a scheme: OK if some "v1a,..." entry of
// `signature_header` is a valid Ed25519 signature by one of `public_keys`
// (32 bytes each, ParsePublicKey's result). Same timestamp checks and
// messages; other versions ("v1,") are skipped. A v1a entry must be the
// canonical padded standard base64 of the 64-byte signature.
absl::Status VerifyEd25519Signature(absl::Span<const std::string> public_keys,
                                    absl::string_view msg_id, absl::string_view timestamp_header,
                                    absl::string_view signature_header, absl::string_view body,
                                    absl::Time now, absl::Duration tolerance = kDefaultTolerance);

// --- Receivers ---------------------------------------------------------------

// Checks incoming requests against one or more endpoint keys: "whsec_"
// secrets (v1 signatures) and "whpk_" public keys (v1a signatures), in any
// mix. Several keys are for rotation on the receiver's side: a request
// passes if it is signed by any of them.
//
// Immutable once created: copyable, and safe to use from any number of
// threads at once. To change secrets, create a new verifier and swap it in.
class WebhookVerifier {
 public:
  struct Options {
    // Largest accepted |now - webhook-timestamp| (inclusive). Bounds how long
    // a captured request can be replayed. Must not be negative;
    // absl::InfiniteDuration() turns the check off (not recommended).
    absl::Duration tolerance = kDefaultTolerance;
  };

  // `secrets` are "whsec_..." or "whpk_..." strings. INVALID_ARGUMENT if
  // there are none ("secrets: ..."), if one does not parse ("secrets[1]:
  // ...", never echoing it; a "whsk_" private key is refused: a receiver
  // needs only the public key) or if options.tolerance is negative
  // ("tolerance: ...").
  static absl::StatusOr<WebhookVerifier> Create(absl::Span<const std::string> secrets);
  static absl::StatusOr<WebhookVerifier> Create(absl::Span<const std::string> secrets,
                                                Options options);

  // Verifies a request given its headers (names in any case, as received)
  // and its raw body. OK, or UNAUTHENTICATED with a reason that starts with
  // the header at fault:
  //   "webhook-id: header missing" (likewise for the other two; an empty
  //       value counts as missing),
  //   "webhook-id: header repeated" (a header given more than once),
  //   "webhook-timestamp: timestamp too old" / "... too new" / "... must be
  //       Unix seconds ...",
  //   "webhook-signature: no matching signature".
  absl::Status Verify(absl::Span<const std::pair<std::string, std::string>> headers,
                      absl::string_view body, absl::Time now = absl::Now()) const;

  // The same with the three header values already extracted.
  absl::Status Verify(absl::string_view webhook_id, absl::string_view webhook_timestamp,
                      absl::string_view webhook_signature, absl::string_view body,
                      absl::Time now = absl::Now()) const;

  absl::Duration tolerance() const { return tolerance_; }

 private:
  WebhookVerifier(std::vector<std::string> keys, std::vector<std::string> public_keys,
                  absl::Duration tolerance)
      : keys_(std::move(keys)), public_keys_(std::move(public_keys)), tolerance_(tolerance) {}

  std::vector<std::string> keys_;         // raw HMAC key bytes
  std::vector<std::string> public_keys_;  // raw Ed25519 public keys
  absl::Duration tolerance_;
};

// --- Senders -----------------------------------------------------------------

// Signs requests the way Wink Webhooks does, with every key given (the
// receiver accepts any one of them). Immutable: copyable and thread-safe.
class WebhookSigner {
 public:
  // `secrets` are "whsec_..." (v1) or "whsk_..." (v1a) strings; errors as
  // WebhookVerifier::Create (a "whpk_" public key cannot sign).
  static absl::StatusOr<WebhookSigner> Create(absl::Span<const std::string> secrets);

  // The webhook-signature value for this message. `timestamp` is truncated
  // to whole seconds, as it is sent.
  std::string Sign(absl::string_view webhook_id, absl::Time timestamp,
                   absl::string_view body) const;

  // The three headers to send with `body`, in this order: webhook-id,
  // webhook-timestamp, webhook-signature.
  std::vector<std::pair<std::string, std::string>> Headers(absl::string_view webhook_id,
                                                           absl::Time timestamp,
                                                           absl::string_view body) const;

 private:
  explicit WebhookSigner(std::vector<SigningKey> keys) : keys_(std::move(keys)) {}

  std::vector<SigningKey> keys_;
};

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_VERIFY_H_
