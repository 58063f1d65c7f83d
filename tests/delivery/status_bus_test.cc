// Component test: the bus over a real update log (the RocksDB backend in a temp dir).
#include "service/delivery/status_bus.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/storage/backend.h"
#include "service/storage/rocksdb/backend.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/temp_dir.h"

namespace wink::webhooks::delivery {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::wink::webhooks::storage::DeliveryUpdate;
using ::wink::webhooks::testing::FakeClock;
using ::wink::webhooks::testing::TempDir;

constexpr char kAccount[] = "acme-hotels";

// A watcher that does nothing when woken: while one is subscribed, the bus
// keeps recent updates in its ring.
int Watch(StatusBus& bus) {
  return bus.Subscribe([](bool) {});
}

std::vector<uint64_t> Sequences(const std::vector<DeliveryUpdate>& updates) {
  std::vector<uint64_t> out;
  for (const auto& update : updates) out.push_back(update.sequence);
  return out;
}

DeliveryUpdate Update(uint64_t sequence) {
  DeliveryUpdate update;
  update.sequence = sequence;
  update.delivery.set_account(kAccount);
  update.delivery.set_webhook_id("wh_synthetic");
  update.delivery.set_event_id("evt_" + std::to_string(sequence));
  return update;
}

// Hands committed updates to the bus, as the delivery engine does.
class BusForwarder : public storage::UpdateListener {
 public:
  void OnDeliveryUpdate(const DeliveryUpdate& update) override {
    absl::MutexLock lock(&mu_);
    if (bus_ != nullptr) bus_->OnDeliveryUpdate(update);
    seen_.push_back(update);
  }
  void set_bus(StatusBus* bus) {
    absl::MutexLock lock(&mu_);
    bus_ = bus;
  }
  std::vector<DeliveryUpdate> seen() const {
    absl::MutexLock lock(&mu_);
    return seen_;
  }

 private:
  mutable absl::Mutex mu_;
  StatusBus* bus_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::vector<DeliveryUpdate> seen_ ABSL_GUARDED_BY(mu_);
};

class StatusBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::rocks::RocksDbOptions options;
    options.data_dir = dir_.Child("db");
    // Tests check logic, not durability; skipping fsync keeps them fast.
    options.sync_writes = false;
    auto opened = storage::rocks::OpenRocksDbBackend(options, clock_, /*observer=*/nullptr);
    ASSERT_TRUE(opened.ok()) << opened.status();
    storage_ = *std::move(opened);
    storage_->updates().AddListener(&forwarder_);
  }

  void TearDown() override {
    if (storage_ != nullptr) storage_->StopWrites();
  }

  // A bus that hears every update committed from now on.
  StatusBus& NewBus(size_t ring_capacity) {
    bus_ = std::make_unique<StatusBus>(storage_->updates(), storage_->updates().LastSequence(),
                                       ring_capacity);
    forwarder_.set_bus(bus_.get());
    return *bus_;
  }

  // Creates an enabled webhook of kAccount for every event type.
  void CreateWebhook() {
    domain::WebhookRecord webhook;
    webhook.set_account(kAccount);
    webhook.set_display_name("Channel manager");
    webhook.set_url("https://example.com/hook");
    webhook.set_enabled(true);
    webhook.set_create_time_us(absl::ToUnixMicros(clock_.Now()));
    webhook.set_update_time_us(absl::ToUnixMicros(clock_.Now()));
    webhook.add_secrets()->set_key(std::string(32, 's'));
    storage::CreateWebhookOptions options;
    options.now = clock_.Now();
    auto created = storage_->webhooks().Create(webhook, options);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  // Publishes one event (one update per webhook) and waits until it is
  // committed, which is after the listener has heard of its updates.
  void PublishEvent() {
    storage::PublishRequest request;
    request.account = kAccount;
    request.event_type = "booking.created";
    request.data_json = "{}";
    absl::Notification done;
    absl::Status status;
    storage_->events().Publish(request, [&](absl::StatusOr<storage::PublishResult> result) {
      status = result.status();
      done.Notify();
    });
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    ASSERT_TRUE(status.ok()) << status;
  }

  void PublishEvents(int n) {
    for (int i = 0; i < n; ++i) ASSERT_NO_FATAL_FAILURE(PublishEvent());
  }

  TempDir dir_;
  FakeClock clock_;
  BusForwarder forwarder_;
  std::unique_ptr<storage::StorageBackend> storage_;
  // Destroyed first; TearDown has stopped the writes that publish to it.
  std::unique_ptr<StatusBus> bus_;
};

