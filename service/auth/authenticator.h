// Bearer-token authentication.
//
// Two kinds of bearer tokens are accepted:
// - tokens of the server config, as SHA-256 hashes (config ApiToken), each
//   covering a list of accounts or all of them (admin). The presented token
//   is hashed and compared with every configured hash in constant time, so
//   timing does not reveal how much of a guess matched;
// - API keys of applications (`wak_...`), looked up by their SHA-256 in the
//   key registry (key_registry.h), kept in step with storage.
// The service never keeps a token or key itself, only hashes.
#ifndef WINK_WEBHOOKS_SERVICE_AUTH_AUTHENTICATOR_H_
#define WINK_WEBHOOKS_SERVICE_AUTH_AUTHENTICATOR_H_

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "service/auth/key_registry.h"
#include "service/auth/principal.h"
#include "service/common/clock.h"
#include "service/config/server_config.h"

namespace wink::webhooks::auth {

// Thread-safe. The config tokens may be replaced while calls authenticate
// (ReplaceTokens, on a config reload).
class Authenticator {
 public:
  // `config` must be valid (ValidateServerConfig): hashes are 64 hex chars.
  // `keys` (may be null: config tokens only) and `clock` (the time keys are
  // checked against) must outlive the authenticator.
  Authenticator(const config::ServerConfig& config, const KeyRegistry* keys, const Clock& clock);
  // Config tokens only.
  explicit Authenticator(const config::ServerConfig& config);

  // Checks the values of the `authorization` request metadata; exactly one
  // "Bearer <token>" is accepted. UNAUTHENTICATED if there is none, more than
  // one (a proxy that appends its own must not change who is calling), a
  // non-bearer or empty token, a token that is neither configured nor a
  // known key, or a key that no longer works ("revoked, rotated out or
  // expired": it was valid once, so saying so reveals nothing a holder does
  // not know).
  absl::StatusOr<std::shared_ptr<const Principal>> Authenticate(
      absl::Span<const absl::string_view> authorization) const;

  // Makes `config`'s tokens the configured ones (`config` valid, as for the
  // constructor). A token whose hash, name, admin flag and accounts are
  // unchanged keeps its Principal; every other former token stops working
  // at once, also for streams that hold its Principal. Returns the number of
  // tokens that stopped.
  int ReplaceTokens(const config::ServerConfig& config) ABSL_LOCKS_EXCLUDED(tokens_mu_);

  // When set, called with the principal of an application key at most once
  // a minute per key (Principal::ShouldRecordUse), from the authenticating
  // thread: it must not block. Set before use.
  void SetUseRecorder(std::function<void(const Principal&, absl::Time)> recorder) {
    use_recorder_ = std::move(recorder);
  }

 private:
  struct Entry {
    std::array<unsigned char, 32> sha256;
    // The token's config entry, serialized: what "unchanged" compares.
    std::string definition;
    std::shared_ptr<Principal> principal;
  };
  using Entries = std::vector<Entry>;

  // Entries for `config`'s tokens, reusing those of `previous` that are
  // unchanged (may be null).
  static std::shared_ptr<const Entries> MakeEntries(const config::ServerConfig& config,
                                                    const Entries* previous);

  mutable absl::Mutex tokens_mu_;
  // Replaced whole; a call holds the snapshot it started with.
  std::shared_ptr<const Entries> entries_ ABSL_GUARDED_BY(tokens_mu_);
  const KeyRegistry* keys_;
  const Clock& clock_;
  std::function<void(const Principal&, absl::Time)> use_recorder_;
};

// Lower-case hex SHA-256 of `token`: the form tokens take in the config.
std::string Sha256Hex(absl::string_view token);

}  // namespace wink::webhooks::auth

#endif  // WINK_WEBHOOKS_SERVICE_AUTH_AUTHENTICATOR_H_
