// The PostgreSQL backend as a cluster and when PostgreSQL goes away: nodes
// sharing a database hear each other's changes; writes fail with
// UNAVAILABLE (never a crash or a hang), and the backend reconnects by
// itself once the server is back. On a real server the test kills
// (SIGKILL) and restarts. Also the schema upgrade of an older database.
#include <algorithm>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/storage/application_store.h"
#include "service/storage/observer.h"
#include "service/storage/postgres/backend.h"
#include "service/storage/postgres/connection.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/postgres_server.h"
#include "tests/fakes/temp_dir.h"

namespace wink::webhooks::storage::pg {
namespace {

using ::testing::ElementsAre;
using ::wink::webhooks::testing::FakeClock;
using ::wink::webhooks::testing::PostgresServer;
using ::wink::webhooks::testing::PostgresServerOptions;
using ::wink::webhooks::testing::TempDir;

domain::WebhookRecord NewWebhook() {
  domain::WebhookRecord webhook;
  webhook.set_account("acme");
  webhook.set_url("https://example.com/hook");
  webhook.set_enabled(true);
  return webhook;
}

CreateWebhookOptions Options() {
  CreateWebhookOptions options;
  options.now = absl::Now();
  return options;
}

// Records what a backend's update listeners hear.
class RecordingListener : public UpdateListener {
 public:
  void OnDeliveryUpdate(const DeliveryUpdate& update) override {
    absl::MutexLock lock(&mu_);
    sequences_.push_back(update.sequence);
    event_ids_.push_back(update.delivery.event_id());
  }
  void OnWebhookDeleted(const std::string& webhook_id) override {
    absl::MutexLock lock(&mu_);
    deleted_.push_back(webhook_id);
  }
  // What was heard once `count` updates were (or after 20 s).
  std::vector<uint64_t> WaitForSequences(size_t count) {
    WaitUntil([&] { return sequences_.size() >= count; });
    absl::MutexLock lock(&mu_);
    return sequences_;
  }
  std::vector<std::string> WaitForDeleted(size_t count) {
    WaitUntil([&] { return deleted_.size() >= count; });
    absl::MutexLock lock(&mu_);
    return deleted_;
  }
  std::vector<std::string> event_ids() {
    absl::MutexLock lock(&mu_);
    return event_ids_;
  }