TEST_F(StatusBusTest, LastSequenceStartsAtTheLogsNewestAndFollowsPublish) {
  StatusBus bus(storage_->updates(), /*last_sequence=*/41);
  EXPECT_EQ(bus.last_sequence(), 41u);

  bus.OnDeliveryUpdate(Update(42));

  EXPECT_EQ(bus.last_sequence(), 42u);
}

TEST_F(StatusBusTest, ReadsUpdatesAfterTheCursorInOrderFromTheRing) {
  // The store is empty: everything read comes from the ring.
  StatusBus bus(storage_->updates(), /*last_sequence=*/0);
  Watch(bus);
  for (uint64_t sequence = 1; sequence <= 5; ++sequence) bus.OnDeliveryUpdate(Update(sequence));

  auto all = bus.Read(0, 100);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(Sequences(*all), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_EQ((*all)[2].delivery.event_id(), "evt_3");

  auto after_two = bus.Read(2, 100);
  ASSERT_TRUE(after_two.ok()) << after_two.status();
  EXPECT_THAT(Sequences(*after_two), ElementsAre(3, 4, 5));

  auto limited = bus.Read(1, 2);
  ASSERT_TRUE(limited.ok()) << limited.status();
  EXPECT_THAT(Sequences(*limited), ElementsAre(2, 3));
}

TEST_F(StatusBusTest, ReadAtOrAfterTheNewestIsEmpty) {
  StatusBus bus(storage_->updates(), /*last_sequence=*/0);
  auto nothing_yet = bus.Read(0, 10);
  ASSERT_TRUE(nothing_yet.ok()) << nothing_yet.status();
  EXPECT_THAT(*nothing_yet, IsEmpty());

  bus.OnDeliveryUpdate(Update(1));
  bus.OnDeliveryUpdate(Update(2));

  auto at_last = bus.Read(2, 10);
  ASSERT_TRUE(at_last.ok()) << at_last.status();
  EXPECT_THAT(*at_last, IsEmpty());
  auto beyond = bus.Read(7, 10);
  ASSERT_TRUE(beyond.ok()) << beyond.status();
  EXPECT_THAT(*beyond, IsEmpty());
}

TEST_F(StatusBusTest, FullRingDropsTheOldestAndReadsThemFromTheStore) {
  ASSERT_NO_FATAL_FAILURE(CreateWebhook());
  StatusBus& bus = NewBus(/*ring_capacity=*/4);
  Watch(bus);
  const uint64_t start = bus.last_sequence();

  ASSERT_NO_FATAL_FAILURE(PublishEvents(7));

  const std::vector<DeliveryUpdate> seen = forwarder_.seen();
  ASSERT_EQ(seen.size(), 7u);
  std::vector<uint64_t> expected;
  for (uint64_t i = 1; i <= 7; ++i) expected.push_back(start + i);
  ASSERT_THAT(Sequences(seen), ElementsAreArray(expected));
  EXPECT_EQ(bus.last_sequence(), start + 7);

  // The ring holds the newest four; older ones come from the `updates` log.
  auto from_store = bus.Read(start, 100);
  ASSERT_TRUE(from_store.ok()) << from_store.status();
  EXPECT_THAT(Sequences(*from_store), ElementsAreArray(expected));
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ((*from_store)[i].delivery.event_id(), seen[i].delivery.event_id()) << i;
    EXPECT_EQ((*from_store)[i].delivery.webhook_id(), seen[i].delivery.webhook_id()) << i;
    EXPECT_EQ((*from_store)[i].delivery.state(), seen[i].delivery.state()) << i;
  }

  auto limited = bus.Read(start + 1, 2);
  ASSERT_TRUE(limited.ok()) << limited.status();
  EXPECT_THAT(Sequences(*limited), ElementsAre(start + 2, start + 3));

  auto from_ring = bus.Read(start + 3, 100);
  ASSERT_TRUE(from_ring.ok()) << from_ring.status();
  EXPECT_THAT(Sequences(*from_ring), ElementsAre(start + 4, start + 5, start + 6, start + 7));
  EXPECT_EQ((*from_ring)[0].delivery.event_id(), seen[3].delivery.event_id());

  auto last = bus.Read(start + 7, 100);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_THAT(*last, IsEmpty());
}

