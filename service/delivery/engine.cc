#include "service/delivery/engine.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "service/common/log.h"
#include "service/common/trace_context.h"
#include "service/common/status_macros.h"
#include "service/common/thread_name.h"
#include "service/delivery/delivery_request.h"
#include "service/delivery/verdict.h"
#include "service/metrics/service_metrics.h"

namespace wink::webhooks::delivery {
namespace {

using ::wink::webhooks::domain::AttemptOutcome;
using ::wink::webhooks::domain::DeliveryRecord;

absl::string_view OutcomeName(AttemptOutcome outcome) {
  switch (outcome) {
    case AttemptOutcome::kDelivered:
      return "delivered";
    case AttemptOutcome::kRetryLater:
      return "retry";
    case AttemptOutcome::kDisableEndpoint:
      return "disable_endpoint";
  }
  return "unknown";
}

// Events deleted per retention operation.
constexpr int kPurgeChunk = 500;

metrics::AttemptClass ClassifyAttempt(const http::HttpResponse& response) {
  switch (response.transport_error) {
    case http::TransportError::kNone:
      if (response.status >= 200 && response.status < 600) {
        constexpr metrics::AttemptClass kByHundreds[] = {
            metrics::AttemptClass::k2xx, metrics::AttemptClass::k3xx, metrics::AttemptClass::k4xx,
            metrics::AttemptClass::k5xx};
        return kByHundreds[response.status / 100 - 2];
      }
      return metrics::AttemptClass::kOtherStatus;
    case http::TransportError::kDestinationRefused:
      return metrics::AttemptClass::kRefused;
    case http::TransportError::kTimeout:
      return metrics::AttemptClass::kTimeout;
    case http::TransportError::kTlsFailure:
      return metrics::AttemptClass::kTlsError;
    case http::TransportError::kCancelled:
      return metrics::AttemptClass::kCancelled;
    case http::TransportError::kDnsFailure:
    case http::TransportError::kConnectFailure:
    case http::TransportError::kConnectionReset:
    case http::TransportError::kOther:
      break;
  }
  return metrics::AttemptClass::kNetworkError;
}

std::shared_ptr<const domain::DeliveryRules> RulesFrom(const EngineOptions& options) {
  auto rules = std::make_shared<domain::DeliveryRules>();
  rules->retry_policy = domain::RetryPolicy(options.retry_schedule, options.max_retry_after);
  rules->disable_after_failing_for = options.disable_after_failing_for;
  return rules;
}

}  // namespace

DeliveryEngine::DeliveryEngine(EngineStorage storage, http::HttpClient& http,
                               const secrets::Keyring& keyring, const Clock& clock,
                               RandomSource& random, EngineOptions options)
    : deliveries_(storage.deliveries),
      due_queue_(storage.due_queue),
      retention_(storage.retention),
      http_(http),
      keyring_(keyring),
      clock_(clock),
      random_(random),
      options_(std::move(options)),
      rules_(RulesFrom(options_)),
      dispatch_(DispatchLimits{options_.max_in_flight, options_.max_in_flight_per_webhook,
                               options_.max_queued, options_.max_in_flight_per_account}) {}

DeliveryEngine::~DeliveryEngine() { Shutdown(absl::ZeroDuration()); }

void DeliveryEngine::Start() {
  {
    absl::MutexLock lock(&mu_);
    if (started_) return;
    started_ = true;
  }
  // Cascades live as follow-up writes in memory: only a crash leaves one
  // unfinished. The repair does what the webhook's last change asked for
  // (a drop stays a drop), so it may run beside a cascade still alive.
  repaired_ownership_ = due_queue_.OwnershipVersion();
  RepairInterruptedCascades();
  metric_sources_.push_back(metrics::Global().deliveries_in_flight().Register(
      {}, [this] { return static_cast<double>(in_flight()); }));
  metric_sources_.push_back(metrics::Global().deliveries_queued().Register(
      {}, [this] { return static_cast<double>(queued()); }));
  metric_sources_.push_back(metrics::Global().due_queue_scans().Register(
      {}, [this] { return static_cast<double>(scan_counts().scans); }));
  metric_sources_.push_back(metrics::Global().due_queue_scan_entries().Register(
      {}, [this] { return static_cast<double>(scan_counts().entries_read); }));
  absl::MutexLock lock(&mu_);
  scheduler_ = std::thread([this] {
    NameThisThread("wink-scheduler");
    SchedulerLoop();
  });
  maintenance_ = std::thread([this] {
    NameThisThread("wink-maintain");
    MaintenanceLoop();
  });
}

void DeliveryEngine::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    wake_.SignalAll();
  }
  if (scheduler_.joinable()) scheduler_.join();
  if (maintenance_.joinable()) maintenance_.join();
  {
    absl::MutexLock lock(&mu_);
    shutting_down_http_ = true;
  }
  // Requests still running after `grace` end with kCancelled; OnResponse
  // leaves those unrecorded.
  http_.Shutdown(grace);
}

