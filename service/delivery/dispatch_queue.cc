#include "service/delivery/dispatch_queue.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace wink::webhooks::delivery {

DispatchQueue::DispatchQueue(DispatchLimits limits)
    : limits_(limits), max_waiting_per_webhook_(std::max(1, limits.max_queued / 4)) {}

std::string DispatchQueue::Key(absl::string_view webhook_id, absl::string_view event_id) {
  return absl::StrCat(webhook_id, "/", event_id);
}

bool DispatchQueue::Knows(absl::string_view webhook_id, absl::string_view event_id) const {
  return known_.contains(Key(webhook_id, event_id));
}

bool DispatchQueue::WillBeTaken(const storage::DueDelivery& due) const {
  if (auto known = known_.find(Key(due.webhook_id, due.event_id)); known != known_.end()) {
    return known->second.due_time_us == due.due_time_us;
  }
  // Memory was full: a refill is asked for once half of it is free.
  if (memory_full_) return true;
  auto queue = queues_.find(due.webhook_id);
  return queue != queues_.end() && queue->second.overflowed;
}

DispatchQueue::Offer DispatchQueue::Add(const storage::DueDelivery& due,
                                        absl::string_view account) {
  if (!account.empty()) LearnAccount(due.webhook_id, account);
  std::string key = Key(due.webhook_id, due.event_id);
  if (auto known = known_.find(key); known != known_.end()) {
    if (known->second.due_time_us != due.due_time_us) known->second.due_again = true;
    return Offer::kKnown;
  }
  WebhookQueue& queue = queues_[due.webhook_id];
  if (queue.limit == 0) {
    queue.limit = limits_.max_in_flight_per_webhook;
    if (auto known_account = account_of_.find(due.webhook_id); known_account != account_of_.end()) {
      queue.account = known_account->second;
    }
    queue.ordered = ordered_.contains(due.webhook_id);
  }
  if (static_cast<int>(queue.waiting.size()) >= max_waiting_per_webhook_) {
    // Left on disk; a scan takes it once this webhook's queue has room. One
    // webhook's backlog never takes everyone's memory.
    queue.overflowed = true;
    return Offer::kWebhookFull;
  }
  if (static_cast<int>(known_.size()) >= limits_.max_queued) {
    const size_t fair_share = FairShare();
    if (queue.waiting.size() >= fair_share || !EvictFromLongestQueue(due.webhook_id, fair_share)) {
      memory_full_ = true;
      // Do not keep an empty queue for a webhook that got nothing in.
      if (Idle(queue)) queues_.erase(due.webhook_id);
      return Offer::kMemoryFull;
    }
  }
  Flight flight;
  flight.due_time_us = due.due_time_us;
  known_.emplace(std::move(key), flight);
  if (queue.ordered) {
    InsertInOrder(queue, due);
    // Older than all that waits (a manual retry of the delivery the others
    // wait for, say): whatever held the webhook waited for something younger.
    // (A rate limit defers it again when the token is taken.)
    if (queue.waiting.front().event_id == due.event_id) queue.deferred_until = absl::InfinitePast();
  } else {
    queue.waiting.push_back(due);
  }
  MarkReady(due.webhook_id, queue);
  return Offer::kQueued;
}

void DispatchQueue::InsertInOrder(WebhookQueue& queue, const storage::DueDelivery& due) {
  auto place = std::upper_bound(
      queue.waiting.begin(), queue.waiting.end(), due.event_id,
      [](const std::string& event_id, const storage::DueDelivery& waiting) {
        return event_id < waiting.event_id;
      });
  queue.waiting.insert(place, due);
}

void DispatchQueue::SetOrdered(const std::string& webhook_id, bool ordered) {
  const bool changed =
      ordered ? ordered_.insert(webhook_id).second : ordered_.erase(webhook_id) > 0;
  if (!changed) return;
  auto it = queues_.find(webhook_id);
  if (it == queues_.end()) return;
  WebhookQueue& queue = it->second;
  queue.ordered = ordered;
  if (ordered) {
    // (Those deferred at the head are sorted in too: all wait for the same
    // time, and the oldest must go first.)
    std::stable_sort(queue.waiting.begin(), queue.waiting.end(),
                     [](const storage::DueDelivery& a, const storage::DueDelivery& b) {
                       return a.event_id < b.event_id;
                     });
    queue.deferred_at_head = 0;
  } else {
    MarkReady(webhook_id, queue);  // its full limit again
  }
}