TEST_F(StatusBusTest, BusStartedAfterUpdatesReadsThemFromTheStore) {
  // As after a restart: the log holds updates, the new bus's ring is empty.
  ASSERT_NO_FATAL_FAILURE(CreateWebhook());
  ASSERT_NO_FATAL_FAILURE(CreateWebhook());
  ASSERT_NO_FATAL_FAILURE(PublishEvents(2));
  const std::vector<DeliveryUpdate> seen = forwarder_.seen();
  ASSERT_EQ(seen.size(), 4u);

  StatusBus& bus = NewBus(/*ring_capacity=*/16);
  EXPECT_EQ(bus.last_sequence(), seen.back().sequence);

  auto all = bus.Read(seen.front().sequence - 1, 100);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(Sequences(*all), Sequences(seen));
  auto none = bus.Read(seen.back().sequence, 100);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, IsEmpty());
}

TEST_F(StatusBusTest, ReadAfterPurgedUpdatesIsOutOfRange) {
  ASSERT_NO_FATAL_FAILURE(CreateWebhook());
  StatusBus& bus = NewBus(/*ring_capacity=*/2);
  Watch(bus);
  const uint64_t start = bus.last_sequence();
  ASSERT_NO_FATAL_FAILURE(PublishEvents(3));  // start+1 .. start+3
  clock_.Advance(absl::Hours(2));
  ASSERT_NO_FATAL_FAILURE(PublishEvents(3));  // start+4 .. start+6, ring: +5 +6

  auto purged = storage_->retention().PurgeOlderThan(clock_.Now() - absl::Hours(1), 100);
  ASSERT_TRUE(purged.ok()) << purged.status();
  ASSERT_EQ(purged->events, 3);

  for (uint64_t after : {start, start + 1, start + 2}) {
    auto gone = bus.Read(after, 100);
    EXPECT_EQ(gone.status().code(), absl::StatusCode::kOutOfRange) << after;
    EXPECT_THAT(std::string(gone.status().message()),
                HasSubstr(absl::StrCat("after cursor ", after, " are no longer retained")));
  }
  // The first retained update is still readable (from the store), and the
  // newest from the ring.
  auto kept = bus.Read(start + 3, 100);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_THAT(Sequences(*kept), ElementsAre(start + 4, start + 5, start + 6));
  auto ring = bus.ReadRecent(start + 4, 100);
  ASSERT_TRUE(ring.has_value()) << "the newest two are in memory";
  EXPECT_THAT(Sequences(*ring), ElementsAre(start + 5, start + 6));
}

// Wake-ups run on the bus thread: tests wait for what they expect, with a
// deadline, instead of assuming it already happened.
TEST_F(StatusBusTest, SubscribersAreWokenOnPublish) {
  absl::Mutex mu;
  uint64_t first_saw = 0;
  uint64_t second_saw = 0;
  // Declared after what its subscribers use: destroyed (and its thread
  // joined) before them.
  StatusBus bus(storage_->updates(), /*last_sequence=*/0);
  bus.Subscribe([&](bool) {
    absl::MutexLock lock(&mu);
    first_saw = bus.last_sequence();
  });
  bus.Subscribe([&](bool) {
    absl::MutexLock lock(&mu);
    second_saw = bus.last_sequence();
  });

  bus.OnDeliveryUpdate(Update(1));
  bus.OnDeliveryUpdate(Update(2));

  absl::MutexLock lock(&mu);
  auto both_saw_2 = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu) {
    return first_saw == 2 && second_saw == 2;
  };
  EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&both_saw_2), absl::Seconds(10)));
}

TEST_F(StatusBusTest, WakeUpCanReadWhatWasPublished) {
  absl::Mutex mu;
  std::vector<uint64_t> read;
  // Declared after what its subscribers use: destroyed (and its thread
  // joined) before them.
  StatusBus bus(storage_->updates(), /*last_sequence=*/0);
  bus.Subscribe([&](bool) {
    absl::MutexLock lock(&mu);
    auto updates = bus.Read(read.empty() ? 0 : read.back(), 10);
    ASSERT_TRUE(updates.ok()) << updates.status();
    for (const auto& update : *updates) read.push_back(update.sequence);
  });

  bus.OnDeliveryUpdate(Update(1));
  bus.OnDeliveryUpdate(Update(2));

  absl::MutexLock lock(&mu);
  auto read_both = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu) { return read.size() >= 2; };
  EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&read_both), absl::Seconds(10)));
  EXPECT_THAT(read, ElementsAre(1, 2));
}

