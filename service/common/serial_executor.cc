#include "service/common/serial_executor.h"

#include <string>
#include <utility>

#include "service/common/thread_name.h"

namespace wink::webhooks {

SerialExecutor::SerialExecutor(absl::string_view thread_name)
    : thread_([this, name = std::string(thread_name)] {
        NameThisThread(name);
        Loop();
      }) {}

SerialExecutor::~SerialExecutor() { Stop(); }

void SerialExecutor::Post(std::vector<Task> tasks) {
  if (tasks.empty()) return;
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      for (Task& task : tasks) queue_.push_back(std::move(task));
      return;
    }
  }
  for (Task& task : tasks) task();
}

void SerialExecutor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  thread_.join();
}

void SerialExecutor::Loop() {
  std::deque<Task> batch;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_;
      };
      mu_.Await(absl::Condition(&has_work));
      // Stop() runs what was posted before it: the queue is empty here only
      // once stopping.
      if (queue_.empty()) return;
      batch.swap(queue_);
    }
    for (Task& task : batch) task();
    batch.clear();
  }
}

}  // namespace wink::webhooks