bool DispatchQueue::Busy(const WebhookQueue& queue) {
  if (queue.ordered) return queue.in_flight + queue.recording >= 1;
  return queue.in_flight >= queue.limit;
}

bool DispatchQueue::Idle(const WebhookQueue& queue) const {
  // A queue that remembers a reduced limit stays, so a dead endpoint does not
  // get its full share back by going idle.
  return queue.in_flight == 0 && queue.recording == 0 && queue.waiting.empty() &&
         !queue.overflowed && queue.limit >= limits_.max_in_flight_per_webhook;
}

int DispatchQueue::FairShare() const {
  return limits_.max_queued / static_cast<int>(std::max<size_t>(1, queues_.size()));
}

int DispatchQueue::WaitingRoom() const {
  return std::max(1, std::min(max_waiting_per_webhook_, FairShare()));
}

bool DispatchQueue::EvictFromLongestQueue(const std::string& except, size_t fair_share) {
  WebhookQueue* longest = nullptr;
  for (auto& [webhook_id, queue] : queues_) {
    if (webhook_id == except) continue;
    if (longest == nullptr || queue.waiting.size() > longest->waiting.size()) longest = &queue;
  }
  if (longest == nullptr || longest->waiting.size() <= fair_share) return false;
  // Only waiting (never sent) deliveries are given back: their due entries
  // are still on disk, and a later scan takes them again.
  const storage::DueDelivery& victim = longest->waiting.back();
  known_.erase(Key(victim.webhook_id, victim.event_id));
  longest->waiting.pop_back();
  longest->deferred_at_head = std::min(longest->deferred_at_head, longest->waiting.size());
  longest->overflowed = true;
  return true;
}

void DispatchQueue::LearnAccount(const std::string& webhook_id, absl::string_view account) {
  auto [known, inserted] = account_of_.try_emplace(webhook_id, account);
  if (!inserted && known->second == account) return;
  known->second = std::string(account);
  auto queue = queues_.find(webhook_id);
  if (queue == queues_.end() || queue->second.account == account) return;
  // Its slots move from the group it counted in to its account.
  const int slots = queue->second.in_flight;
  const std::string before = std::exchange(queue->second.account, std::string(account));
  if (slots > 0) {
    AddAccountSlots(queue->second.account, slots);
    AddAccountSlots(before, -slots);
  }
}

void DispatchQueue::AddAccountSlots(const std::string& account, int slots) {
  auto it = accounts_.try_emplace(account).first;
  AccountSlots& account_slots = it->second;
  account_slots.in_flight += slots;
  if (account_slots.in_flight < limits_.max_in_flight_per_account) {
    // Still marked in_ready_list: NextToSend looks at them again.
    for (std::string& webhook_id : account_slots.blocked) ready_.push_back(std::move(webhook_id));
    account_slots.blocked.clear();
  }
  if (account_slots.in_flight == 0 && account_slots.blocked.empty()) accounts_.erase(it);
}

int DispatchQueue::InFlightOf(absl::string_view account) const {
  auto it = accounts_.find(account);
  return it == accounts_.end() ? 0 : it->second.in_flight;
}

void DispatchQueue::MarkReady(const std::string& webhook_id, WebhookQueue& queue) {
  if (!queue.in_ready_list && !queue.waiting.empty() && !Busy(queue) &&
      queue.deferred_until == absl::InfinitePast()) {
    queue.in_ready_list = true;
    ready_.push_back(webhook_id);
  }
}

