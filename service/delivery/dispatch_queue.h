// The delivery engine's in-memory scheduling: which due deliveries wait in
// memory, per webhook, which one is sent next, and what is on the wire.
// No threads, no I/O and no clock: the engine calls it under its lock, and
// tests drive it directly.
//
// Isolation rules kept here:
//   - Round-robin: webhooks with work and a free slot take turns, one
//     delivery per turn, so a webhook with a backlog cannot starve the rest.
//   - Limits: at most `max_in_flight` requests overall and a webhook's own
//     limit each (max_in_flight_per_webhook, or 1 while its receiver does not
//     answer: the unresponsive-receiver rule; any HTTP answer doubles it back).
//     An account's webhooks together hold at most max_in_flight_per_account
//     slots, so one tenant's receivers that answer slowly (but answer, so the
//     unresponsive rule does not apply) cannot take every overall slot. A
//     webhook's account is learnt from the update that made its delivery due
//     or from its first attempt; until then it counts in a group of its own.
//     Results not yet recorded count toward the overall limit: when storage
//     stalls, sending stops instead of piling up results whose loss would
//     send them all again (what a crash or a lost primary can send twice is
//     bounded by max_in_flight).
//   - Memory: at most `max_queued` deliveries known (waiting, in flight or
//     being recorded), a quarter of that waiting for one webhook. When memory
//     is full, a webhook below its fair share takes the place of the newest
//     waiting delivery of the longest queue (which stays due on disk), so a
//     few webhooks with big backlogs cannot shut the others out.
//   - Cancellation: a deleted webhook's deliveries are marked, and the
//     requests already on the wire are handed back to be aborted.
//   - Deferral: a delivery its webhook's rate limit holds back goes back to
//     the head of its webhook's queue, and the webhook sends nothing until
//     the time it was given (the engine keeps the token buckets).
//   - Order: an ordered webhook's deliveries wait in event id (publish)
//     order, and it has one at a time in flight, from the take until its
//     result is recorded (Forget), so the next is not sent before the
//     previous one's retry is known. This is the fast path only: the engine
//     checks with storage before each send that nothing older is unfinished
//     (engine.h), since an older delivery may be due later, or on disk.
//     A delivery that comes in older than all that waits ends a deferral,
//     and so does the end of one of the webhook's deliveries (Forget).
// Not thread-safe.
#ifndef WINK_WEBHOOKS_SERVICE_DELIVERY_DISPATCH_QUEUE_H_
#define WINK_WEBHOOKS_SERVICE_DELIVERY_DISPATCH_QUEUE_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/storage/due_queue.h"

namespace wink::webhooks::delivery {

struct DispatchLimits {
  int max_in_flight = 256;
  int max_in_flight_per_webhook = 16;
  int max_queued = 50000;
  int max_in_flight_per_account = 64;
};

class DispatchQueue {
 public:
  explicit DispatchQueue(DispatchLimits limits);

  enum class Offer {
    kQueued,       // waits in memory for a slot
    kKnown,        // already in memory (waiting, on the wire or being recorded)
    kWebhookFull,  // its webhook's queue is full: left on disk
    kMemoryFull,   // memory is full and nothing could make room: left on disk
  };
  // Takes a due delivery into memory, if it fits. `account` is its
  // webhook's account, or empty when the caller does not know it.
  Offer Add(const storage::DueDelivery& due, absl::string_view account = {});

  // The webhook belongs to `account` (learnt when its attempt was loaded):
  // its slots count toward that account's limit from now on.
  void LearnAccount(const std::string& webhook_id, absl::string_view account);

  // The webhook asks for ordered delivery (learnt from its record on each
  // attempt): from now on its deliveries wait in event id order and it has
  // at most one in flight or being recorded.
  void SetOrdered(const std::string& webhook_id, bool ordered);

  // Whether the delivery is in memory (a scan skips it).
  bool Knows(absl::string_view webhook_id, absl::string_view event_id) const;