 private:
  void WaitUntil(const std::function<bool()>& done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      {
        absl::MutexLock lock(&mu_);
        if (done()) return;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

  absl::Mutex mu_;
  std::vector<uint64_t> sequences_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> event_ids_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> deleted_ ABSL_GUARDED_BY(mu_);
};

// Publishes `count` events of `type` as one write.
absl::Status PublishMany(StorageBackend& backend, int count,
                         const std::string& type = "booking.created") {
  std::vector<PublishRequest> batch(count);
  for (PublishRequest& request : batch) {
    request.account = "acme";
    request.event_type = type;
    request.data_json = "{}";
  }
  absl::Notification done;
  absl::Status status;
  backend.events().PublishBatch(std::move(batch), /*index_errors=*/false,
                                [&](absl::StatusOr<std::vector<PublishResult>> results) {
                                  status = results.status();
                                  done.Notify();
                                });
  done.WaitForNotification();
  return status;
}

absl::Status PublishOne(StorageBackend& backend, const std::string& type) {
  return PublishMany(backend, 1, type);
}

// Two backends on one database are two nodes of a cluster: each node's
// listeners hear every node's updates, each exactly once, in sequence
// order without a gap, and every node hears a webhook's deletion.
TEST(PostgresBackendTest, ListenersHearEveryNodesUpdatesInSequenceOrder) {
  TempDir dir;
  auto server = PostgresServer::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  FakeClock clock;
  PostgresOptions options;
  options.conninfo = (*server)->ConnInfo();
  auto node_a = OpenPostgresBackend(options, clock, /*observer=*/nullptr);
  ASSERT_TRUE(node_a.ok()) << node_a.status();
  auto node_b = OpenPostgresBackend(options, clock, /*observer=*/nullptr);
  ASSERT_TRUE(node_b.ok()) << node_b.status();
  RecordingListener heard_on_a, heard_on_b;
  (*node_a)->updates().AddListener(&heard_on_a);
  (*node_b)->updates().AddListener(&heard_on_b);
  const uint64_t start = (*node_a)->updates().LastSequence();
  auto webhook = (*node_a)->webhooks().Create(NewWebhook(), Options());
  ASSERT_TRUE(webhook.ok()) << webhook.status();

  // Both nodes publish at once: their commits interleave, so each node's
  // own updates often arrive after a gap that the other node's fill.
  constexpr int kPerNode = 60;
  std::vector<std::thread> publishers;
  for (StorageBackend* node : {node_a->get(), node_b->get()}) {
    for (int t = 0; t < 2; ++t) {
      publishers.emplace_back([node] {
        for (int i = 0; i < kPerNode / 2; ++i)
          EXPECT_TRUE(PublishOne(*node, "booking.created").ok());
      });
    }
  }
  for (std::thread& publisher : publishers) publisher.join();

  std::vector<uint64_t> expected;
  for (uint64_t s = start + 1; s <= start + 2 * kPerNode; ++s) expected.push_back(s);
  EXPECT_EQ(heard_on_a.WaitForSequences(expected.size()), expected);
  EXPECT_EQ(heard_on_b.WaitForSequences(expected.size()), expected);
  EXPECT_EQ(heard_on_a.event_ids(), heard_on_b.event_ids()) << "the same updates, same order";
  EXPECT_EQ((*node_b)->updates().LastSequence(), start + 2 * kPerNode);

  ASSERT_TRUE((*node_a)->webhooks().Delete("acme", webhook->webhook.id()).ok());
  heard_on_b.WaitForDeleted(1);
  // Longer than the feed's backstop: a second telling would have come.
  absl::SleepFor(absl::Seconds(1.5));
  EXPECT_THAT(heard_on_b.WaitForDeleted(1), ::testing::ElementsAre(webhook->webhook.id()))
      << "told on the other node";
  EXPECT_THAT(heard_on_a.WaitForDeleted(1), ::testing::ElementsAre(webhook->webhook.id()))
      << "told once on the deleting node";
  (*node_a)->updates().RemoveListener(&heard_on_a);
  (*node_b)->updates().RemoveListener(&heard_on_b);
}

// Waits until `done` holds (or 30 s passed); returns whether it did.
bool Eventually(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return true;
}

// The entries of `node`'s due queue: with the partitions shared out, each
// due delivery is on exactly one node's queue.
std::vector<DueDelivery> DueOn(StorageBackend& node) {
  std::vector<DueDelivery> due;
  EXPECT_TRUE(node.due_queue()
                  .ScanDue(absl::InfinitePast(), absl::InfiniteFuture(),
                           [&](const DueDelivery& entry) {
                             due.push_back(entry);
                             return true;
                           })
                  .ok());
  return due;
}

// A lone node sends everything; a second node gets half of the partitions
// (the first hands them back at once, long before the 60 s drain ends,
// since it started no request for them), the due queue splits between the
// two without overlap, and when a node stops the other takes everything
// back.
TEST(PostgresBackendTest, NodesShareThePartitionsAndTakeOverWhenOneStops) {
  TempDir dir;
  auto server = PostgresServer::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  FakeClock clock;
  PostgresOptions options;
  options.conninfo = (*server)->ConnInfo();
  options.lease_ttl = absl::Seconds(1.5);
  options.lease_drain = absl::Seconds(60);
  options.node_id = "node-a";
  auto node_a = OpenPostgresBackend(options, clock, /*observer=*/nullptr);
  ASSERT_TRUE(node_a.ok()) << node_a.status();
  constexpr int kWebhooks = 40;
  for (int i = 0; i < kWebhooks; ++i) {
    ASSERT_TRUE((*node_a)->webhooks().Create(NewWebhook(), Options()).ok());
  }
  ASSERT_TRUE(PublishOne(**node_a, "booking.created").ok());
  EXPECT_EQ(DueOn(**node_a).size(), static_cast<size_t>(kWebhooks)) << "alone: every partition";

  options.node_id = "node-b";
  auto node_b = OpenPostgresBackend(options, clock, /*observer=*/nullptr);
  ASSERT_TRUE(node_b.ok()) << node_b.status();
  EXPECT_TRUE(Eventually([&] {
    return DueOn(**node_a).size() + DueOn(**node_b).size() == kWebhooks &&
           !DueOn(**node_a).empty() && !DueOn(**node_b).empty();
  })) << "shared: a "
      << DueOn(**node_a).size() << ", b " << DueOn(**node_b).size();
  for (const DueDelivery& due : DueOn(**node_a)) {
    EXPECT_TRUE((*node_a)->due_queue().Owns(due.webhook_id));
    EXPECT_FALSE((*node_b)->due_queue().Owns(due.webhook_id)) << "never both";
  }

  node_b->reset();  // stops cleanly: releases its leases at once
  EXPECT_TRUE(Eventually([&] { return DueOn(**node_a).size() == kWebhooks; }))
      << "a took everything back: " << DueOn(**node_a).size();
}

// Fencing: once another node took over a partition, this node's attempt
// results and parks for its deliveries are refused and change nothing.
TEST(PostgresBackendTest, WritesOfANodeThatLostItsLeaseAreFenced) {
  TempDir dir;
  auto server = PostgresServer::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE((*server)->CreateDatabase("fence").ok());
  FakeClock clock;
  PostgresOptions options;
  options.conninfo = (*server)->ConnInfo("fence");
  auto node = OpenPostgresBackend(options, clock, /*observer=*/nullptr);
  ASSERT_TRUE(node.ok()) << node.status();
  auto webhook = (*node)->webhooks().Create(NewWebhook(), Options());
  ASSERT_TRUE(webhook.ok()) << webhook.status();
  ASSERT_TRUE(PublishOne(**node, "booking.created").ok());
  const std::vector<DueDelivery> due = DueOn(**node);
  ASSERT_EQ(due.size(), 1u);

  // Another node takes the partition over (what a lapsed lease allows).
  ASSERT_TRUE((*server)
                  ->Exec("fence",
                         "UPDATE partitions SET owner = 'thief', epoch = epoch + 1, "
                         "expires_at = clock_timestamp() + interval '1 hour'")
                  .ok());
  RecordAttemptRequest request;
  request.webhook_id = due[0].webhook_id;
  request.event_id = due[0].event_id;
  request.finished.due_time_us = due[0].due_time_us;
  request.finished.outcome = domain::AttemptOutcome::kDelivered;
  request.finished.attempt.set_http_status(200);
  request.finished.attempt.set_succeeded(true);
  request.rules = std::make_shared<domain::DeliveryRules>();
  absl::Notification recorded;
  absl::Status record_status;
  (*node)->deliveries().RecordAttempt(request, [&](absl::Status status) {
    record_status = status;
    recorded.Notify();
  });
  recorded.WaitForNotification();
  EXPECT_EQ(record_status.code(), absl::StatusCode::kFailedPrecondition) << record_status;
  EXPECT_TRUE(absl::StrContains(record_status.message(), "not leased by this node"))
      << record_status.message();

  absl::Notification parked;
  absl::Status park_status;
  (*node)->deliveries().Park(due[0].webhook_id, due[0].event_id, due[0].due_time_us,
                             [&](absl::Status status) {
                               park_status = status;
                               parked.Notify();
                             });
  parked.WaitForNotification();
  EXPECT_EQ(park_status.code(), absl::StatusCode::kFailedPrecondition) << park_status;

  auto delivery = (*node)->deliveries().GetDelivery("acme", due[0].webhook_id, due[0].event_id);
  ASSERT_TRUE(delivery.ok()) << delivery.status();
  EXPECT_EQ(delivery->state(), domain::kPending) << "unchanged";
  auto attempts = (*node)->deliveries().ListAttempts(due[0].webhook_id, due[0].event_id);
  ASSERT_TRUE(attempts.ok()) << attempts.status();
  EXPECT_TRUE(attempts->empty());
}

// The connection lost during COMMIT: nobody can tell whether it is stored.
// A publish with an idempotency key runs again once PostgreSQL is back and
// succeeds (stored once); one without a key gets UNAVAILABLE saying so.
TEST(PostgresBackendTest, APublishWithAKeyRunsAgainWhenItsCommitOutcomeIsUnknown) {
  TempDir dir;
  auto server = PostgresServer::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE((*server)->CreateDatabase("unknown").ok());
  FakeClock clock;
  PostgresOptions options;
  options.conninfo = (*server)->ConnInfo("unknown") + " connect_timeout=2";
  auto node = OpenPostgresBackend(options, clock, /*observer=*/nullptr);
  ASSERT_TRUE(node.ok()) << node.status();
  ASSERT_TRUE((*node)->webhooks().Create(NewWebhook(), Options()).ok());
  // Every COMMIT that stores an event now takes 2 s (a deferred trigger),
  // long enough to kill the server in the middle of it.
  ASSERT_TRUE(
      (*server)
          ->Exec("unknown",
                 "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS "
                 "$$ BEGIN PERFORM pg_sleep(2); RETURN NULL; END $$; "
                 "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON events "
                 "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()")
          .ok());

  for (const bool with_key : {true, false}) {
    PublishRequest request;
    request.account = "acme";
    request.event_type = "booking.created";
    request.data_json = "{}";
    if (with_key) request.idempotency_key = "key-1";
    absl::Notification done;
    absl::StatusOr<PublishResult> result;
    (*node)->events().Publish(request, [&](absl::StatusOr<PublishResult> published) {
      result = std::move(published);
      done.Notify();
    });
    absl::SleepFor(absl::Milliseconds(700));  // inside the 2 s COMMIT
    ASSERT_FALSE(done.HasBeenNotified());
    ASSERT_TRUE((*server)->Kill().ok());
    ASSERT_TRUE((*server)->Restart().ok());
    done.WaitForNotification();
    if (with_key) {
      ASSERT_TRUE(result.ok()) << result.status();
      auto page = (*node)->events().ListEvents("acme", "", "", 10);
      ASSERT_TRUE(page.ok()) << page.status();
      ASSERT_EQ(page->events.size(), 1u) << "stored once";
      EXPECT_EQ(page->events[0].id(), result->event.id());
    } else {
      EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
      EXPECT_TRUE(absl::StrContains(result.status().message(), "may or may not have been stored"))
          << result.status().message();
    }
  }
}

TEST(PostgresBackendTest, WritesFailWithUnavailableWhileTheServerIsDownAndWorkAgainAfter) {
  TempDir dir;
  auto server = PostgresServer::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  FakeClock clock;
  PostgresOptions options;
  options.conninfo = (*server)->ConnInfo() + " connect_timeout=2";
  auto backend = OpenPostgresBackend(options, clock, /*observer=*/nullptr);
  ASSERT_TRUE(backend.ok()) << backend.status();
  auto first = (*backend)->webhooks().Create(NewWebhook(), Options());
  ASSERT_TRUE(first.ok()) << first.status();

  ASSERT_TRUE((*server)->Kill().ok());
  auto while_down = (*backend)->webhooks().Create(NewWebhook(), Options());
  ASSERT_EQ(while_down.status().code(), absl::StatusCode::kUnavailable) << while_down.status();
  EXPECT_TRUE(absl::StrContains(while_down.status().message(), "retry"))
      << while_down.status().message();
  auto read_while_down = (*backend)->webhooks().Get("acme", first->webhook.id());
  EXPECT_EQ(read_while_down.status().code(), absl::StatusCode::kUnavailable)
      << read_while_down.status();

  ASSERT_TRUE((*server)->Restart().ok());
  // The writer waits at most 2 s between connection attempts.
  absl::StatusOr<CreateWebhookResult> after = while_down.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!after.ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
    after = (*backend)->webhooks().Create(NewWebhook(), Options());
  }
  ASSERT_TRUE(after.ok()) << after.status();
  auto page = (*backend)->webhooks().List("acme", "", 10);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->webhooks.size(), 2u) << "the write refused while down stored nothing";
  EXPECT_EQ(page->webhooks[0].id(), first->webhook.id());
  EXPECT_EQ(page->webhooks[1].id(), after->webhook.id());
}

// Counts what storage reports about failures, and the lease rounds.
class FailureCounter : public StorageObserver {
 public:
  void OnCommitFailed(int operations, const absl::Status& error) override {
    absl::MutexLock lock(&mu_);
    ++commits_failed_;
  }
  void OnHeartbeat(const absl::Status& status) override {
    absl::MutexLock lock(&mu_);
    ++rounds_;
    if (!status.ok()) ++rounds_failed_;
  }
  int commits_failed() const {
    absl::MutexLock lock(&mu_);
    return commits_failed_;
  }
  int rounds_failed() const {
    absl::MutexLock lock(&mu_);
    return rounds_failed_;
  }
  int rounds() const {
    absl::MutexLock lock(&mu_);
    return rounds_;
  }
  // Waits until more than `rounds` lease rounds have ended.
  bool WaitForRoundAfter(int rounds, absl::Duration timeout) const {
    absl::MutexLock lock(&mu_);
    const auto later = [&] {
      mu_.AssertHeld();
      return rounds_ > rounds;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&later), timeout);
  }