TEST_F(StatusBusTest, UnsubscribedAreNotWokenAgain) {
  absl::Mutex mu;
  uint64_t kept_saw = 0;
  int dropped = 0;
  // Declared after what its subscribers use: destroyed (and its thread
  // joined) before them.
  StatusBus bus(storage_->updates(), /*last_sequence=*/0);
  bus.Subscribe([&](bool) {
    absl::MutexLock lock(&mu);
    kept_saw = bus.last_sequence();
  });
  const int id = bus.Subscribe([&](bool) {
    absl::MutexLock lock(&mu);
    ++dropped;
  });
  bus.OnDeliveryUpdate(Update(1));
  {
    absl::MutexLock lock(&mu);
    auto dropped_woken = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu) { return dropped > 0; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&dropped_woken), absl::Seconds(10)));
  }

  bus.Unsubscribe(id);
  int dropped_at_unsubscribe;
  {
    absl::MutexLock lock(&mu);
    dropped_at_unsubscribe = dropped;
  }
  bus.OnDeliveryUpdate(Update(2));

  absl::MutexLock lock(&mu);
  auto kept_saw_2 = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu) { return kept_saw == 2; };
  EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&kept_saw_2), absl::Seconds(10)));
  EXPECT_EQ(dropped, dropped_at_unsubscribe);
}

TEST_F(StatusBusTest, UnsubscribeWaitsForARunningWakeUp) {
  StatusBus bus(storage_->updates(), /*last_sequence=*/0);
  absl::Notification wake_started;
  absl::Notification release_wake;
  std::atomic<bool> wake_finished{false};
  const int id = bus.Subscribe([&](bool) {
    wake_started.Notify();
    release_wake.WaitForNotification();
    wake_finished = true;
  });
  std::thread publisher([&] { bus.OnDeliveryUpdate(Update(1)); });
  const bool started = wake_started.WaitForNotificationWithTimeout(absl::Seconds(30));

  // Whenever Unsubscribe returns, the wake-up must be over.
  std::atomic<bool> finished_when_unsubscribed{false};
  std::thread unsubscriber([&] {
    bus.Unsubscribe(id);
    finished_when_unsubscribed = wake_finished.load();
  });
  release_wake.Notify();
  unsubscriber.join();
  publisher.join();

  EXPECT_TRUE(started);
  EXPECT_TRUE(finished_when_unsubscribed);
  bus.OnDeliveryUpdate(Update(2));  // would Notify wake_started twice (a crash) if still subscribed
}

TEST_F(StatusBusTest, ReadRecentServesOnlyWhatTheRingHolds) {
  ASSERT_NO_FATAL_FAILURE(CreateWebhook());
  StatusBus& bus = NewBus(/*ring_capacity=*/4);
  Watch(bus);
  const uint64_t start = bus.last_sequence();
  ASSERT_NO_FATAL_FAILURE(PublishEvents(7));

  EXPECT_FALSE(bus.ReadRecent(start, 100).has_value()) << "older than the ring: needs the log";
  EXPECT_FALSE(bus.ReadRecent(start + 2, 100).has_value());
  auto recent = bus.ReadRecent(start + 3, 2);
  ASSERT_TRUE(recent.has_value());
  EXPECT_THAT(Sequences(*recent), ElementsAre(start + 4, start + 5));
  auto none = bus.ReadRecent(start + 7, 100);
  ASSERT_TRUE(none.has_value());
  EXPECT_THAT(*none, IsEmpty());
}

