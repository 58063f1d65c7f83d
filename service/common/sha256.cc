#include "service/common/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace wink::webhooks {
namespace {

[[noreturn]] void Die(const char* message) {
  std::fputs(message, stderr);
  std::abort();
}

const EVP_MD* Sha256Algorithm() {
  static const EVP_MD* const algorithm = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) Die("fatal: OpenSSL provides no SHA-256\n");
    return fetched;
  }();
  return algorithm;
}

}  // namespace

Sha256Digest Sha256(absl::string_view data) {
  Sha256Digest digest;
  if (EVP_Digest(data.data(), data.size(), digest.data(), nullptr, Sha256Algorithm(), nullptr) !=
      1) {
    Die("fatal: SHA-256 failed\n");
  }
  return digest;
}

std::string Sha256Bytes(absl::string_view data) {
  const Sha256Digest digest = Sha256(data);
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

}  // namespace wink::webhooks