 private:
  mutable absl::Mutex mu_;
  int commits_failed_ ABSL_GUARDED_BY(mu_) = 0;
  int rounds_ ABSL_GUARDED_BY(mu_) = 0;
  int rounds_failed_ ABSL_GUARDED_BY(mu_) = 0;
};

// A server that went away and came back between two uses of a connection
// (restarted, or in production a standby promoted in its place) leaves
// every open connection stale, which only its next use shows. The first
// write, the first read and the next lease round each run once more on a
// new connection instead of failing.
TEST(PostgresBackendTest, AServerRestartedBetweenUsesFailsNoCallAndNoLeaseRound) {
  TempDir dir;
  auto server = PostgresServer::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  FakeClock clock;
  FailureCounter failures;
  PostgresOptions options;
  options.conninfo = (*server)->ConnInfo() + " connect_timeout=2";
  // A lease round every 5 s: the restart below fits between two.
  options.lease_ttl = absl::Seconds(15);
  auto backend = OpenPostgresBackend(options, clock, &failures);
  ASSERT_TRUE(backend.ok()) << backend.status();
  auto first = (*backend)->webhooks().Create(NewWebhook(), Options());
  ASSERT_TRUE(first.ok()) << first.status();
  // A reader connection is now idle in the pool.
  ASSERT_TRUE((*backend)->webhooks().Get("acme", first->webhook.id()).ok());

  const int rounds_before = failures.rounds();
  ASSERT_TRUE(failures.WaitForRoundAfter(rounds_before, absl::Seconds(10)));
  const int rounds_at_kill = failures.rounds();
  const absl::Time killed = absl::Now();
  ASSERT_TRUE((*server)->Kill().ok());
  ASSERT_TRUE((*server)->Restart().ok());
  ASSERT_EQ(failures.rounds(), rounds_at_kill)
      << "a lease round ran while the server was down (the restart took "
      << absl::Now() - killed << "); this test needs it to fit between two rounds";

  auto second = (*backend)->webhooks().Create(NewWebhook(), Options());
  ASSERT_TRUE(second.ok()) << second.status();
  auto read = (*backend)->webhooks().Get("acme", first->webhook.id());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->id(), first->webhook.id());
  ASSERT_TRUE(failures.WaitForRoundAfter(rounds_at_kill, absl::Seconds(10)));

