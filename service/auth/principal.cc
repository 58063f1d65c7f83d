#include "service/auth/principal.h"

#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace wink::webhooks::auth {
namespace {

constexpr uint32_t Bit(Scope scope) { return 1u << static_cast<int>(scope); }

constexpr absl::Duration kUseRecordingInterval = absl::Minutes(1);

}  // namespace

absl::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kRead:
      return "SCOPE_READ";
    case Scope::kPublish:
      return "SCOPE_PUBLISH";
    case Scope::kManage:
      return "SCOPE_MANAGE";
  }
  return "SCOPE_UNSPECIFIED";
}

Principal::Principal(std::string name, bool admin, absl::flat_hash_set<std::string> accounts)
    : name_(std::move(name)),
      admin_(admin),
      accounts_(std::move(accounts)),
      scopes_(0),
      not_after_us_(std::numeric_limits<int64_t>::max()) {}

Principal::Principal(std::string name, std::string account, std::string application_id,
                     uint32_t scopes, absl::Time not_after)
    : name_(std::move(name)),
      admin_(false),
      accounts_({account}),
      application_account_(std::move(account)),
      application_id_(std::move(application_id)),
      scopes_(scopes),
      not_after_us_(absl::ToUnixMicros(not_after)) {}

absl::Status Principal::CheckAccess(absl::string_view account) const {
  if (admin_ || accounts_.contains(account)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("this token may not act on account \"", account, "\""));
}

absl::Status Principal::CheckScope(Scope scope, absl::string_view method) const {
  if (scopes_ == 0 || (scopes_ & Bit(scope)) != 0 ||
      (scope == Scope::kRead && (scopes_ & Bit(Scope::kManage)) != 0)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat(method, " needs ", ScopeName(scope), ", which this key does not have"));
}

bool Principal::ShouldRecordUse(absl::Time now) const {
  const int64_t now_us = absl::ToUnixMicros(now);
  int64_t recorded = use_recorded_us_.load(std::memory_order_relaxed);
  while (recorded == INT64_MIN ||
         now_us - recorded >= absl::ToInt64Microseconds(kUseRecordingInterval)) {
    if (use_recorded_us_.compare_exchange_weak(recorded, now_us, std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

}  // namespace wink::webhooks::auth