// Nobody watching, nothing is kept in memory: a watcher that comes later
// reads the updates before it from the log, and those after it from the
// ring, until the last watcher leaves.
TEST_F(StatusBusTest, TheRingIsKeptOnlyWhileSomeoneWatches) {
  ASSERT_NO_FATAL_FAILURE(CreateWebhook());
  StatusBus& bus = NewBus(/*ring_capacity=*/100);
  const uint64_t start = bus.last_sequence();
  ASSERT_NO_FATAL_FAILURE(PublishEvents(3));
  EXPECT_EQ(bus.last_sequence(), start + 3);
  EXPECT_FALSE(bus.ReadRecent(start, 100).has_value()) << "unwatched: not in memory";
  auto unwatched = bus.Read(start, 100);
  ASSERT_TRUE(unwatched.ok()) << unwatched.status();
  EXPECT_THAT(Sequences(*unwatched), ElementsAre(start + 1, start + 2, start + 3));
  EXPECT_EQ((*unwatched)[2].delivery.event_id(), forwarder_.seen()[2].delivery.event_id());

  const int watcher = Watch(bus);
  const int other_watcher = Watch(bus);
  ASSERT_NO_FATAL_FAILURE(PublishEvents(2));
  EXPECT_FALSE(bus.ReadRecent(start + 2, 100).has_value()) << "from before the watcher";
  auto watched = bus.ReadRecent(start + 3, 100);
  ASSERT_TRUE(watched.has_value());
  EXPECT_THAT(Sequences(*watched), ElementsAre(start + 4, start + 5));
  EXPECT_EQ((*watched)[1].delivery.event_id(), forwarder_.seen()[4].delivery.event_id());
  auto across = bus.Read(start, 100);
  ASSERT_TRUE(across.ok()) << across.status();
  EXPECT_THAT(Sequences(*across),
              ElementsAre(start + 1, start + 2, start + 3, start + 4, start + 5));

  bus.Unsubscribe(other_watcher);
  auto one_left = bus.ReadRecent(start + 3, 100);
  ASSERT_TRUE(one_left.has_value()) << "kept while one watcher remains";
  EXPECT_THAT(Sequences(*one_left), ElementsAre(start + 4, start + 5));

  bus.Unsubscribe(watcher);
  EXPECT_FALSE(bus.ReadRecent(start + 3, 100).has_value()) << "let go with the last watcher";
  ASSERT_NO_FATAL_FAILURE(PublishEvent());
  EXPECT_EQ(bus.last_sequence(), start + 6);
  EXPECT_FALSE(bus.ReadRecent(start + 5, 100).has_value());
  auto after = bus.Read(start + 5, 100);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_THAT(Sequences(*after), ElementsAre(start + 6));
  auto none = bus.ReadRecent(start + 6, 100);
  ASSERT_TRUE(none.has_value()) << "at the newest: nothing to read, from memory";
  EXPECT_THAT(*none, IsEmpty());
}

// A watcher that must read the log runs on the catch-up thread: while it
// is busy there (here: blocked), the others are still woken for new updates.
TEST_F(StatusBusTest, ACatchUpDoesNotHoldUpTheOtherSubscribers) {
  StatusBus bus(storage_->updates(), /*last_sequence=*/0);
  // Keeps the catch-up thread busy so that requests made meanwhile are
  // queued, deterministically: a request made while the subscriber's own
  // catch-up already runs is a new one.
  std::atomic<int> blocker_runs{0};
  absl::Notification blocker_started;
  absl::Notification blocker_ran_again;
  absl::Notification release_blocker;
  const int blocker = bus.Subscribe([&](bool may_read_log) {
    if (!may_read_log) return;
    if (blocker_runs.fetch_add(1) == 0) {
      blocker_started.Notify();
      release_blocker.WaitForNotification();
    } else {
      blocker_ran_again.Notify();
    }
  });
  std::atomic<int> catch_up_runs{0};
  absl::Notification catch_up_started;
  absl::Notification release_catch_up;
  std::atomic<bool> catch_up_finished{false};
  const int slow = bus.Subscribe([&](bool may_read_log) {
    if (!may_read_log) return;
    if (catch_up_runs.fetch_add(1) != 0) return;
    catch_up_started.Notify();
    release_catch_up.WaitForNotification();
    catch_up_finished = true;
  });
  absl::Mutex mu;
  uint64_t live_saw = 0;
  bool live_read_log = false;
  bus.Subscribe([&](bool may_read_log) {
    absl::MutexLock lock(&mu);
    live_saw = bus.last_sequence();
    live_read_log = live_read_log || may_read_log;
  });

  bus.RequestCatchUp(blocker);
  ASSERT_TRUE(blocker_started.WaitForNotificationWithTimeout(absl::Seconds(30)));
  bus.RequestCatchUp(slow);
  bus.RequestCatchUp(slow);  // queued behind the blocker: counted once
  release_blocker.Notify();
  ASSERT_TRUE(catch_up_started.WaitForNotificationWithTimeout(absl::Seconds(30)));
  bus.OnDeliveryUpdate(Update(1));
  {
    absl::MutexLock lock(&mu);
    auto saw_1 = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu) { return live_saw == 1; };
    EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&saw_1), absl::Seconds(10)));
    EXPECT_FALSE(live_read_log) << "only subscribers asking for a catch-up get one";
  }

  // Unsubscribe waits for the running catch-up, and none runs after it.
  std::atomic<bool> finished_when_unsubscribed{false};
  std::thread unsubscriber([&] {
    bus.Unsubscribe(slow);
    finished_when_unsubscribed = catch_up_finished.load();
  });
  release_catch_up.Notify();
  unsubscriber.join();
  EXPECT_TRUE(finished_when_unsubscribed);
  bus.RequestCatchUp(slow);
  // Catch-ups run in request order: once the blocker's second one has run,
  // the one for `slow` would have too.
  bus.RequestCatchUp(blocker);
  ASSERT_TRUE(blocker_ran_again.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(catch_up_runs.load(), 1);
}

