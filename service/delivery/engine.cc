#include "service/delivery/engine.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "service/common/log.h"
#include "service/common/status_macros.h"
#include "service/delivery/envelope.h"
#include "service/metrics/service_metrics.h"
#include "service/signing/signature.h"

namespace wink::webhooks::delivery {
namespace {

using ::wink::webhooks::internal::v1::AttemptRecord;
using ::wink::webhooks::internal::v1::DeliveryRecord;

std::string KnownKey(absl::string_view webhook_id, absl::string_view event_id) {
  return absl::StrCat(webhook_id, "/", event_id);
}

absl::string_view OutcomeName(storage::AttemptOutcome outcome) {
  switch (outcome) {
    case storage::AttemptOutcome::kDelivered:
      return "delivered";
    case storage::AttemptOutcome::kRetryLater:
      return "retry";
    case storage::AttemptOutcome::kDisableEndpoint:
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

}  // namespace

DeliveryEngine::DeliveryEngine(storage::EventStore& events, storage::WebhookStore& webhooks,
                               http::HttpClient& http, StatusBus& bus, const Clock& clock,
                               EngineOptions options)
    : events_(events),
      webhooks_(webhooks),
      http_(http),
      bus_(bus),
      clock_(clock),
      options_(std::move(options)),
      policy_(options_.retry_schedule, options_.max_retry_after),
      max_queued_per_webhook_(std::max(1, options_.max_queued / 4)) {}

DeliveryEngine::~DeliveryEngine() { Shutdown(absl::ZeroDuration()); }

void DeliveryEngine::Start() {
  {
    absl::MutexLock lock(&mu_);
    if (started_) return;
    started_ = true;
  }
  // Cascades live as follow-up writes in memory: only a crash leaves one
  // unfinished, so this runs once, before the server takes calls (a repair
  // while a resume's own cascade runs could release what it drops).
  auto repaired = events_.RepairHeld();
  if (!repaired.ok()) {
    LogLine(LogLevel::kError, "held_repair_failed").Field("error", repaired.status().message());
  } else if (*repaired > 0) {
    LogLine(LogLevel::kWarning, "held_repaired").Field("webhooks", static_cast<int64_t>(*repaired));
  }
  metric_sources_.push_back(metrics::Global().deliveries_in_flight().Register(
      {}, [this] { return static_cast<double>(in_flight()); }));
  metric_sources_.push_back(metrics::Global().deliveries_queued().Register(
      {}, [this] { return static_cast<double>(queued()); }));
  absl::MutexLock lock(&mu_);
  scheduler_ = std::thread([this] { SchedulerLoop(); });
  maintenance_ = std::thread([this] { MaintenanceLoop(); });
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
  return in_flight_;
}

int DeliveryEngine::queued() const {
  absl::MutexLock lock(&mu_);
  size_t waiting = 0;
  for (const auto& [webhook_id, queue] : queues_) waiting += queue.waiting.size();
  return static_cast<int>(waiting);
}

void DeliveryEngine::OnDeliveryUpdate(const storage::DeliveryUpdate& update) {
  bus_.Publish(update);
  const DeliveryRecord& delivery = update.delivery;
  std::optional<uint64_t> cancel_request;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    if (storage::IsDue(delivery.state())) {
      const absl::Time due = absl::FromUnixMicros(delivery.next_attempt_time_us());
      // Released deliveries are due at their publish time, maybe before the
      // scan floor: the next scan starts no later than this entry.
      lowest_update_due_ = std::min(lowest_update_due_, due);
      if (due <= clock_.Now()) {
        // Fast path: new work goes straight to its webhook's queue instead of
        // waiting for the next scan of the queue on disk.
        if (!known_.contains(KnownKey(delivery.webhook_id(), delivery.event_id()))) {
          TryEnqueue(storage::DueDelivery{delivery.next_attempt_time_us(), delivery.webhook_id(),
                                          delivery.event_id()});
        }
      } else if (next_wake_ == absl::InfinitePast() || due < next_wake_) {
        next_wake_ = due;
      }
      wake_.Signal();
    } else if (delivery.state() == internal::v1::DELIVERY_STATE_RECORD_CANCELLED) {
      // A deleted webhook's request still on the wire is aborted: nothing is
      // sent to it after DeleteWebhook returns.
      auto it = known_.find(KnownKey(delivery.webhook_id(), delivery.event_id()));
      if (it != known_.end()) {
        it->second.cancel_requested = true;
        if (it->second.sent) cancel_request = it->second.http_request_id;
      }
    }
  }
  // Cancel may call back at once: not under mu_.
  if (cancel_request.has_value()) http_.Cancel(*cancel_request);
}

void DeliveryEngine::OnWebhookDeleted(const std::string& webhook_id) {
  std::vector<uint64_t> to_cancel;
  {
    absl::MutexLock lock(&mu_);
    const std::string prefix = absl::StrCat(webhook_id, "/");
    for (auto& [key, flight] : known_) {
      if (!absl::StartsWith(key, prefix)) continue;
      flight.cancel_requested = true;
      if (flight.sent) to_cancel.push_back(flight.http_request_id);
    }
  }
  for (uint64_t id : to_cancel) http_.Cancel(id);  // not under mu_: may call back
}

DeliveryEngine::EnqueueResult DeliveryEngine::TryEnqueue(const storage::DueDelivery& due) {
  WebhookQueue& queue = queues_[due.webhook_id];
  if (queue.limit == 0) queue.limit = options_.max_in_flight_per_webhook;
  if (static_cast<int>(queue.waiting.size()) >= max_queued_per_webhook_) {
    // Left on disk; a scan takes it once this webhook's queue has room. One
    // webhook's backlog never takes everyone's memory.
    queue.overflowed = true;
    return EnqueueResult::kWebhookFull;
  }
  if (static_cast<int>(known_.size()) >= options_.max_queued) {
    // Memory is full. A webhook below its fair share takes the place of the
    // newest waiting delivery of the longest queue, so a few webhooks with
    // big backlogs (dead receivers, say) cannot shut everyone else out.
    const size_t fair_share = options_.max_queued / queues_.size();
    if (queue.waiting.size() >= fair_share || !EvictFromLongestQueue(due.webhook_id, fair_share)) {
      memory_full_ = true;
      return EnqueueResult::kMemoryFull;
    }
  }
  known_.emplace(KnownKey(due.webhook_id, due.event_id), Flight{});
  queue.waiting.push_back(due);
  MarkReady(due.webhook_id, queue);
  return EnqueueResult::kQueued;
}

bool DeliveryEngine::EvictFromLongestQueue(const std::string& except, size_t fair_share) {
  WebhookQueue* longest = nullptr;
  for (auto& [webhook_id, queue] : queues_) {
    if (webhook_id == except) continue;
    if (longest == nullptr || queue.waiting.size() > longest->waiting.size()) longest = &queue;
  }
  if (longest == nullptr || longest->waiting.size() <= fair_share) return false;
  // Only waiting (never sent) deliveries are given back: their `due` entries
  // are still on disk, and a later scan takes them again.
  const storage::DueDelivery& victim = longest->waiting.back();
  known_.erase(KnownKey(victim.webhook_id, victim.event_id));
  longest->waiting.pop_back();
  longest->overflowed = true;
  return true;
}

void DeliveryEngine::MarkReady(const std::string& webhook_id, WebhookQueue& queue) {
  if (!queue.in_ready_list && !queue.waiting.empty() && queue.in_flight < queue.limit) {
    queue.in_ready_list = true;
    ready_.push_back(webhook_id);
  }
}

void DeliveryEngine::Scan() {
  const absl::Time now = clock_.Now();
  absl::Time lowest_update_due;
  {
    absl::MutexLock lock(&mu_);
    rescan_ = false;
    memory_full_ = false;
    next_wake_ = absl::InfinitePast();
    lowest_update_due = lowest_update_due_;
    lowest_update_due_ = absl::InfiniteFuture();
  }
  // From the oldest due entry every time, so each webhook's deliveries are
  // taken in time order; entries already in memory and those of webhooks
  // whose queue is full are skipped, and the walk is bounded, so a scan costs
  // at most `max_visits` key reads however large the backlog. The RocksDB
  // iteration runs without the engine lock (the writer thread takes it for
  // every update); each entry takes it briefly.
  //
  // Every delivery leaves a deleted `due` key behind until compaction drops
  // it, and a walk from the very first key steps over all of them: after
  // 100,000 deliveries that made each scan take long enough to delay
  // dispatch by seconds. So a scan starts at the floor found by the previous
  // one (nothing was due before it then, and new entries are written at the
  // writer's `now` or later), less a margin for operations that read the
  // clock before this scan and commit after it, or lower where an update
  // since the last scan was due earlier (a release, a stepped-back clock); a
  // full walk now and then catches anything else.
  const bool full_scan =
      scan_floor_ == absl::InfinitePast() || absl::Now() - last_full_scan_ >= kFullScanInterval;
  if (full_scan) last_full_scan_ = absl::Now();
  const absl::Time from =
      full_scan ? absl::InfinitePast() : std::min(scan_floor_, lowest_update_due);
  std::optional<absl::Time> oldest_seen;
  const int max_visits = 2 * options_.max_queued;
  int visits = 0;
  const absl::Status status =
      events_.ScanDue(from, now + absl::Microseconds(1), [&](const storage::DueDelivery& due) {
        if (!oldest_seen.has_value()) oldest_seen = absl::FromUnixMicros(due.due_time_us);
        if (++visits > max_visits) return false;
        absl::MutexLock lock(&mu_);
        if (stopping_) return false;
        if (known_.contains(KnownKey(due.webhook_id, due.event_id))) return true;
        // Whatever does not fit is skipped, not a reason to stop: entries
        // further on may belong to webhooks with room (max_visits bounds it).
        TryEnqueue(due);
        return true;
      });
  if (!status.ok()) {
    LogLine(LogLevel::kError, "delivery_scan_failed").Field("error", status.message());
    scan_floor_ = absl::InfinitePast();
  } else {
    scan_floor_ = std::min(oldest_seen.value_or(now), now) - kLateCommitMargin;
  }
  auto earliest = events_.EarliestDueTimeAfter(now);
  absl::MutexLock lock(&mu_);
  if (earliest.ok() && earliest->has_value()) {
    if (next_wake_ == absl::InfinitePast() || **earliest < next_wake_) next_wake_ = **earliest;
  }
}

void DeliveryEngine::SchedulerLoop() {
  absl::Time last_scan = absl::InfinitePast();
  absl::Time last_scan_real = absl::InfinitePast();
  while (true) {
    std::vector<storage::DueDelivery> to_attempt;
    bool scan = false;
    {
      absl::MutexLock lock(&mu_);
      while (!stopping_) {
        const absl::Time now = clock_.Now();
        const bool due_timer = next_wake_ != absl::InfinitePast() && next_wake_ <= now;
        const bool periodic = absl::Now() - last_scan_real >= options_.rescan_interval ||
                              now - last_scan >= options_.rescan_interval;
        const bool can_send = !ready_.empty() && in_flight_ < options_.max_in_flight;
        if (rescan_ || due_timer || periodic || can_send) {
          scan = rescan_ || due_timer || periodic;
          break;
        }
        absl::Duration wait = options_.rescan_interval;
        if (next_wake_ != absl::InfinitePast()) wait = std::min(wait, next_wake_ - now);
        wake_.WaitWithTimeout(&mu_, std::max(wait, absl::Milliseconds(1)));
      }
      if (stopping_) return;
    }
    if (scan) {
      last_scan = clock_.Now();
      last_scan_real = absl::Now();
      Scan();
    }
    {
      absl::MutexLock lock(&mu_);
      // Round-robin over webhooks with work and a free slot: one delivery per
      // webhook per turn.
      while (!ready_.empty() && in_flight_ < options_.max_in_flight) {
        const std::string webhook_id = std::move(ready_.front());
        ready_.pop_front();
        WebhookQueue& queue = queues_[webhook_id];
        queue.in_ready_list = false;
        // (Its limit may have dropped since it was listed.)
        if (queue.waiting.empty() || queue.in_flight >= queue.limit) continue;
        to_attempt.push_back(std::move(queue.waiting.front()));
        queue.waiting.pop_front();
        ++queue.in_flight;
        ++in_flight_;
        known_[KnownKey(webhook_id, to_attempt.back().event_id)].holds_slot = true;
        if (queue.overflowed &&
            static_cast<int>(queue.waiting.size()) < max_queued_per_webhook_ / 2) {
          // Refill from disk what did not fit before.
          queue.overflowed = false;
          rescan_ = true;
        }
        MarkReady(webhook_id, queue);
      }
    }
    for (const storage::DueDelivery& due : to_attempt) Attempt(due);
  }
}

void DeliveryEngine::Attempt(const storage::DueDelivery& due) {
  auto park = [&] {
    events_.Park(due, [this, due](absl::Status status) { Finished(due, status); });
  };
  auto skip = [&](const absl::Status& status) {
    if (!status.ok()) {
      LogLine(LogLevel::kError, "delivery_read_failed")
          .Field("webhook", due.webhook_id)
          .Field("event", due.event_id)
          .Field("error", status.message());
    }
    Finished(due, status);
  };

  auto delivery = events_.ReadDelivery(due.webhook_id, due.event_id);
  if (absl::IsNotFound(delivery.status())) return park();
  if (!delivery.ok()) return skip(delivery.status());
  if (!storage::IsDue(delivery->state()) || delivery->next_attempt_time_us() != due.due_time_us) {
    // A stale queue entry (the delivery moved on); Park clears it.
    return park();
  }
  const std::string& account = delivery->account();
  auto webhook = webhooks_.Get(account, due.webhook_id);
  if (absl::IsNotFound(webhook.status())) return park();
  if (!webhook.ok()) return skip(webhook.status());
  if (!webhook->enabled()) return park();
  auto event = events_.ReadEvent(account, due.event_id);
  if (absl::IsNotFound(event.status())) return park();
  if (!event.ok()) return skip(event.status());

  const absl::Time now = clock_.Now();
  const int64_t now_us = absl::ToUnixMicros(now);
  std::vector<std::string> keys;
  for (const auto& secret : webhook->secrets()) {
    if (secret.expire_time_us() == 0 || secret.expire_time_us() > now_us) {
      keys.push_back(secret.key());
    }
  }
  http::HttpRequest request;
  request.url = webhook->url();
  request.body = BuildEnvelope(*event);
  const int64_t timestamp = absl::ToUnixSeconds(now);
  request.headers.reserve(4 + webhook->headers_size());
  request.headers.emplace_back("content-type", "application/json");
  request.headers.emplace_back("webhook-id", event->id());
  request.headers.emplace_back("webhook-timestamp", absl::StrCat(timestamp));
  request.headers.emplace_back(
      "webhook-signature", signing::SignatureHeader(keys, event->id(), timestamp, request.body));
  // Custom headers in name order, so every attempt sends them alike.
  std::vector<std::pair<std::string, std::string>> custom(webhook->headers().begin(),
                                                          webhook->headers().end());
  std::sort(custom.begin(), custom.end());
  for (auto& header : custom) request.headers.push_back(std::move(header));

  bool deleted_meanwhile = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = known_.find(KnownKey(due.webhook_id, due.event_id));
    deleted_meanwhile = it != known_.end() && it->second.cancel_requested;
  }
  // The webhook was deleted while the request was being built. (Parked
  // outside mu_: a stopped writer calls back at once.)
  if (deleted_meanwhile) return park();
  // Send may call back at once (client shut down): not under mu_.
  const absl::Time event_time = absl::FromUnixMicros(event->create_time_us());
  const uint64_t id =
      http_.Send(std::move(request), [this, due, account = std::string(account), start = now,
                                      event_time](http::HttpResponse response) {
        OnResponse(due, account, start, event_time, std::move(response));
      });
  bool cancel = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = known_.find(KnownKey(due.webhook_id, due.event_id));
    if (it != known_.end()) {
      it->second.http_request_id = id;
      it->second.sent = true;
      // The webhook was deleted while the request was being built.
      cancel = it->second.cancel_requested;
    }
  }
  if (cancel) http_.Cancel(id);
}

