// Webhook signing keys in the Standard Webhooks formats: "whsec_" followed
// by the base64 (standard alphabet, padded) of 24-64 random bytes (HMAC),
// and Ed25519 key pairs whose public half is "whpk_" + base64.
//
// The implementation is the receiver-side library's (client/verify,
// "wink/webhooks/verify.h"), so the service and its customers parse secrets
// with the same code; this header keeps the service's names for them.
#ifndef WINK_WEBHOOKS_SERVICE_SIGNING_SECRET_H_
#define WINK_WEBHOOKS_SERVICE_SIGNING_SECRET_H_

#include "wink/webhooks/verify.h"

namespace wink::webhooks::signing {

// "whsec_", and the size of the keys the service generates (32 bytes).
using ::wink::webhooks::kSecretKeyBytes;
using ::wink::webhooks::kSecretPrefix;

// GenerateSecretKey(): kSecretKeyBytes from OpenSSL's CSPRNG, INTERNAL on
// failure. FormatSecret(key): "whsec_" + base64(key). ParseSecret(secret):
// its inverse, INVALID_ARGUMENT for anything but "whsec_" + padded base64 of
// 24-64 bytes. Full contracts in wink/webhooks/verify.h.
using ::wink::webhooks::FormatSecret;
using ::wink::webhooks::GenerateSecretKey;
using ::wink::webhooks::ParseSecret;

// Ed25519 ("v1a") keys: GenerateSigningKey() makes a 32-byte private key,
// PublicKeyOf(key) derives its public key, FormatPublicKey(public_key) is
// "whpk_" + base64 (what GetWebhook shows). The private key never leaves the
// service, so there is no FormatSigningKey here.
using ::wink::webhooks::FormatPublicKey;
using ::wink::webhooks::GenerateSigningKey;
using ::wink::webhooks::PublicKeyOf;

}  // namespace wink::webhooks::signing

#endif  // WINK_WEBHOOKS_SERVICE_SIGNING_SECRET_H_
