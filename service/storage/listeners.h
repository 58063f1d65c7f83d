// The update listeners of a backend (update_log.h), and how a backend tells
// them. Internal to service/storage.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_LISTENERS_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_LISTENERS_H_

#include <algorithm>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "service/storage/update_log.h"

namespace wink::webhooks::storage {

// Thread-safe. Listeners change rarely (start, stop); notifications are
// frequent and take a shared lock only.
class UpdateListeners {
 public:
  void Add(UpdateListener* listener) {
    absl::WriterMutexLock lock(&mu_);
    listeners_.push_back(listener);
  }
  void Remove(UpdateListener* listener) {
    absl::WriterMutexLock lock(&mu_);
    listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), listener), listeners_.end());
  }
  void NotifyUpdate(const DeliveryUpdate& update) {
    absl::ReaderMutexLock lock(&mu_);
    for (UpdateListener* listener : listeners_) listener->OnDeliveryUpdate(update);
  }
  void NotifyWebhookDeleted(const std::string& webhook_id) {
    absl::ReaderMutexLock lock(&mu_);
    for (UpdateListener* listener : listeners_) listener->OnWebhookDeleted(webhook_id);
  }

 private:
  absl::Mutex mu_;
  std::vector<UpdateListener*> listeners_ ABSL_GUARDED_BY(mu_);
};

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_LISTENERS_H_