void DeliveryEngine::OnResponse(const storage::DueDelivery& due, const std::string& account,
                                absl::Time start, absl::Time event_time,
                                http::HttpResponse response) {
  {
    absl::MutexLock lock(&mu_);
    // A receiver that does not answer (timeouts, refused connections) gets
    // one request at a time until it answers again, so a few dead endpoints
    // cannot sit on every global slot; any HTTP answer doubles its share
    // back up to the limit.
    auto queue = queues_.find(due.webhook_id);
    if (queue != queues_.end()) {
      const bool unresponsive = response.transport_error == http::TransportError::kTimeout ||
                                response.transport_error == http::TransportError::kConnectFailure;
      queue->second.limit =
          unresponsive ? 1 : std::min(queue->second.limit * 2, options_.max_in_flight_per_webhook);
    }
    // The receiver is done with this request: its webhook may get the next
    // one while the result is being committed.
    ReleaseSlot(due);
  }
  if (response.transport_error == http::TransportError::kCancelled) {
    bool shutting_down;
    {
      absl::MutexLock lock(&mu_);
      shutting_down = shutting_down_http_ || stopping_;
    }
    if (shutting_down) {
      // Not an attempt the receiver judged: the delivery stays due and is
      // sent again after the restart.
      LogLine(LogLevel::kInfo, "delivery_interrupted")
          .Field("webhook", due.webhook_id)
          .Field("event", due.event_id);
      Finished(due, absl::OkStatus());
      return;
    }
  }
  const Verdict verdict = Judge(response, clock_.Now());
  metrics::ServiceMetrics& service_metrics = metrics::Global();
  service_metrics.RecordAttempt(ClassifyAttempt(response), response.latency);
  if (verdict.outcome == storage::AttemptOutcome::kDelivered) {
    service_metrics.RecordDelivered(clock_.Now() - event_time);
  } else if (response.transport_error != http::TransportError::kCancelled) {
    service_metrics.RecordWebhookFailure(due.webhook_id);
  }
  LogLine(
      verdict.outcome == storage::AttemptOutcome::kDelivered ? LogLevel::kInfo : LogLevel::kWarning,
      "delivery_attempt")
      .Field("account", account)
      .Field("webhook", due.webhook_id)
      .Field("event", due.event_id)
      .Field("status", static_cast<int64_t>(response.status))
      .Field("outcome", OutcomeName(verdict.outcome))
      .Field("latency_ms", absl::ToDoubleMilliseconds(response.latency))
      .Field("error",
             verdict.error.empty() ? absl::string_view("-") : absl::string_view(verdict.error));

  storage::RecordAttemptRequest record;
  record.webhook_id = due.webhook_id;
  record.event_id = due.event_id;
  record.due_time_us = due.due_time_us;
  AttemptRecord& attempt = record.attempt;
  attempt.set_start_time_us(absl::ToUnixMicros(start));
  attempt.set_latency_us(absl::ToInt64Microseconds(response.latency));
  attempt.set_http_status(response.status);
  attempt.set_error(verdict.error);
  attempt.set_response_body(response.body.substr(0, http::kMaxResponseBodyBytes));
  attempt.set_succeeded(verdict.outcome == storage::AttemptOutcome::kDelivered);
  record.outcome = verdict.outcome;
  double random01;
  {
    absl::MutexLock lock(&mu_);
    random01 = absl::Uniform<double>(bitgen_, 0.0, 1.0);
  }
  record.next_delay = [this, retry_after = verdict.retry_after, random01](int attempts_made) {
    return policy_.NextDelay(attempts_made, retry_after, random01);
  };
  record.disable_after_failing_for = options_.disable_after_failing_for;
  events_.RecordAttempt(std::move(record),
                        [this, due](absl::Status status) { Finished(due, status); });
}