  EXPECT_EQ(failures.commits_failed(), 0);
  EXPECT_EQ(failures.rounds_failed(), 0);
  auto page = (*backend)->webhooks().List("acme", "", 10);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->webhooks.size(), 2u);
  EXPECT_EQ(page->webhooks[1].id(), second->webhook.id());
}

TEST(PostgresBackendTest, OpeningWithoutAServerIsUnavailable) {
  TempDir dir;
  auto server = PostgresServer::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string conninfo = (*server)->ConnInfo() + " connect_timeout=2";
  ASSERT_TRUE((*server)->Stop().ok());
  FakeClock clock;
  PostgresOptions options;
  options.conninfo = conninfo;
  auto backend = OpenPostgresBackend(options, clock, /*observer=*/nullptr);
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kUnavailable) << backend.status();
}

ApplicationRecord NewApplication(absl::string_view account, absl::string_view id) {
  ApplicationRecord application;
  application.set_account(std::string(account));
  application.set_id(std::string(id));
  application.set_display_name(absl::StrCat("App ", id));
  application.add_keys()->set_sha256(std::string(32, '\x07'));
  return application;
}

// Records what an application store's remote-change listener is told, as
// "account/id".
class ApplicationChanges {
 public:
  ApplicationStore::RemoteChangeListener Listener() {
    return [this](const std::string& account, const std::string& id) {
      absl::MutexLock lock(&mu_);
      heard_.push_back(absl::StrCat(account, "/", id));
    };
  }
  // What was heard once `count` changes were, or after 20 s.
  std::vector<std::string> WaitFor(size_t count) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return heard_.size() >= count; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(20));
    return heard_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> heard_ ABSL_GUARDED_BY(mu_);
};

