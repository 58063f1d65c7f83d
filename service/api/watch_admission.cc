#include "service/api/watch_admission.h"

#include "absl/strings/str_cat.h"

namespace wink::webhooks::api {

absl::Status WatchAdmission::Enter(absl::string_view account) {
  absl::MutexLock lock(&mu_);
  int& of_account = open_by_account_[account];
  if (of_account >= limits_.max_streams_per_account) {
    const int open = of_account;
    if (open == 0) open_by_account_.erase(account);
    return absl::ResourceExhaustedError(absl::StrCat(
        "account ", account, " has ", open,
        " WatchDeliveries streams open, the most allowed per account "
        "(limits.max_watch_streams_per_account); close one, or filter one stream instead of "
        "opening many"));
  }
  if (open_ >= limits_.max_streams) {
    if (of_account == 0) open_by_account_.erase(account);
    return absl::ResourceExhaustedError(
        absl::StrCat("the server has ", open_,
                     " WatchDeliveries streams open, the most it allows "
                     "(limits.max_watch_streams); retry later"));
  }
  ++of_account;
  ++open_;
  return absl::OkStatus();
}

void WatchAdmission::SetLimits(WatchLimits limits) {
  absl::MutexLock lock(&mu_);
  limits_ = limits;
}

void WatchAdmission::Leave(absl::string_view account) {
  absl::MutexLock lock(&mu_);
  auto it = open_by_account_.find(account);
  if (it == open_by_account_.end()) return;
  --open_;
  if (--it->second == 0) open_by_account_.erase(it);
}

int WatchAdmission::open() const {
  absl::MutexLock lock(&mu_);
  return open_;
}

int WatchAdmission::open_of(absl::string_view account) const {
  absl::MutexLock lock(&mu_);
  auto it = open_by_account_.find(account);
  return it == open_by_account_.end() ? 0 : it->second;
}

}  // namespace wink::webhooks::api
