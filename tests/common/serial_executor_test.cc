#include "service/common/serial_executor.h"

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wink::webhooks {
namespace {

using ::testing::ElementsAre;

TEST(SerialExecutorTest, RunsBatchesInPostOrderOnItsOwnThread) {
  absl::Mutex mu;
  std::vector<int> ran;
  std::thread::id task_thread;
  absl::Notification first_started, first_may_finish;
  {
    SerialExecutor executor("test-serial");
    executor.Post({[&] {
      first_started.Notify();
      first_may_finish.WaitForNotification();
      absl::MutexLock lock(&mu);
      ran.push_back(1);
    }});
    first_started.WaitForNotification();
    // Posted while the first runs: queued behind it, not run here.
    std::vector<SerialExecutor::Task> batch;
    for (int i = 2; i <= 4; ++i) {
      batch.push_back([&, i] {
        absl::MutexLock lock(&mu);
        ran.push_back(i);
        task_thread = std::this_thread::get_id();
      });
    }
    executor.Post(std::move(batch));
    {
      absl::MutexLock lock(&mu);
      EXPECT_TRUE(ran.empty());
    }
    first_may_finish.Notify();
  }  // the destructor runs what was posted
  EXPECT_THAT(ran, ElementsAre(1, 2, 3, 4));
  EXPECT_NE(task_thread, std::this_thread::get_id());
}

TEST(SerialExecutorTest, StopRunsEverythingPostedAndLaterPostsRunOnTheCaller) {
  std::atomic<int> ran{0};
  SerialExecutor executor("test-serial");
  absl::Notification may_run;
  executor.Post({[&] { may_run.WaitForNotification(); }});
  for (int i = 0; i < 100; ++i) executor.Post({[&] { ++ran; }});
  may_run.Notify();
  executor.Stop();
  EXPECT_EQ(ran.load(), 100);

  std::thread::id late_thread;
  executor.Post({[&] { late_thread = std::this_thread::get_id(); }});
  EXPECT_EQ(late_thread, std::this_thread::get_id());
  executor.Stop();  // idempotent
}

}  // namespace
}  // namespace wink::webhooks
