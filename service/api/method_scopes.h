// The scope (auth/principal.h) each RPC needs of an application's key.
// Config tokens have every scope, so this matters only for keys.
#ifndef WINK_WEBHOOKS_SERVICE_API_METHOD_SCOPES_H_
#define WINK_WEBHOOKS_SERVICE_API_METHOD_SCOPES_H_

#include "absl/strings/string_view.h"
#include "service/auth/principal.h"

namespace wink::webhooks::api {

// `method` is the short name UnaryCall logs ("PublishEvent"). Methods not
// listed need kManage: a method added without a row is closed to keys
// without it, not open to every key.
auth::Scope ScopeOfMethod(absl::string_view method);

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_METHOD_SCOPES_H_