std::optional<storage::DueDelivery> DispatchQueue::NextToSend() {
  while (!ready_.empty() && in_flight_ + recording_ < limits_.max_in_flight) {
    const std::string webhook_id = std::move(ready_.front());
    ready_.pop_front();
    auto it = queues_.find(webhook_id);
    if (it == queues_.end()) continue;
    WebhookQueue& queue = it->second;
    queue.in_ready_list = false;
    // (Its limit may have dropped, or it may have been deferred, since it
    // was listed.)
    if (queue.waiting.empty() || Busy(queue) || queue.deferred_until != absl::InfinitePast()) {
      continue;
    }
    if (auto account = accounts_.find(queue.account);
        account != accounts_.end() &&
        account->second.in_flight >= limits_.max_in_flight_per_account) {
      // Its turn comes back when one of its account's slots frees up.
      queue.in_ready_list = true;
      account->second.blocked.push_back(webhook_id);
      continue;
    }
    storage::DueDelivery due = std::move(queue.waiting.front());
    queue.waiting.pop_front();
    if (queue.deferred_at_head > 0) --queue.deferred_at_head;
    ++queue.in_flight;
    ++in_flight_;
    AddAccountSlots(queue.account, 1);
    known_[Key(webhook_id, due.event_id)].holds_slot = true;
    if (queue.overflowed && 2 * static_cast<int>(queue.waiting.size()) < WaitingRoom()) {
      // Refill from disk what did not fit before. Half of what the webhook
      // may hold now, not half of its cap: with memory shared by several
      // webhooks, a queue cut to its fair share sits below half its cap from
      // the start, and asking for a scan after every send kept the scheduler
      // reading 2 x max_queued entries per handful of POSTs.
      queue.overflowed = false;
      refill_wanted_ = true;
    }
    MarkReady(webhook_id, queue);
    return due;
  }
  return std::nullopt;
}

void DispatchQueue::Defer(const storage::DueDelivery& due, absl::Time until) {
  auto flight = known_.find(Key(due.webhook_id, due.event_id));
  if (flight == known_.end() || !flight->second.holds_slot) return;
  // Back in line first (before the slot goes, which could drop an empty
  // queue), and the webhook held until `until`.
  WebhookQueue& queue = queues_[due.webhook_id];
  if (queue.ordered) {
    InsertInOrder(queue, due);
  } else {
    queue.deferred_at_head = std::min(queue.deferred_at_head, queue.waiting.size());
    queue.waiting.insert(
        queue.waiting.begin() + static_cast<std::ptrdiff_t>(queue.deferred_at_head), due);
    ++queue.deferred_at_head;
  }
  if (queue.deferred_until == absl::InfinitePast()) {
    queue.deferred_until = until;
    deferred_.emplace(until, due.webhook_id);
  }
  ReleaseSlot(due);
}

void DispatchQueue::MarkRateCharged(const storage::DueDelivery& due) {
  auto flight = known_.find(Key(due.webhook_id, due.event_id));
  if (flight != known_.end()) flight->second.rate_charged = true;
}

bool DispatchQueue::RateCharged(const storage::DueDelivery& due) const {
  auto flight = known_.find(Key(due.webhook_id, due.event_id));
  return flight != known_.end() && flight->second.rate_charged;
}

void DispatchQueue::ReleaseDeferred(absl::Time now) {
  while (!deferred_.empty() && deferred_.begin()->first <= now) {
    const auto [until, webhook_id] = *deferred_.begin();
    deferred_.erase(deferred_.begin());
    auto it = queues_.find(webhook_id);
    // (An entry of a queue that was dropped meanwhile, and made anew.)
    if (it == queues_.end() || it->second.deferred_until != until) continue;
    it->second.deferred_until = absl::InfinitePast();
    MarkReady(webhook_id, it->second);
  }
}

std::optional<absl::Time> DispatchQueue::NextDeferredRelease() const {
  if (deferred_.empty()) return std::nullopt;
  return deferred_.begin()->first;
}

bool DispatchQueue::Sent(const storage::DueDelivery& due, uint64_t request_id) {
  auto it = known_.find(Key(due.webhook_id, due.event_id));
  if (it == known_.end()) return false;
  it->second.request_id = request_id;
  it->second.sent = true;
  it->second.rate_charged = false;  // the token paid for this request
  return it->second.cancel_requested;
}

bool DispatchQueue::CancelRequested(const storage::DueDelivery& due) const {
  auto it = known_.find(Key(due.webhook_id, due.event_id));
  return it != known_.end() && it->second.cancel_requested;
}