  // Whether this due entry will be taken without a scan being scheduled
  // for its due time: it is in memory with this due time, or deliveries
  // were left on disk that a refill will read (WantsRefill; that scan reads
  // everything due by then): its webhook's, once its queue drains, or any,
  // once full memory is half free.
  bool WillBeTaken(const storage::DueDelivery& due) const;

  // The next delivery to send, by the rules above, or nullopt when none may
  // go now. It holds a slot until ExchangeEnded (or Forget).
  std::optional<storage::DueDelivery> NextToSend();

  // The delivery, taken by NextToSend, may not go before `until`: it gives
  // back its slot and waits first in its webhook's queue, and the webhook
  // sends nothing before ReleaseDeferred(`until` or later).
  void Defer(const storage::DueDelivery& due, absl::Time until);
  // The engine took a rate-limit token for the delivery (it was just given
  // by NextToSend); RateCharged tells until the request is Sent or the
  // delivery leaves memory. A delivery deferred meanwhile (an ordered
  // webhook's, waiting behind an older one) keeps its token for when it
  // goes.
  void MarkRateCharged(const storage::DueDelivery& due);
  bool RateCharged(const storage::DueDelivery& due) const;
  // Lets webhooks deferred until `now` or earlier send again.
  void ReleaseDeferred(absl::Time now);
  // The earliest time a deferred webhook may send again, if any.
  std::optional<absl::Time> NextDeferredRelease() const;

  // The delivery's request is on the wire as `request_id`. Returns true if
  // it must be aborted at once: its webhook was deleted meanwhile.
  bool Sent(const storage::DueDelivery& due, uint64_t request_id);

  // Whether the delivery's webhook was deleted since it was taken.
  bool CancelRequested(const storage::DueDelivery& due) const;

  // The delivery's HTTP exchange ended; its webhook's slot is free, and its
  // overall slot once its result is recorded (Forget). `receiver_answered`
  // is false when the receiver timed out or refused the connection (the
  // unresponsive-receiver rule).
  void ExchangeEnded(const storage::DueDelivery& due, bool receiver_answered);

  // The delivery's result is durable (or failed to be; it stays due on disk
  // then): it leaves memory, and a later scan may take it again (at once,
  // via WantsRefill, if it was offered as due again meanwhile).
  void Forget(const storage::DueDelivery& due);

  // The webhook was deleted: marks its deliveries in memory and returns the
  // requests on the wire to it, to be aborted.
  std::vector<uint64_t> CancelWebhook(absl::string_view webhook_id);
  // One delivery was cancelled: marks it; returns its request if on the wire.
  std::optional<uint64_t> CancelDelivery(absl::string_view webhook_id, absl::string_view event_id);

  // True when deliveries were left on disk that would now fit (a webhook
  // that left some there drained to half of what it may hold, or memory that
  // was full is half free): the engine should scan the due queue again.
  // Cleared by ScanStarted. A scan reads up to 2 x max_queued entries, so it
  // is asked for once per many sends, never per send.
  bool WantsRefill() const { return refill_wanted_; }
  void ScanStarted();

  // Whether NextToSend may give a delivery now (a webhook is ready and a
  // slot free) or a refill is wanted: what a scheduler woken after a slot
  // was freed (ExchangeEnded, Forget) could do. False when waking it would
  // find nothing, as for most results while deliveries keep pace.
  bool HasWorkNow() const {
    return refill_wanted_ || (!ready_.empty() && in_flight_ + recording_ < limits_.max_in_flight);
  }

  // Requests holding a slot now.
  int in_flight() const { return in_flight_; }
  // Deliveries waiting in memory for a slot.
  int waiting() const;
  // A webhook's current in-flight limit (max_in_flight_per_webhook unless
  // its receiver stopped answering); for tests.
  int LimitOf(absl::string_view webhook_id) const;
  // Slots the webhooks of `account` hold now ("" for those whose account is
  // not known yet); for tests.
  int InFlightOf(absl::string_view account) const;

