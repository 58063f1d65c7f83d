// The storage conformance suite: every behaviour the API and the delivery
// engine rely on from a storage backend (service/storage/backend.h), stated
// once. Each backend's test binary instantiates it with its own harness:
//
//   INSTANTIATE_TEST_SUITE_P(RocksDb, StorageConformance,
//                            ::testing::Values(BackendUnderTest{"RocksDb", ...}),
//                            BackendName);
//
// The tests run on a real backend (a real database in a temp dir or a real
// server), never a mock.
#ifndef WINK_WEBHOOKS_TESTS_STORAGE_CONFORMANCE_STORAGE_CONFORMANCE_H_
#define WINK_WEBHOOKS_TESTS_STORAGE_CONFORMANCE_STORAGE_CONFORMANCE_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/common/clock.h"
#include "service/storage/backend.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/temp_dir.h"

namespace wink::webhooks::storage::testing {

// What every conformance test file uses.
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;
using ::wink::webhooks::domain::kCancelled;
using ::wink::webhooks::domain::kFailed;
using ::wink::webhooks::domain::kHeld;
using ::wink::webhooks::domain::kPending;
using ::wink::webhooks::domain::kRetryScheduled;
using ::wink::webhooks::domain::kSucceeded;

// How many entries of each kind a backend stores (for "nothing left behind"
// checks no read API can make).
struct StoredCounts {
  int events = 0;
  int deliveries = 0;
  int attempts = 0;
  int due_entries = 0;
  int held_entries = 0;
};

// What the suite needs of a backend besides its interfaces.
class BackendHarness {
 public:
  virtual ~BackendHarness() = default;

  // Opens the backend over this harness's data (the same data every time:
  // a reopen sees what was written before).
  virtual absl::StatusOr<std::unique_ptr<StorageBackend>> Open(const Clock& clock) = 0;

  // With the backend closed: writes `webhook`, or removes the webhook,
  // without touching its deliveries, as a crash between a webhook change and
  // its cascade leaves the data.
  virtual absl::Status PutWebhookRecordOnly(const domain::WebhookRecord& webhook) = 0;
  virtual absl::Status DeleteWebhookRecordOnly(const std::string& account,
                                               const std::string& webhook_id) = 0;

  // With the backend closed: what is stored. An index that disagrees with
  // the records it indexes is an error (checked after every test).
  virtual absl::StatusOr<StoredCounts> CountStored() = 0;

  // With the backend closed: leaves the data as a binary that kept no
  // account usage wrote it (schema version 1, no usage stored).
  virtual absl::Status ForgetAccountUsage() = 0;
};

struct BackendUnderTest {
  std::string name;
  // Makes a harness keeping its data under `dir` (a fresh temp dir).
  std::function<std::unique_ptr<BackendHarness>(const std::string& dir)> make;
};

inline std::string BackendName(const ::testing::TestParamInfo<BackendUnderTest>& info) {
  return info.param.name;
}

// So test names read "... GetParam() = RocksDb", not a byte dump.
inline void PrintTo(const BackendUnderTest& backend, std::ostream* os) { *os << backend.name; }

// Remembers every committed delivery update, in the order it was told.
class RecordingListener final : public UpdateListener {
 public:
  void OnDeliveryUpdate(const DeliveryUpdate& update) override;
  void OnWebhookDeleted(const std::string& webhook_id) override;

  std::vector<DeliveryUpdate> updates() const;
  std::vector<std::string> deleted_webhooks() const;
  size_t size() const;
  // Waits until at least `count` updates arrived; false after `timeout`.
  bool WaitForAtLeast(size_t count, absl::Duration timeout) const;

 private:
  mutable absl::Mutex mu_;
  std::vector<DeliveryUpdate> updates_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> deleted_ ABSL_GUARDED_BY(mu_);
};

class StorageConformance : public ::testing::TestWithParam<BackendUnderTest> {
 protected:
  // Far enough ahead that every due entry of a test is before it.
  static const absl::Time kEndOfTime;

  void SetUp() override;
  void TearDown() override;

  // Closes the backend and opens it again on the same data.
  void Reopen();
  void Close();