void DispatchQueue::ExchangeEnded(const storage::DueDelivery& due, bool receiver_answered) {
  auto queue = queues_.find(due.webhook_id);
  if (queue != queues_.end()) {
    // A receiver that does not answer gets one request at a time until it
    // answers again, so a few dead endpoints cannot sit on every global slot.
    queue->second.limit = receiver_answered
                              ? std::min(queue->second.limit * 2, limits_.max_in_flight_per_webhook)
                              : 1;
  }
  // Counted as recording before the slot goes, so an ordered webhook stays
  // busy (and its queue kept) until Forget.
  auto flight = known_.find(Key(due.webhook_id, due.event_id));
  if (flight != known_.end() && !flight->second.recording) {
    flight->second.recording = true;
    ++recording_;
    if (queue != queues_.end()) ++queue->second.recording;
  }
  ReleaseSlot(due);
}

void DispatchQueue::ReleaseSlot(const storage::DueDelivery& due) {
  auto flight = known_.find(Key(due.webhook_id, due.event_id));
  if (flight == known_.end() || !flight->second.holds_slot) return;
  flight->second.holds_slot = false;
  --in_flight_;
  auto it = queues_.find(due.webhook_id);
  if (it == queues_.end()) return;
  WebhookQueue& queue = it->second;
  --queue.in_flight;
  AddAccountSlots(queue.account, -1);
  if (Idle(queue)) {
    queues_.erase(it);
  } else {
    MarkReady(due.webhook_id, queue);
  }
}

void DispatchQueue::Forget(const storage::DueDelivery& due) {
  ReleaseSlot(due);
  const auto known = known_.find(Key(due.webhook_id, due.event_id));
  if (known != known_.end()) {
    if (known->second.due_again) refill_wanted_ = true;
    if (known->second.recording) --recording_;
    if (auto queue = queues_.find(due.webhook_id); queue != queues_.end()) {
      if (known->second.recording) --queue->second.recording;
      // An ordered webhook's next may go now: what a deferral waited for
      // may have been this one. (If not, the engine defers it again.)
      if (queue->second.ordered) queue->second.deferred_until = absl::InfinitePast();
      if (Idle(queue->second)) {
        queues_.erase(queue);
      } else {
        MarkReady(due.webhook_id, queue->second);
      }
    }
    known_.erase(known);
  }
  // Memory was full when something was due: look again once half is free.
  if (memory_full_ && static_cast<int>(known_.size()) < limits_.max_queued / 2) {
    refill_wanted_ = true;
  }
}

std::vector<uint64_t> DispatchQueue::CancelWebhook(absl::string_view webhook_id) {
  account_of_.erase(webhook_id);
  ordered_.erase(webhook_id);
  std::vector<uint64_t> on_the_wire;
  const std::string prefix = absl::StrCat(webhook_id, "/");
  for (auto& [key, flight] : known_) {
    if (!absl::StartsWith(key, prefix)) continue;
    flight.cancel_requested = true;
    if (flight.sent) on_the_wire.push_back(flight.request_id);
  }
  return on_the_wire;
}

std::optional<uint64_t> DispatchQueue::CancelDelivery(absl::string_view webhook_id,
                                                      absl::string_view event_id) {
  auto it = known_.find(Key(webhook_id, event_id));
  if (it == known_.end()) return std::nullopt;
  it->second.cancel_requested = true;
  if (!it->second.sent) return std::nullopt;
  return it->second.request_id;
}

void DispatchQueue::ScanStarted() {
  memory_full_ = false;
  refill_wanted_ = false;
}

int DispatchQueue::waiting() const {
  size_t waiting = 0;
  for (const auto& [webhook_id, queue] : queues_) waiting += queue.waiting.size();
  return static_cast<int>(waiting);
}

int DispatchQueue::LimitOf(absl::string_view webhook_id) const {
  auto it = queues_.find(webhook_id);
  return it == queues_.end() ? limits_.max_in_flight_per_webhook : it->second.limit;
}

}  // namespace wink::webhooks::delivery
