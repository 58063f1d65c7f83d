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
#include "absl/types/span.h"
#include "service/auth/key_registry.h"
#include "service/auth/principal.h"
#include "service/common/clock.h"
#include "service/config/server_config.h"

namespace wink::webhooks::auth {

// Immutable after construction; thread-safe.
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

  // When set, called with the principal of an application key at most once
  // a minute per key (Principal::ShouldRecordUse), from the authenticating
  // thread: it must not block. Set before use.
  void SetUseRecorder(std::function<void(const Principal&, absl::Time)> recorder) {
    use_recorder_ = std::move(recorder);
  }

 private:
  struct Entry {
    std::array<unsigned char, 32> sha256;
    std::shared_ptr<const Principal> principal;
  };
  std::vector<Entry> entries_;
  const KeyRegistry* keys_;
  const Clock& clock_;
  std::function<void(const Principal&, absl::Time)> use_recorder_;
};

// Lower-case hex SHA-256 of `token`: the form tokens take in the config.
std::string Sha256Hex(absl::string_view token);

}  // namespace wink::webhooks::auth

#endif  // WINK_WEBHOOKS_SERVICE_AUTH_AUTHENTICATOR_H_