 private:
  struct WebhookQueue {
    std::deque<storage::DueDelivery> waiting;
    int in_flight = 0;
    int limit = 0;
    // Empty while unknown.
    std::string account;
    // In `ready_`, or in its account's `blocked` list.
    bool in_ready_list = false;
    // Due deliveries were left on disk because `waiting` was full, or some
    // were evicted to make room for another webhook. (When memory was full,
    // `memory_full_` asks for the refill.)
    bool overflowed = false;
    // Sends nothing before this (Defer); InfinitePast when free to send.
    absl::Time deferred_until = absl::InfinitePast();
    // How many deliveries at the head of `waiting` came back through Defer:
    // the next one goes behind them, so several taken at once and deferred
    // keep their order. (Ordered queues keep `waiting` sorted instead.)
    size_t deferred_at_head = 0;
    // SetOrdered: `waiting` sorted by event id; one slot, held until the
    // result is recorded.
    bool ordered = false;
    // Its deliveries whose exchange ended and whose result is being recorded.
    int recording = 0;
  };
  // A delivery the engine has taken: waiting, on the wire, or being recorded.
  struct Flight {
    // The due time it was taken with.
    int64_t due_time_us = 0;
    // Offered again, due at another time, while in memory: its recorded
    // attempt already made it due again (a Retry-After reached by a moved
    // clock, a retry now). Forget asks for a scan so it is not left behind.
    bool due_again = false;
    bool holds_slot = false;
    // A rate-limit token was taken for its next request (MarkRateCharged).
    bool rate_charged = false;
    // Its exchange ended; its result is being recorded.
    bool recording = false;
    bool sent = false;
    uint64_t request_id = 0;
    bool cancel_requested = false;
  };

  // The slots an account's webhooks hold, and its webhooks that had work
  // and a free slot of their own when the account was at its limit.
  struct AccountSlots {
    int in_flight = 0;
    std::vector<std::string> blocked;
  };

  static std::string Key(absl::string_view webhook_id, absl::string_view event_id);
  // Counts `slots` more (or fewer) for `account`; when it drops below its
  // limit, its blocked webhooks go back to the ready list.
  void AddAccountSlots(const std::string& account, int slots);
  void MarkReady(const std::string& webhook_id, WebhookQueue& queue);
  // Whether the webhook has no free slot (its limit, or, when ordered, one
  // delivery on the wire or being recorded).
  static bool Busy(const WebhookQueue& queue);
  // Whether nothing needs the queue any more (it may be dropped).
  bool Idle(const WebhookQueue& queue) const;
  // Puts `due` into an ordered queue's line at its event id's place.
  static void InsertInOrder(WebhookQueue& queue, const storage::DueDelivery& due);
  // max_queued split evenly over the webhooks that have a queue.
  int FairShare() const;
  // How many deliveries one webhook may keep waiting now: its cap (a quarter
  // of max_queued), or its fair share of memory when that is less.
  int WaitingRoom() const;
  bool EvictFromLongestQueue(const std::string& except, size_t fair_share);
  void ReleaseSlot(const storage::DueDelivery& due);

  const DispatchLimits limits_;
  const int max_waiting_per_webhook_;
  absl::flat_hash_map<std::string, WebhookQueue> queues_;
  // Deferred webhooks by the time they may send again.
  std::set<std::pair<absl::Time, std::string>> deferred_;
  // Webhook id -> account, as learnt (kept while a webhook's queue comes
  // and goes; dropped when the webhook is deleted).
  absl::flat_hash_map<std::string, std::string> account_of_;
  // Webhooks that asked for ordered delivery (SetOrdered), kept like
  // account_of_.
  absl::flat_hash_set<std::string> ordered_;
  absl::flat_hash_map<std::string, AccountSlots> accounts_;
  std::deque<std::string> ready_;
  absl::flat_hash_map<std::string, Flight> known_;
  int in_flight_ = 0;
  // Flights whose result is being recorded.
  int recording_ = 0;
  bool memory_full_ = false;
  bool refill_wanted_ = false;
};

}  // namespace wink::webhooks::delivery

#endif  // WINK_WEBHOOKS_SERVICE_DELIVERY_DISPATCH_QUEUE_H_