// Two backends on one database are two nodes: each node's remote-change
// listener hears the applications the other node creates, updates and
// deletes, and never its own node's changes, nor changes that were not
// committed. Absence is checked without sleeping: notifications reach a
// listening connection in commit order, so once a node hears a change
// committed after one it must not hear, that one will never come.
TEST(PostgresBackendTest, ApplicationChangesOfOneNodeAreToldToTheOthers) {
  TempDir dir;
  auto server = PostgresServer::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  FakeClock clock;
  PostgresOptions options;
  options.conninfo = (*server)->ConnInfo();
  auto node_a = OpenPostgresBackend(options, clock, /*observer=*/nullptr);
  ASSERT_TRUE(node_a.ok()) << node_a.status();
  auto node_b = OpenPostgresBackend(options, clock, /*observer=*/nullptr);
  ASSERT_TRUE(node_b.ok()) << node_b.status();
  ApplicationChanges heard_on_a, heard_on_b;
  ApplicationStore& apps_a = (*node_a)->applications();
  ApplicationStore& apps_b = (*node_b)->applications();
  apps_a.SetRemoteChangeListener(heard_on_a.Listener());
  apps_b.SetRemoteChangeListener(heard_on_b.Listener());

  ASSERT_TRUE(apps_a.Create(NewApplication("acme", "ci")).ok());
  EXPECT_THAT(heard_on_b.WaitFor(1), ElementsAre("acme/ci")) << "create";

  auto updated = apps_a.Update("acme", "ci", [](ApplicationRecord& application) {
    application.set_revoke_time_us(1);
    return absl::OkStatus();
  });
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_THAT(heard_on_b.WaitFor(2), ElementsAre("acme/ci", "acme/ci")) << "update";
  // Node B reads what node A wrote.
  EXPECT_EQ(apps_b.Get("acme", "ci")->revoke_time_us(), 1);

  ASSERT_TRUE(apps_a.Delete("acme", "ci").ok());
  EXPECT_THAT(heard_on_b.WaitFor(3), ElementsAre("acme/ci", "acme/ci", "acme/ci")) << "delete";

  // Changes that did not commit tell nobody.
  ASSERT_TRUE(apps_a.Create(NewApplication("acme-2", "ops")).ok());
  EXPECT_EQ(apps_a.Create(NewApplication("acme-2", "ops")).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(apps_a
                .Update("acme-2", "ops",
                        [](ApplicationRecord&) { return absl::PermissionDeniedError("no"); })
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(apps_a.Delete("acme", "ci").code(), absl::StatusCode::kNotFound);

  // Node B's own change: node A hears it, node B does not.
  ASSERT_TRUE(apps_b.Create(NewApplication("beta", "b-side")).ok());
  EXPECT_THAT(heard_on_a.WaitFor(1), ElementsAre("beta/b-side"))
      << "node A heard none of its own four changes, which committed before";

  ASSERT_TRUE(apps_a.Delete("acme-2", "ops").ok());
  EXPECT_THAT(heard_on_b.WaitFor(5),
              ElementsAre("acme/ci", "acme/ci", "acme/ci", "acme-2/ops", "acme-2/ops"))
      << "one create and one delete of acme-2/ops; nothing for the refused changes, nor for "
         "node B's own create, which committed between them";
}

// Two nodes creating applications in one account at once, for its last
// places: exactly the places left are taken (the count holds on every
// node until the insert commits).
TEST(PostgresBackendTest, NodesCreatingApplicationsAtOnceNeverExceedTheLimit) {
  TempDir dir;
  auto server = PostgresServer::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  FakeClock clock;
  PostgresOptions options;
  options.conninfo = (*server)->ConnInfo();
  auto node_a = OpenPostgresBackend(options, clock, /*observer=*/nullptr);
  ASSERT_TRUE(node_a.ok()) << node_a.status();
  auto node_b = OpenPostgresBackend(options, clock, /*observer=*/nullptr);
  ASSERT_TRUE(node_b.ok()) << node_b.status();
  constexpr int kLeft = 3;
  for (int i = 0; i < kMaxApplicationsPerAccount - kLeft; ++i) {
    ASSERT_TRUE(
        (*node_a)->applications().Create(NewApplication("acme", absl::StrCat("app-", i))).ok());
  }

  constexpr int kPerNode = 4;
  absl::Mutex mu;
  std::vector<absl::StatusCode> codes;
  std::vector<std::thread> racers;
  for (StorageBackend* node : {node_a->get(), node_b->get()}) {
    for (int t = 0; t < kPerNode; ++t) {
      racers.emplace_back([&, node, t] {
        const absl::Status status = node->applications().Create(
            NewApplication("acme", absl::StrCat(node == node_a->get() ? "a-" : "b-", t)));
        absl::MutexLock lock(&mu);
        codes.push_back(status.code());
      });
    }
  }
  for (std::thread& racer : racers) racer.join();

  EXPECT_EQ(std::count(codes.begin(), codes.end(), absl::StatusCode::kOk), kLeft);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), absl::StatusCode::kResourceExhausted),
            2 * kPerNode - kLeft);
  auto page = (*node_b)->applications().List("acme", "", 1000);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->applications.size(), static_cast<size_t>(kMaxApplicationsPerAccount));
}