void DeliveryEngine::Wake() {
  absl::MutexLock lock(&mu_);
  rescan_ = true;
  wake_.Signal();
}

int DeliveryEngine::in_flight() const {
  absl::MutexLock lock(&mu_);
  return dispatch_.in_flight();
}

int DeliveryEngine::queued() const {
  absl::MutexLock lock(&mu_);
  return dispatch_.waiting();
}

DeliveryEngine::ScanCounts DeliveryEngine::scan_counts() const {
  absl::MutexLock lock(&mu_);
  return scan_counts_;
}

int DeliveryEngine::limit_of(const std::string& webhook_id) const {
  absl::MutexLock lock(&mu_);
  return dispatch_.LimitOf(webhook_id);
}

void DeliveryEngine::OnDeliveryUpdate(const storage::DeliveryUpdate& update) {
  const DeliveryRecord& delivery = update.delivery;
  const bool is_due = domain::IsDue(delivery.state());
  // Only due and cancelled deliveries concern the engine: half of all
  // updates (every success) leave here without its lock.
  if (!is_due && delivery.state() != domain::kCancelled) return;
  // Another node of the cluster sends it (not under mu_: Owns may lock).
  if (is_due && !due_queue_.Owns(delivery.webhook_id())) return;
  std::optional<uint64_t> cancel_request;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    if (is_due) {
      const absl::Time due = absl::FromUnixMicros(delivery.next_attempt_time_us());
      // Released deliveries are due at their publish time, maybe before the
      // scan floor: the next scan starts no later than this entry.
      lowest_update_due_ = std::min(lowest_update_due_, due);
      if (due <= clock_.Now()) {
        // Fast path: new work goes straight to its webhook's queue instead of
        // waiting for the next scan of the queue on disk. The scheduler is
        // woken only if it could send now: while the webhook's slots are all
        // taken, the exchange that frees one wakes it (OnResponse).
        dispatch_.Add(storage::DueDelivery{delivery.next_attempt_time_us(), delivery.webhook_id(),
                                           delivery.event_id()},
                      delivery.account());
        if (dispatch_.HasWorkNow()) wake_.Signal();
      } else if (next_wake_ == absl::InfinitePast() || due < next_wake_) {
        // Earlier than the scheduler means to wake: it sleeps again with the
        // new deadline.
        next_wake_ = due;
        wake_.Signal();
      }
    } else if (delivery.state() == domain::kCancelled) {
      // A deleted webhook's request still on the wire is aborted: nothing is
      // sent to it after DeleteWebhook returns.
      cancel_request = dispatch_.CancelDelivery(delivery.webhook_id(), delivery.event_id());
    }
  }
  // Cancel may call back at once: not under mu_.
  if (cancel_request.has_value()) http_.Cancel(*cancel_request);
}

void DeliveryEngine::OnWebhookDeleted(const std::string& webhook_id) {
  std::vector<uint64_t> to_cancel;
  {
    absl::MutexLock lock(&mu_);
    to_cancel = dispatch_.CancelWebhook(webhook_id);
    rate_limits_.erase(webhook_id);
  }
  for (uint64_t id : to_cancel) http_.Cancel(id);  // not under mu_: may call back
}

