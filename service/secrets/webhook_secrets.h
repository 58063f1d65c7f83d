// Secrets at rest in webhook records: the signing keys and the custom header
// values (often credentials of the receiver) are stored sealed with the
// server's Keyring (keyring.h) when it has one, so that neither the data
// directory, its backups nor the PostgreSQL server hold them in plaintext.
//
// Records are sealed by the API just before they are written and opened by
// whoever needs the plaintext: the API (GetWebhook's headers, a new secret in
// a response) and the delivery engine (signing, headers). Storage copies the
// sealed values untouched. A server without a key file writes plaintext and
// still opens nothing sealed: it fails with a clear FAILED_PRECONDITION.
#ifndef WINK_WEBHOOKS_SERVICE_SECRETS_WEBHOOK_SECRETS_H_
#define WINK_WEBHOOKS_SERVICE_SECRETS_WEBHOOK_SECRETS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "service/domain/states.h"
#include "service/secrets/keyring.h"

namespace wink::webhooks::secrets {

using ::wink::webhooks::domain::WebhookRecord;
using ::wink::webhooks::internal::v1::SigningSecretRecord;

// With keys: moves every plaintext signing key and header value of `record`
// into its sealed field under the keyring's first key (values already sealed
// stay as they are). Without keys: leaves the record as it is. Needs
// `record.account()` set: each value is bound to its account (and header
// name), so it does not open when copied elsewhere.
absl::Status SealWebhookSecrets(const Keyring& keyring, WebhookRecord& record);

// Replaces every sealed value of `record` by its plaintext. The errors of
// Keyring::Open: FAILED_PRECONDITION when the key that sealed them is not in
// the key file, DATA_LOSS when a value does not authenticate.
absl::Status OpenWebhookSecrets(const Keyring& keyring, WebhookRecord& record);

// True when `record` has a signing key or header value in plaintext, or
// sealed with another key than the keyring's first: what a Seal after an
// Open would change. Always false without keys.
bool NeedsSealing(const Keyring& keyring, const WebhookRecord& record);

// The raw key bytes of one of `record`'s secrets, opened if sealed.
absl::StatusOr<std::string> OpenSigningKey(const Keyring& keyring, const WebhookRecord& record,
                                           const SigningSecretRecord& secret);

// Every custom header of `record` as (name, value), plaintext, in name order.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> OpenHeaders(
    const Keyring& keyring, const WebhookRecord& record);

}  // namespace wink::webhooks::secrets

#endif  // WINK_WEBHOOKS_SERVICE_SECRETS_WEBHOOK_SECRETS_H_
