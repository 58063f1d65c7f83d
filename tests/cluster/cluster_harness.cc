#include "tests/cluster/cluster_harness.h"

#include <libpq-fe.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "service/auth/authenticator.h"
#include "service/storage/postgres/schema.h"

namespace wink::webhooks::testing {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(30);
constexpr char kDatabase[] = "webhooks";

// A Duration field of the text-format config.
std::string DurationText(absl::string_view field, absl::Duration value) {
  const int64_t nanos = absl::ToInt64Nanoseconds(value);
  return absl::StrCat(field, " { seconds: ", nanos / 1000000000, " nanos: ", nanos % 1000000000,
                      " } ");
}

std::string IdOf(const std::string& resource_name) {
  return std::string(resource_name.substr(resource_name.rfind('/') + 1));
}

}  // namespace

std::unique_ptr<grpc::ClientContext> ClusterContext() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", std::string("Bearer ") + kClusterToken);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

absl::StatusOr<std::unique_ptr<ClusterHarness>> ClusterHarness::Start(
    const ClusterOptions& options) {
  std::unique_ptr<ClusterHarness> cluster(new ClusterHarness());
  auto receiver = HttpsReceiver::Start();
  if (!receiver.ok()) return receiver.status();
  cluster->receiver_ = std::move(*receiver);

  const auto database_dir = [&](int i) {
    const std::string dir = cluster->dir_.Child(absl::StrCat("pg", i));
    mkdir(dir.c_str(), 0755);
    return dir;
  };
  PostgresServerOptions primary_options;
  if (options.replicated) primary_options.synchronous_standbys = {"s1", "s2"};
  auto primary = PostgresServer::Start(database_dir(0), primary_options);
  if (!primary.ok()) return primary.status();
  cluster->databases_.push_back(std::move(*primary));
  if (options.replicated) {
    for (int i = 1; i <= 2; ++i) {
      auto standby = PostgresServer::StartStandby(database_dir(i), *cluster->databases_[0],
                                                  absl::StrCat("s", i), primary_options);
      if (!standby.ok()) return standby.status();
      cluster->databases_.push_back(std::move(*standby));
    }
  }
  // After the standbys started: until one is connected, commits wait.
  if (absl::Status created = cluster->databases_[0]->CreateDatabase(kDatabase); !created.ok()) {
    return created;
  }
  // A node's multi-host conninfo stops at a server that does not have the
  // database yet: wait until every standby replayed its creation.
  for (const auto& server : cluster->databases_) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (true) {
      PGconn* connection = PQconnectdb(server->ConnInfo(kDatabase).c_str());
      const bool connected = PQstatus(connection) == CONNECTION_OK;
      PQfinish(connection);
      if (connected) break;
      if (absl::Now() > deadline) return absl::DeadlineExceededError("a standby lacks the database");
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  std::vector<const PostgresServer*> servers;
  for (const auto& server : cluster->databases_) servers.push_back(server.get());
  cluster->conninfo_ = PostgresServer::MultiHostConnInfo(servers, kDatabase);

  cluster->config_file_ = cluster->dir_.Child("server.textproto");
  std::ofstream(cluster->config_file_)
      << "storage { postgres { conninfo: \"" << cluster->conninfo_ << "\" "
      << DurationText("partition_lease_ttl", options.lease_ttl)
      << DurationText("partition_handover_drain", options.handover_drain) << "} }\n"
      << "delivery { max_in_flight: " << options.max_in_flight
      << " max_in_flight_per_webhook: " << options.max_in_flight_per_webhook
      << " retry_schedule { seconds: 0 } retry_schedule { seconds: 1 } "
         "retry_schedule { seconds: 1 } retry_schedule { seconds: 2 } }\n";
  cluster->nodes_.resize(static_cast<size_t>(options.nodes));
  for (int node = 0; node < options.nodes; ++node) {
    if (absl::Status started = cluster->StartNode(node); !started.ok()) return started;
  }
  if (absl::Status shared = cluster->WaitUntilShared(absl::Seconds(40)); !shared.ok()) {
    return shared;
  }
  return cluster;
}

ClusterHarness::~ClusterHarness() {
  for (Node& node : nodes_) node.process.reset();  // SIGKILL if still running
  if (::testing::Test::HasFailure()) {
    // The nodes' logs go with the temporary directory: show their ends.
    for (int node = 0; node < node_count(); ++node) {
      const std::string log = Log(node);
      std::fprintf(stderr, "---- %s (last 6000 bytes of its log)\n%s\n", node_id(node).c_str(),
                   log.substr(log.size() > 6000 ? log.size() - 6000 : 0).c_str());
    }
  }
  if (receiver_ != nullptr) receiver_->Stop();
}

std::string ClusterHarness::node_id(int node) const { return absl::StrCat("node-", node + 1); }

std::string ClusterHarness::Log(int node) const {
  std::string log;
  for (int start = 1; start <= nodes_[node].starts; ++start) {
    std::ifstream file(dir_.Child(absl::StrCat(node_id(node), "-", start, ".log")));
    log.append(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  }
  return log;
}

absl::Status ClusterHarness::StartNode(int index) {
  Node& node = nodes_[index];
  ++node.starts;
  node.process = ServerProcess::Start(
      {"--config=" + config_file_, "--listen=127.0.0.1:0", "--node_id=" + node_id(index),
       "--admin_token_sha256=" + auth::Sha256Hex(kClusterToken),
       "--allow_private_targets=127.0.0.0/8", "--extra_ca_file=" + receiver_->ca_file()},
      dir_.Child(absl::StrCat(node_id(index), "-", node.starts, ".log")));
  auto address = node.process->WaitReady(kStartTimeout);
  if (!address.ok()) {
    return absl::Status(address.status().code(),
                        absl::StrCat(node_id(index), ": ", address.status().message(), "\n",
                                     node.process->Log()));
  }
  node.address = *address;
  node.channel = grpc::CreateChannel(node.address, grpc::InsecureChannelCredentials());
  node.webhooks = v1::WebhookService::NewStub(node.channel);
  node.deliveries = v1::DeliveryService::NewStub(node.channel);
  return absl::OkStatus();
}

void ClusterHarness::KillNode(int node) {
  SignalNode(node, SIGKILL);
  nodes_[node].process->WaitExit(absl::Seconds(10)).IgnoreError();
}

void ClusterHarness::SignalNode(int node, int signal_number) {
  nodes_[node].process->Signal(signal_number);
}

absl::Status ClusterHarness::RestartNode(int node) { return StartNode(node); }

absl::StatusOr<std::vector<std::vector<std::string>>> ClusterHarness::Query(
    const std::string& sql) {
  PGconn* connection = PQconnectdb(conninfo_.c_str());
  std::vector<std::vector<std::string>> rows;
  absl::Status status = absl::OkStatus();
  if (PQstatus(connection) != CONNECTION_OK) {
    status = absl::UnavailableError(PQerrorMessage(connection));
  } else {
    PGresult* result = PQexec(connection, sql.c_str());
    if (PQresultStatus(result) != PGRES_TUPLES_OK) {
      status = absl::InternalError(PQresultErrorMessage(result));
    } else {
      for (int row = 0; row < PQntuples(result); ++row) {
        rows.emplace_back();
        for (int column = 0; column < PQnfields(result); ++column) {
          rows.back().push_back(PQgetvalue(result, row, column));
        }
      }
    }
    PQclear(result);
  }
  PQfinish(connection);
  if (!status.ok()) return status;
  return rows;
}

absl::StatusOr<int> ClusterHarness::OwnerOf(const std::string& webhook_id) {
  auto rows = Query(absl::StrCat("SELECT owner FROM partitions WHERE part = ",
                                 storage::pg::PartitionOf(IdOf(webhook_id)),
                                 " AND expires_at > clock_timestamp()"));
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return -1;
  for (int node = 0; node < node_count(); ++node) {
    if ((*rows)[0][0] == node_id(node)) return node;
  }
  return -1;
}

absl::Status ClusterHarness::WaitUntilShared(absl::Duration timeout) {
  const int fair_share = (storage::pg::kPartitionCount + node_count() - 1) / node_count();
  const absl::Time deadline = absl::Now() + timeout;
  std::string last;
  while (absl::Now() < deadline) {
    auto rows = Query(
        "SELECT owner, count(*) FROM partitions WHERE expires_at > clock_timestamp() "
        "GROUP BY owner");
    if (rows.ok()) {
      std::map<std::string, int> owned;
      int total = 0;
      for (const auto& row : *rows) {
        owned[row[0]] = std::stoi(row[1]);
        total += std::stoi(row[1]);
      }
      bool shared = total == storage::pg::kPartitionCount;
      for (int node = 0; node < node_count(); ++node) {
        const int count = owned[node_id(node)];
        shared = shared && count >= 1 && count <= fair_share;
      }
      if (shared) return absl::OkStatus();
      last = absl::StrCat(rows->size(), " owners, ", total, " partitions leased");
    } else {
      last = std::string(rows.status().message());
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat("partitions not shared out: ", last));
}

absl::Status ClusterHarness::KillPrimaryAndPromote() {
  PostgresServer* primary = nullptr;
  std::vector<PostgresServer*> standbys;
  for (const auto& server : databases_) {
    // Only a standby has received WAL (one failover per test).
    if (server->ReceivedLsn().ok()) {
      standbys.push_back(server.get());
    } else if (primary == nullptr) {
      primary = server.get();
    }
  }
  if (primary == nullptr || standbys.size() != 2) {
    return absl::FailedPreconditionError("expected one primary and two standbys");
  }
  if (absl::Status killed = primary->Kill(); !killed.ok()) return killed;
  uint64_t lsn[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    auto received = standbys[i]->ReceivedLsn();
    if (!received.ok()) return received.status();
    lsn[i] = *received;
  }
  PostgresServer* promoted = lsn[0] >= lsn[1] ? standbys[0] : standbys[1];
  PostgresServer* follower = promoted == standbys[0] ? standbys[1] : standbys[0];
  if (absl::Status status = promoted->Promote(); !status.ok()) return status;
  return follower->Follow(*promoted);
}

absl::StatusOr<v1::Webhook> ClusterHarness::CreateWebhook(int node, const std::string& path) {
  v1::CreateWebhookRequest request;
  request.set_parent("accounts/acme");
  request.mutable_webhook()->set_display_name(path);
  request.mutable_webhook()->set_url(receiver_->Url(path));
  v1::Webhook webhook;
  const grpc::Status status = webhooks(node).CreateWebhook(ClusterContext().get(), request, &webhook);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  return webhook;
}

}  // namespace wink::webhooks::testing
