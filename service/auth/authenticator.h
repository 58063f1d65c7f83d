// Bearer-token authentication and per-account authorization.
//
// Tokens are configured as SHA-256 hashes (config ApiToken), each scoped to a
// list of accounts or to all (admin). The service never sees or keeps a
// configured token itself: the presented token is hashed and compared with
// every configured hash in constant time, so timing does not reveal how much
// of a guess matched.
#ifndef WINK_WEBHOOKS_SERVICE_AUTH_AUTHENTICATOR_H_
#define WINK_WEBHOOKS_SERVICE_AUTH_AUTHENTICATOR_H_

#include <array>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "service/config/server_config.h"

namespace wink::webhooks::auth {

// Who is calling, as established by a valid token.
class Principal {
 public:
  Principal(std::string name, bool admin, absl::flat_hash_set<std::string> accounts)
      : name_(std::move(name)), admin_(admin), accounts_(std::move(accounts)) {}

  // The token's configured name, safe to log.
  const std::string& name() const { return name_; }
  bool admin() const { return admin_; }

  // OK if this principal may act on `account`; PERMISSION_DENIED otherwise.
  // The message says neither whether anything exists in that account nor
  // which token names are configured.
  absl::Status CheckAccess(absl::string_view account) const;

 private:
  std::string name_;
  bool admin_;
  absl::flat_hash_set<std::string> accounts_;
};

// Immutable after construction; thread-safe.
class Authenticator {
 public:
  // `config` must be valid (ValidateServerConfig): hashes are 64 hex chars.
  explicit Authenticator(const config::ServerConfig& config);

  // Checks the values of the `authorization` request metadata; exactly one
  // "Bearer <token>" is accepted. UNAUTHENTICATED if there is none, more than
  // one (a proxy that appends its own must not change who is calling), a
  // non-bearer or empty token, or a token that is not configured. The
  // returned pointer lives as long as the authenticator.
  absl::StatusOr<const Principal*> Authenticate(
      absl::Span<const absl::string_view> authorization) const;

 private:
  struct Entry {
    std::array<unsigned char, 32> sha256;
    Principal principal;
  };
  std::vector<Entry> entries_;
};

// Lower-case hex SHA-256 of `token`: the form tokens take in the config.
std::string Sha256Hex(absl::string_view token);

}  // namespace wink::webhooks::auth

#endif  // WINK_WEBHOOKS_SERVICE_AUTH_AUTHENTICATOR_H_