DeliveryUpdate UpdateOf(uint64_t sequence, const std::string& account) {
  DeliveryUpdate update = Update(sequence);
  update.delivery.set_account(account);
  return update;
}

std::vector<uint64_t> SequencesOf(const std::optional<StatusBus::AccountUpdates>& read) {
  return read.has_value() ? Sequences(read->updates) : std::vector<uint64_t>{};
}

TEST_F(StatusBusTest, ReadRecentOfReturnsOnlyTheAccountsUpdatesAndHowFarItLooked) {
  StatusBus bus(storage_->updates(), /*last_sequence=*/0, /*ring_capacity=*/5);
  Watch(bus);
  const char* owners[] = {"a", "b", "b", "a", "b"};
  for (uint64_t i = 1; i <= 5; ++i) bus.OnDeliveryUpdate(UpdateOf(i, owners[i - 1]));

  auto all_of_a = bus.ReadRecentOf("a", 0, 10);
  ASSERT_TRUE(all_of_a.has_value());
  EXPECT_THAT(SequencesOf(all_of_a), ElementsAre(1, 4));
  EXPECT_EQ(all_of_a->read_through, 5u);
  auto first_of_a = bus.ReadRecentOf("a", 0, 1);
  EXPECT_THAT(SequencesOf(first_of_a), ElementsAre(1));
  EXPECT_EQ(first_of_a->read_through, 1u) << "cut at max: the next read starts after it";
  auto none = bus.ReadRecentOf("c", 2, 10);
  ASSERT_TRUE(none.has_value());
  EXPECT_THAT(none->updates, IsEmpty());
  EXPECT_EQ(none->read_through, 5u);

  // The ring keeps 5: 1..3 leave it, and a's index with them.
  for (uint64_t i = 6; i <= 8; ++i) bus.OnDeliveryUpdate(UpdateOf(i, "b"));
  EXPECT_FALSE(bus.ReadRecentOf("a", 2, 10).has_value()) << "3 is no longer in memory";
  auto rest_of_a = bus.ReadRecentOf("a", 3, 10);
  EXPECT_THAT(SequencesOf(rest_of_a), ElementsAre(4));
  EXPECT_EQ(rest_of_a->read_through, 8u);
  EXPECT_THAT(SequencesOf(bus.ReadRecentOf("b", 4, 2)), ElementsAre(5, 6));
}

// Watchers of one account are not woken by another account's updates; a
// subscriber of every account is woken by all of them.
TEST_F(StatusBusTest, AnAccountsSubscribersAreWokenOnlyForItsUpdates) {
  absl::Mutex mu;
  int woken_a = 0;
  int woken_b = 0;
  int woken_all = 0;
  StatusBus bus(storage_->updates(), /*last_sequence=*/0);
  auto counter = [&](int& count) {
    return [&mu, &count](bool) {
      absl::MutexLock lock(&mu);
      ++count;
    };
  };
  bus.Subscribe("a", counter(woken_a));
  const int b = bus.Subscribe("b", counter(woken_b));
  bus.Subscribe(counter(woken_all));
  // Unsubscribe waits for a running wake-up round: after it, the round that
  // woke the one we waited for is over.
  auto finish_round = [&] { bus.Unsubscribe(bus.Subscribe([](bool) {})); };
  auto wait_for = [&](int& count, int value) {
    absl::MutexLock lock(&mu);
    auto reached = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu) { return count >= value; };
    return mu.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(10));
  };

  bus.OnDeliveryUpdate(UpdateOf(1, "a"));
  ASSERT_TRUE(wait_for(woken_a, 1));
  ASSERT_TRUE(wait_for(woken_all, 1));
  finish_round();
  bus.OnDeliveryUpdate(UpdateOf(2, "a"));
  ASSERT_TRUE(wait_for(woken_a, 2));
  finish_round();
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(woken_b, 0);
  }

  bus.RequestWake(b);
  ASSERT_TRUE(wait_for(woken_b, 1));
  finish_round();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(woken_a, 2) << "a wake-up asked for by b is b's alone";
}

