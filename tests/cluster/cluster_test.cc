// Cluster mode end to end: two service processes over one PostgreSQL (or a
// replicated one), driven through the public API, delivering to a real
// HTTPS receiver, while nodes and the primary are killed, paused and failed
// over. Every scenario checks what the user was promised:
// - every acknowledged event reaches every matching webhook;
// - duplicates stay within what was in flight on a node that died;
// - a node that lost its lease changes nothing (fencing);
// - watch cursors strictly increase across nodes and no update is missing;
// - nothing is sent to a deleted webhook more than 1 s after DeleteWebhook
//   returned.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/cluster/cluster_harness.h"
#include "wink/webhooks/v1/application_service.grpc.pb.h"

namespace wink::webhooks::testing {
namespace {

using ::testing::HasSubstr;

// Publishes `total` events of account acme, spread over `nodes` (changed
// while it runs), each retried with its idempotency key until a node
// acknowledges it.
class PublishLoad {
 public:
  PublishLoad(ClusterHarness& cluster, int total, std::vector<int> nodes)
      : cluster_(cluster), total_(total), nodes_(std::move(nodes)) {
    for (int p = 0; p < kPublishers; ++p) {
      threads_.emplace_back([this, p] { Run(p); });
    }
  }
  ~PublishLoad() { Join(); }

