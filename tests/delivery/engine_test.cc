// Component test: the engine over a real Storage (RocksDB in a temp dir), a
// fake clock and a fake HTTP client that answers 200 at once.
#include "service/delivery/engine.h"

#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/delivery/status_bus.h"
#include "service/http/http_client.h"
#include "service/storage/storage.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/temp_dir.h"

namespace wink::webhooks::delivery {
namespace {

using ::wink::webhooks::testing::FakeClock;
using ::wink::webhooks::testing::TempDir;

// Answers every request with 200 from its own thread, as the real client
// does (the engine must not be re-entered from inside Send), and counts them.
class OkHttpClient final : public http::HttpClient {
 public:
  OkHttpClient() : thread_([this] { Loop(); }) {}
  ~OkHttpClient() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
  }

  uint64_t Send(http::HttpRequest, Callback done) override {
    absl::MutexLock lock(&mu_);
    pending_.push_back(std::move(done));
    return ++accepted_;
  }
  void Cancel(uint64_t) override {}
  void Shutdown(absl::Duration) override {}

  // Waits until every request sent so far has been answered.
  void Drain() {
    absl::MutexLock lock(&mu_);
    auto idle = [this] { return answered_ == accepted_; };
    mu_.Await(absl::Condition(&idle));
  }

  bool WaitForSent(uint64_t count, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, count] { return answered_ >= count; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }

 private:
  void Loop() {
    while (true) {
      Callback done;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this] { return stopping_ || !pending_.empty(); };
        mu_.Await(absl::Condition(&ready));
        if (pending_.empty()) return;
        done = std::move(pending_.front());
        pending_.pop_front();
      }
      http::HttpResponse response;
      response.status = 200;
      done(std::move(response));
      absl::MutexLock lock(&mu_);
      ++answered_;
    }
  }

  absl::Mutex mu_;
  std::deque<Callback> pending_;
  uint64_t accepted_ = 0;
  uint64_t answered_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

class DeliveryEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StorageOptions options;
    options.data_dir = dir_.Child("db");
    options.sync_writes = false;
    auto storage = storage::Storage::Open(options, clock_);
    ASSERT_TRUE(storage.ok()) << storage.status();
    storage_ = *std::move(storage);
    bus_ = std::make_unique<StatusBus>(storage_->events(), storage_->next_update_sequence() - 1);
  }

  void TearDown() override {
    if (engine_ != nullptr) engine_->Shutdown(absl::ZeroDuration());
    http_.Drain();  // no answer may reach the engine once it is gone
    if (storage_ != nullptr) storage_->SetUpdateListener(nullptr);
    engine_.reset();
  }

  void StartEngine(EngineOptions options) {
    engine_ = std::make_unique<DeliveryEngine>(storage_->events(), storage_->webhooks(), http_,
                                               *bus_, clock_, std::move(options));
    storage_->SetUpdateListener(engine_.get());
    engine_->Start();
  }

  std::string CreateWebhook(bool enabled) {
    storage::WebhookRecord webhook;
    webhook.set_account("acme");
    webhook.set_url("https://example.com/hook");
    webhook.set_enabled(enabled);
    webhook.set_create_time_us(absl::ToUnixMicros(clock_.Now()));
    webhook.add_secrets()->set_key(std::string(32, 's'));
    storage::CreateWebhookOptions options;
    options.now = clock_.Now();
    auto created = storage_->webhooks().Create(webhook, options);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->webhook.id() : "";
  }

  void Publish() {
    storage::PublishRequest request;
    request.account = "acme";
    request.event_type = "booking.created";
    request.data_json = "{}";
    absl::Notification done;
    storage_->events().Publish(std::move(request),
                               [&](absl::StatusOr<storage::PublishResult> published) {
                                 EXPECT_TRUE(published.ok()) << published.status();
                                 done.Notify();
                               });
    done.WaitForNotification();
  }

  TempDir dir_;
  FakeClock clock_;
  OkHttpClient http_;
  std::unique_ptr<storage::Storage> storage_;
  std::unique_ptr<StatusBus> bus_;
  std::unique_ptr<DeliveryEngine> engine_;
};

// Released deliveries are due at their publish time, before the scan floor.
// Those that do not fit in memory at once must still be found by the next
// scans, not only by the full walk once a minute.
TEST_F(DeliveryEngineTest, ReleasedBacklogLargerThanTheQueueIsSentPromptly) {
  EngineOptions options;
  options.max_queued = 8;  // at most 2 waiting per webhook
  options.max_in_flight_per_webhook = 1;
  options.rescan_interval = absl::Milliseconds(20);
  StartEngine(std::move(options));

  const std::string id = CreateWebhook(/*enabled=*/false);
  constexpr int kHeld = 10;
  for (int i = 0; i < kHeld; ++i) Publish();
  // Later scans start well after the publish times.
  clock_.Advance(absl::Minutes(1));
  absl::SleepFor(absl::Milliseconds(200));

  auto resumed = storage_->webhooks().Update("acme", id, [](storage::WebhookRecord& webhook) {
    webhook.set_enabled(true);
    return absl::OkStatus();
  });
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_TRUE(http_.WaitForSent(kHeld, absl::Seconds(10)));
}

}  // namespace
}  // namespace wink::webhooks::delivery
