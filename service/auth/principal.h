// Who is calling, as established by a valid credential, and what it may do.
//
// Two kinds of credentials make principals: tokens of the server config
// (every scope, on their accounts or on all of them) and API keys of
// applications (auth/key_registry.h: one account, the application's scopes,
// and a validity that revocation, deletion, rotation and expiry end). A
// principal outlives the call that authenticated it: an open watch stream
// keeps it and asks ValidAt() to learn that its key stopped working.
#ifndef WINK_WEBHOOKS_SERVICE_AUTH_PRINCIPAL_H_
#define WINK_WEBHOOKS_SERVICE_AUTH_PRINCIPAL_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wink::webhooks::auth {

// What a credential may do within its accounts. Values are those of
// wink.webhooks.v1.Scope.
enum class Scope : int {
  kRead = 1,     // Get, List, Watch
  kPublish = 2,  // PublishEvent, BatchPublishEvents
  kManage = 3,   // changes to webhooks, deliveries and applications; implies kRead
};

// "SCOPE_READ", ...: the API's names, for messages.
absl::string_view ScopeName(Scope scope);

// Thread-safe: the validity may be ended (EndAt) while calls read it.
class Principal {
 public:
  // A config token: every scope, on `accounts` or, if `admin`, on all.
  Principal(std::string name, bool admin, absl::flat_hash_set<std::string> accounts);

  // An application's key: `account` only, `scopes` (bits 1 << Scope; 0:
  // every scope), valid until `not_after`.
  Principal(std::string name, std::string account, std::string application_id, uint32_t scopes,
            absl::Time not_after);

  Principal(const Principal&) = delete;
  Principal& operator=(const Principal&) = delete;

  // Safe to log: the config token's name, or "application
  // accounts/{a}/applications/{id}".
  const std::string& name() const { return name_; }
  bool admin() const { return admin_; }
  // Empty for config tokens.
  const std::string& application_id() const { return application_id_; }
  // The application's account; empty for config tokens.
  const std::string& application_account() const { return application_account_; }

  // OK if this principal may act on `account`; PERMISSION_DENIED otherwise.
  // The message says neither whether anything exists in that account nor
  // which token names are configured.
  absl::Status CheckAccess(absl::string_view account) const;

  // OK if the principal has `scope`; PERMISSION_DENIED naming the missing
  // scope and `method` otherwise.
  absl::Status CheckScope(Scope scope, absl::string_view method) const;

  // False once the credential stopped working: revoked, deleted, rotated
  // out or expired. Config tokens are always valid.
  bool ValidAt(absl::Time now) const {
    return absl::ToUnixMicros(now) < not_after_us_.load(std::memory_order_acquire);
  }
  absl::Time not_after() const {
    return absl::FromUnixMicros(not_after_us_.load(std::memory_order_acquire));
  }
  // Sets when the credential stops working (earlier or later: a rotation
  // overlap is a time, an expiry may only come with the record).
  void SetNotAfter(absl::Time not_after) {
    not_after_us_.store(absl::ToUnixMicros(not_after), std::memory_order_release);
  }

  // True at most once a minute per principal: when the caller should
  // record `now` as the credential's last use (the first use counts).
  bool ShouldRecordUse(absl::Time now) const;

 private:
  std::string name_;
  bool admin_;
  absl::flat_hash_set<std::string> accounts_;
  std::string application_account_;
  std::string application_id_;
  uint32_t scopes_;  // bits 1 << Scope; 0: all
  std::atomic<int64_t> not_after_us_;
  mutable std::atomic<int64_t> use_recorded_us_{INT64_MIN};
};

}  // namespace wink::webhooks::auth

#endif  // WINK_WEBHOOKS_SERVICE_AUTH_PRINCIPAL_H_
