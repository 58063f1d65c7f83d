// The delivery engine's scheduling, driven through a scripted HTTP client
// (the test answers each request when it wants) and a fake clock, over a
// real RocksDB backend in a temp dir: round-robin, limits, the
// unresponsive-receiver rule, retries by the clock and the random source,
// cancellation on delete, and shutdown.
#include "service/delivery/engine.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/storage/backend.h"
#include "rocksdb/write_batch.h"
#include "service/storage/rocksdb/backend.h"
#include "service/storage/rocksdb/database.h"
#include "service/storage/rocksdb/keys.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/full_disk.h"
#include "tests/fakes/fixed_random.h"
#include "tests/fakes/scripted_http_client.h"
#include "tests/fakes/temp_dir.h"
#include "tests/storage/publish_and_wait.h"

namespace wink::webhooks::delivery {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::wink::webhooks::testing::FakeClock;
using ::wink::webhooks::testing::BookingCreated;
using ::wink::webhooks::testing::FullDisk;
using ::wink::webhooks::testing::FixedRandom;
using ::wink::webhooks::testing::PublishAndWait;
using ::wink::webhooks::testing::ScriptedHttpClient;
using ::wink::webhooks::testing::TempDir;

// Waits until `condition` holds; false after `timeout`.
bool Eventually(const std::function<bool()>& condition,
                absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

class DeliveryEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::rocks::RocksDbOptions options;
    options.data_dir = dir_.Child("db");
    options.sync_writes = false;
    options.env = full_disk_.env();
    auto backend = storage::rocks::OpenRocksDbBackend(options, clock_, nullptr);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);
  }

  void TearDown() override {
    if (engine_ != nullptr) engine_->Shutdown(absl::ZeroDuration());
    backend_->StopWrites();
    if (engine_ != nullptr) backend_->updates().RemoveListener(engine_.get());
  }

  void StartEngine(EngineOptions options) {
    engine_ = std::make_unique<DeliveryEngine>(
        EngineStorage{backend_->deliveries(), backend_->due_queue(), backend_->retention()}, http_,
        keyring_, clock_, random_, std::move(options));
    backend_->updates().AddListener(engine_.get());
    engine_->Start();
  }

  // A webhook of "acme" posting to https://<name>.example/hook.
  std::string CreateWebhook(const std::string& name, bool enabled = true) {
    domain::WebhookRecord webhook;
    webhook.set_account("acme");
    webhook.set_url(Url(name));
    webhook.set_enabled(enabled);
    webhook.add_secrets()->set_key(std::string(32, 's'));
    storage::CreateWebhookOptions options;
    options.now = clock_.Now();
    auto created = backend_->webhooks().Create(webhook, options);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->webhook.id() : "";
  }

  // Pauses or resumes a webhook the way UpdateWebhook does (storage only).
  void SetEnabled(const std::string& webhook_id, bool enabled) {
    ASSERT_TRUE(backend_->webhooks()
                    .Update("acme", webhook_id,
                            [enabled](domain::WebhookRecord& record) {
                              record.set_enabled(enabled);
                              return absl::OkStatus();
                            })
                    .ok());
  }

  static std::string Url(const std::string& name) {
    return absl::StrCat("https://", name, ".example/hook");
  }

  // Publishes one event for every webhook of "acme"; returns its id.
  std::string Publish() {
    const auto published = PublishAndWait(backend_->events(), BookingCreated("acme"));
    EXPECT_TRUE(published.ok()) << published.status();
    return published.ok() ? published->event.id() : "";
  }

  domain::DeliveryRecord Delivery(const std::string& webhook_id, const std::string& event_id) {
    auto loaded = backend_->deliveries().LoadAttempt(webhook_id, event_id);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return loaded.ok() ? loaded->delivery : domain::DeliveryRecord();
  }

  // The short name ("a" of https://a.example/hook) of each request sent, in
  // order.
  std::vector<std::string> SentTo() const {
    std::vector<std::string> names;
    for (const auto& sent : http_.sent()) {
      const std::string& url = sent.request.url;
      names.push_back(url.substr(8, url.find('.') - 8));
    }
    return names;
  }

  TempDir dir_;
  FullDisk full_disk_;  // outlives the backend
  FakeClock clock_;
  FixedRandom random_{0.5};
  ScriptedHttpClient http_;
  secrets::Keyring keyring_;  // no key: the tests' webhooks are not sealed
  std::unique_ptr<storage::StorageBackend> backend_;
  std::unique_ptr<DeliveryEngine> engine_;
};

