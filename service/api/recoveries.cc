#include "service/api/recoveries.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/api/resource_mapping.h"
#include "service/common/log.h"
#include "service/common/resource_names.h"
#include "service/common/thread_name.h"
#include "service/domain/states.h"

namespace wink::webhooks::api {
namespace {

bool Wanted(domain::DeliveryStateRecord state, bool include_succeeded) {
  return state == domain::kFailed || (include_succeeded && state == domain::kSucceeded);
}

}  // namespace

RecoveryRunner::RecoveryRunner(storage::DeliveryLedger& deliveries, const Clock& clock)
    : deliveries_(deliveries), clock_(clock), ids_(clock) {
  worker_ = std::thread([this] { Work(); });
}

RecoveryRunner::~RecoveryRunner() { Stop(); }

void RecoveryRunner::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && !worker_.joinable()) return;
    stopping_ = true;
    work_cv_.SignalAll();
  }
  if (worker_.joinable()) worker_.join();
}

absl::StatusOr<v1::Recovery> RecoveryRunner::Start(const RecoveryRequest& request) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("the server is shutting down");
  ForgetOld();
  for (const auto& job : running_) {
    if (job->request.account == request.account &&
        job->request.webhook_id == request.webhook_id) {
      return absl::FailedPreconditionError(absl::StrCat(
          "parent: a recovery of this webhook is running: ", job->recovery.name(),
          " (wait for it with GetRecovery)"));
    }
  }
  if (static_cast<int>(jobs_.size()) >= kMaxRecoveries) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many recoveries running on this node (", kMaxRecoveries, ")"));
  }
  auto job = std::make_shared<Job>();
  job->request = request;
  const std::string id = ids_.Next(kRecoveryIdPrefix);
  v1::Recovery& recovery = job->recovery;
  recovery.set_name(RecoveryResourceName(request.account, request.webhook_id, id));
  recovery.set_state(v1::RECOVERY_STATE_RUNNING);
  *recovery.mutable_start_time() = ToTimestamp(absl::ToUnixMicros(request.published_from));
  if (request.published_before != absl::InfiniteFuture()) {
    *recovery.mutable_end_time() = ToTimestamp(absl::ToUnixMicros(request.published_before));
  }
  recovery.set_include_succeeded(request.include_succeeded);
  *recovery.mutable_create_time() = ToTimestamp(absl::ToUnixMicros(clock_.Now()));
  // The first id that could have been made at the start of the range; the
  // ledger lists from the event after it (an id exactly equal to it would
  // need 80 random bits of zeros).
  job->continue_from = FirstIdAt(request.published_from, kEventIdPrefix);
  jobs_[id] = job;
  running_.push_back(job);
  work_cv_.Signal();
  LogLine(LogLevel::kInfo, "recovery_started")
      .Field("recovery", recovery.name())
      .Field("include_succeeded", request.include_succeeded ? "true" : "false");
  return recovery;
}

absl::StatusOr<v1::Recovery> RecoveryRunner::Get(absl::string_view account,
                                                 absl::string_view webhook_id,
                                                 absl::string_view recovery_id) const {
  absl::MutexLock lock(&mu_);
  auto it = jobs_.find(recovery_id);
  if (it == jobs_.end() || it->second->request.account != account ||
      it->second->request.webhook_id != webhook_id) {
    return absl::NotFoundError(
        absl::StrCat("recovery ", recovery_id,
                     " not found (recoveries are kept by the node that runs them, for ",
                     absl::FormatDuration(kRecoveryRetention), " after they end)"));
  }
  return it->second->recovery;
}

void RecoveryRunner::Work() {
  NameThisThread("wink-recovery");
  while (true) {
    std::shared_ptr<Job> job;
    RecoveryRequest request;
    std::string continue_from;
    {
      absl::MutexLock lock(&mu_);
      while (!stopping_ && running_.empty()) work_cv_.Wait(&mu_);
      if (stopping_) {
        for (auto& running : running_) Finish(*running, v1::RECOVERY_STATE_FAILED,
                                              "the server is shutting down");
        running_.clear();
        return;
      }
      job = running_.front();
      running_.pop_front();
      request = job->request;
      continue_from = job->continue_from;
    }
    const PageOutcome outcome = RunPage(request, continue_from);
    absl::MutexLock lock(&mu_);
    v1::Recovery& recovery = job->recovery;
    recovery.set_found_count(recovery.found_count() + outcome.matched);
    recovery.set_resent_count(recovery.resent_count() + outcome.resent);
    recovery.set_skipped_count(recovery.skipped_count() + outcome.skipped);
    job->continue_from = outcome.continue_from;
    if (!outcome.error.empty()) {
      Finish(*job, v1::RECOVERY_STATE_FAILED, outcome.error);
    } else if (outcome.continue_from.empty()) {
      Finish(*job, v1::RECOVERY_STATE_SUCCEEDED, "");
    } else {
      running_.push_back(std::move(job));  // its next page after the others' turns
    }
  }
}