void DeliveryEngine::ReleaseSlot(const storage::DueDelivery& due) {
  auto flight = known_.find(KnownKey(due.webhook_id, due.event_id));
  if (flight == known_.end() || !flight->second.holds_slot) return;
  flight->second.holds_slot = false;
  --in_flight_;
  auto it = queues_.find(due.webhook_id);
  if (it != queues_.end()) {
    WebhookQueue& queue = it->second;
    --queue.in_flight;
    // A queue that remembers a reduced limit stays, so a dead endpoint does
    // not get its full share back by going idle.
    if (queue.in_flight == 0 && queue.waiting.empty() && !queue.overflowed &&
        queue.limit >= options_.max_in_flight_per_webhook) {
      queues_.erase(it);
    } else {
      MarkReady(due.webhook_id, queue);
    }
  }
  wake_.Signal();
}

void DeliveryEngine::Finished(const storage::DueDelivery& due, const absl::Status& status) {
  if (!status.ok() && !absl::IsUnavailable(status)) {
    // The queue entry is still there; the next scan tries again.
    LogLine(LogLevel::kError, "delivery_record_failed")
        .Field("webhook", due.webhook_id)
        .Field("event", due.event_id)
        .Field("error", status.message());
  }
  absl::MutexLock lock(&mu_);
  ReleaseSlot(due);
  // Only now, with the result durable, may a scan pick the delivery again.
  known_.erase(KnownKey(due.webhook_id, due.event_id));
  // Memory was full when something was due: look again once half is free.
  // (A failed commit does not trigger a rescan: the periodic one retries it
  // a second later instead of resending in a tight loop while storage fails.)
  if (memory_full_ && static_cast<int>(known_.size()) < options_.max_queued / 2) {
    rescan_ = true;
  }
  wake_.Signal();
}

absl::StatusOr<int> DeliveryEngine::PurgeExpired() {
  const absl::Time cutoff = clock_.Now() - options_.event_retention;
  int total = 0;
  while (true) {
    int updates_purged = 0;
    WINK_ASSIGN_OR_RETURN(const int purged,
                          events_.PurgeOlderThan(cutoff, kPurgeChunk, &updates_purged));
    total += purged;
    // Updates can outnumber events many times (webhooks x state changes).
    if (purged == 0 && updates_purged == 0) break;
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

void DeliveryEngine::MaintenanceLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.purge_interval)) return;
    }
    auto purged = PurgeExpired();
    if (!purged.ok()) {
      LogLine(LogLevel::kError, "retention_purge_failed").Field("error", purged.status().message());
    }
  }
}

}  // namespace wink::webhooks::delivery
