#include "client/examples/receiver/recent_ids.h"

#include <iterator>
#include <string>

namespace wink::webhooks::example {

RecentIds::RecentIds(size_t capacity, absl::Duration window)
    : capacity_(capacity < 1 ? 1 : capacity), window_(window) {}

void RecentIds::Expire(absl::Time now) {
  while (!by_last_seen_.empty() && by_last_seen_.front().last_seen < now - window_) {
    index_.erase(by_last_seen_.front().id);
    by_last_seen_.pop_front();
  }
}

bool RecentIds::Contains(absl::string_view id, absl::Time now) {
  Expire(now);
  auto it = index_.find(id);
  if (it == index_.end()) return false;
  it->second->last_seen = now;
  by_last_seen_.splice(by_last_seen_.end(), by_last_seen_, it->second);
  return true;
}

void RecentIds::Add(absl::string_view id, absl::Time now) {
  if (Contains(id, now)) return;
  if (index_.size() >= capacity_) {
    index_.erase(by_last_seen_.front().id);
    by_last_seen_.pop_front();
  }
  by_last_seen_.push_back({std::string(id), now});
  index_.emplace(std::string(id), std::prev(by_last_seen_.end()));
}

}  // namespace wink::webhooks::example