  StorageBackend& backend() { return *backend_; }
  WebhookStore& webhooks() { return backend_->webhooks(); }
  ApplicationStore& applications() { return backend_->applications(); }
  EventLog& events() { return backend_->events(); }
  DeliveryLedger& deliveries() { return backend_->deliveries(); }
  DueQueue& due_queue() { return backend_->due_queue(); }
  UpdateLog& update_log() { return backend_->updates(); }
  Retention& retention() { return backend_->retention(); }
  BackendHarness& harness() { return *harness_; }
  int64_t NowUs() const { return absl::ToUnixMicros(clock_.Now()); }

  // Webhooks --------------------------------------------------------------

  // A webhook of `account` for booking.created, with a custom header.
  domain::WebhookRecord NewWebhook(absl::string_view account) const;
  CreateWebhookOptions Options(absl::string_view request_id = "",
                               absl::string_view fingerprint = "") const;
  // Creates NewWebhook(account); returns its id.
  std::string MustCreate(absl::string_view account);
  // Creates an enabled webhook for `event_types` (sorted; empty: all).
  std::string CreateWebhook(absl::string_view account,
                            const std::vector<std::string>& event_types = {});
  absl::StatusOr<domain::WebhookRecord> SetEnabled(absl::string_view account, absl::string_view id,
                                                   bool enabled, bool drop_held = false);
  void Pause(absl::string_view account, absl::string_view id);
  void Resume(absl::string_view account, absl::string_view id, bool drop_held = false);
  domain::WebhookRecord GetWebhook(absl::string_view account, absl::string_view id);

  // Events ------------------------------------------------------------------

  absl::StatusOr<PublishResult> Publish(absl::string_view account, absl::string_view type,
                                        absl::string_view idempotency_key = "",
                                        absl::string_view fingerprint = "",
                                        absl::Duration retention = absl::Hours(24));
  absl::StatusOr<std::vector<PublishResult>> PublishBatch(std::vector<PublishRequest> requests);
  static PublishRequest Request(absl::string_view account, absl::string_view type,
                                absl::string_view idempotency_key = "",
                                absl::string_view fingerprint = "");
  // Publishes an event that must succeed; returns its id.
  std::string MustPublish(absl::string_view account, absl::string_view type = "booking.created");

  // Deliveries ---------------------------------------------------------------

  // The delivery as stored (empty record, and a failure, if absent).
  domain::DeliveryRecord Delivery(absl::string_view webhook_id, absl::string_view event_id);
  // Whether the delivery exists at all.
  absl::StatusCode DeliveryStatus(absl::string_view webhook_id, absl::string_view event_id);
  // An attempt of the delivery as it is now (for its current due time),
  // judged `outcome`, with the default retry schedule (retry 1 after 5 s,
  // no jitter).
  RecordAttemptRequest AttemptOf(absl::string_view webhook_id, absl::string_view event_id,
                                 domain::AttemptOutcome outcome, int http_status);
  // Rules with `schedule` (no jitter) and the auto-disable window.
  static std::shared_ptr<const domain::DeliveryRules> Rules(
      std::vector<absl::Duration> schedule,
      absl::Duration disable_after_failing_for = absl::Hours(120));
  absl::Status Record(RecordAttemptRequest request);
  absl::Status Park(const DueDelivery& due);

  // The due queue before `before`, in order.
  std::vector<DueDelivery> Due(absl::Time before = kEndOfTime);
  std::vector<std::string> DueEvents(absl::Time before = kEndOfTime);

  // Closes the backend, counts what is stored, and opens it again.
  StoredCounts CountStoredOffline();

  ::wink::webhooks::testing::TempDir dir_;
  ::wink::webhooks::testing::FakeClock clock_;
  RecordingListener listener_;  // outlives the backend
  std::unique_ptr<BackendHarness> harness_;
  std::unique_ptr<StorageBackend> backend_;
};

// Ids of records, in order.
std::vector<std::string> EventIds(const std::vector<domain::EventRecord>& events);
std::vector<std::string> EventIds(const std::vector<domain::DeliveryRecord>& deliveries);
std::vector<std::string> WebhookIds(const std::vector<domain::DeliveryRecord>& deliveries);
std::vector<std::string> Ids(const std::vector<domain::WebhookRecord>& webhooks);
std::vector<uint64_t> Sequences(const std::vector<DeliveryUpdate>& updates);

}  // namespace wink::webhooks::storage::testing

#endif  // WINK_WEBHOOKS_TESTS_STORAGE_CONFORMANCE_STORAGE_CONFORMANCE_H_
