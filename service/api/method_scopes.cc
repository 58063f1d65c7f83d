#include "service/api/method_scopes.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace wink::webhooks::api {

auth::Scope ScopeOfMethod(absl::string_view method) {
  using auth::Scope;
  static const auto* const kScopes = new absl::flat_hash_map<absl::string_view, Scope>{
      {"GetWebhook", Scope::kRead},
      {"ListWebhooks", Scope::kRead},
      {"ListEventTypes", Scope::kRead},
      {"GetEvent", Scope::kRead},
      {"ListEvents", Scope::kRead},
      {"GetDelivery", Scope::kRead},
      {"ListDeliveries", Scope::kRead},
      {"WatchDeliveries", Scope::kRead},
      {"GetRecovery", Scope::kRead},
      {"PublishEvent", Scope::kPublish},
      {"BatchPublishEvents", Scope::kPublish},
      // Everything else (webhook changes, SendTestEvent, RetryDelivery,
      // RecoverDeliveries, applications): kManage.
  };
  auto it = kScopes->find(method);
  return it != kScopes->end() ? it->second : Scope::kManage;
}

}  // namespace wink::webhooks::api