void DeliveryEngine::Scan() {
  const absl::Time now = clock_.Now();
  absl::Time lowest_update_due;
  {
    absl::MutexLock lock(&mu_);
    rescan_ = false;
    dispatch_.ScanStarted();
    next_wake_ = absl::InfinitePast();
    lowest_update_due = lowest_update_due_;
    lowest_update_due_ = absl::InfiniteFuture();
  }
  // Each webhook's deliveries are taken in time order; entries already in
  // memory and those of webhooks whose queue is full are skipped, and the walk
  // is bounded, so a scan costs at most `max_visits` entries however large
  // the backlog. The storage read runs without the engine lock (storage
  // threads take it for every update); each entry takes it briefly.
  //
  // Every delivery leaves a deleted due entry behind until compaction drops
  // it, and a walk from the very first key steps over all of them: after
  // 100,000 deliveries that made each scan take long enough to delay
  // dispatch by seconds. So a scan starts at the floor found by the previous
  // one (nothing was due before it then, and new entries are written at the
  // writer's `now` or later), less a margin for operations that read the
  // clock before this scan and commit after it, or lower where an update
  // since the last scan was due earlier (a release, a stepped-back clock); a
  // full walk now and then catches anything else.
  // Partitions this node took over may hold entries due long ago.
  const uint64_t ownership = due_queue_.OwnershipVersion();
  const bool full_scan = scan_floor_ == absl::InfinitePast() ||
                         now - last_full_scan_ >= kFullScanInterval ||
                         ownership != scanned_ownership_;
  scanned_ownership_ = ownership;
  if (full_scan) last_full_scan_ = now;
  const absl::Time from =
      full_scan ? absl::InfinitePast() : std::min(scan_floor_, lowest_update_due);
  std::optional<absl::Time> oldest_seen;
  const int max_visits = 2 * options_.max_queued;
  int visits = 0;
  bool stopped = false;  // by max_visits or Shutdown: no further slices
  const auto visit = [&](const storage::DueDelivery& due) {
    if (!oldest_seen.has_value()) oldest_seen = absl::FromUnixMicros(due.due_time_us);
    absl::MutexLock lock(&mu_);
    if (++visits > max_visits || stopping_) {
      stopped = true;
      return false;
    }
    // Whatever does not fit is skipped, not a reason to stop: entries
    // further on may belong to webhooks with room (max_visits bounds it).
    dispatch_.Add(due);
    return true;
  };
  // The queue since the last full walk holds the deleted entries of every
  // delivery sent meanwhile, until compaction drops them: at 5,000
  // deliveries a second, the walk over the margin took the scheduler 10-30
  // ms once a second, and the full walk ~45 ms once a minute, and nothing
  // was sent meanwhile (publish-to-delivery p99 rose by as much). So that
  // part is walked in slices, and what is ready is sent between them; what
  // lies before it (walked by the previous full walk) is one piece. A slice
  // is kScanSlice of due time, wider when that would make more than
  // kMaxScanSlices: each is a read of its own (a query, over PostgreSQL).
  const absl::Time end = now + absl::Microseconds(1);
  const absl::Time sliced_from =
      std::max(from, now - kFullScanInterval - kLateCommitMargin - options_.rescan_interval);
  const absl::Duration slice = std::max(kScanSlice, (end - sliced_from) / kMaxScanSlices);
  absl::Status status;
  for (absl::Time piece_from = from; status.ok() && !stopped && piece_from < end;) {
    const absl::Time piece_end =
        piece_from < sliced_from ? sliced_from : std::min(piece_from + slice, end);
    status = due_queue_.ScanDue(piece_from, piece_end, visit);
    piece_from = piece_end;
    if (piece_from < end) SendWhatIsReady();
  }
  if (!status.ok()) {
    LogLine(LogLevel::kError, "delivery_scan_failed").Field("error", status.message());
    scan_floor_ = absl::InfinitePast();
  } else {
    scan_floor_ = std::min(oldest_seen.value_or(now), now) - kLateCommitMargin;
  }
  auto earliest = NextWakeAfter(now);
  absl::MutexLock lock(&mu_);
  ++scan_counts_.scans;
  scan_counts_.entries_read += std::min(visits, max_visits);
  if (earliest.ok() && earliest->has_value()) {
    if (next_wake_ == absl::InfinitePast() || **earliest < next_wake_) next_wake_ = **earliest;
  }
}

