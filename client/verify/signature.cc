// HMAC, base64 and constant-time comparison for Standard Webhooks "v1"
// signatures, the timestamp check both schemes share, and the header of
// mixed-scheme signatures. The one implementation in the tree:
// service/signing/signature.h re-exports these names for the delivery engine.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdlib>
#include <limits>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "signature_internal.h"
#include "wink/webhooks/verify.h"

namespace wink::webhooks {
namespace {

constexpr size_t kMacBytes = 32;   // SHA-256
constexpr size_t kMacBase64 = 44;  // 4 * ceil(32 / 3), one '=' of padding
constexpr size_t kMaxTimestampDigits = 19;
constexpr absl::string_view kVersionPrefix = "v1,";

struct Mac {
  unsigned char bytes[kMacBytes];
};

struct MacContextDeleter {
  void operator()(EVP_MAC_CTX* context) const { EVP_MAC_CTX_free(context); }
};

// This thread's HMAC-SHA256 context, made once. OpenSSL 3's one-shot HMAC()
// looks the algorithm and the digest up by name on every call, which costs
// more than hashing a typical event; a context re-keyed per message does not.
// Per thread because a context is not thread-safe. It holds the last key it
// signed with until the next signature, as the caller's own copy does. Null
// if OpenSSL cannot allocate.
EVP_MAC_CTX* ThisThreadsHmacSha256() {
  thread_local const std::unique_ptr<EVP_MAC_CTX, MacContextDeleter> context = [] {
    std::unique_ptr<EVP_MAC, void (*)(EVP_MAC*)> hmac(EVP_MAC_fetch(nullptr, "HMAC", nullptr),
                                                      EVP_MAC_free);
    if (hmac == nullptr) return std::unique_ptr<EVP_MAC_CTX, MacContextDeleter>();
    std::unique_ptr<EVP_MAC_CTX, MacContextDeleter> made(EVP_MAC_CTX_new(hmac.get()));
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (made != nullptr && EVP_MAC_CTX_set_params(made.get(), params) != 1) made.reset();
    return made;
  }();
  return context.get();
}

// `timestamp` is the decimal text that goes into the signed content.
Mac ComputeMac(absl::string_view key, absl::string_view msg_id, absl::string_view timestamp,
               absl::string_view body) {
  EVP_MAC_CTX* context = ThisThreadsHmacSha256();
  auto update = [context](absl::string_view part) {
    return EVP_MAC_update(context, reinterpret_cast<const unsigned char*>(part.data()),
                          part.size()) == 1;
  };
  Mac mac;
  size_t mac_len = 0;
  // An empty key is a valid HMAC key, but EVP_MAC_init() reads a null
  // pointer as "keep the previous key": pass a real one.
  static const unsigned char kNoKey = 0;
  const unsigned char* key_bytes =
      key.empty() ? &kNoKey : reinterpret_cast<const unsigned char*>(key.data());
  if (context == nullptr || EVP_MAC_init(context, key_bytes, key.size(), nullptr) != 1 ||
      !update(msg_id) || !update(".") || !update(timestamp) || !update(".") || !update(body) ||
      EVP_MAC_final(context, mac.bytes, &mac_len, sizeof(mac.bytes)) != 1 || mac_len != kMacBytes) {
    // HMAC-SHA256 with in-memory inputs only fails when OpenSSL cannot
    // allocate; there is no sensible signature to return then.
    std::abort();
  }
  return mac;
}

// Parses `text` as Unix seconds written as 1-19 ASCII digits and nothing
// else. Values above INT64_MAX (possible with 19 digits) saturate: they are
// far outside any tolerance anyway.
bool ParseTimestamp(absl::string_view text, int64_t* seconds) {
  if (text.empty() || text.size() > kMaxTimestampDigits) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');  // 19 digits fit in uint64_t
  }
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  *seconds = static_cast<int64_t>(value > kMax ? kMax : value);
  return true;
}

// True if `encoded` is the canonical padded base64 of `mac`. The comparison of
// the decoded bytes is constant-time.
bool MatchesMac(absl::string_view encoded, const Mac& mac) {
  // EVP_DecodeBlock neither strips padding nor rejects a '=' in the middle of
  // the input, so pin the shape first: 43 alphabet characters and one '='.
  if (encoded.size() != kMacBase64 || encoded[kMacBase64 - 1] != '=' ||
      encoded[kMacBase64 - 2] == '=') {
    return false;
  }
  unsigned char decoded[kMacBase64];  // 33 bytes used: the '=' decodes as a zero byte
  const int decoded_len =
      EVP_DecodeBlock(decoded, reinterpret_cast<const unsigned char*>(encoded.data()), kMacBase64);
  if (decoded_len != static_cast<int>(kMacBytes + 1)) return false;
  // The last character before '=' carries 4 bits of the MAC and 2 bits that
  // must be zero; they land in the 33rd byte. Without this check four
  // spellings of every signature pass (fuzz/verify_fuzz).
  if (decoded[kMacBytes] != 0) return false;
  return CRYPTO_memcmp(decoded, mac.bytes, kMacBytes) == 0;
}

}  // namespace

