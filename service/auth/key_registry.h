// The API keys of applications, in memory: what the authenticator looks a
// presented key up in, at the cost of one hash-table probe, with no storage
// read per call.
//
// The registry knows keys only by their SHA-256. It is filled and kept in
// step with storage by api/application_directory.h (a full load at start,
// each local change as it commits, other nodes' changes as they are told),
// and it hands out one Principal per key: a change that ends or shortens a
// key (revoke, delete, rotation, expiry) updates that same Principal, so
// calls and streams that already hold it see the change.
//
// Thread-safe.
#ifndef WINK_WEBHOOKS_SERVICE_AUTH_KEY_REGISTRY_H_
#define WINK_WEBHOOKS_SERVICE_AUTH_KEY_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/auth/principal.h"

namespace wink::webhooks::auth {

// An application's keys as the registry needs them.
struct ApplicationCredentials {
  struct Key {
    // SHA-256 of the key: 32 bytes.
    std::string sha256;
    // When the key stops working, with the application's revocation and
    // expiry already folded in; absl::InfiniteFuture() for never.
    absl::Time not_after;
  };
  std::string account;
  std::string id;
  // Bits 1 << Scope; 0: every scope.
  uint32_t scopes = 0;
  std::vector<Key> keys;
};

class KeyRegistry {
 public:
  // Makes exactly `app.keys` the keys of the application (account, id):
  // keys it already had keep their Principal with the new validity; keys
  // it no longer has stop working at once.
  void Install(const ApplicationCredentials& app) ABSL_LOCKS_EXCLUDED(mu_);

  // Every key of the application stops working at once; no-op if unknown.
  void Remove(absl::string_view account, absl::string_view id) ABSL_LOCKS_EXCLUDED(mu_);

  // Makes `apps` the whole content (a full reload): applications not among
  // them are removed.
  void ReplaceAll(const std::vector<ApplicationCredentials>& apps) ABSL_LOCKS_EXCLUDED(mu_);

  // The principal of the key with SHA-256 `sha256` (32 bytes), or null. The
  // whole hash is compared in constant time; the table is probed by its
  // first 8 bytes. The principal may no longer be valid (ValidAt).
  std::shared_ptr<const Principal> Find(absl::string_view sha256) const ABSL_LOCKS_EXCLUDED(mu_);

  // Runs `listener` after every change that ended or shortened a key's
  // validity, on the changing thread, outside the registry's lock (e.g. to
  // end the streams of revoked keys at once). Add before use.
  void AddShortenedListener(std::function<void()> listener) ABSL_LOCKS_EXCLUDED(mu_);

  // Number of keys known (for tests and a gauge).
  size_t key_count() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    std::string sha256;
    std::shared_ptr<Principal> principal;
  };
  using AppKey = std::pair<std::string, std::string>;  // (account, id)

  // Returns true if a key was ended or shortened.
  bool InstallLocked(const ApplicationCredentials& app) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool RemoveLocked(const AppKey& app) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The entry of `sha256` in by_prefix_, or null.
  const Entry* FindLocked(absl::string_view sha256) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void EraseLocked(absl::string_view sha256) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NotifyShortened() ABSL_LOCKS_EXCLUDED(mu_);

  mutable absl::Mutex mu_;
  // By the hash's first 8 bytes; a bucket holds more than one entry only
  // on a (harmless) prefix collision.
  absl::flat_hash_map<uint64_t, std::vector<Entry>> by_prefix_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<AppKey, std::vector<std::string>> keys_of_ ABSL_GUARDED_BY(mu_);
  absl::Mutex listeners_mu_;
  std::vector<std::function<void()>> listeners_ ABSL_GUARDED_BY(listeners_mu_);
};

}  // namespace wink::webhooks::auth

#endif  // WINK_WEBHOOKS_SERVICE_AUTH_KEY_REGISTRY_H_
