// End-to-end throughput of the delivery path on this machine, with its own
// baseline measured in the same run:
//   1. baseline: a trivial authenticated RPC (ListEventTypes) from N client
//      threads against the same server: calls/s;
//   2. PublishEvent (durable: WAL fsync + group commit) from N client
//      threads: events/s, and the ratio to the baseline;
//   3. deliveries: from the first publish until the local HTTPS receiver has
//      every POST: delivered/s while publishing goes on;
//   4. with --drain: the same events are first held (webhooks paused), then
//      released at once: delivered/s of the engine alone.
// The server runs in-process (the same Server class main.cc starts) with its
// data in a temporary directory; the receiver is the test receiver
// (thread-per-connection HTTP/1.1 over TLS, keep-alive).
//
//   build-release/bench/delivery_throughput [--events=20000] [--threads=16]
//       [--webhooks=1] [--sync=fsync|os] [--drain] [--ordered]
//
// Numbers depend on the machine and what else runs on it: compare ratios
// from one run, not absolute values across runs.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "service/auth/authenticator.h"
#include "service/config/server_config.h"
#include "service/server/server.h"
#include "tests/fakes/https_receiver.h"
#include "tests/fakes/temp_dir.h"
#include "wink/webhooks/v1/webhook_service.grpc.pb.h"

ABSL_FLAG(int, events, 20000, "events to publish");
ABSL_FLAG(int, threads, 16, "client threads");
ABSL_FLAG(int, webhooks, 1, "webhooks subscribed to every event (deliveries = events x webhooks)");
ABSL_FLAG(std::string, sync, "fsync", "storage sync mode: fsync or os");
ABSL_FLAG(int, baseline_calls, 20000, "trivial RPCs for the baseline");
ABSL_FLAG(bool, drain, false,
          "publish with the webhooks paused, then resume them and time the delivery of the "
          "backlog alone");
ABSL_FLAG(bool, ordered, false,
          "create the webhooks with ordered_delivery (one request at a time each, in publish "
          "order)");

namespace wink::webhooks {
namespace {

constexpr char kToken[] = "bench-token";

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", std::string("Bearer ") + kToken);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

// Runs `calls` calls of `call(i)` spread over `threads` threads; returns
// calls per second.
template <typename Call>
double Measure(int calls, int threads, Call call) {
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = next++; i < calls; i = next++) {
        if (!call(i)) ++failures;
      }
    });
  }
  for (auto& worker : workers) worker.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (failures > 0) std::fprintf(stderr, "%d calls failed\n", failures.load());
  return calls / seconds;
}

