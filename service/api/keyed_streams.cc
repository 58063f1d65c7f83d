#include "service/api/keyed_streams.h"

#include <utility>
#include <vector>

#include "service/common/thread_name.h"

namespace wink::webhooks::api {

KeyedStreams::KeyedStreams(const Clock& clock, absl::Duration check_interval)
    : clock_(clock), check_interval_(check_interval), thread_([this] { Loop(); }) {}

KeyedStreams::~KeyedStreams() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

uint64_t KeyedStreams::Add(std::shared_ptr<const auth::Principal> key, std::function<void()> end) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  streams_.emplace(id, Stream{std::move(key), std::move(end)});
  return id;
}

void KeyedStreams::Remove(uint64_t id) {
  absl::MutexLock lock(&mu_);
  streams_.erase(id);
}

void KeyedStreams::CheckNow() {
  absl::MutexLock lock(&mu_);
  check_now_ = true;
}

void KeyedStreams::Loop() {
  NameThisThread("wink-key-streams");
  absl::MutexLock lock(&mu_);
  while (true) {
    const auto woken = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return stopping_ || check_now_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&woken), check_interval_);
    if (stopping_) return;
    check_now_ = false;
    const absl::Time now = clock_.Now();
    std::vector<uint64_t> ended;
    for (const auto& [id, stream] : streams_) {
      if (!stream.key->ValidAt(now)) ended.push_back(id);
    }
    // Under the lock, so that Remove (from the stream's OnDone) waits for a
    // call in progress; `end` only asks gRPC to finish, which completes
    // later on another thread.
    for (const uint64_t id : ended) {
      auto it = streams_.find(id);
      it->second.end();
      streams_.erase(it);
    }
  }
}

}  // namespace wink::webhooks::api
