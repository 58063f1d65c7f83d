#include "service/server/secrets_resealer.h"

#include <optional>
#include <string>

#include "service/common/log.h"
#include "service/common/status_macros.h"
#include "service/secrets/webhook_secrets.h"

namespace wink::webhooks {
namespace {

// How many webhooks one page of the pass reads.
constexpr int kPageSize = 100;

// Returned by the write's mutate when another node (or an API call) sealed
// the webhook since it was read: nothing to write.
absl::Status AlreadySealed() { return absl::AlreadyExistsError("already sealed"); }

}  // namespace

absl::StatusOr<ResealResult> ResealWebhookSecrets(storage::WebhookStore& store,
                                                  const secrets::Keyring& keyring,
                                                  const std::atomic<bool>& stop) {
  ResealResult result;
  std::optional<storage::WebhookPosition> after;
  while (!stop) {
    WINK_ASSIGN_OR_RETURN(storage::WebhookPage page, store.ListAll(after, kPageSize));
    for (const storage::WebhookRecord& listed : page.webhooks) {
      if (stop) return result;
      if (!secrets::NeedsSealing(keyring, listed)) continue;
      const absl::Status status =
          store
              .Update(listed.account(), listed.id(),
                      [&](storage::WebhookRecord& record) {
                        if (!secrets::NeedsSealing(keyring, record)) return AlreadySealed();
                        WINK_RETURN_IF_ERROR(secrets::OpenWebhookSecrets(keyring, record));
                        return secrets::SealWebhookSecrets(keyring, record);
                      })
              .status();
      if (status.ok()) {
        ++result.resealed;
      } else if (absl::IsFailedPrecondition(status) || absl::IsDataLoss(status)) {
        ++result.unreadable;
        LogLine(LogLevel::kWarning, "secrets_unreadable")
            .Field("account", listed.account())
            .Field("webhook", listed.id())
            .Field("error", status.message());
      } else if (!absl::IsAlreadyExists(status) && !absl::IsNotFound(status)) {
        return status;  // (a webhook deleted meanwhile is NOT_FOUND: nothing to do)
      }
    }
    if (!page.has_more || page.webhooks.empty()) break;
    after = storage::WebhookPosition{page.webhooks.back().account(), page.webhooks.back().id()};
  }
  return result;
}

SecretsResealer::SecretsResealer(storage::WebhookStore& store, const secrets::Keyring& keyring) {
  if (!keyring.has_keys()) return;
  thread_ = std::thread([this, &store, &keyring] {
    const absl::StatusOr<ResealResult> result = ResealWebhookSecrets(store, keyring, stop_);
    if (!result.ok()) {
      LogLine(LogLevel::kWarning, "secrets_reseal_failed")
          .Field("error", result.status().message())
          .Field("then", "webhooks not yet re-encrypted are at their next write or start");
      return;
    }
    LogLine(LogLevel::kInfo, stop_ ? "secrets_reseal_stopped" : "secrets_resealed")
        .Field("sealing_key_id", keyring.sealing_key_id())
        .Field("resealed", static_cast<int64_t>(result->resealed))
        .Field("unreadable", static_cast<int64_t>(result->unreadable));
  });
}

SecretsResealer::~SecretsResealer() { Stop(); }

void SecretsResealer::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace wink::webhooks
