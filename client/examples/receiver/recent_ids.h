// The webhook-ids a receiver has recently accepted, so that a delivery that
// arrives twice is processed once. Senders deliver "at least once": Wink
// Webhooks retries whenever it does not get a 2xx in time, and an answer lost
// on the way back means the same event comes again with the same webhook-id.
//
// In memory and bounded, which is right for an example and wrong for most
// production receivers: a restart forgets everything, and an id older than
// the window (or pushed out by `capacity` newer ones) is accepted again.
// Production wants a durable store written in the same transaction as the
// event's effects (e.g. a unique key on webhook-id in the database).
#ifndef WINK_WEBHOOKS_CLIENT_EXAMPLES_RECEIVER_RECENT_IDS_H_
#define WINK_WEBHOOKS_CLIENT_EXAMPLES_RECEIVER_RECENT_IDS_H_

#include <cstddef>
#include <list>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wink::webhooks::example {

// Least-recently-seen ids are forgotten first: at most `capacity` ids, each
// for `window` after it was last seen. Not thread-safe (the receiver holds
// its lock around it).
class RecentIds {
 public:
  // `capacity` >= 1.
  RecentIds(size_t capacity, absl::Duration window);

  // True if `id` was seen within the window before `now`; it then counts as
  // seen again at `now` (retries keep extending its stay).
  bool Contains(absl::string_view id, absl::Time now);

  // Remembers `id` as seen at `now`, forgetting the least recently seen id
  // if `capacity` is reached.
  void Add(absl::string_view id, absl::Time now);

  size_t size() const { return index_.size(); }

 private:
  struct Entry {
    std::string id;
    absl::Time last_seen;
  };
  using List = std::list<Entry>;

  // Forgets entries last seen more than `window_` before `now`.
  void Expire(absl::Time now);

  const size_t capacity_;
  const absl::Duration window_;
  List by_last_seen_;  // oldest first
  absl::flat_hash_map<std::string, List::iterator> index_;
};

}  // namespace wink::webhooks::example

#endif  // WINK_WEBHOOKS_CLIENT_EXAMPLES_RECEIVER_RECENT_IDS_H_