// The plans auto_explain logged for the due page query (each plan's lines
// follow its "Query Text:" line, indented with a tab).
std::vector<std::string> DuePagePlansIn(const std::string& log_file) {
  std::ifstream log(log_file);
  std::vector<std::string> plans;
  bool in_due_page_plan = false;
  for (std::string line; std::getline(log, line);) {
    if (absl::StrContains(line, "Query Text: SELECT due_time_us, webhook_id, event_id FROM")) {
      plans.emplace_back();
      in_due_page_plan = true;
    } else if (in_due_page_plan && absl::StartsWith(line, "\t")) {
      absl::StrAppend(&plans.back(), line, "\n");
    } else {
      in_due_page_plan = false;
    }
  }
  return plans;
}

// Every page of the due queue is a walk of the deliveries_due index, never a
// read of the whole backlog and a sort, even when the statistics say
// nothing is due: gathered while the deliveries were held, they show
// due_time_us all NULL. (Left to them, the planner read the whole backlog
// for every page, and a backlog drained up to 250x slower.) Autovacuum is
// off, so the statistics stay as gathered; auto_explain logs every plan.
TEST(PostgresBackendTest, DuePagesWalkTheirIndexWhenTheStatisticsShowNothingDue) {
  TempDir dir;
  PostgresServerOptions server_options;
  server_options.extra_conf =
      "autovacuum = off\n"
      "session_preload_libraries = 'auto_explain'\n"
      "auto_explain.log_min_duration = 0\n";
  auto server = PostgresServer::Start(dir.path(), server_options);
  ASSERT_TRUE(server.ok()) << server.status();
  FakeClock clock;
  PostgresOptions options;
  options.conninfo = (*server)->ConnInfo();
  auto backend = OpenPostgresBackend(options, clock, /*observer=*/nullptr);
  ASSERT_TRUE(backend.ok()) << backend.status();
  domain::WebhookRecord paused = NewWebhook();
  paused.set_enabled(false);
  auto webhook = (*backend)->webhooks().Create(paused, Options());
  ASSERT_TRUE(webhook.ok()) << webhook.status();
  constexpr int kBacklog = 2500;
  ASSERT_TRUE(PublishMany(**backend, kBacklog).ok());
  {
    auto connection = Connection::Open(options.conninfo);
    ASSERT_TRUE(connection.ok()) << connection.status();
    ASSERT_TRUE((*connection)->Execute("ANALYZE deliveries").ok());
  }

  ASSERT_TRUE((*backend)
                  ->webhooks()
                  .Update("acme", webhook->webhook.id(),
                          [](domain::WebhookRecord& record) {
                            record.set_enabled(true);
                            return absl::OkStatus();
                          })
                  .ok());
  ASSERT_TRUE(Eventually([&] { return DueOn(**backend).size() == kBacklog; }))
      << "the held deliveries were released";

  const std::vector<std::string> plans = DuePagePlansIn((*server)->log_file());
  // At least the last scan's three pages (1,000, 1,000 and 500).
  ASSERT_GE(plans.size(), 3u);
  for (const std::string& plan : plans) {
    EXPECT_THAT(plan, ::testing::HasSubstr("Index Scan using deliveries_due on deliveries"));
    EXPECT_THAT(plan, ::testing::Not(::testing::HasSubstr("Sort")));
  }
}