absl::StatusOr<std::optional<absl::Time>> DeliveryEngine::NextWakeAfter(absl::Time now) {
  // Entries due after the scan are mostly publishes committed while it ran.
  // Their updates already put them in memory, or left them to their
  // webhook's refill; a wake at the first of them scanned again at once, so
  // a steady stream of publishes kept the scheduler scanning back-to-back
  // (a backlog of 100,000 entries read ~20 times a second). Entries not
  // seen through an update (written before a restart, another node's, a
  // retry whose update has not arrived yet) still set the wake.
  return FirstEntryNotTaken(now + absl::Microseconds(1), absl::InfiniteFuture());
}

absl::StatusOr<std::optional<absl::Time>> DeliveryEngine::FirstEntryNotTaken(absl::Time from,
                                                                             absl::Time before) {
  // Bounded: the entry at the bound counts as not taken, so a caller wakes
  // (or scans) there rather than walking a backlog under the lock.
  constexpr int kMaxEntries = 1024;
  int visited = 0;
  std::optional<absl::Time> first;
  WINK_RETURN_IF_ERROR(
      due_queue_.ScanDue(from, before, [&](const storage::DueDelivery& due) {
        bool taken;
        {
          absl::MutexLock lock(&mu_);
          taken = dispatch_.WillBeTaken(due);
        }
        if (taken && ++visited < kMaxEntries) return true;
        first = absl::FromUnixMicros(due.due_time_us);
        return false;
      }));
  return first;
}

bool DeliveryEngine::TimerWasForEntriesTakenSince() {
  // NextWakeAfter reads entries the writer has committed but whose updates
  // have not reached the engine yet (their hooks run just after the
  // commit). Under a steady stream of publishes to several webhooks there
  // is nearly always one, and each woke a full scan (~80,000 entries read,
  // dozens of times a second). So before scanning for the timer, look at
  // the entries it was set for: if all have been taken since, a scan would
  // find nothing; the timer moves on to the next entry instead.
  absl::Time from;
  {
    absl::MutexLock lock(&mu_);
    from = next_wake_;
    // Updates from now on set it afresh (OnDeliveryUpdate); merged below.
    next_wake_ = absl::InfinitePast();
  }
  const absl::Time now = clock_.Now();
  auto not_taken = FirstEntryNotTaken(from, now + absl::Microseconds(1));
  if (!not_taken.ok() || not_taken->has_value()) return false;  // Scan() sets the timer
  auto next = NextWakeAfter(now);
  if (!next.ok()) return false;
  absl::MutexLock lock(&mu_);
  if (next->has_value() && (next_wake_ == absl::InfinitePast() || **next < next_wake_)) {
    next_wake_ = **next;
  }
  return true;
}

void DeliveryEngine::SchedulerLoop() {
  absl::Time last_scan = absl::InfinitePast();
  while (true) {
    std::vector<storage::DueDelivery> to_attempt;
    std::vector<std::string> rate_limited;
    bool scan = false;
    bool timer_only = false;
    bool probe = false;
    {
      absl::MutexLock lock(&mu_);
      while (!stopping_) {
        const absl::Time now = clock_.Now();
        if (storage_probe_at_ != absl::InfinitePast()) {
          // Paused: nothing is scanned or sent until the probe succeeds.
          if (now >= storage_probe_at_) {
            probe = true;
            break;
          }
          wake_.WaitWithTimeout(&mu_, std::max(storage_probe_at_ - now, absl::Milliseconds(1)));
          continue;
        }
        dispatch_.ReleaseDeferred(now);
        const bool due_timer = next_wake_ != absl::InfinitePast() && next_wake_ <= now;
        const bool periodic = now - last_scan >= options_.rescan_interval;
        const bool refill = rescan_ || dispatch_.WantsRefill();
        if (refill || due_timer || periodic) {
          scan = true;
          timer_only = !refill && !periodic;
          break;
        }
        if (auto due = NextToAttempt(now, rate_limited)) {
          to_attempt.push_back(*std::move(due));
          break;
        }
        absl::Duration wait = options_.rescan_interval - (now - last_scan);
        if (next_wake_ != absl::InfinitePast()) wait = std::min(wait, next_wake_ - now);
        if (auto release = dispatch_.NextDeferredRelease()) wait = std::min(wait, *release - now);
        wake_.WaitWithTimeout(&mu_, std::max(wait, absl::Milliseconds(1)));
      }
      if (stopping_) return;
    }
    if (probe) {
      ProbeStorage();
      continue;
    }
    if (scan && !(timer_only && TimerWasForEntriesTakenSince())) {
      last_scan = clock_.Now();
      Scan();
    }
    SendWhatIsReady(std::move(to_attempt), std::move(rate_limited));
  }
}

