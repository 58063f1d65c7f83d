// The master keys that encrypt secrets at rest (webhook signing keys and
// custom header values) with AES-256-GCM, read from the file named by
// --secrets_key_file / `secrets_key_file`.
//
// Key file: one key per line, "<key id> <base64 of 32 random bytes>"; blank
// lines and lines starting with '#' are skipped. The first key seals; every
// key in the file opens. To rotate, put a new key first and keep the old ones
// below it until every record was sealed again (each write of a webhook
// seals it with the first key). Make one with
//   printf 'k1 %s\n' "$(openssl rand -base64 32)" > secrets.key; chmod 600 secrets.key
//
// A sealed value is self-describing: a format byte, the key id, a random
// 96-bit nonce, the ciphertext and the 128-bit tag. The caller's `context`
// is authenticated with it (not stored), so a value copied to another place
// (another account, another header) does not open there.
#ifndef WINK_WEBHOOKS_SERVICE_SECRETS_KEYRING_H_
#define WINK_WEBHOOKS_SERVICE_SECRETS_KEYRING_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wink::webhooks::secrets {

// Size of every master key (AES-256).
inline constexpr size_t kMasterKeyBytes = 32;
// Longest key id; ids are 1-32 of [A-Za-z0-9._-].
inline constexpr size_t kMaxKeyIdBytes = 32;

// Immutable once built; thread-safe.
class Keyring {
 public:
  // No keys: Seal is refused and every sealed value fails to open. What a
  // server without --secrets_key_file has.
  Keyring() = default;

  // Reads and parses `path`. FAILED_PRECONDITION naming the file when it
  // cannot be read; INVALID_ARGUMENT with the line number for a malformed
  // line, a key of the wrong size, a repeated id or a file with no key. Key
  // bytes never appear in an error.
  static absl::StatusOr<Keyring> LoadFile(const std::string& path);
  // The same from the file's contents; `source` names it in errors.
  static absl::StatusOr<Keyring> Parse(absl::string_view text, absl::string_view source);

  bool has_keys() const { return !keys_.empty(); }
  // Id of the key Seal uses; empty without keys.
  const std::string& sealing_key_id() const;

  // `plaintext` encrypted under the first key, bound to `context`.
  // FAILED_PRECONDITION without keys; INTERNAL if OpenSSL fails.
  absl::StatusOr<std::string> Seal(absl::string_view plaintext, absl::string_view context) const;

  // The plaintext of a Seal result made with the same `context`.
  // FAILED_PRECONDITION naming the key id when no key of the file has it
  // (started without its key file, or the key was removed too early);
  // DATA_LOSS when the value is malformed or does not authenticate (altered,
  // or moved from another context).
  absl::StatusOr<std::string> Open(absl::string_view sealed, absl::string_view context) const;

  // The id of the key that sealed `sealed`; empty if it is malformed.
  static std::string KeyIdOf(absl::string_view sealed);

 private:
  // (id, key bytes); the first seals.
  std::vector<std::pair<std::string, std::string>> keys_;
};

}  // namespace wink::webhooks::secrets

#endif  // WINK_WEBHOOKS_SERVICE_SECRETS_KEYRING_H_
