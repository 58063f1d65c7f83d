// The storage writer's work for delivered events, without gRPC, HTTPS or
// the engine around it: the real RocksDB backend in a temporary directory,
// one webhook, and per event what the service stores for a delivery that
// succeeds at once: the publish (event, idempotency entry, delivery, due
// entry, update) and the attempt's result (attempt, delivery, due entries
// removed, update), with the engine's read of the attempt's records between
// them. Publishes and results are submitted 64 at a time, as concurrent
// callers and the engine do, so the writer groups them.
//
// Process CPU per event (every thread: the caller, the writer, RocksDB's
// flushes and compactions), with the WAL written but not fsynced (the fsync
// is the disk's time, not CPU, and the noisiest part). For before/after
// comparisons of the writer path; keys, records and group sizes are those
// of the service.
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "service/common/clock.h"
#include "service/storage/backend.h"
#include "service/storage/rocksdb/backend.h"

namespace wink::webhooks::storage::rocks {
namespace {

constexpr int kInFlight = 64;

void BM_WriterDeliveredEvents(benchmark::State& state) {
  char dir_template[] = "/tmp/wink-writer-bench.XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (dir == nullptr) return state.SkipWithError("mkdtemp failed");
  {
    RocksDbOptions options;
    options.data_dir = absl::StrCat(dir, "/db");
    options.sync_writes = false;
    auto opened = OpenRocksDbBackend(options, SystemClock(), /*observer=*/nullptr);
    if (!opened.ok()) return state.SkipWithError(std::string(opened.status().message()).c_str());
    StorageBackend& backend = **opened;

    WebhookRecord webhook;
    webhook.set_account("bench");
    webhook.set_url("https://receiver.example/hook");
    webhook.set_enabled(true);
    webhook.set_create_time_us(absl::ToUnixMicros(absl::Now()));
    webhook.add_secrets()->set_key(std::string(32, 's'));
    CreateWebhookOptions create;
    create.now = absl::Now();
    auto created = backend.webhooks().Create(webhook, create);
    if (!created.ok()) return state.SkipWithError(std::string(created.status().message()).c_str());
    const std::string webhook_id = created->webhook.id();
    auto rules = std::make_shared<const domain::DeliveryRules>();
    const std::string data_json = absl::StrCat(R"({"booking":")", std::string(240, 'b'), R"("})");

    int64_t published = 0;
    std::atomic<int64_t> failures = 0;
    for (auto _ : state) {
      std::vector<std::string> event_ids(kInFlight);
      {
        absl::BlockingCounter done(kInFlight);
        for (int i = 0; i < kInFlight; ++i) {
          PublishRequest request;
          request.account = "bench";
          request.event_type = "booking.created";
          request.data_json = data_json;
          request.idempotency_key = absl::StrCat("key-", published + i);
          request.request_fingerprint = "fingerprint";
          backend.events().Publish(std::move(request),
                                   [&, i](absl::StatusOr<PublishResult> result) {
                                     if (result.ok()) {
                                       event_ids[i] = result->event.id();
                                     } else {
                                       ++failures;
                                     }
                                     done.DecrementCount();
                                   });
        }
        done.Wait();
      }
      published += kInFlight;
      {
        absl::BlockingCounter done(kInFlight);
        for (const std::string& event_id : event_ids) {
          auto loaded = backend.deliveries().LoadAttempt(webhook_id, event_id);
          if (!loaded.ok()) {
            ++failures;
            done.DecrementCount();
            continue;
          }
          RecordAttemptRequest record;
          record.webhook_id = webhook_id;
          record.event_id = event_id;
          record.rules = rules;
          record.finished.due_time_us = loaded->delivery.next_attempt_time_us();
          record.finished.outcome = domain::AttemptOutcome::kDelivered;
          record.finished.attempt.set_start_time_us(absl::ToUnixMicros(absl::Now()));
          record.finished.attempt.set_latency_us(1500);
          record.finished.attempt.set_http_status(200);
          record.finished.attempt.set_response_body("ok");
          record.finished.attempt.set_succeeded(true);
          backend.deliveries().RecordAttempt(std::move(record), [&](absl::Status status) {
            if (!status.ok()) ++failures;
            done.DecrementCount();
          });
        }
        done.Wait();
      }
    }
    if (failures > 0) state.SkipWithError(absl::StrCat(failures.load(), " writes failed").c_str());
    state.SetItemsProcessed(published);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}
BENCHMARK(BM_WriterDeliveredEvents)->MeasureProcessCPUTime()->UseRealTime();

}  // namespace
}  // namespace wink::webhooks::storage::rocks
