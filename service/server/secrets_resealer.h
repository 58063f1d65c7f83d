// Re-encrypts, in the background, every webhook whose secrets are not sealed
// with the keyring's first key: those written without a key file (plaintext)
// and those sealed with a key that is no longer first (a rotation of the
// master key). Without it, such webhooks would be sealed again only at
// their next write, and an old key could never be known to be unused.
//
// One pass runs at start (on every node of a cluster; a webhook already
// done is skipped inside its write). Its end is logged: `secrets_resealed`
// with how many were re-encrypted and how many could not be opened (their
// key is missing from the key file). Once a pass ends with none left under
// an old key, that key may be removed from the file.
#ifndef WINK_WEBHOOKS_SERVICE_SERVER_SECRETS_RESEALER_H_
#define WINK_WEBHOOKS_SERVICE_SERVER_SECRETS_RESEALER_H_

#include <atomic>
#include <thread>

#include "service/secrets/keyring.h"
#include "service/storage/webhook_store.h"

namespace wink::webhooks {

struct ResealResult {
  int resealed = 0;
  // Sealed with a key the file does not hold, or altered: left as they are.
  int unreadable = 0;
};

// The pass, in the caller's thread: visits every webhook and re-encrypts
// those that need it. Stops early (returning what it did) once `stop` is
// true. Errors other than a webhook's unreadable secrets end the pass.
absl::StatusOr<ResealResult> ResealWebhookSecrets(storage::WebhookStore& store,
                                                  const secrets::Keyring& keyring,
                                                  const std::atomic<bool>& stop);

// Runs the pass on its own thread when `keyring` has keys. `store` and
// `keyring` must outlive it.
class SecretsResealer {
 public:
  SecretsResealer(storage::WebhookStore& store, const secrets::Keyring& keyring);
  ~SecretsResealer();  // Stop()
  SecretsResealer(const SecretsResealer&) = delete;
  SecretsResealer& operator=(const SecretsResealer&) = delete;

  // Ends the pass early (between webhooks) and waits for it. Idempotent.
  void Stop();

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_SERVER_SECRETS_RESEALER_H_