  void SetNodes(std::vector<int> nodes) {
    absl::MutexLock lock(&mu_);
    nodes_ = std::move(nodes);
  }
  int acknowledged() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(acked_.size());
  }
  // Waits until `count` events were acknowledged (or 60 s passed).
  bool WaitForAcks(int count) {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (acknowledged() < count) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return true;
  }
  void Join() {
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  std::set<std::string> acked() {
    absl::MutexLock lock(&mu_);
    return acked_;
  }

 private:
  static constexpr int kPublishers = 3;

  void Run(int publisher) {
    const absl::Time deadline = absl::Now() + absl::Seconds(90);
    for (int i = publisher; i < total_; i += kPublishers) {
      v1::PublishEventRequest request;
      request.set_parent("accounts/acme");
      request.set_event_type("booking.created");
      request.set_data_json(absl::StrCat("{\"booking\":", i, "}"));
      request.set_idempotency_key(absl::StrCat("cluster-", i));
      for (int attempt = 0; absl::Now() < deadline; ++attempt) {
        int node;
        {
          absl::MutexLock lock(&mu_);
          node = nodes_[static_cast<size_t>(i + attempt) % nodes_.size()];
        }
        v1::PublishEventResponse response;
        if (cluster_.webhooks(node).PublishEvent(ClusterContext().get(), request, &response).ok()) {
          absl::MutexLock lock(&mu_);
          acked_.insert(response.event().id());
          break;
        }
        absl::SleepFor(absl::Milliseconds(20));  // a node or the primary is down
      }
    }
  }

  ClusterHarness& cluster_;
  const int total_;
  absl::Mutex mu_;
  std::vector<int> nodes_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> acked_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

// What reached the receiver on `path`: requests per event id.
std::map<std::string, int> ReceivedOn(HttpsReceiver& receiver, const std::string& path) {
  std::map<std::string, int> received;
  for (const ReceivedRequest& request : receiver.Requests(path)) {
    ++received[request.Header("webhook-id")];
  }
  return received;
}

// Waits until every event of `events` reached every path (or 60 s passed);
// returns how many (path, event) pairs are missing, and counts duplicates.
int WaitUntilDelivered(HttpsReceiver& receiver, const std::vector<std::string>& paths,
                       const std::set<std::string>& events, int* duplicates) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (true) {
    int missing = 0;
    *duplicates = 0;
    for (const std::string& path : paths) {
      const std::map<std::string, int> received = ReceivedOn(receiver, path);
      for (const std::string& event : events) {
        auto it = received.find(event);
        if (it == received.end()) {
          ++missing;
        } else {
          *duplicates += it->second - 1;
        }
      }
    }
    if (missing == 0 || absl::Now() > deadline) return missing;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

// Webhooks on /w0, /w1, ... until each node owns at least `per_node` of
// them; their paths, and how many each node owns.
std::vector<std::string> WebhooksOnEveryNode(ClusterHarness& cluster, int per_node,
                                             std::map<int, int>* owned) {
  std::vector<std::string> paths;
  for (int i = 0; i < 40; ++i) {
    const std::string path = absl::StrCat("/w", i);
    auto webhook = cluster.CreateWebhook(i % cluster.node_count(), path);
    EXPECT_TRUE(webhook.ok()) << webhook.status();
    if (!webhook.ok()) break;
    paths.push_back(path);
    auto owner = cluster.OwnerOf(webhook->name());
    EXPECT_TRUE(owner.ok()) << owner.status();
    ++(*owned)[owner.value_or(-1)];
    bool enough = true;
    for (int node = 0; node < cluster.node_count(); ++node) enough &= (*owned)[node] >= per_node;
    if (enough) break;
  }
  return paths;
}

v1::Delivery GetDelivery(ClusterHarness& cluster, int node, const std::string& webhook_name,
                         const std::string& event_id) {
  v1::GetDeliveryRequest request;
  request.set_name(absl::StrCat(webhook_name, "/deliveries/", event_id));
  v1::Delivery delivery;
  const grpc::Status status =
      cluster.deliveries(node).GetDelivery(ClusterContext().get(), request, &delivery);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return delivery;
}

// Publishes one event through `node`; its id.
std::string PublishOne(ClusterHarness& cluster, int node) {
  v1::PublishEventRequest request;
  request.set_parent("accounts/acme");
  request.set_event_type("booking.created");
  request.set_data_json("{}");
  v1::PublishEventResponse response;
  const grpc::Status status =
      cluster.webhooks(node).PublishEvent(ClusterContext().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.event().id();
}

// Pauses or resumes `webhook` through `node`.
void SetEnabled(ClusterHarness& cluster, int node, const v1::Webhook& webhook, bool enabled,
                bool drop_held_deliveries = false) {
  v1::UpdateWebhookRequest request;
  request.mutable_webhook()->set_name(webhook.name());
  request.mutable_webhook()->set_enabled(enabled);
  request.mutable_update_mask()->add_paths("enabled");
  request.set_drop_held_deliveries(drop_held_deliveries);
  v1::Webhook updated;
  const grpc::Status status =
      cluster.webhooks(node).UpdateWebhook(ClusterContext().get(), request, &updated);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// Publishes `count` events (a multiple of 100) through `node` in batches of
// 100; their ids.
std::set<std::string> PublishBatches(ClusterHarness& cluster, int node, int count) {
  std::set<std::string> events;
  for (int batch = 0; batch < count / 100; ++batch) {
    v1::BatchPublishEventsRequest request;
    request.set_parent("accounts/acme");
    for (int i = 0; i < 100; ++i) {
      v1::PublishEventRequest* event = request.add_requests();
      event->set_event_type("booking.created");
      event->set_data_json("{}");
    }
    v1::BatchPublishEventsResponse response;
    const grpc::Status status =
        cluster.webhooks(node).BatchPublishEvents(ClusterContext().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    for (const auto& published : response.responses()) events.insert(published.event().id());
  }
  return events;
}

// A node killed with -9 mid-load: the other takes its partitions over when
// its leases lapse, and sends everything the dead node had not.
TEST(ClusterTest, ANodeKilledMidLoadLosesNothing) {
  auto cluster = ClusterHarness::Start(ClusterOptions{});
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  std::map<int, int> owned;
  const std::vector<std::string> paths = WebhooksOnEveryNode(**cluster, 2, &owned);

  PublishLoad load(**cluster, 300, {0, 1});
  ASSERT_TRUE(load.WaitForAcks(100));
  (*cluster)->KillNode(0);
  load.SetNodes({1});
  load.Join();
  ASSERT_EQ(load.acknowledged(), 300);

  int duplicates = 0;
  const int missing = WaitUntilDelivered((*cluster)->receiver(), paths, load.acked(), &duplicates);
  EXPECT_EQ(missing, 0) << (*cluster)->Log(1);
  // Only what node 0 had sent and not yet recorded goes out twice: at most
  // its max_in_flight (results being recorded count toward it).
  EXPECT_LE(duplicates, ClusterOptions{}.max_in_flight);
  std::printf("webhooks %zu (node 0 owned %d), duplicates %d\n", paths.size(), owned[0],
              duplicates);
}

// The primary killed with -9 mid-load and the most advanced standby
// promoted: the nodes find it by themselves (multi-host conninfo), and
// every acknowledged event is delivered.
TEST(ClusterTest, APrimaryKilledMidLoadThenPromotedLosesNothing) {
  ClusterOptions options;
  options.replicated = true;
  auto cluster = ClusterHarness::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  std::map<int, int> owned;
  const std::vector<std::string> paths = WebhooksOnEveryNode(**cluster, 1, &owned);

  PublishLoad load(**cluster, 300, {0, 1});
  ASSERT_TRUE(load.WaitForAcks(100));
  ASSERT_TRUE((*cluster)->KillPrimaryAndPromote().ok());
  load.Join();
  ASSERT_EQ(load.acknowledged(), 300) << (*cluster)->Log(0);

  int duplicates = 0;
  const int missing = WaitUntilDelivered((*cluster)->receiver(), paths, load.acked(), &duplicates);
  EXPECT_EQ(missing, 0) << (*cluster)->Log(0) << (*cluster)->Log(1);
  // Results that could not be recorded while no primary answered are sent
  // again: at most what each node had sent and not yet recorded.
  EXPECT_LE(duplicates, 2 * ClusterOptions{}.max_in_flight);
  std::printf("webhooks %zu, duplicates %d\n", paths.size(), duplicates);
}

// A node paused (SIGSTOP) past its lease with requests on the wire: the
// other node takes the partition over and sends them again; when the paused
// node wakes up, the results it tries to record are refused, so each
// delivery keeps the one attempt its new owner recorded.
TEST(ClusterTest, AnOwnerPausedPastItsLeaseIsFenced) {
  auto cluster = ClusterHarness::Start(ClusterOptions{});
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  (*cluster)->receiver().On("/slow").Reply(200).After(absl::Seconds(2));
  auto webhook = (*cluster)->CreateWebhook(0, "/slow");
  ASSERT_TRUE(webhook.ok()) << webhook.status();
  auto owner = (*cluster)->OwnerOf(webhook->name());
  ASSERT_TRUE(owner.ok() && *owner >= 0);
  const int paused = *owner;
  const int other = 1 - paused;

  std::vector<std::string> events;
  for (int i = 0; i < 3; ++i) events.push_back(PublishOne(**cluster, other));
  ASSERT_TRUE((*cluster)->receiver().WaitForRequests("/slow", 3, absl::Seconds(20)));
  (*cluster)->SignalNode(paused, SIGSTOP);

  // The lease lapses (3 s), the other node takes over and sends again.
  ASSERT_TRUE((*cluster)->receiver().WaitForRequests("/slow", 6, absl::Seconds(30)));
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  for (const std::string& event : events) {
    while (GetDelivery(**cluster, other, webhook->name(), event).state() !=
               v1::DELIVERY_STATE_SUCCEEDED &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  (*cluster)->SignalNode(paused, SIGCONT);
  // The paused node wakes up with three answers to record, and is fenced.
  const absl::Time fenced_deadline = absl::Now() + absl::Seconds(20);
  while ((*cluster)->Log(paused).find("not leased by this node") == std::string::npos &&
         absl::Now() < fenced_deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT((*cluster)->Log(paused), HasSubstr("not leased by this node any more"));
  for (const std::string& event : events) {
    const v1::Delivery delivery = GetDelivery(**cluster, other, webhook->name(), event);
    EXPECT_EQ(delivery.state(), v1::DELIVERY_STATE_SUCCEEDED) << event;
    EXPECT_EQ(delivery.attempt_count(), 1) << event << ": the fenced result was not recorded";
  }
}

// Pause on one node, publish thousands on the other, resume on the first
// and kill it at once, in the middle of the release: the other node takes
// its partitions over and finishes the release, so every event arrives.
TEST(ClusterTest, AResumeCutShortByAKillIsFinishedByTheOtherNode) {
  auto cluster = ClusterHarness::Start(ClusterOptions{});
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto webhook = (*cluster)->CreateWebhook(0, "/held");
  ASSERT_TRUE(webhook.ok()) << webhook.status();
  SetEnabled(**cluster, 0, *webhook, false);
  constexpr int kHeld = 3000;
  const std::set<std::string> events = PublishBatches(**cluster, 1, kHeld);
  ASSERT_EQ(events.size(), static_cast<size_t>(kHeld));
  EXPECT_TRUE((*cluster)->receiver().Requests("/held").empty()) << "held while paused";

  SetEnabled(**cluster, 0, *webhook, true);
  (*cluster)->KillNode(0);

  int duplicates = 0;
  const int missing = WaitUntilDelivered((*cluster)->receiver(), {"/held"}, events, &duplicates);
  EXPECT_EQ(missing, 0) << (*cluster)->Log(1);
  EXPECT_LE(duplicates, ClusterOptions{}.max_in_flight);
}

// The same cut short, for a resume that drops the held deliveries: the node
// that finishes it drops them too, and none is ever sent.
TEST(ClusterTest, ADropCutShortByAKillStaysADrop) {
  auto cluster = ClusterHarness::Start(ClusterOptions{});
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto webhook = (*cluster)->CreateWebhook(0, "/dropped");
  ASSERT_TRUE(webhook.ok()) << webhook.status();
  SetEnabled(**cluster, 0, *webhook, false);
  ASSERT_EQ(PublishBatches(**cluster, 1, 3000).size(), 3000u);

  SetEnabled(**cluster, 0, *webhook, true, /*drop_held_deliveries=*/true);
  (*cluster)->KillNode(0);

  // Until nothing is held any more: all cancelled, none sent.
  const auto held = [&] {
    v1::ListDeliveriesRequest request;
    request.set_parent(webhook->name());
    request.set_state(v1::DELIVERY_STATE_HELD);
    request.set_page_size(10);
    v1::ListDeliveriesResponse response;
    const grpc::Status status =
        (*cluster)->deliveries(1).ListDeliveries(ClusterContext().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.deliveries_size();
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(40);
  while (held() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(held(), 0) << (*cluster)->Log(1);
  absl::SleepFor(absl::Seconds(1));
  EXPECT_TRUE((*cluster)->receiver().Requests("/dropped").empty()) << "a drop stays a drop";
}

// DeleteWebhook on one node while the other is sending to a slow receiver:
// its request in flight is aborted and nothing more is sent.
TEST(ClusterTest, ADeleteOnOneNodeStopsTheOtherNodesRequests) {
  ClusterOptions options;
  options.max_in_flight_per_webhook = 1;
  auto cluster = ClusterHarness::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  (*cluster)->receiver().On("/deleted").Reply(200).After(absl::Milliseconds(500));
  auto webhook = (*cluster)->CreateWebhook(0, "/deleted");
  ASSERT_TRUE(webhook.ok()) << webhook.status();
  auto owner = (*cluster)->OwnerOf(webhook->name());
  ASSERT_TRUE(owner.ok() && *owner >= 0);
  const int deleting = 1 - *owner;
  for (int i = 0; i < 20; ++i) PublishOne(**cluster, *owner);
  ASSERT_TRUE((*cluster)->receiver().WaitForRequests("/deleted", 2, absl::Seconds(20)));

  v1::DeleteWebhookRequest request;
  request.set_name(webhook->name());
  google::protobuf::Empty empty;
  ASSERT_TRUE(
      (*cluster)->webhooks(deleting).DeleteWebhook(ClusterContext().get(), request, &empty).ok());
  const absl::Time deleted = absl::Now();
  absl::SleepFor(absl::Seconds(3));
  for (const ReceivedRequest& received : (*cluster)->receiver().Requests("/deleted")) {
    EXPECT_LE(received.receive_time, deleted + absl::Seconds(1))
        << "sent " << (received.receive_time - deleted) << " after DeleteWebhook returned";
  }
  EXPECT_LT((*cluster)->receiver().Requests("/deleted").size(), 20u);
}

// An application's key made on one node works on the other at once, and
// revoked on one node it is refused by the other within moments (the
// revoke's notice, not the 30 s full reload: the wait is far shorter).
TEST(ClusterTest, AKeyRevokedOnOneNodeIsRefusedByTheOther) {
  auto cluster = ClusterHarness::Start(ClusterOptions());
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto applications0 = v1::ApplicationService::NewStub((*cluster)->channel(0));
  v1::CreateApplicationRequest create;
  create.set_parent("accounts/acme");
  create.set_application_id("pms");
  create.mutable_application()->set_display_name("PMS");
  v1::CreateApplicationResponse created;
  ASSERT_TRUE(applications0->CreateApplication(ClusterContext().get(), create, &created).ok());

  const auto list_with_key = [&](int node) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + created.api_key());
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ListWebhooksRequest request;
    request.set_parent("accounts/acme");
    v1::ListWebhooksResponse response;
    return (*cluster)->webhooks(node).ListWebhooks(&context, request, &response);
  };
  // Node 1 learns of the create through its notice, well before the full
  // reload would bring it.
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  grpc::Status on_other = list_with_key(1);
  while (!on_other.ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    on_other = list_with_key(1);
  }
  ASSERT_TRUE(on_other.ok()) << on_other.error_message();

  v1::RevokeApplicationRequest revoke;
  revoke.set_name(created.application().name());
  v1::Application revoked;
  ASSERT_TRUE(applications0->RevokeApplication(ClusterContext().get(), revoke, &revoked).ok());
  EXPECT_EQ(list_with_key(0).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  deadline = absl::Now() + absl::Seconds(5);
  on_other = list_with_key(1);
  while (on_other.ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    on_other = list_with_key(1);
  }
  EXPECT_EQ(on_other.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

// Events for one webhook published through both nodes are all sent by the
// node that owns its partition, so its in-flight limit holds across the
// cluster: with a receiver that answers after 300 ms, no more than 2
// requests (the limit) are ever open at once.
TEST(ClusterTest, AWebhooksInFlightLimitHoldsAcrossNodes) {
  ClusterOptions options;
  options.max_in_flight_per_webhook = 2;
  auto cluster = ClusterHarness::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  constexpr absl::Duration kAnswerAfter = absl::Milliseconds(300);
  (*cluster)->receiver().On("/limited").Reply(200).After(kAnswerAfter);
  auto webhook = (*cluster)->CreateWebhook(0, "/limited");
  ASSERT_TRUE(webhook.ok()) << webhook.status();
  constexpr int kEvents = 12;
  for (int i = 0; i < kEvents; ++i) PublishOne(**cluster, i % 2);
  ASSERT_TRUE((*cluster)->receiver().WaitForRequests("/limited", kEvents, absl::Seconds(30)));

  // Each request is open from its arrival until the answer 300 ms later; the
  // next one on a slot can only arrive after that answer.
  std::vector<absl::Time> arrivals;
  for (const ReceivedRequest& request : (*cluster)->receiver().Requests("/limited")) {
    arrivals.push_back(request.receive_time);
  }
  int most_open = 0;
  for (const absl::Time arrival : arrivals) {
    int open = 0;
    for (const absl::Time other : arrivals) {
      if (other <= arrival && arrival < other + kAnswerAfter) ++open;
    }
    most_open = std::max(most_open, open);
  }
  EXPECT_EQ(most_open, 2) << "the limit, reached and never passed";
}

// A node that cannot reach a writable primary says so: health NOT_SERVING,
// even while nobody writes (its lease heartbeat fails), and SERVING again
// once the database is back.
TEST(ClusterTest, HealthIsNotServingWhileNoWritablePrimaryAnswers) {
  auto cluster = ClusterHarness::Start(ClusterOptions{});
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto health = grpc::health::v1::Health::NewStub((*cluster)->channel(1));
  const auto wait_for = [&](grpc::health::v1::HealthCheckResponse::ServingStatus wanted) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    grpc::health::v1::HealthCheckResponse response;
    while (absl::Now() < deadline) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      if (health->Check(&context, grpc::health::v1::HealthCheckRequest(), &response).ok() &&
          response.status() == wanted) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  };
  EXPECT_TRUE(wait_for(grpc::health::v1::HealthCheckResponse::SERVING));
  ASSERT_TRUE((*cluster)->primary_database().Kill().ok());
  EXPECT_TRUE(wait_for(grpc::health::v1::HealthCheckResponse::NOT_SERVING)) << (*cluster)->Log(1);
  ASSERT_TRUE((*cluster)->primary_database().Restart().ok());
  EXPECT_TRUE(wait_for(grpc::health::v1::HealthCheckResponse::SERVING)) << (*cluster)->Log(1);
  // And it works again: a webhook can be made through either node.
  EXPECT_TRUE((*cluster)->CreateWebhook(1, "/after").ok());
}

// A watch read on one node and resumed from its cursor on the other: the
// cursors strictly increase and every update arrives exactly once, whichever
// node committed it.
TEST(ClusterTest, AWatchResumesOnTheOtherNodeFromItsCursor) {
  auto cluster = ClusterHarness::Start(ClusterOptions{});
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto webhook = (*cluster)->CreateWebhook(0, "/watched");
  ASSERT_TRUE(webhook.ok()) << webhook.status();

  const auto publish = [&](int node, int count) {
    for (int i = 0; i < count; ++i) PublishOne(**cluster, node);
  };
  // Reads from `node` after `cursor` until `count` updates came.
  std::vector<int64_t> cursors;
  std::multiset<std::pair<std::string, int>> updates;  // (delivery, state)
  const auto watch = [&](int node, int64_t cursor, size_t count) {
    v1::WatchDeliveriesRequest request;
    request.set_parent("accounts/acme");
    request.set_start_cursor(cursor);
    auto context = ClusterContext();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto stream = (*cluster)->deliveries(node).WatchDeliveries(context.get(), request);
    v1::WatchDeliveriesResponse response;
    while (updates.size() < count && stream->Read(&response)) {
      cursors.push_back(response.cursor());
      updates.insert({response.delivery().name(), response.delivery().state()});
    }
    context->TryCancel();
    while (stream->Read(&response)) {
    }
    stream->Finish();
  };

  publish(1, 10);
  watch(0, 1, 12);  // from the first update; stops part way
  ASSERT_EQ(updates.size(), 12u);
  publish(0, 5);
  publish(1, 5);
  watch(1, cursors.back(), 40);  // 20 events, PENDING then SUCCEEDED each

  ASSERT_EQ(updates.size(), 40u);
  for (size_t i = 1; i < cursors.size(); ++i) {
    EXPECT_LT(cursors[i - 1], cursors[i]) << "at " << i;
  }
  std::set<std::string> succeeded;
  for (const auto& [delivery, state] : updates) {
    EXPECT_EQ(updates.count({delivery, state}), 1u) << delivery << " " << state;
    if (state == v1::DELIVERY_STATE_SUCCEEDED) succeeded.insert(delivery);
  }
  EXPECT_EQ(succeeded.size(), 20u);
}

}  // namespace
}  // namespace wink::webhooks::testing
