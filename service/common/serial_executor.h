// One named thread that runs posted work in the order it was posted.
//
// For work that must leave a hot thread without reordering: the storage
// writer hands it the callers' completions of a committed group (sending a
// gRPC response costs more than the write did), so the next group's
// operations run while the last group's callers are being answered.
#ifndef WINK_WEBHOOKS_SERVICE_COMMON_SERIAL_EXECUTOR_H_
#define WINK_WEBHOOKS_SERVICE_COMMON_SERIAL_EXECUTOR_H_

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace wink::webhooks {

// Thread-safe.
class SerialExecutor {
 public:
  using Task = std::function<void()>;

  // Starts the thread, named `thread_name` (see NameThisThread).
  explicit SerialExecutor(absl::string_view thread_name);
  ~SerialExecutor();  // Stop()s

  SerialExecutor(const SerialExecutor&) = delete;
  SerialExecutor& operator=(const SerialExecutor&) = delete;

  // Queues `tasks` to run one after another, after everything posted
  // before. One lock and at most one wake-up for the whole batch. After
  // Stop() has begun, runs them at once on the calling thread instead, so
  // that no completion is ever dropped.
  void Post(std::vector<Task> tasks);

  // Runs everything already posted, then stops the thread. Idempotent. Must
  // not be called from a task.
  void Stop();

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<Task> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_COMMON_SERIAL_EXECUTOR_H_
