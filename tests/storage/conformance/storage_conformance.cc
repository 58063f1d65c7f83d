#include "tests/storage/conformance/storage_conformance.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"

namespace wink::webhooks::storage::testing {

void RecordingListener::OnDeliveryUpdate(const DeliveryUpdate& update) {
  absl::MutexLock lock(&mu_);
  updates_.push_back(update);
}

void RecordingListener::OnWebhookDeleted(const std::string& webhook_id) {
  absl::MutexLock lock(&mu_);
  deleted_.push_back(webhook_id);
}

std::vector<DeliveryUpdate> RecordingListener::updates() const {
  absl::MutexLock lock(&mu_);
  return updates_;
}

std::vector<std::string> RecordingListener::deleted_webhooks() const {
  absl::MutexLock lock(&mu_);
  return deleted_;
}

size_t RecordingListener::size() const {
  absl::MutexLock lock(&mu_);
  return updates_.size();
}

bool RecordingListener::WaitForAtLeast(size_t count, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto enough = [this, count]()
                    ABSL_SHARED_LOCKS_REQUIRED(mu_) { return updates_.size() >= count; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

const absl::Time StorageConformance::kEndOfTime = absl::FromUnixSeconds(4000000000);

void StorageConformance::SetUp() {
  harness_ = GetParam().make(dir_.Child("backend"));
  ASSERT_NE(harness_, nullptr);
  Reopen();
}

void StorageConformance::TearDown() {
  Close();
  // Whatever the test did, the backend's indexes agree with the records
  // they index (CountStored checks; RocksDB's after a full compaction).
  const absl::StatusOr<StoredCounts> counts = harness_->CountStored();
  EXPECT_TRUE(counts.ok()) << counts.status();
}

void StorageConformance::Close() {
  if (backend_ == nullptr) return;
  backend_->StopWrites();
  backend_->updates().RemoveListener(&listener_);
  backend_.reset();
}

void StorageConformance::Reopen() {
  Close();
  auto backend = harness_->Open(clock_);
  ASSERT_TRUE(backend.ok()) << backend.status();
  backend_ = *std::move(backend);
  backend_->updates().AddListener(&listener_);
}

domain::WebhookRecord StorageConformance::NewWebhook(absl::string_view account) const {
  domain::WebhookRecord webhook;
  webhook.set_account(std::string(account));
  webhook.set_display_name("Channel manager");
  webhook.set_url("https://example.com/hook");
  webhook.add_event_types("booking.created");
  webhook.set_enabled(true);
  (*webhook.mutable_headers())["X-Api-Key"] = "k";
  webhook.set_create_time_us(NowUs());
  webhook.set_update_time_us(NowUs());
  webhook.add_secrets()->set_key(std::string(32, 's'));
  return webhook;
}

CreateWebhookOptions StorageConformance::Options(absl::string_view request_id,
                                                 absl::string_view fingerprint) const {
  CreateWebhookOptions options;
  options.max_webhooks_per_account = 100;
  options.request_id = std::string(request_id);
  options.request_fingerprint = std::string(fingerprint);
  options.now = clock_.Now();
  options.request_id_expire_time = clock_.Now() + absl::Hours(24);
  return options;
}

std::string StorageConformance::MustCreate(absl::string_view account) {
  auto result = webhooks().Create(NewWebhook(account), Options());
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? result->webhook.id() : "";
}

std::string StorageConformance::CreateWebhook(absl::string_view account,
                                              const std::vector<std::string>& event_types) {
  domain::WebhookRecord webhook;
  webhook.set_account(std::string(account));
  webhook.set_url("https://example.com/hook");
  for (const auto& type : event_types) webhook.add_event_types(type);
  webhook.set_enabled(true);
  webhook.set_create_time_us(NowUs());
  webhook.add_secrets()->set_key(std::string(32, 's'));
  auto created = webhooks().Create(webhook, Options());
  EXPECT_TRUE(created.ok()) << created.status();
  return created.ok() ? created->webhook.id() : "";
}

absl::StatusOr<domain::WebhookRecord> StorageConformance::SetEnabled(absl::string_view account,
                                                                     absl::string_view id,
                                                                     bool enabled, bool drop_held) {
  UpdateWebhookOptions options;
  options.drop_held_deliveries = drop_held;
  return webhooks().Update(
      account, id,
      [enabled](domain::WebhookRecord& webhook) {
        webhook.set_enabled(enabled);
        return absl::OkStatus();
      },
      options);
}

void StorageConformance::Pause(absl::string_view account, absl::string_view id) {
  auto paused = SetEnabled(account, id, false);
  ASSERT_TRUE(paused.ok()) << paused.status();
}

void StorageConformance::Resume(absl::string_view account, absl::string_view id, bool drop_held) {
  auto resumed = SetEnabled(account, id, true, drop_held);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
}

domain::WebhookRecord StorageConformance::GetWebhook(absl::string_view account,
                                                     absl::string_view id) {
  auto webhook = webhooks().Get(account, id);
  EXPECT_TRUE(webhook.ok()) << webhook.status();
  return webhook.ok() ? *webhook : domain::WebhookRecord();
}

PublishRequest StorageConformance::Request(absl::string_view account, absl::string_view type,
                                           absl::string_view idempotency_key,
                                           absl::string_view fingerprint) {
  PublishRequest request;
  request.account = std::string(account);
  request.event_type = std::string(type);
  request.data_json = R"({"booking":"b-1"})";
  request.idempotency_key = std::string(idempotency_key);
  request.request_fingerprint = std::string(fingerprint);
  return request;
}

absl::StatusOr<PublishResult> StorageConformance::Publish(absl::string_view account,
                                                          absl::string_view type,
                                                          absl::string_view idempotency_key,
                                                          absl::string_view fingerprint,
                                                          absl::Duration retention) {
  PublishRequest request = Request(account, type, idempotency_key, fingerprint);
  request.idempotency_retention = retention;
  absl::Notification done;
  absl::StatusOr<PublishResult> result;
  events().Publish(std::move(request), [&](absl::StatusOr<PublishResult> published) {
    result = std::move(published);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

absl::StatusOr<std::vector<PublishResult>> StorageConformance::PublishBatch(
    std::vector<PublishRequest> requests) {
  absl::Notification done;
  absl::StatusOr<std::vector<PublishResult>> result;
  events().PublishBatch(std::move(requests), /*index_errors=*/true,
                        [&](absl::StatusOr<std::vector<PublishResult>> published) {
                          result = std::move(published);
                          done.Notify();
                        });
  done.WaitForNotification();
  return result;
}

std::string StorageConformance::MustPublish(absl::string_view account, absl::string_view type) {
  auto result = Publish(account, type);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? result->event.id() : "";
}

domain::DeliveryRecord StorageConformance::Delivery(absl::string_view webhook_id,
                                                    absl::string_view event_id) {
  auto loaded = deliveries().LoadAttempt(webhook_id, event_id);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  return loaded.ok() ? loaded->delivery : domain::DeliveryRecord();
}

absl::StatusCode StorageConformance::DeliveryStatus(absl::string_view webhook_id,
                                                    absl::string_view event_id) {
  return deliveries().LoadAttempt(webhook_id, event_id).status().code();
}

std::shared_ptr<const domain::DeliveryRules> StorageConformance::Rules(
    std::vector<absl::Duration> schedule, absl::Duration disable_after_failing_for) {
  auto rules = std::make_shared<domain::DeliveryRules>();
  rules->retry_policy = domain::RetryPolicy(std::move(schedule), absl::Hours(1), /*jitter=*/0);
  rules->disable_after_failing_for = disable_after_failing_for;
  return rules;
}

RecordAttemptRequest StorageConformance::AttemptOf(absl::string_view webhook_id,
                                                   absl::string_view event_id,
                                                   domain::AttemptOutcome outcome,
                                                   int http_status) {
  RecordAttemptRequest request;
  request.webhook_id = std::string(webhook_id);
  request.event_id = std::string(event_id);
  request.rules = Rules({absl::ZeroDuration(), absl::Seconds(5), absl::Seconds(5)});
  domain::AttemptFinished& finished = request.finished;
  finished.due_time_us = Delivery(webhook_id, event_id).next_attempt_time_us();
  finished.outcome = outcome;
  finished.attempt.set_start_time_us(NowUs());
  finished.attempt.set_latency_us(1500);
  finished.attempt.set_http_status(http_status);
  finished.attempt.set_response_body(absl::StrCat("response ", http_status));
  finished.attempt.set_succeeded(outcome == domain::AttemptOutcome::kDelivered);
  return request;
}

namespace {

// Runs an asynchronous call and waits for its result.
absl::Status Wait(const std::function<void(std::function<void(absl::Status)>)>& start) {
  absl::Notification done;
  absl::Status result;
  start([&](absl::Status status) {
    result = std::move(status);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

}  // namespace

absl::Status StorageConformance::Record(RecordAttemptRequest request) {
  return Wait([&](auto done) { deliveries().RecordAttempt(std::move(request), std::move(done)); });
}

absl::Status StorageConformance::Park(const DueDelivery& due) {
  return Wait([&](auto done) {
    deliveries().Park(due.webhook_id, due.event_id, due.due_time_us, std::move(done));
  });
}

std::vector<DueDelivery> StorageConformance::Due(absl::Time before) {
  std::vector<DueDelivery> due;
  const absl::Status status =
      due_queue().ScanDue(absl::InfinitePast(), before, [&](const DueDelivery& entry) {
        due.push_back(entry);
        return true;
      });
  EXPECT_TRUE(status.ok()) << status;
  return due;
}

std::vector<std::string> StorageConformance::DueEvents(absl::Time before) {
  std::vector<std::string> ids;
  for (const DueDelivery& entry : Due(before)) ids.push_back(entry.event_id);
  return ids;
}

StoredCounts StorageConformance::CountStoredOffline() {
  Close();
  auto counts = harness_->CountStored();
  EXPECT_TRUE(counts.ok()) << counts.status();
  Reopen();
  return counts.ok() ? *counts : StoredCounts{-1, -1, -1, -1, -1};
}

std::vector<std::string> EventIds(const std::vector<domain::EventRecord>& events) {
  std::vector<std::string> ids;
  for (const auto& event : events) ids.push_back(event.id());
  return ids;
}

std::vector<std::string> EventIds(const std::vector<domain::DeliveryRecord>& deliveries) {
  std::vector<std::string> ids;
  for (const auto& delivery : deliveries) ids.push_back(delivery.event_id());
  return ids;
}

std::vector<std::string> WebhookIds(const std::vector<domain::DeliveryRecord>& deliveries) {
  std::vector<std::string> ids;
  for (const auto& delivery : deliveries) ids.push_back(delivery.webhook_id());
  return ids;
}

std::vector<std::string> Ids(const std::vector<domain::WebhookRecord>& webhooks) {
  std::vector<std::string> ids;
  for (const auto& webhook : webhooks) ids.push_back(webhook.id());
  return ids;
}

std::vector<uint64_t> Sequences(const std::vector<DeliveryUpdate>& updates) {
  std::vector<uint64_t> sequences;
  for (const auto& update : updates) sequences.push_back(update.sequence);
  return sequences;
}

}  // namespace wink::webhooks::storage::testing