RecoveryRunner::PageOutcome RecoveryRunner::RunPage(const RecoveryRequest& request,
                                                     const std::string& continue_from) {
  PageOutcome outcome;
  // With SUCCEEDED included the page holds every state (the ledger filters
  // one state only) and the loop below picks the two.
  const int state = request.include_succeeded ? 0 : static_cast<int>(domain::kFailed);
  absl::StatusOr<storage::DeliveryPage> page = deliveries_.ListDeliveriesOfWebhook(
      request.account, request.webhook_id, continue_from, state, kRecoveryPageSize);
  if (!page.ok()) {
    outcome.error = absl::StrCat("listing deliveries: ", page.status().message());
    return outcome;
  }
  outcome.continue_from = page->continue_from;
  for (const storage::DeliveryRecord& listed : page->deliveries) {
    // Publish order: the first event past the range ends the recovery.
    if (IdTime(listed.event_id(), kEventIdPrefix) >= request.published_before) {
      outcome.continue_from.clear();
      break;
    }
    if (!Wanted(listed.state(), request.include_succeeded)) continue;
    ++outcome.matched;
    // Read again just before: a delivery retried, cancelled or purged since
    // the page was read is left as it is now.
    absl::StatusOr<storage::DeliveryRecord> current =
        deliveries_.GetDelivery(request.account, request.webhook_id, listed.event_id());
    if (!current.ok() || !Wanted(current->state(), request.include_succeeded)) {
      if (!current.ok() && !absl::IsNotFound(current.status())) {
        outcome.error = absl::StrCat("reading a delivery: ", current.status().message());
        return outcome;
      }
      ++outcome.skipped;
      continue;
    }
    absl::StatusOr<storage::DeliveryRecord> retried =
        deliveries_.RetryNow(request.account, request.webhook_id, listed.event_id());
    if (retried.ok()) {
      ++outcome.resent;
    } else if (absl::IsNotFound(retried.status())) {
      ++outcome.skipped;  // purged in between
    } else {
      // FAILED_PRECONDITION: the webhook was paused or deleted meanwhile.
      outcome.error = std::string(retried.status().message());
      return outcome;
    }
  }
  return outcome;
}

void RecoveryRunner::Finish(Job& job, v1::RecoveryState state, std::string error) {
  job.recovery.set_state(state);
  job.recovery.set_error(std::move(error));
  *job.recovery.mutable_end_run_time() = ToTimestamp(absl::ToUnixMicros(clock_.Now()));
  LogLine(state == v1::RECOVERY_STATE_SUCCEEDED ? LogLevel::kInfo : LogLevel::kWarning,
          "recovery_finished")
      .Field("recovery", job.recovery.name())
      .Field("state", v1::RecoveryState_Name(state))
      .Field("resent", static_cast<int64_t>(job.recovery.resent_count()))
      .Field("skipped", static_cast<int64_t>(job.recovery.skipped_count()))
      .Field("error", job.recovery.error());
}

void RecoveryRunner::ForgetOld() {
  const int64_t cutoff_us = absl::ToUnixMicros(clock_.Now() - kRecoveryRetention);
  std::vector<std::pair<int64_t, std::string>> finished;  // (end time, id)
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    const v1::Recovery& recovery = it->second->recovery;
    if (recovery.state() == v1::RECOVERY_STATE_RUNNING) {
      ++it;
      continue;
    }
    const int64_t ended_us = recovery.end_run_time().seconds() * 1000000 +
                             recovery.end_run_time().nanos() / 1000;
    if (ended_us < cutoff_us) {
      jobs_.erase(it++);
    } else {
      finished.emplace_back(ended_us, it->first);
      ++it;
    }
  }
  // Room for one more: the oldest finished ones go first.
  std::sort(finished.begin(), finished.end());
  for (const auto& [ended_us, id] : finished) {
    if (static_cast<int>(jobs_.size()) < kMaxRecoveries) break;
    jobs_.erase(id);
  }
}

}  // namespace wink::webhooks::api
