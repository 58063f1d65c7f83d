// Webhook signing secrets in the Standard Webhooks format: "whsec_"
// followed by the base64 (standard alphabet, padded) of 24-64 random bytes.
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

}  // namespace wink::webhooks::signing

#endif  // WINK_WEBHOOKS_SERVICE_SIGNING_SECRET_H_
