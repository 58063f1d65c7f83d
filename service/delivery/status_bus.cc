#include "service/delivery/status_bus.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"
#include "service/common/thread_name.h"

namespace wink::webhooks::delivery {

StatusBus::StatusBus(storage::UpdateLog& log, uint64_t last_sequence, size_t ring_capacity)
    : log_(log),
      ring_capacity_(ring_capacity),
      last_sequence_(last_sequence),
      thread_([this] {
        NameThisThread("wink-bus-wake");
        WakeLoop();
      }),
      catch_up_thread_([this] {
        NameThisThread("wink-bus-catchup");
        CatchUpLoop();
      }) {}

StatusBus::~StatusBus() {
  Close();
  thread_.join();
  catch_up_thread_.join();
}

void StatusBus::OnDeliveryUpdate(const storage::DeliveryUpdate& update) {
  absl::MutexLock lock(&mu_);
  last_sequence_ = update.sequence;
  // Nobody watches: the ring is empty (Unsubscribe) and stays so.
  if (NobodyWatchesLocked()) return;
  const std::string& account = update.delivery.account();
  ring_.push_back(update);
  ring_by_account_[account].push_back(update.sequence);
  if (ring_.size() > ring_capacity_) {
    auto oldest = ring_by_account_.find(ring_.front().delivery.account());
    oldest->second.pop_front();  // the front of its account's, too
    if (oldest->second.empty()) ring_by_account_.erase(oldest);
    ring_.pop_front();
  }
  // A subscriber that comes later reads this update after subscribing.
  if (watchers_of_all_ == 0 && !watchers_of_.contains(account)) return;
  accounts_updated_.insert(account);
  wake_pending_ = true;
}

uint64_t StatusBus::wake_rounds() const {
  absl::MutexLock lock(&mu_);
  return wake_rounds_;
}

void StatusBus::RequestWake(int id) {
  absl::MutexLock lock(&mu_);
  wake_requested_.insert(id);
  wake_pending_ = true;
}

void StatusBus::WakeLoop() {
  while (true) {
    bool last_round;
    bool wake_all;
    absl::flat_hash_set<std::string> accounts;
    absl::flat_hash_set<int> requested;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return wake_pending_ || closed_;
      };
      mu_.Await(absl::Condition(&has_work));
      wake_pending_ = false;
      ++wake_rounds_;
      last_round = closed_;
      wake_all = closed_;
      accounts.swap(accounts_updated_);
      requested.swap(wake_requested_);
    }
    {
      absl::MutexLock lock(&subscribers_mu_);
      if (wake_all) {
        for (auto& [id, subscriber] : subscribers_) subscriber.wake(/*may_read_log=*/false);
      } else {
        // Each once: those of every account, of an updated account, or who
        // asked.
        for (const std::string& account : accounts) {
          auto of_account = subscribers_of_.find(account);
          if (of_account == subscribers_of_.end()) continue;
          requested.insert(of_account->second.begin(), of_account->second.end());
        }
        if (!accounts.empty()) requested.insert(subscribers_of_all_.begin(), subscribers_of_all_.end());
        for (int id : requested) {
          auto subscriber = subscribers_.find(id);
          if (subscriber != subscribers_.end()) subscriber->second.wake(/*may_read_log=*/false);
        }
      }
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
      wake = it->second.wake;
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

std::optional<StatusBus::AccountUpdates> StatusBus::ReadRecentOf(absl::string_view account,
                                                                 uint64_t after, int max) {
  AccountUpdates out;
  absl::MutexLock lock(&mu_);
  out.read_through = std::max(after, last_sequence_);
  if (max <= 0) out.read_through = after;
  if (max <= 0 || after >= last_sequence_) return out;
  if (ring_.empty() || ring_.front().sequence > after + 1) return std::nullopt;
  auto of_account = ring_by_account_.find(account);
  if (of_account == ring_by_account_.end()) return out;  // none: read through the newest
  const std::deque<uint64_t>& sequences = of_account->second;
  const uint64_t front = ring_.front().sequence;
  auto next = std::upper_bound(sequences.begin(), sequences.end(), after);
  for (; next != sequences.end() && static_cast<int>(out.updates.size()) < max; ++next) {
    out.updates.push_back(ring_[*next - front]);
  }
  // Cut at `max`: the next call starts after the last one returned.
  if (next != sequences.end()) out.read_through = out.updates.back().sequence;
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
  subscribers_.emplace(id, Subscriber{std::nullopt, std::move(wake)});
  subscribers_of_all_.insert(id);
  absl::MutexLock watchers(&mu_);
  ++watchers_of_all_;
  return id;
}

int StatusBus::Subscribe(std::string account, std::function<void(bool may_read_log)> wake) {
  absl::MutexLock lock(&subscribers_mu_);
  const int id = next_subscriber_id_++;
  subscribers_of_[account].insert(id);
  {
    absl::MutexLock watchers(&mu_);
    ++watchers_of_[account];
  }
  subscribers_.emplace(id, Subscriber{std::move(account), std::move(wake)});
  return id;
}

void StatusBus::Unsubscribe(int id) {
  // The ring, once the last watcher has gone: freed here, after the locks,
  // rather than by the storage thread.
  std::deque<storage::DeliveryUpdate> dropped_ring;
  absl::flat_hash_map<std::string, std::deque<uint64_t>> dropped_index;
  {
    absl::MutexLock lock(&subscribers_mu_);
    auto subscriber = subscribers_.find(id);
    if (subscriber != subscribers_.end()) {
      absl::MutexLock watchers(&mu_);
      if (subscriber->second.account.has_value()) {
        const std::string& account = *subscriber->second.account;
        auto of_account = subscribers_of_.find(account);
        of_account->second.erase(id);
        if (of_account->second.empty()) subscribers_of_.erase(of_account);
        auto count = watchers_of_.find(account);
        if (--count->second == 0) watchers_of_.erase(count);
      } else {
        subscribers_of_all_.erase(id);
        --watchers_of_all_;
      }
      subscribers_.erase(subscriber);
      if (NobodyWatchesLocked()) {
        dropped_ring.swap(ring_);
        dropped_index.swap(ring_by_account_);
      }
    }
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
