// Storage encodings on the publish and delivery paths: RocksDB keys (every
// write builds several), the delivery record (read and written once per
// attempt, copied into every update), and the delivery rules applied to an
// attempt (domain/delivery_lifecycle.h, inside every attempt's write).
#include <string>

#include "benchmark/benchmark.h"
#include "service/domain/delivery_lifecycle.h"
#include "service/storage/records.h"
#include "service/storage/rocksdb/keys.h"
#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::storage::rocks {
namespace {

constexpr char kWebhookId[] = "wh_01jdq3v8k2m7x9c4t6y1b5n0ra";
constexpr char kEventId[] = "evt_01jdq3v8k2m7x9c4t6y1b5n0rb";

void BM_DeliveryKey(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(DeliveryKey(kWebhookId, kEventId));
}
BENCHMARK(BM_DeliveryKey);

void BM_DueKey(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(DueKey(1795818000123456, kWebhookId, kEventId));
}
BENCHMARK(BM_DueKey);

void BM_DecodeDueKey(benchmark::State& state) {
  const std::string key = DueKey(1795818000123456, kWebhookId, kEventId);
  DueKeyParts parts;
  for (auto _ : state) benchmark::DoNotOptimize(DecodeDueKey(key, &parts));
}
BENCHMARK(BM_DecodeDueKey);

void BM_AttemptKey(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(AttemptKey(kWebhookId, kEventId, 3));
}
BENCHMARK(BM_AttemptKey);

// A delivery after one failed attempt, as stored.
internal::v1::DeliveryRecord SampleDelivery() {
  internal::v1::DeliveryRecord record;
  record.set_version(kDeliveryRecordVersion);
  record.set_account("acme-hotels");
  record.set_webhook_id(kWebhookId);
  record.set_event_id(kEventId);
  record.set_event_type("booking.created");
  record.set_state(internal::v1::DELIVERY_STATE_RECORD_RETRY_SCHEDULED);
  record.set_attempt_count(1);
  record.set_next_attempt_time_us(1795818005123456);
  record.set_create_time_us(1795818000123456);
  record.set_update_time_us(1795818000323456);
  internal::v1::AttemptRecord& attempt = *record.mutable_last_attempt();
  attempt.set_version(kAttemptRecordVersion);
  attempt.set_attempt_number(1);
  attempt.set_start_time_us(1795818000123456);
  attempt.set_latency_us(200000);
  attempt.set_http_status(503);
  attempt.set_response_body(R"({"error":"maintenance, try again later"})");
  return record;
}

void BM_EncodeDeliveryRecord(benchmark::State& state) {
  const internal::v1::DeliveryRecord record = SampleDelivery();
  std::string bytes;
  for (auto _ : state) {
    record.SerializeToString(&bytes);
    benchmark::DoNotOptimize(bytes);
  }
}
BENCHMARK(BM_EncodeDeliveryRecord);

void BM_DecodeDeliveryRecord(benchmark::State& state) {
  const std::string bytes = SampleDelivery().SerializeAsString();
  for (auto _ : state) {
    internal::v1::DeliveryRecord record;
    benchmark::DoNotOptimize(DecodeRecord(bytes, kDeliveryRecordVersion, "delivery", record));
  }
}
BENCHMARK(BM_DecodeDeliveryRecord);

// A retryable failure of a due delivery: the transition every failed
// attempt's write computes.
void BM_NextDeliveryAfterAFailedAttempt(benchmark::State& state) {
  internal::v1::DeliveryRecord before = SampleDelivery();
  internal::v1::WebhookRecord webhook;
  webhook.set_account("acme-hotels");
  webhook.set_id(kWebhookId);
  webhook.set_enabled(true);
  webhook.set_failing_since_us(1795818000123456);
  domain::AttemptFinished finished;
  finished.due_time_us = before.next_attempt_time_us();
  finished.attempt = before.last_attempt();
  finished.outcome = domain::AttemptOutcome::kRetryLater;
  const absl::Time now = absl::FromUnixMicros(1795818005323456);
  for (auto _ : state) {
    benchmark::DoNotOptimize(domain::NextDelivery(&before, &webhook, finished, now));
  }
}
BENCHMARK(BM_NextDeliveryAfterAFailedAttempt);

}  // namespace
}  // namespace wink::webhooks::storage::rocks