std::string Sign(absl::string_view key, absl::string_view msg_id, int64_t timestamp,
                 absl::string_view body) {
  const Mac mac = ComputeMac(key, msg_id, absl::StrCat(timestamp), body);
  unsigned char encoded[kMacBase64 + 1];  // EVP_EncodeBlock appends a NUL
  const int encoded_len = EVP_EncodeBlock(encoded, mac.bytes, kMacBytes);
  return absl::StrCat(kVersionPrefix,
                      absl::string_view(reinterpret_cast<const char*>(encoded), encoded_len));
}

std::string SignatureHeader(absl::Span<const std::string> keys, absl::string_view msg_id,
                            int64_t timestamp, absl::string_view body) {
  std::string header;
  for (const std::string& key : keys) {
    if (!header.empty()) header.push_back(' ');
    absl::StrAppend(&header, Sign(key, msg_id, timestamp, body));
  }
  return header;
}

std::string SignatureHeaderFor(absl::Span<const SigningKey> keys, absl::string_view msg_id,
                               int64_t timestamp, absl::string_view body) {
  std::string header;
  for (const SigningKey& key : keys) {
    if (!header.empty()) header.push_back(' ');
    absl::StrAppend(&header, key.scheme == SignatureScheme::kEd25519
                                 ? SignEd25519(key.key, msg_id, timestamp, body)
                                 : Sign(key.key, msg_id, timestamp, body));
  }
  return header;
}

namespace internal {

absl::Status CheckTimestamp(absl::string_view timestamp_header, absl::Time now,
                            absl::Duration tolerance) {
  int64_t timestamp;
  if (!ParseTimestamp(timestamp_header, &timestamp)) {
    return absl::UnauthenticatedError(
        "webhook-timestamp: must be Unix seconds as a plain decimal integer");
  }
  const absl::Time sent = absl::FromUnixSeconds(timestamp);
  if (sent < now - tolerance) {
    return absl::UnauthenticatedError("webhook-timestamp: timestamp too old");
  }
  if (sent > now + tolerance) {
    return absl::UnauthenticatedError("webhook-timestamp: timestamp too new");
  }
  return absl::OkStatus();
}

bool MatchesHmac(absl::Span<const std::string> keys, absl::string_view msg_id,
                 absl::string_view timestamp_header, absl::string_view signature_header,
                 absl::string_view body) {
  // The header text, not the parsed number, is what the sender signed (they
  // differ only with leading zeros). The body is hashed once per key, not once
  // per header entry.
  for (const std::string& key : keys) {
    const Mac mac = ComputeMac(key, msg_id, timestamp_header, body);
    for (absl::string_view entry : absl::StrSplit(signature_header, ' ', absl::SkipEmpty())) {
      if (!absl::ConsumePrefix(&entry, kVersionPrefix)) continue;  // "v1a,", "v2,", ...
      if (MatchesMac(entry, mac)) return true;
    }
  }
  return false;
}

}  // namespace internal

absl::Status VerifySignature(absl::Span<const std::string> keys, absl::string_view msg_id,
                             absl::string_view timestamp_header, absl::string_view signature_header,
                             absl::string_view body, absl::Time now, absl::Duration tolerance) {
  if (absl::Status fresh = internal::CheckTimestamp(timestamp_header, now, tolerance);
      !fresh.ok()) {
    return fresh;
  }
  if (internal::MatchesHmac(keys, msg_id, timestamp_header, signature_header, body)) {
    return absl::OkStatus();
  }
  return absl::UnauthenticatedError("webhook-signature: no matching signature");
}

}  // namespace wink::webhooks