void DeliveryEngine::SendWhatIsReady(std::vector<storage::DueDelivery> to_attempt,
                                     std::vector<std::string> rate_limited) {
  {
    absl::MutexLock lock(&mu_);
    // Round-robin over webhooks with work and a free slot (dispatch_queue.h).
    const absl::Time now = clock_.Now();
    while (storage_probe_at_ == absl::InfinitePast() && !stopping_) {
      auto due = NextToAttempt(now, rate_limited);
      if (!due.has_value()) break;
      to_attempt.push_back(*std::move(due));
    }
  }
  for (const std::string& webhook_id : rate_limited) {
    metrics::Global().RecordRateLimited(webhook_id);
  }
  for (const storage::DueDelivery& due : to_attempt) Attempt(due);
}

void DeliveryEngine::Park(const storage::DueDelivery& due) {
  deliveries_.Park(due.webhook_id, due.event_id, due.due_time_us,
                   [this, due](absl::Status status) { Finished(due, status); });
}

void DeliveryEngine::Attempt(const storage::DueDelivery& due) {
  // Its partition went to another node (cluster mode) since it was queued:
  // the new owner sends it.
  if (!due_queue_.Owns(due.webhook_id)) return Finished(due, absl::OkStatus());
  auto loaded = deliveries_.LoadAttempt(due.webhook_id, due.event_id);
  if (absl::IsNotFound(loaded.status())) return Park(due);  // clears the queue entry
  if (!loaded.ok()) {
    LogLine(LogLevel::kError, "delivery_read_failed")
        .Field("webhook", due.webhook_id)
        .Field("event", due.event_id)
        .Field("error", loaded.status().message());
    return Finished(due, loaded.status());
  }
  const storage::AttemptContext& context = *loaded;
  const bool may_send = domain::MaySend(context.delivery, due.due_time_us,
                                        context.webhook.has_value() ? &*context.webhook : nullptr,
                                        context.event.has_value());
  const absl::Time now = clock_.Now();
  if (may_send && context.webhook->ordered_delivery() && WaitsForOlderDelivery(due, now)) return;
  bool deleted_meanwhile;
  bool rate_limited = false;
  {
    absl::MutexLock lock(&mu_);
    deleted_meanwhile = dispatch_.CancelRequested(due);
    // Deliveries found by a scan come without their account.
    dispatch_.LearnAccount(due.webhook_id, context.delivery.account());
    if (context.webhook.has_value()) {
      dispatch_.SetOrdered(due.webhook_id, context.webhook->ordered_delivery());
    }
    if (may_send && !deleted_meanwhile) {
      const absl::Duration wait = ChargeRateLimit(due, *context.webhook, now);
      if (wait > absl::ZeroDuration()) {
        dispatch_.Defer(due, now + wait);
        wake_.Signal();
        rate_limited = true;
      }
    }
  }
  if (rate_limited) return metrics::Global().RecordRateLimited(due.webhook_id);
  // Paused, deleted or purged (or a stale queue entry), or deleted while the
  // records were read: Park decides as of its own write. (Outside mu_: a
  // stopped writer calls back at once.)
  if (!may_send || deleted_meanwhile) return Park(due);

  SentAttempt sent{context.delivery.account(), now,
                   absl::FromUnixMicros(context.event->create_time_us()),
                   std::string(TraceIdOf(context.event->traceparent()))};
  absl::StatusOr<http::HttpRequest> request =
      BuildDeliveryRequest(*context.webhook, *context.event, now, keyring_);
  if (!request.ok()) {
    // The webhook's secrets are sealed with a key this server was not given
    // (or were altered): an attempt that could not be made, recorded and
    // retried like a failed one, so the delivery waits for the right key
    // instead of going out unsigned or being lost.
    LogLine(LogLevel::kError, "delivery_secrets_unreadable")
        .Field("webhook", due.webhook_id)
        .Field("event", due.event_id)
        .Field("error", request.status().message());
    http::HttpResponse failed;
    failed.transport_error = http::TransportError::kOther;
    failed.error = absl::StrCat("not sent: ", request.status().message());
    return OnResponse(due, sent, std::move(failed));
  }
  metrics::Global().RecordSendDelay(now - absl::FromUnixMicros(due.due_time_us));
  // Send may call back at once (client shut down): not under mu_.
  const uint64_t id = http_.Send(
      *std::move(request), [this, due, sent = std::move(sent)](http::HttpResponse response) {
        OnResponse(due, sent, std::move(response));
      });
  bool cancel;
  {
    absl::MutexLock lock(&mu_);
    // The webhook was deleted while the request was being built.
    cancel = dispatch_.Sent(due, id);
  }
  if (cancel) http_.Cancel(id);
}