int Run() {
  const int events = absl::GetFlag(FLAGS_events);
  const int threads = absl::GetFlag(FLAGS_threads);
  const int webhooks = absl::GetFlag(FLAGS_webhooks);

  auto receiver = testing::HttpsReceiver::Start();
  if (!receiver.ok()) {
    std::fprintf(stderr, "receiver: %s\n", std::string(receiver.status().message()).c_str());
    return 1;
  }
  testing::TempDir dir;
  config::ServerConfig config;
  config.set_listen_address("127.0.0.1:0");
  config.set_data_dir(dir.Child("data"));
  auto* token = config.add_tokens();
  token->set_name("bench");
  token->set_sha256(auth::Sha256Hex(kToken));
  token->set_admin(true);
  config.add_allow_private_targets("127.0.0.0/8");
  config.add_extra_ca_file((*receiver)->ca_file());
  config.mutable_storage()->set_sync_mode(absl::GetFlag(FLAGS_sync) == "os"
                                              ? config::v1::StorageConfig::SYNC_MODE_OS_BUFFERED
                                              : config::v1::StorageConfig::SYNC_MODE_FSYNC);
  config::ApplyDefaults(config);
  if (auto valid = config::ValidateServerConfig(config); !valid.ok()) {
    std::fprintf(stderr, "config: %s\n", std::string(valid.message()).c_str());
    return 1;
  }
  auto server = Server::Start(config);
  if (!server.ok()) {
    std::fprintf(stderr, "server: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  auto channel = grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials());
  auto stub = v1::WebhookService::NewStub(channel);

  const bool drain = absl::GetFlag(FLAGS_drain);
  std::vector<std::string> webhook_names;
  for (int w = 0; w < webhooks; ++w) {
    v1::CreateWebhookRequest request;
    request.set_parent("accounts/bench");
    request.mutable_webhook()->set_display_name(absl::StrCat("bench ", w));
    request.mutable_webhook()->set_url((*receiver)->Url(absl::StrCat("/hook/", w)));
    request.mutable_webhook()->set_enabled(!drain);
    request.mutable_webhook()->set_ordered_delivery(absl::GetFlag(FLAGS_ordered));
    v1::Webhook created;
    if (!stub->CreateWebhook(Context().get(), request, &created).ok()) return 1;
    webhook_names.push_back(created.name());
  }

  const double baseline = Measure(absl::GetFlag(FLAGS_baseline_calls), threads, [&](int) {
    v1::ListEventTypesRequest request;
    request.set_parent("accounts/bench");
    request.set_page_size(1);
    v1::ListEventTypesResponse response;
    return stub->ListEventTypes(Context().get(), request, &response).ok();
  });

  const std::string payload =
      R"({"booking_id":"B-000000","property_id":"P-42","check_in":"2026-12-24",)"
      R"("check_out":"2026-12-27","guests":2,"amount":{"value":"412.50","currency":"EUR"}})";
  const absl::Time publish_start = absl::Now();
  const double publish = Measure(events, threads, [&](int i) {
    v1::PublishEventRequest request;
    request.set_parent("accounts/bench");
    request.set_event_type("booking.created");
    request.set_data_json(payload);
    request.set_idempotency_key(absl::StrCat("bench-", i));
    v1::PublishEventResponse response;
    return stub->PublishEvent(Context().get(), request, &response).ok();
  });

  const size_t expected = static_cast<size_t>(events) * webhooks;
  absl::Time delivery_start = publish_start;
  if (drain) {
    delivery_start = absl::Now();
    for (const std::string& name : webhook_names) {
      v1::UpdateWebhookRequest request;
      request.mutable_webhook()->set_name(name);
      request.mutable_webhook()->set_enabled(true);
      v1::Webhook updated;
      if (!stub->UpdateWebhook(Context().get(), request, &updated).ok()) return 1;
    }
  }
  const absl::Time deadline = absl::Now() + absl::Minutes(5);
  while ((*receiver)->Requests().size() < expected && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const size_t delivered = (*receiver)->Requests().size();
  const double delivery_seconds = absl::ToDoubleSeconds(absl::Now() - delivery_start);

  std::printf("machine: %u cores; storage sync: %s; client threads: %d; webhooks: %d\n",
              std::thread::hardware_concurrency(), absl::GetFlag(FLAGS_sync).c_str(), threads,
              webhooks);
  std::printf("%-44s %12.0f calls/s\n", "baseline ListEventTypes (trivial RPC)", baseline);
  std::printf("%-44s %12.0f events/s  (%.0f%% of baseline)\n", "PublishEvent (durable)", publish,
              100.0 * publish / baseline);
  std::printf(
      "%-44s %12.0f POSTs/s   (%zu of %zu in %.2f s from %s)\n",
      drain ? "held deliveries released to the receiver" : "deliveries to the local HTTPS receiver",
      delivered / delivery_seconds, delivered, expected, delivery_seconds,
      drain ? "the resume" : "the first publish");
  channel.reset();
  (*server)->Shutdown(absl::Seconds(5));
  return delivered == expected ? 0 : 1;
}

}  // namespace
}  // namespace wink::webhooks

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return wink::webhooks::Run();
}