// A pipeline libpq refuses to send (more than 65,535 parameters) leaves the
// connection in pipeline mode with a command queued: it counts as broken, so
// the pool opens another for the next query instead of handing that one out
// with the stale command's result still to come.
TEST(PostgresBackendTest, AConnectionWhosePipelineCouldNotBeSentIsNotUsedAgain) {
  TempDir dir;
  auto server = PostgresServer::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  constexpr Sql kTooManyParameters{"too_many_parameters", "SELECT 1"};
  const Statement unsendable{kTooManyParameters, std::vector<Param>(65536, Param::Int(1))};
  constexpr Sql kOne{"one", "SELECT 1::int8"};

  auto connection = Connection::Open((*server)->ConnInfo());
  ASSERT_TRUE(connection.ok()) << connection.status();
  EXPECT_FALSE((*connection)->RunOne(unsendable).ok());
  EXPECT_TRUE((*connection)->broken());

  ConnectionPool pool((*server)->ConnInfo(), /*max_idle=*/1);
  EXPECT_FALSE(pool.Query(unsendable).ok());
  auto one = pool.Query(Statement{kOne, {}});
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->size(), 1);
  EXPECT_EQ(one->Int(0, 0), 1);
}

// A database created before applications existed (schema version 2
// without the table) gains the table when a newer binary opens it, and
// keeps its data.
TEST(PostgresBackendTest, OpeningADatabaseWithoutTheApplicationsTableAddsIt) {
  TempDir dir;
  auto server = PostgresServer::Start(dir.path());
  ASSERT_TRUE(server.ok()) << server.status();
  FakeClock clock;
  PostgresOptions options;
  options.conninfo = (*server)->ConnInfo();
  std::string webhook_id;
  {
    auto backend = OpenPostgresBackend(options, clock, /*observer=*/nullptr);
    ASSERT_TRUE(backend.ok()) << backend.status();
    auto webhook = (*backend)->webhooks().Create(NewWebhook(), Options());
    ASSERT_TRUE(webhook.ok()) << webhook.status();
    webhook_id = webhook->webhook.id();
  }
  {
    auto connection = Connection::Open(options.conninfo);
    ASSERT_TRUE(connection.ok()) << connection.status();
    ASSERT_TRUE((*connection)->Execute("DROP TABLE applications").ok());
  }

  auto backend = OpenPostgresBackend(options, clock, /*observer=*/nullptr);
  ASSERT_TRUE(backend.ok()) << backend.status();

  EXPECT_TRUE((*backend)->webhooks().Get("acme", webhook_id).ok());
  ASSERT_TRUE((*backend)->applications().Create(NewApplication("acme", "ci")).ok());
  auto got = (*backend)->applications().Get("acme", "ci");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->display_name(), "App ci");
}

}  // namespace
}  // namespace wink::webhooks::storage::pg