bool DeliveryEngine::WaitsForOlderDelivery(const storage::DueDelivery& due, absl::Time now) {
  absl::StatusOr<std::optional<storage::DueDelivery>> first =
      due_queue_.FirstOfWebhook(due.webhook_id);
  if (!first.ok()) {
    LogLine(LogLevel::kError, "delivery_order_check_failed")
        .Field("webhook", due.webhook_id)
        .Field("event", due.event_id)
        .Field("error", first.status().message());
    Finished(due, first.status());  // stays due; a later scan tries again
    return true;
  }
  if (!first->has_value() || (*first)->event_id >= due.event_id) return false;
  const storage::DueDelivery& older = **first;
  absl::MutexLock lock(&mu_);
  dispatch_.SetOrdered(due.webhook_id, true);
  // Wait in line (sorted by event id) until the older one may go: at its
  // due time, when a scan brings it in, or at once when it is due now and
  // taken in here. One already in memory was taken before the webhook was
  // known to be ordered; its end (Forget) frees the webhook, and the rescan
  // interval bounds the wait should memory have dropped it.
  absl::Time until = now + options_.rescan_interval;
  if (!dispatch_.Knows(older.webhook_id, older.event_id)) {
    const absl::Time older_due = absl::FromUnixMicros(older.due_time_us);
    if (older_due > now) {
      until = older_due;
    } else if (dispatch_.Add(older) == DispatchQueue::Offer::kQueued) {
      until = now;
    }
  }
  dispatch_.Defer(due, until);
  wake_.Signal();
  return true;
}

std::optional<storage::DueDelivery> DeliveryEngine::NextToAttempt(
    absl::Time now, std::vector<std::string>& rate_limited) {
  while (std::optional<storage::DueDelivery> due = dispatch_.NextToSend()) {
    auto limit = rate_limits_.find(due->webhook_id);
    // Charged before it was deferred: one token per request sent, not per
    // check.
    if (limit == rate_limits_.end() || dispatch_.RateCharged(*due)) return due;
    const absl::Duration wait =
        limit->second.bucket.Take(limit->second.per_second, limit->second.burst, now);
    if (wait == absl::ZeroDuration()) {
      dispatch_.MarkRateCharged(*due);
      return due;
    }
    // It waits in memory (its due entry stays on disk), first in its
    // webhook's line; the webhook's slot goes to others meanwhile.
    dispatch_.Defer(*due, now + wait);
    rate_limited.push_back(due->webhook_id);
  }
  return std::nullopt;
}

