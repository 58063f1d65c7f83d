#include "service/delivery/status_bus.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"

namespace wink::webhooks::delivery {

StatusBus::StatusBus(storage::UpdateLog& log, uint64_t last_sequence, size_t ring_capacity)
    : log_(log),
      ring_capacity_(ring_capacity),
      last_sequence_(last_sequence),
      thread_([this] { WakeLoop(); }),
      catch_up_thread_([this] { CatchUpLoop(); }) {}

StatusBus::~StatusBus() {
  Close();
  thread_.join();
  catch_up_thread_.join();
}

void StatusBus::OnDeliveryUpdate(const storage::DeliveryUpdate& update) {
  absl::MutexLock lock(&mu_);
  ring_.push_back(update);
  if (ring_.size() > ring_capacity_) ring_.pop_front();
  last_sequence_ = update.sequence;
  wake_pending_ = true;
}

void StatusBus::RequestWake() {
  absl::MutexLock lock(&mu_);
  wake_pending_ = true;
}

void StatusBus::WakeLoop() {
  while (true) {
    bool last_round;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return wake_pending_ || closed_;
      };
      mu_.Await(absl::Condition(&has_work));
      wake_pending_ = false;
      last_round = closed_;
    }
    {
      absl::MutexLock lock(&subscribers_mu_);
      for (auto& [id, wake] : subscribers_) wake(/*may_read_log=*/false);
    }
    if (last_round) {
      absl::MutexLock lock(&mu_);
      thread_done_ = true;
      return;
    }
  }
}

void StatusBus::CatchUpLoop() {
  while (true) {
    int id;
    {
      absl::MutexLock lock(&catch_up_mu_);
      auto has_work = [this]() ABSL_SHARED_LOCKS_REQUIRED(catch_up_mu_) {
        return !catch_up_queue_.empty() || catch_up_closed_;
      };
      catch_up_mu_.Await(absl::Condition(&has_work));
      // Closing: the bus thread's last round tells every subscriber.
      if (catch_up_closed_) return;
      id = catch_up_queue_.front();
      catch_up_queue_.pop_front();
      catch_up_requested_.erase(id);
    }
    // Held while the wake-up runs: Unsubscribe waits for it. Looked up
    // under it, so a subscriber gone meanwhile is skipped.
    absl::MutexLock running(&catch_up_running_mu_);
    std::function<void(bool)> wake;
    {
      absl::MutexLock lock(&subscribers_mu_);
      auto it = subscribers_.find(id);
      if (it == subscribers_.end()) continue;
      wake = it->second;
    }
    wake(/*may_read_log=*/true);
  }
}

void StatusBus::RequestCatchUp(int id) {
  absl::MutexLock lock(&catch_up_mu_);
  if (catch_up_requested_.insert(id).second) catch_up_queue_.push_back(id);
}

uint64_t StatusBus::last_sequence() const {
  absl::MutexLock lock(&mu_);
  return last_sequence_;
}

std::optional<std::vector<storage::DeliveryUpdate>> StatusBus::ReadRecent(uint64_t after,
                                                                          int max) {
  std::vector<storage::DeliveryUpdate> out;
  absl::MutexLock lock(&mu_);
  if (max <= 0 || after >= last_sequence_) return out;
  if (ring_.empty() || ring_.front().sequence > after + 1) return std::nullopt;
  // Sequences in the ring are consecutive.
  for (size_t i = after + 1 - ring_.front().sequence;
       i < ring_.size() && static_cast<int>(out.size()) < max; ++i) {
    out.push_back(ring_[i]);
  }
  return out;
}

absl::StatusOr<std::vector<storage::DeliveryUpdate>> StatusBus::Read(uint64_t after, int max) {
  if (auto recent = ReadRecent(after, max)) return *std::move(recent);
  std::vector<storage::DeliveryUpdate> out;
  WINK_ASSIGN_OR_RETURN(out, log_.ReadUpdates(after, max));
  if (out.empty() || out.front().sequence != after + 1) {
    return absl::OutOfRangeError(absl::StrCat(
        "updates after cursor ", after,
        " are no longer retained; list deliveries for the current state, then watch from 0"));
  }
  return out;
}

int StatusBus::Subscribe(std::function<void(bool may_read_log)> wake) {
  absl::MutexLock lock(&subscribers_mu_);
  const int id = next_subscriber_id_++;
  subscribers_.emplace(id, std::move(wake));
  return id;
}

void StatusBus::Unsubscribe(int id) {
  {
    absl::MutexLock lock(&subscribers_mu_);
    subscribers_.erase(id);
  }
  // A catch-up wake-up of it may be running: wait for it to end.
  absl::MutexLock running(&catch_up_running_mu_);
}

void StatusBus::Close() {
  {
    absl::MutexLock lock(&catch_up_mu_);
    catch_up_closed_ = true;
  }
  absl::MutexLock lock(&mu_);
  closed_ = true;  // the bus thread wakes everyone one last time
}

bool StatusBus::closed() const {
  absl::MutexLock lock(&mu_);
  return closed_;
}

}  // namespace wink::webhooks::delivery
