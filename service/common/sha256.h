// SHA-256 of a byte string, with the digest looked up once per process.
//
// OpenSSL 3's one-shot SHA256() fetches the algorithm from its provider
// registry on every call (a lock and a lookup). Two hashes run on every
// publish (the caller's token, the request's fingerprint): the lookup alone
// was ~1.4% of the server's CPU under PublishEvent at max rate
// (docs/BENCHMARKS.md).
#ifndef WINK_WEBHOOKS_SERVICE_COMMON_SHA256_H_
#define WINK_WEBHOOKS_SERVICE_COMMON_SHA256_H_

#include <array>
#include <string>

#include "absl/strings/string_view.h"

namespace wink::webhooks {

inline constexpr size_t kSha256Bytes = 32;
using Sha256Digest = std::array<unsigned char, kSha256Bytes>;

// Thread-safe. Aborts if OpenSSL cannot provide SHA-256 (a broken
// installation: nothing in the service works without it).
Sha256Digest Sha256(absl::string_view data);

// The digest as a 32-byte string.
std::string Sha256Bytes(absl::string_view data);

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_COMMON_SHA256_H_