absl::Duration DeliveryEngine::ChargeRateLimit(const storage::DueDelivery& due,
                                               const domain::WebhookRecord& webhook,
                                               absl::Time now) {
  const int per_second = webhook.rate_limit_per_second();
  if (per_second <= 0) {
    rate_limits_.erase(due.webhook_id);  // removed: a later limit starts full
    return absl::ZeroDuration();
  }
  RateLimit& limit = rate_limits_[due.webhook_id];
  limit.per_second = per_second;
  limit.burst = webhook.rate_limit_burst() > 0 ? webhook.rate_limit_burst() : per_second;
  if (dispatch_.RateCharged(due)) return absl::ZeroDuration();
  return limit.bucket.Take(limit.per_second, limit.burst, now);
}

void DeliveryEngine::OnResponse(const storage::DueDelivery& due, const SentAttempt& sent,
                                http::HttpResponse response) {
  bool shutting_down;
  {
    absl::MutexLock lock(&mu_);
    const bool unresponsive = response.transport_error == http::TransportError::kTimeout ||
                              response.transport_error == http::TransportError::kConnectFailure;
    // The receiver is done with this request: its webhook may get the next
    // one while the result is being committed. (Each wake-up of the
    // scheduler costs CPU; only one that may send is worth it.)
    dispatch_.ExchangeEnded(due, /*receiver_answered=*/!unresponsive);
    if (dispatch_.HasWorkNow()) wake_.Signal();
    shutting_down = shutting_down_http_ || stopping_;
  }
  if (response.transport_error == http::TransportError::kCancelled && shutting_down) {
    // Not an attempt the receiver judged: the delivery stays due and is sent
    // again after the restart.
    LogLine(LogLevel::kInfo, "delivery_interrupted")
        .Field("webhook", due.webhook_id)
        .Field("event", due.event_id);
    Finished(due, absl::OkStatus());
    return;
  }
  const Verdict verdict = Judge(response, clock_.Now());
  metrics::ServiceMetrics& service_metrics = metrics::Global();
  service_metrics.RecordAttempt(ClassifyAttempt(response), response.latency);
  if (verdict.outcome == AttemptOutcome::kDelivered) {
    service_metrics.RecordDelivered(clock_.Now() - sent.event_time);
  } else if (response.transport_error != http::TransportError::kCancelled) {
    service_metrics.RecordWebhookFailure(due.webhook_id);
  }
  {
    LogLine line(
        verdict.outcome == AttemptOutcome::kDelivered ? LogLevel::kInfo : LogLevel::kWarning,
        "delivery_attempt");
    line.Field("account", sent.account)
        .Field("webhook", due.webhook_id)
        .Field("event", due.event_id)
        .Field("status", static_cast<int64_t>(response.status))
        .Field("outcome", OutcomeName(verdict.outcome))
        .Field("latency_ms", absl::ToDoubleMilliseconds(response.latency))
        .Field("error",
               verdict.error.empty() ? absl::string_view("-") : absl::string_view(verdict.error));
    if (!sent.trace_id.empty()) line.Field("trace_id", sent.trace_id);
  }

  storage::RecordAttemptRequest record;
  record.webhook_id = due.webhook_id;
  record.event_id = due.event_id;
  record.rules = rules_;
  domain::AttemptFinished& finished = record.finished;
  finished.due_time_us = due.due_time_us;
  finished.outcome = verdict.outcome;
  finished.retry_after = verdict.retry_after;
  finished.random01 = random_.Uniform01();
  domain::AttemptRecord& attempt = finished.attempt;
  attempt.set_start_time_us(absl::ToUnixMicros(sent.start));
  attempt.set_latency_us(absl::ToInt64Microseconds(response.latency));
  attempt.set_http_status(response.status);
  attempt.set_error(verdict.error);
  attempt.set_response_body(response.body.substr(0, http::kMaxResponseBodyBytes));
  attempt.mutable_response_headers()->insert(response.notable_headers.begin(),
                                             response.notable_headers.end());
  attempt.set_succeeded(verdict.outcome == AttemptOutcome::kDelivered);
  deliveries_.RecordAttempt(std::move(record),
                            [this, due](absl::Status status) { Finished(due, status); });
}

