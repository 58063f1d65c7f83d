// A cluster on this machine for the cluster tests: a real PostgreSQL 15
// (optionally a primary with two synchronous quorum standbys), N real
// server processes (the shipped binary) over it with their own node ids,
// and a real HTTPS receiver, all on loopback and all stopped by the
// destructor. Tests drive it through the public gRPC API only, and read the
// partition leases straight from the database to aim at a given node.
//
// Tokens: kClusterToken is an admin token on every node.
#ifndef WINK_WEBHOOKS_TESTS_CLUSTER_CLUSTER_HARNESS_H_
#define WINK_WEBHOOKS_TESTS_CLUSTER_CLUSTER_HARNESS_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "tests/fakes/https_receiver.h"
#include "tests/fakes/postgres_server.h"
#include "tests/fakes/temp_dir.h"
#include "tests/integration/server_process.h"
#include "wink/webhooks/v1/delivery_service.grpc.pb.h"
#include "wink/webhooks/v1/webhook_service.grpc.pb.h"

namespace wink::webhooks::testing {

inline constexpr char kClusterToken[] = "cluster-test-token-93d1";

struct ClusterOptions {
  int nodes = 2;
  // A primary and two synchronous quorum standbys (ANY 1) instead of one
  // server; the nodes connect with a multi-host conninfo.
  bool replicated = false;
  // Short, so that takeovers happen within a test's time: a node that died
  // loses its partitions after this long.
  absl::Duration lease_ttl = absl::Seconds(3);
  absl::Duration handover_drain = absl::Seconds(1);
  // delivery.max_in_flight: what a node may have sent and not yet recorded,
  // so what a crash may send twice.
  int max_in_flight = 64;
  // delivery.max_in_flight_per_webhook (0: the default, 16).
  int max_in_flight_per_webhook = 0;
};

// A gRPC client context with the token and a 10 s deadline.
std::unique_ptr<grpc::ClientContext> ClusterContext();

class ClusterHarness {
 public:
  // Starts everything and waits until every node is ready and the
  // partitions are shared out (each node leases some).
  static absl::StatusOr<std::unique_ptr<ClusterHarness>> Start(const ClusterOptions& options);
  ~ClusterHarness();

  HttpsReceiver& receiver() { return *receiver_; }
  // The first primary (the only server unless replicated).
  PostgresServer& primary_database() { return *databases_[0]; }
  std::shared_ptr<grpc::Channel> channel(int node) const { return nodes_[node].channel; }
  int node_count() const { return static_cast<int>(nodes_.size()); }
  const std::string& address(int node) const { return nodes_[node].address; }
  v1::WebhookService::Stub& webhooks(int node) { return *nodes_[node].webhooks; }
  v1::DeliveryService::Stub& deliveries(int node) { return *nodes_[node].deliveries; }
  std::string node_id(int node) const;
  std::string Log(int node) const;

  // kill -9, SIGSTOP, SIGCONT, or a fresh start of a node that exited.
  void KillNode(int node);
  void SignalNode(int node, int signal_number);
  absl::Status RestartNode(int node);

  // Which node (index) leases the partition of `webhook_id` now; -1 if none.
  absl::StatusOr<int> OwnerOf(const std::string& webhook_id);
  // Waits until each node leases at least one partition and no partition is
  // handed over.
  absl::Status WaitUntilShared(absl::Duration timeout);

  // Replicated only: kill -9 the primary and promote the standby that
  // received the most; the other standby follows it.
  absl::Status KillPrimaryAndPromote();

  // A webhook of account "acme" sending to the receiver's `path`.
  absl::StatusOr<v1::Webhook> CreateWebhook(int node, const std::string& path);

 private:
  struct Node {
    std::unique_ptr<ServerProcess> process;
    std::string address;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::WebhookService::Stub> webhooks;
    std::unique_ptr<v1::DeliveryService::Stub> deliveries;
    int starts = 0;
  };
  ClusterHarness() = default;
  absl::Status StartNode(int node);
  // Runs `sql` on the writable server; the rows as text.
  absl::StatusOr<std::vector<std::vector<std::string>>> Query(const std::string& sql);

  TempDir dir_;
  std::unique_ptr<HttpsReceiver> receiver_;
  std::vector<std::unique_ptr<PostgresServer>> databases_;  // [0]: the first primary
  std::string conninfo_;
  std::string config_file_;
  std::vector<Node> nodes_;
};

}  // namespace wink::webhooks::testing

#endif  // WINK_WEBHOOKS_TESTS_CLUSTER_CLUSTER_HARNESS_H_