// The storage thread's updates wake the bus thread only when someone
// watches their account, and are kept in the ring only while someone
// watches at all.
TEST_F(StatusBusTest, UpdatesNobodyWatchesLeaveTheBusThreadAsleep) {
  absl::Mutex mu;
  int woken_a = 0;
  StatusBus bus(storage_->updates(), /*last_sequence=*/0);
  // What a wake-up would have done by then, given time to happen.
  auto rounds_after_a_while = [&bus] {
    absl::SleepFor(absl::Milliseconds(200));
    return bus.wake_rounds();
  };

  for (uint64_t sequence = 1; sequence <= 100; ++sequence) {
    bus.OnDeliveryUpdate(UpdateOf(sequence, sequence % 2 == 0 ? "a" : "b"));
  }
  EXPECT_EQ(rounds_after_a_while(), 0u);
  EXPECT_FALSE(bus.ReadRecentOf("a", 96, 10).has_value()) << "nothing kept while nobody watches";

  const int a = bus.Subscribe("a", [&](bool) {
    absl::MutexLock lock(&mu);
    ++woken_a;
  });
  bus.OnDeliveryUpdate(UpdateOf(101, "b"));
  EXPECT_EQ(rounds_after_a_while(), 0u);

  bus.OnDeliveryUpdate(UpdateOf(102, "a"));
  {
    absl::MutexLock lock(&mu);
    auto woken = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu) { return woken_a == 1; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&woken), absl::Seconds(10)));
  }
  EXPECT_EQ(SequencesOf(bus.ReadRecentOf("a", 100, 10)), (std::vector<uint64_t>{102}));
  const uint64_t rounds = rounds_after_a_while();
  EXPECT_GE(rounds, 1u);

  bus.Unsubscribe(a);
  bus.OnDeliveryUpdate(UpdateOf(103, "a"));
  EXPECT_EQ(rounds_after_a_while(), rounds);
  EXPECT_EQ(bus.last_sequence(), 103u);
}

TEST_F(StatusBusTest, SubscriptionIdsAreDistinct) {
  StatusBus bus(storage_->updates(), /*last_sequence=*/0);
  const int a = bus.Subscribe([](bool) {});
  const int b = bus.Subscribe([](bool) {});
  bus.Unsubscribe(a);
  const int c = bus.Subscribe([](bool) {});

  EXPECT_NE(a, 0);
  EXPECT_NE(a, b);
  EXPECT_NE(c, a);
  EXPECT_NE(c, b);
}

TEST_F(StatusBusTest, CloseWakesSubscribersAndSetsClosed) {
  absl::Mutex mu;
  bool closed_when_woken = false;
  // Declared after what its subscribers use: destroyed (and its thread
  // joined) before them.
  StatusBus bus(storage_->updates(), /*last_sequence=*/0);
  bus.Subscribe([&](bool) {
    absl::MutexLock lock(&mu);
    closed_when_woken = bus.closed();
  });
  EXPECT_FALSE(bus.closed());

  bus.Close();

  EXPECT_TRUE(bus.closed());
  absl::MutexLock lock(&mu);
  EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&closed_when_woken), absl::Seconds(10)));
}

TEST_F(StatusBusTest, ReadStillWorksAfterClose) {
  StatusBus bus(storage_->updates(), /*last_sequence=*/0);
  Watch(bus);
  bus.OnDeliveryUpdate(Update(1));
  bus.Close();

  auto updates = bus.Read(0, 10);
  ASSERT_TRUE(updates.ok()) << updates.status();
  EXPECT_THAT(Sequences(*updates), ElementsAre(1));
}

}  // namespace
}  // namespace wink::webhooks::delivery