void DeliveryEngine::Finished(const storage::DueDelivery& due, const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  if (!status.ok() && !stopping_) {
    // The queue entry is still there: the next scan tries again.
    LogLine(LogLevel::kError, "delivery_record_failed")
        .Field("webhook", due.webhook_id)
        .Field("event", due.event_id)
        .Field("error", status.message());
    // UNAVAILABLE: storage cannot commit at all (disk full or failing).
    // Sending anything would only repeat POSTs whose results cannot be kept
    // (a full disk once resent 60 delivered events 400 times in 30 s): stop
    // sending until storage takes writes again (SchedulerLoop probes it).
    // Other errors concern this delivery alone (a record that cannot be
    // read) and must not stop the others.
    if (absl::IsUnavailable(status) && storage_probe_at_ == absl::InfinitePast()) {
      storage_probe_delay_ = options_.storage_probe_first;
      storage_probe_at_ = clock_.Now() + storage_probe_delay_;
      LogLine(LogLevel::kError, "deliveries_paused")
          .Field("reason", "storage cannot record attempts")
          .Field("until", "storage takes writes again (probed with backoff)");
    }
  }
  // Only now, with the result durable (or the engine paused), may a scan
  // pick the delivery again.
  dispatch_.Forget(due);
  // A failure may have paused the engine: the scheduler's wait changes.
  if (!status.ok() || dispatch_.HasWorkNow()) wake_.Signal();
}

void DeliveryEngine::ProbeStorage() {
  const absl::Status writable = deliveries_.ProbeWritable();
  absl::MutexLock lock(&mu_);
  if (writable.ok()) {
    storage_probe_at_ = absl::InfinitePast();
    rescan_ = true;
    LogLine(LogLevel::kInfo, "deliveries_resumed").Field("reason", "storage takes writes again");
    return;
  }
  storage_probe_delay_ = std::min(storage_probe_delay_ * 2, options_.storage_probe_longest);
  storage_probe_at_ = clock_.Now() + storage_probe_delay_;
  LogLine(LogLevel::kWarning, "deliveries_still_paused")
      .Field("error", writable.message())
      .Field("next_probe_in", absl::FormatDuration(storage_probe_delay_));
}

absl::StatusOr<int> DeliveryEngine::PurgeExpired() {
  const absl::Time cutoff = clock_.Now() - options_.event_retention;
  int total = 0;
  while (true) {
    WINK_ASSIGN_OR_RETURN(const storage::PurgeResult purged,
                          retention_.PurgeOlderThan(cutoff, kPurgeChunk));
    total += purged.events;
    // Updates can outnumber events many times (webhooks x state changes).
    if (purged.events == 0 && purged.updates == 0) break;
    absl::MutexLock lock(&mu_);
    if (stopping_) break;
  }
  if (total > 0) {
    LogLine(LogLevel::kInfo, "retention_purge")
        .Field("events", static_cast<int64_t>(total))
        .Field("older_than", absl::FormatTime(cutoff));
  }
  return total;
}

void DeliveryEngine::RepairInterruptedCascades() {
  auto repaired = deliveries_.RepairInterruptedCascades();
  if (!repaired.ok()) {
    LogLine(LogLevel::kError, "held_repair_failed").Field("error", repaired.status().message());
  } else if (*repaired > 0) {
    LogLine(LogLevel::kWarning, "held_repaired").Field("webhooks", static_cast<int64_t>(*repaired));
  }
}

void DeliveryEngine::MaintenanceLoop() {
  absl::Time next_purge = absl::Now() + options_.purge_interval;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
      const absl::Duration wait = std::min(kOwnershipCheckInterval, next_purge - absl::Now());
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), wait)) return;
    }
    // In a cluster, a node that died may have left a cascade half done:
    // whoever takes partitions over finishes it.
    const uint64_t ownership = due_queue_.OwnershipVersion();
    if (ownership != repaired_ownership_) {
      repaired_ownership_ = ownership;
      RepairInterruptedCascades();
    }
    if (absl::Now() < next_purge) continue;
    next_purge = absl::Now() + options_.purge_interval;
    auto purged = PurgeExpired();
    if (!purged.ok()) {
      LogLine(LogLevel::kError, "retention_purge_failed").Field("error", purged.status().message());
    }
  }
}

}  // namespace wink::webhooks::delivery
