// Standard Webhooks "v1a" signatures: Ed25519 (RFC 8032) through OpenSSL's
// EVP interface, and the "whpk_"/"whsk_" key formats. The one implementation
// in the tree: service/signing re-exports these names for the service.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "signature_internal.h"
#include "wink/webhooks/verify.h"

namespace wink::webhooks {
namespace {

constexpr size_t kSignatureBytes = 64;
constexpr size_t kSignatureBase64 = 88;  // 4 * ceil(64 / 3), two '=' of padding
constexpr absl::string_view kVersionPrefix = "v1a,";

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

const unsigned char* Bytes(absl::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

Pkey PrivateKey(absl::string_view signing_key) {
  return Pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, Bytes(signing_key),
                                           signing_key.size()));
}

// True if `encoded` is the canonical padded base64 of a 64-byte signature
// that verifies against `public_key` over `content`.
bool VerifiesOne(EVP_PKEY* public_key, absl::string_view encoded, absl::string_view content) {
  // EVP_DecodeBlock neither strips padding nor rejects '=' in the middle:
  // pin the shape first, 86 alphabet characters and "==".
  if (encoded.size() != kSignatureBase64 || encoded.substr(kSignatureBase64 - 2) != "==" ||
      encoded[kSignatureBase64 - 3] == '=') {
    return false;
  }
  unsigned char decoded[kSignatureBase64];  // 66 used: each '=' decodes as a zero byte
  const int decoded_len = EVP_DecodeBlock(decoded, Bytes(encoded), kSignatureBase64);
  if (decoded_len != static_cast<int>(kSignatureBytes + 2)) return false;
  // The character before "==" carries 2 bits of the signature and 4 that
  // must be zero; they land in byte 65. Refusing them keeps one spelling.
  if (decoded[kSignatureBytes] != 0 || decoded[kSignatureBytes + 1] != 0) return false;
  MdCtx ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, public_key) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), decoded, kSignatureBytes, Bytes(content), content.size()) ==
         1;
}

}  // namespace

absl::StatusOr<std::string> GenerateSigningKey() {
  std::string key(kEd25519KeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), kEd25519KeyBytes) != 1) {
    return absl::InternalError("OpenSSL RAND_bytes failed to generate a signing key");
  }
  return key;
}

absl::StatusOr<std::string> PublicKeyOf(absl::string_view signing_key) {
  if (signing_key.size() != kEd25519KeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("signing key must be ", kEd25519KeyBytes, " bytes, got ", signing_key.size()));
  }
  const Pkey key = PrivateKey(signing_key);
  std::string public_key(kEd25519KeyBytes, '\0');
  size_t length = public_key.size();
  if (key == nullptr ||
      EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(public_key.data()),
                                  &length) != 1 ||
      length != kEd25519KeyBytes) {
    return absl::InternalError("OpenSSL could not derive the Ed25519 public key");
  }
  return public_key;
}

std::string FormatPublicKey(absl::string_view public_key) {
  return absl::StrCat(kPublicKeyPrefix, absl::Base64Escape(public_key));
}

absl::StatusOr<std::string> ParsePublicKey(absl::string_view text) {
  return internal::ParsePrefixedKey(text, kPublicKeyPrefix, "public key", kEd25519KeyBytes,
                                    kEd25519KeyBytes);
}

std::string FormatSigningKey(absl::string_view signing_key) {
  return absl::StrCat(kSigningKeyPrefix, absl::Base64Escape(signing_key));
}

absl::StatusOr<std::string> ParseSigningKey(absl::string_view text) {
  return internal::ParsePrefixedKey(text, kSigningKeyPrefix, "signing key", kEd25519KeyBytes,
                                    kEd25519KeyBytes);
}

std::string SignEd25519(absl::string_view signing_key, absl::string_view msg_id,
                        int64_t timestamp, absl::string_view body) {
  const std::string content = absl::StrCat(msg_id, ".", timestamp, ".", body);
  unsigned char signature[kSignatureBytes];
  size_t signature_len = sizeof(signature);
  const Pkey key = signing_key.size() == kEd25519KeyBytes ? PrivateKey(signing_key) : nullptr;
  MdCtx ctx(EVP_MD_CTX_new());
  if (key == nullptr || ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), signature, &signature_len, Bytes(content), content.size()) != 1 ||
      signature_len != kSignatureBytes) {
    // A 32-byte key always makes a valid Ed25519 key; failing here means a
    // caller passed something else, or OpenSSL could not allocate.
    std::abort();
  }
  unsigned char encoded[kSignatureBase64 + 1];  // EVP_EncodeBlock appends a NUL
  const int encoded_len = EVP_EncodeBlock(encoded, signature, kSignatureBytes);
  return absl::StrCat(kVersionPrefix,
                      absl::string_view(reinterpret_cast<const char*>(encoded), encoded_len));
}

namespace internal {

bool MatchesEd25519(absl::Span<const std::string> public_keys, absl::string_view msg_id,
                    absl::string_view timestamp_header, absl::string_view signature_header,
                    absl::string_view body) {
  if (public_keys.empty()) return false;
  // The header text, not the parsed number, is what the sender signed.
  const std::string content = absl::StrCat(msg_id, ".", timestamp_header, ".", body);
  for (const std::string& raw : public_keys) {
    const Pkey key(
        EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(raw), raw.size()));
    if (key == nullptr) continue;
    for (absl::string_view entry : absl::StrSplit(signature_header, ' ', absl::SkipEmpty())) {
      if (!absl::ConsumePrefix(&entry, kVersionPrefix)) continue;  // "v1,", "v2,", ...
      if (VerifiesOne(key.get(), entry, content)) return true;
    }
  }
  return false;
}

}  // namespace internal

absl::Status VerifyEd25519Signature(absl::Span<const std::string> public_keys,
                                    absl::string_view msg_id, absl::string_view timestamp_header,
                                    absl::string_view signature_header, absl::string_view body,
                                    absl::Time now, absl::Duration tolerance) {
  if (absl::Status fresh = internal::CheckTimestamp(timestamp_header, now, tolerance);
      !fresh.ok()) {
    return fresh;
  }
  if (internal::MatchesEd25519(public_keys, msg_id, timestamp_header, signature_header, body)) {
    return absl::OkStatus();
  }
  return absl::UnauthenticatedError("webhook-signature: no matching signature");
}

}  // namespace wink::webhooks