// A POST that succeeded but whose result cannot be stored (disk full) used
// to be sent again every second, without end. Now nothing is sent until
// storage takes writes again; then the delivery goes out once more (at
// least once) and is recorded.
TEST_F(DeliveryEngineTest, NothingIsSentWhileAttemptsCannotBeRecorded) {
  const std::string webhook = CreateWebhook("a");
  const std::string event = Publish();
  StartEngine(EngineOptions{});
  ASSERT_TRUE(http_.WaitForSent(1));
  full_disk_.SetFull(true);
  http_.AnswerStatus(http_.open().at(0), 200);
  ASSERT_TRUE(Eventually([&] { return full_disk_.refused_writes() > 0; }));

  for (int second = 0; second < 60; ++second) {
    clock_.Advance(absl::Seconds(1));
    engine_->Wake();
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(http_.sent().size(), 1u) << "sent again while the result could not be stored";
  EXPECT_EQ(Delivery(webhook, event).state(), domain::kPending);

  full_disk_.SetFull(false);
  // The next probe (at most 30 s away) finds storage writable again.
  ASSERT_TRUE(Eventually([&] {
    clock_.Advance(absl::Seconds(1));
    engine_->Wake();
    return http_.sent().size() == 2;
  }));
  http_.AnswerStatus(http_.open().at(0), 200);
  EXPECT_TRUE(Eventually([&] { return Delivery(webhook, event).state() == domain::kSucceeded; }));
  EXPECT_EQ(http_.sent().size(), 2u);
}

// Only a storage that cannot commit pauses the engine: one delivery whose
// records cannot be read (DATA_LOSS) is retried on later scans while the
// others go on.
TEST_F(DeliveryEngineTest, ADeliveryThatCannotBeReadDoesNotStopTheOthers) {
  const std::string broken = CreateWebhook("broken");
  CreateWebhook("healthy");
  for (int i = 0; i < 3; ++i) Publish();
  // The broken webhook's record, unreadable, written behind the backend's back.
  backend_->StopWrites();
  backend_.reset();
  {
    storage::rocks::DatabaseOptions options;
    options.path = dir_.Child("db");
    options.sync_writes = false;
    auto db = storage::rocks::Database::Open(options);
    ASSERT_TRUE(db.ok()) << db.status();
    rocksdb::WriteBatch batch;
    ASSERT_TRUE(batch
                    .Put((*db)->handle(storage::rocks::ColumnFamily::kWebhooks),
                         storage::rocks::WebhookKey("acme", broken), "not a record")
                    .ok());
    ASSERT_TRUE((*db)->Write(batch).ok());
  }
  SetUp();

  EngineOptions options;
  options.max_in_flight_per_webhook = 1;  // the healthy ones go one after the other
  StartEngine(std::move(options));
  // The clock stands still: a pause would hold the second one for good.
  for (int sent = 1; sent <= 3; ++sent) {
    ASSERT_TRUE(http_.WaitForSent(sent)) << "delivery " << sent;
    http_.AnswerStatus(http_.open().at(0), 200);
  }
  EXPECT_THAT(SentTo(), ElementsAre("healthy", "healthy", "healthy"));
}

TEST_F(DeliveryEngineTest, WebhooksTakeTurnsWithinTheGlobalLimit) {
  CreateWebhook("a");
  CreateWebhook("b");
  for (int i = 0; i < 3; ++i) Publish();  // 3 deliveries each
  EngineOptions options;
  options.max_in_flight = 2;
  StartEngine(std::move(options));

  ASSERT_TRUE(http_.WaitForSent(2));
  EXPECT_THAT(SentTo(), ElementsAre("a", "b")) << "one each, not a's backlog first";
  for (int round = 0; round < 2; ++round) {
    const std::vector<uint64_t> open = http_.open();
    ASSERT_EQ(open.size(), 2u);
    for (uint64_t id : open) http_.AnswerStatus(id, 200);
    ASSERT_TRUE(http_.WaitForSent(4 + 2 * round));
  }
  EXPECT_THAT(SentTo(), ElementsAre("a", "b", "a", "b", "a", "b"));
}

// A scan walks the queue written since the last full walk (dense with
// deleted entries under load) in slices, and sends what a slice found
// before reading the next: a delivery found early does not wait for the
// rest of the walk. Here "a"'s first two deliveries are due 5 s before the
// third publish's, and the engine starts half a minute later (older than
// the late-commit margin: sliced too, in slices of ~1.1 s); read in one
// walk, the webhooks would take turns (a, b, a, a).
TEST_F(DeliveryEngineTest, AScanSendsWhatItFoundBeforeReadingTheRestOfTheQueue) {
  CreateWebhook("a");
  Publish();
  Publish();
  clock_.Advance(absl::Seconds(5));
  CreateWebhook("b");
  Publish();  // one delivery each
  clock_.Advance(absl::Seconds(30));
  StartEngine(EngineOptions{});

  ASSERT_TRUE(http_.WaitForSent(4));
  const std::vector<std::string> sent = SentTo();
  EXPECT_THAT(std::vector<std::string>(sent.begin(), sent.begin() + 2), ElementsAre("a", "a"))
      << "the earlier slice's deliveries go before the later slice is read";
  // All in one scan (the later slices are read after the sends above).
  EXPECT_TRUE(Eventually([&] { return engine_->scan_counts().scans == 1; }));
  for (uint64_t id : http_.open()) http_.AnswerStatus(id, 200);
}

TEST_F(DeliveryEngineTest, AWebhookAtItsLimitWaitsWhileAnotherIsServed) {
  CreateWebhook("slow");
  Publish();
  Publish();
  Publish();
  CreateWebhook("fast");
  EngineOptions options;
  options.max_in_flight_per_webhook = 2;
  StartEngine(std::move(options));
  ASSERT_TRUE(http_.WaitForSent(2));  // slow's two

  // Each publish now reaches both; only fast's requests are answered.
  for (int i = 0; i < 3; ++i) {
    Publish();
    ASSERT_TRUE(Eventually([&] {
      for (const auto& sent : http_.sent()) {
        if (sent.open && sent.request.url == Url("fast")) return true;
      }
      return false;
    }));
    for (const auto& sent : http_.sent()) {
      if (sent.open && sent.request.url == Url("fast")) http_.AnswerStatus(sent.id, 200);
    }
  }

  EXPECT_EQ(http_.max_open_to(Url("slow")), 2);
  int slow_sent = 0;
  for (const std::string& to : SentTo()) slow_sent += to == "slow";
  EXPECT_EQ(slow_sent, 2) << "nothing more to slow while its two hang";
}

// A receiver that times out gets one request at a time until it answers.
TEST_F(DeliveryEngineTest, AnUnresponsiveReceiverGetsOneRequestAtATime) {
  const std::string webhook = CreateWebhook("dead");
  for (int i = 0; i < 6; ++i) Publish();
  EngineOptions options;
  options.max_in_flight_per_webhook = 4;
  StartEngine(std::move(options));
  ASSERT_TRUE(http_.WaitForSent(4));

  for (uint64_t id : http_.open()) {
    http_.AnswerTransportError(id, http::TransportError::kTimeout);
  }

  EXPECT_EQ(engine_->limit_of(webhook), 1);
  ASSERT_TRUE(http_.WaitForSent(5));
  ASSERT_TRUE(Eventually([&] { return engine_->queued() == 1; }));
  absl::SleepFor(absl::Milliseconds(50));  // a chance to break the rule
  EXPECT_EQ(http_.sent().size(), 5u);
  EXPECT_EQ(http_.open().size(), 1u);

  http_.AnswerStatus(http_.open().front(), 500);  // an answer: the share doubles
  EXPECT_EQ(engine_->limit_of(webhook), 2);
  ASSERT_TRUE(http_.WaitForSent(6));
}

// A failed attempt is retried when the clock reaches the time the rules and
// the random source gave it (5 s, less 20% at 0.0).
TEST_F(DeliveryEngineTest, ARetryGoesOutWhenTheClockReachesItsJitteredTime) {
  const std::string webhook = CreateWebhook("flaky");
  random_.Set(0.0);
  const std::string event = Publish();
  StartEngine(EngineOptions{});
  ASSERT_TRUE(http_.WaitForSent(1));

  http_.AnswerStatus(1, 503);

  ASSERT_TRUE(
      Eventually([&] { return Delivery(webhook, event).state() == domain::kRetryScheduled; }));
  EXPECT_EQ(Delivery(webhook, event).next_attempt_time_us(),
            absl::ToUnixMicros(clock_.Now() + absl::Seconds(4)));
  clock_.Advance(absl::Seconds(4) - absl::Microseconds(1));
  engine_->Wake();
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(http_.sent().size(), 1u) << "not before its time";

  clock_.Advance(absl::Microseconds(1));
  engine_->Wake();

  ASSERT_TRUE(http_.WaitForSent(2));
  http_.AnswerStatus(2, 200);
  ASSERT_TRUE(Eventually([&] { return Delivery(webhook, event).state() == domain::kSucceeded; }));
  EXPECT_EQ(Delivery(webhook, event).attempt_count(), 2);
}

// Deleting a webhook aborts its request on the wire and sends nothing more.
TEST_F(DeliveryEngineTest, DeleteAbortsTheRequestOnTheWireAndSendsNothingMore) {
  const std::string webhook = CreateWebhook("doomed");
  const std::string first = Publish();
  const std::string second = Publish();
  EngineOptions options;
  options.max_in_flight_per_webhook = 1;
  StartEngine(std::move(options));
  ASSERT_TRUE(http_.WaitForSent(1));

  ASSERT_TRUE(backend_->webhooks().Delete("acme", webhook).ok());

  ASSERT_TRUE(Eventually([&] { return http_.sent()[0].cancelled; }));
  ASSERT_TRUE(Eventually([&] { return engine_->in_flight() == 0; }));
  Publish();
  engine_->Wake();
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(http_.sent().size(), 1u);
  // The aborted request may have reached the receiver: it is logged as an
  // attempt, and the delivery stays cancelled.
  EXPECT_EQ(Delivery(webhook, first).state(), domain::kCancelled);
  EXPECT_EQ(Delivery(webhook, first).attempt_count(), 1);
  EXPECT_EQ(Delivery(webhook, first).last_attempt().error(), "cancelled");
  EXPECT_EQ(Delivery(webhook, second).state(), domain::kCancelled);
}

// A request still open at shutdown is cancelled, not recorded: the delivery
// stays due and goes out again after a restart.
TEST_F(DeliveryEngineTest, ShutdownLeavesAnUnansweredDeliveryDue) {
  const std::string webhook = CreateWebhook("hanging");
  const std::string event = Publish();
  StartEngine(EngineOptions{});
  ASSERT_TRUE(http_.WaitForSent(1));

  engine_->Shutdown(absl::ZeroDuration());

  EXPECT_TRUE(http_.sent()[0].cancelled || !http_.sent()[0].open);
  const domain::DeliveryRecord delivery = Delivery(webhook, event);
  EXPECT_EQ(delivery.state(), domain::kPending);
  EXPECT_EQ(delivery.attempt_count(), 0);
}

// A delivery found due for a paused webhook is parked (HELD), not sent.
TEST_F(DeliveryEngineTest, ADueDeliveryOfAPausedWebhookIsParkedNotSent) {
  const std::string webhook = CreateWebhook("paused");
  const std::string event = Publish();
  SetEnabled(webhook, false);
  StartEngine(EngineOptions{});

  ASSERT_TRUE(Eventually([&] { return Delivery(webhook, event).state() == domain::kHeld; }));
  EXPECT_THAT(http_.sent(), IsEmpty());
}

// Released deliveries are due at their publish time, before the scan floor.
// Those that do not fit in memory at once must still be found by the next
// scans, not only by the full walk once a minute.
TEST_F(DeliveryEngineTest, AReleasedBacklogLargerThanMemoryIsSentPromptly) {
  EngineOptions options;
  options.max_queued = 8;  // at most 2 waiting per webhook
  options.max_in_flight_per_webhook = 1;
  StartEngine(std::move(options));
  const std::string webhook = CreateWebhook("backlog", /*enabled=*/false);
  constexpr int kHeld = 10;
  for (int i = 0; i < kHeld; ++i) Publish();
  clock_.Advance(absl::Minutes(1));  // later scans start well after the publishes
  engine_->Wake();

  SetEnabled(webhook, true);

  for (int i = 1; i <= kHeld; ++i) {
    ASSERT_TRUE(http_.WaitForSent(i)) << i;
    http_.AnswerStatus(i, 200);
  }
}

// The same backlog over eight webhooks, released one after the other, with
// more than fits in memory: every delivery goes out exactly once, through
// evictions to fair shares and the refills that follow. (How often it scans
// is timing-dependent here; DispatchQueueTest pins when a refill is asked.)
TEST_F(DeliveryEngineTest, ABacklogOverManyWebhooksIsSentOnceToEach) {
  EngineOptions options;
  options.max_queued = 80;  // 20 waiting per webhook at most, 10 each for eight
  options.max_in_flight_per_webhook = 2;
  StartEngine(std::move(options));
  constexpr int kWebhooks = 8;
  constexpr int kEvents = 30;
  std::vector<std::string> webhooks;
  for (int w = 0; w < kWebhooks; ++w) {
    webhooks.push_back(CreateWebhook(absl::StrCat("w", w), /*enabled=*/false));
  }
  for (int i = 0; i < kEvents; ++i) Publish();
  clock_.Advance(absl::Minutes(1));
  engine_->Wake();
  ASSERT_TRUE(Eventually([&] { return engine_->scan_counts().scans >= 2; }));
  for (const std::string& webhook : webhooks) {
    SetEnabled(webhook, true);
  }
  constexpr int kDeliveries = kWebhooks * kEvents;
  for (int i = 1; i <= kDeliveries; ++i) {
    ASSERT_TRUE(http_.WaitForSent(i)) << i;
    http_.AnswerStatus(i, 200);
  }
  absl::SleepFor(absl::Milliseconds(50));  // anything sent twice would show now
  std::map<std::string, int> sent_to;
  for (const std::string& name : SentTo()) ++sent_to[name];
  ASSERT_EQ(sent_to.size(), static_cast<size_t>(kWebhooks));
  for (const auto& [name, count] : sent_to) EXPECT_EQ(count, kEvents) << name;
}


// A scan at time T used to set the next scan at the first entry due after
// T, even when that entry was already in memory: a publish committed while
// the scan ran. A steady stream of publishes then kept the scheduler
// scanning back to back (~20 scans/s reading up to 100,000 entries each).
// Stepping the clock back stands in for "the scan read the clock before the
// publish committed".
TEST_F(DeliveryEngineTest, AnEntryAlreadyInMemoryDoesNotScheduleAnotherScan) {
  EngineOptions options;
  options.rescan_interval = absl::Hours(1);  // no periodic scans
  const std::string webhook = CreateWebhook("a");
  StartEngine(std::move(options));
  ASSERT_TRUE(Eventually([&] { return engine_->scan_counts().scans >= 1; }));
  const absl::Time scan_time = clock_.Now();
  clock_.Advance(absl::Milliseconds(10));
  Publish();
  ASSERT_TRUE(http_.WaitForSent(1));  // in memory, on the wire, unanswered
  const int64_t scans_before = engine_->scan_counts().scans;

  clock_.Set(scan_time);
  engine_->Wake();
  ASSERT_TRUE(Eventually([&] { return engine_->scan_counts().scans == scans_before + 1; }));
  clock_.Advance(absl::Milliseconds(11));  // past the publish's due time
  absl::SleepFor(absl::Milliseconds(300));  // the scheduler's timer is real time

  EXPECT_EQ(engine_->scan_counts().scans, scans_before + 1);
  EXPECT_EQ(http_.sent().size(), 1u);
  http_.AnswerStatus(1, 200);
}


// The timer can be set at an entry whose update has not reached the engine
// yet (committed, hooks not run). When it fires and that entry has been
// taken since, there is nothing to scan for. Here the entry's update never
// comes (the engine is not listening when it is published) and its webhook
// fills up meanwhile, leaving it to the webhook's refill; the timer must not
// scan, and the entry must still go out once, through the refill.
TEST_F(DeliveryEngineTest, ATimerForAnEntryTakenSinceDoesNotScan) {
  EngineOptions options;
  options.rescan_interval = absl::Hours(1);  // no periodic scans
  options.max_queued = 4;                    // one waiting per webhook
  options.max_in_flight_per_webhook = 1;
  const std::string webhook = CreateWebhook("a");
  StartEngine(std::move(options));
  ASSERT_TRUE(Eventually([&] { return engine_->scan_counts().scans >= 1; }));
  const absl::Time scan_time = clock_.Now();
  backend_->updates().RemoveListener(engine_.get());
  clock_.Advance(absl::Milliseconds(10));
  const std::string unannounced = Publish();
  backend_->updates().AddListener(engine_.get());
  clock_.Set(scan_time);
  const int64_t scans_before = engine_->scan_counts().scans;
  engine_->Wake();  // this scan sets the timer at the unannounced entry
  ASSERT_TRUE(Eventually([&] { return engine_->scan_counts().scans == scans_before + 1; }));

  clock_.Advance(absl::Milliseconds(5));
  const std::string first = Publish();
  ASSERT_TRUE(http_.WaitForSent(1));  // its webhook's one slot
  const std::string second = Publish();  // waits
  const std::string third = Publish();   // does not fit: left to the refill
  clock_.Advance(absl::Milliseconds(6));  // past the timer
  absl::SleepFor(absl::Milliseconds(300));  // the scheduler's timer is real time

  EXPECT_EQ(engine_->scan_counts().scans, scans_before + 1);
  for (int sent = 1; sent <= 4; ++sent) {
    ASSERT_TRUE(http_.WaitForSent(sent)) << sent;
    http_.AnswerStatus(sent, 200);
  }
  for (const std::string& event : {unannounced, first, second, third}) {
    EXPECT_TRUE(Eventually([&] { return Delivery(webhook, event).state() == domain::kSucceeded; }))
        << event;
  }
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(http_.sent().size(), 4u);
}

}  // namespace
}  // namespace wink::webhooks::delivery
