#include "service/storage/event_store.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/write_batch.h"
#include "service/common/ids.h"
#include "service/storage/column_families.h"
#include "service/storage/database.h"
#include "service/storage/delivery_writes.h"
#include "service/storage/keys.h"
#include "service/storage/storage.h"
#include "service/storage/update_listener.h"
#include "service/storage/webhook_store.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/temp_dir.h"

namespace wink::webhooks::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;
using ::wink::webhooks::testing::FakeClock;
using ::wink::webhooks::testing::TempDir;

constexpr auto kPending = internal::v1::DELIVERY_STATE_RECORD_PENDING;
constexpr auto kHeld = internal::v1::DELIVERY_STATE_RECORD_HELD;
constexpr auto kRetryScheduled = internal::v1::DELIVERY_STATE_RECORD_RETRY_SCHEDULED;
constexpr auto kSucceeded = internal::v1::DELIVERY_STATE_RECORD_SUCCEEDED;
constexpr auto kFailed = internal::v1::DELIVERY_STATE_RECORD_FAILED;
constexpr auto kCancelled = internal::v1::DELIVERY_STATE_RECORD_CANCELLED;

// Far enough ahead that every due entry of a test is before it.
const absl::Time kEndOfTime = absl::FromUnixSeconds(4000000000);

// Remembers every committed delivery update, in the order it was told.
class RecordingListener final : public UpdateListener {
 public:
  void OnDeliveryUpdate(const DeliveryUpdate& update) override {
    absl::MutexLock lock(&mu_);
    updates_.push_back(update);
  }

  std::vector<DeliveryUpdate> updates() const {
    absl::MutexLock lock(&mu_);
    return updates_;
  }

  size_t size() const {
    absl::MutexLock lock(&mu_);
    return updates_.size();
  }

  // Waits until at least `count` updates arrived; false after `timeout`.
  bool WaitForAtLeast(size_t count, absl::Duration timeout) const {
    absl::MutexLock lock(&mu_);
    auto enough = [this, count] { return updates_.size() >= count; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<DeliveryUpdate> updates_;
};

std::vector<std::string> EventIds(const std::vector<EventRecord>& events) {
  std::vector<std::string> ids;
  for (const auto& event : events) ids.push_back(event.id());
  return ids;
}

std::vector<std::string> EventIds(const std::vector<DeliveryRecord>& deliveries) {
  std::vector<std::string> ids;
  for (const auto& delivery : deliveries) ids.push_back(delivery.event_id());
  return ids;
}

std::vector<std::string> WebhookIds(const std::vector<DeliveryRecord>& deliveries) {
  std::vector<std::string> ids;
  for (const auto& delivery : deliveries) ids.push_back(delivery.webhook_id());
  return ids;
}

std::vector<uint64_t> Sequences(const std::vector<DeliveryUpdate>& updates) {
  std::vector<uint64_t> sequences;
  for (const auto& update : updates) sequences.push_back(update.sequence);
  return sequences;
}

class EventStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { OpenStorage(); }

  void OpenStorage() {
    StorageOptions options;
    options.data_dir = dir_.Child("db");
    options.sync_writes = false;  // logic, not durability, is under test
    auto storage = Storage::Open(options, clock_);
    ASSERT_TRUE(storage.ok()) << storage.status();
    storage_ = *std::move(storage);
    storage_->SetUpdateListener(&listener_);
  }

  EventStore& events() { return storage_->events(); }
  WebhookStore& webhooks() { return storage_->webhooks(); }
  int64_t NowUs() const { return absl::ToUnixMicros(clock_.Now()); }

  // Creates an enabled webhook for `event_types` (sorted; empty: all).
  std::string CreateWebhook(absl::string_view account,
                            const std::vector<std::string>& event_types = {}) {
    WebhookRecord webhook;
    webhook.set_account(std::string(account));
    webhook.set_url("https://example.com/hook");
    for (const auto& type : event_types) webhook.add_event_types(type);
    webhook.set_enabled(true);
    webhook.set_create_time_us(NowUs());
    webhook.add_secrets()->set_key(std::string(32, 's'));
    CreateWebhookOptions options;
    options.now = clock_.Now();
    auto created = webhooks().Create(webhook, options);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->webhook.id() : "";
  }

  absl::StatusOr<WebhookRecord> SetEnabled(absl::string_view account, absl::string_view id,
                                           bool enabled, bool drop_held = false) {
    UpdateWebhookOptions options;
    options.drop_held_deliveries = drop_held;
    return webhooks().Update(
        account, id,
        [enabled](WebhookRecord& webhook) {
          webhook.set_enabled(enabled);
          return absl::OkStatus();
        },
        options);
  }
  void Pause(absl::string_view account, absl::string_view id) {
    auto paused = SetEnabled(account, id, false);
    ASSERT_TRUE(paused.ok()) << paused.status();
  }
  void Resume(absl::string_view account, absl::string_view id, bool drop_held = false) {
    auto resumed = SetEnabled(account, id, true, drop_held);
    ASSERT_TRUE(resumed.ok()) << resumed.status();
  }

  WebhookRecord GetWebhook(absl::string_view account, absl::string_view id) {
    auto webhook = webhooks().Get(account, id);
    EXPECT_TRUE(webhook.ok()) << webhook.status();
    return webhook.ok() ? *webhook : WebhookRecord();
  }

  absl::StatusOr<PublishResult> Publish(absl::string_view account, absl::string_view type,
                                        absl::string_view idempotency_key = "",
                                        absl::string_view fingerprint = "",
                                        absl::Duration retention = absl::Hours(24)) {
    PublishRequest request;
    request.account = std::string(account);
    request.event_type = std::string(type);
    request.data_json = R"({"booking":"b-1"})";
    request.idempotency_key = std::string(idempotency_key);
    request.request_fingerprint = std::string(fingerprint);
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

  // Publishes an event that must succeed; returns its id.
  std::string MustPublish(absl::string_view account, absl::string_view type = "booking.created") {
    auto result = Publish(account, type);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->event.id() : "";
  }

  DeliveryRecord Delivery(absl::string_view webhook_id, absl::string_view event_id) {
    auto delivery = events().ReadDelivery(webhook_id, event_id);
    EXPECT_TRUE(delivery.ok()) << delivery.status();
    return delivery.ok() ? *delivery : DeliveryRecord();
  }

  // An attempt of the delivery as it is now (for its current due time).
  RecordAttemptRequest AttemptOf(absl::string_view webhook_id, absl::string_view event_id,
                                 AttemptOutcome outcome, int http_status) {
    RecordAttemptRequest request;
    request.webhook_id = std::string(webhook_id);
    request.event_id = std::string(event_id);
    request.due_time_us = Delivery(webhook_id, event_id).next_attempt_time_us();
    request.attempt.set_start_time_us(NowUs());
    request.attempt.set_latency_us(1500);
    request.attempt.set_http_status(http_status);
    request.attempt.set_response_body(absl::StrCat("response ", http_status));
    request.attempt.set_succeeded(outcome == AttemptOutcome::kDelivered);
    request.outcome = outcome;
    request.next_delay = [](int) -> std::optional<absl::Duration> { return absl::Seconds(5); };
    return request;
  }

  // Runs an asynchronous store call and waits for its result.
  static absl::Status Wait(const std::function<void(std::function<void(absl::Status)>)>& start) {
    absl::Notification done;
    absl::Status result;
    start([&](absl::Status status) {
      result = std::move(status);
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }

  absl::Status Record(RecordAttemptRequest request) {
    return Wait([&](auto done) { events().RecordAttempt(std::move(request), std::move(done)); });
  }

  absl::Status Park(DueDelivery due) {
    return Wait([&](auto done) { events().Park(std::move(due), std::move(done)); });
  }

  // The `due` queue before `before`, in order.
  std::vector<DueDelivery> Due(absl::Time before = kEndOfTime) {
    std::vector<DueDelivery> due;
    const absl::Status status =
        events().ScanDue(absl::InfinitePast(), before, [&](const DueDelivery& entry) {
          due.push_back(entry);
          return true;
        });
    EXPECT_TRUE(status.ok()) << status;
    return due;
  }
  std::vector<std::string> DueEvents(absl::Time before = kEndOfTime) {
    std::vector<std::string> ids;
    for (const DueDelivery& entry : Due(before)) ids.push_back(entry.event_id);
    return ids;
  }

  // Closes the storage, counts the keys of each of `cfs` straight from the
  // database, and opens the storage again: for the index entries no read API
  // shows.
  std::vector<int> CountKeysOffline(const std::vector<ColumnFamily>& cfs) {
    storage_.reset();
    std::vector<int> counts;
    {
      DatabaseOptions options;
      options.path = dir_.Child("db");
      options.sync_writes = false;
      options.clock = &clock_;
      auto db = Database::Open(options);
      EXPECT_TRUE(db.ok()) << db.status();
      for (ColumnFamily cf : cfs) {
        if (!db.ok()) break;
        std::unique_ptr<rocksdb::Iterator> it = (*db)->NewIterator(cf);
        int count = 0;
        for (it->SeekToFirst(); it->Valid(); it->Next()) ++count;
        EXPECT_TRUE(it->status().ok()) << it->status().ToString();
        counts.push_back(count);
      }
    }
    OpenStorage();
    return counts;
  }

  // Removes the webhook record behind the stores' back (no cascade), as a
  // crash between a delete and its cascade would leave it.
  void DeleteWebhookRecordOffline(absl::string_view account, absl::string_view webhook_id) {
    storage_.reset();
    {
      DatabaseOptions options;
      options.path = dir_.Child("db");
      options.sync_writes = false;
      options.clock = &clock_;
      auto db = Database::Open(options);
      ASSERT_TRUE(db.ok()) << db.status();
      rocksdb::WriteBatch batch;
      batch.Delete((*db)->handle(ColumnFamily::kWebhooks), WebhookKey(account, webhook_id));
      ASSERT_TRUE((*db)->Write(batch).ok());
    }
    OpenStorage();
  }

  TempDir dir_;
  FakeClock clock_;
  RecordingListener listener_;  // outlives the storage
  std::unique_ptr<Storage> storage_;
};

// Publish --------------------------------------------------------------------

TEST_F(EventStoreTest, PublishFansOutToTheMatchingWebhooksOfTheAccountOnly) {
  const std::string all_types = CreateWebhook("acme");
  const std::string bookings = CreateWebhook("acme", {"booking.cancelled", "booking.created"});
  const std::string invoices = CreateWebhook("acme", {"invoice.paid"});
  const std::string paused = CreateWebhook("acme");
  Pause("acme", paused);
  const std::string foreign = CreateWebhook("acmex");
  clock_.Advance(absl::Seconds(3));
  const int64_t publish_us = NowUs();

  auto result = Publish("acme", "booking.created");

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->replayed);
  EXPECT_TRUE(IsValidId(result->event.id(), kEventIdPrefix));
  EXPECT_EQ(result->event.account(), "acme");
  EXPECT_EQ(result->event.type(), "booking.created");
  EXPECT_EQ(result->event.create_time_us(), publish_us);
  EXPECT_EQ(result->event.data_json(), R"({"booking":"b-1"})");
  EXPECT_THAT(WebhookIds(result->deliveries), UnorderedElementsAre(all_types, bookings, paused));
  for (const DeliveryRecord& delivery : result->deliveries) {
    SCOPED_TRACE(delivery.webhook_id());
    const DeliveryRecord stored = Delivery(delivery.webhook_id(), result->event.id());
    EXPECT_EQ(stored.SerializeAsString(), delivery.SerializeAsString());
    EXPECT_EQ(stored.account(), "acme");
    EXPECT_EQ(stored.event_type(), "booking.created");
    EXPECT_EQ(stored.attempt_count(), 0);
    EXPECT_EQ(stored.create_time_us(), publish_us);
    if (delivery.webhook_id() == paused) {
      EXPECT_EQ(stored.state(), kHeld);
      EXPECT_EQ(stored.next_attempt_time_us(), 0);
    } else {
      EXPECT_EQ(stored.state(), kPending);
      EXPECT_EQ(stored.next_attempt_time_us(), publish_us);
    }
  }
  // One due entry per enabled match, due at publish time (so not before it).
  EXPECT_THAT(Due(clock_.Now()), IsEmpty());
  const std::vector<DueDelivery> due = Due(clock_.Now() + absl::Microseconds(1));
  ASSERT_EQ(due.size(), 2u);
  std::vector<std::string> due_webhooks;
  for (const DueDelivery& entry : due) {
    EXPECT_EQ(entry.due_time_us, publish_us);
    EXPECT_EQ(entry.event_id, result->event.id());
    due_webhooks.push_back(entry.webhook_id);
  }
  EXPECT_THAT(due_webhooks, UnorderedElementsAre(all_types, bookings));
  EXPECT_EQ(events().ReadDelivery(invoices, result->event.id()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(events().ReadDelivery(foreign, result->event.id()).status().code(),
            absl::StatusCode::kNotFound);
  auto by_event = events().ListDeliveriesOfEvent("acme", result->event.id(), "", 0, 10);
  ASSERT_TRUE(by_event.ok()) << by_event.status();
  EXPECT_THAT(WebhookIds(by_event->deliveries), UnorderedElementsAre(all_types, bookings, paused));
}

TEST_F(EventStoreTest, PublishWithoutMatchingWebhooksStoresTheEventOnly) {
  CreateWebhook("acme", {"invoice.paid"});

  auto result = Publish("acme", "booking.created");

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->deliveries, IsEmpty());
  EXPECT_EQ(result->event.watch_cursor(), 1u);
  EXPECT_TRUE(events().GetEvent("acme", result->event.id()).ok());
  EXPECT_THAT(Due(), IsEmpty());
  EXPECT_EQ(listener_.size(), 0u);
  EXPECT_EQ(storage_->next_update_sequence(), 2u);
}

TEST_F(EventStoreTest, PublishReportsOneUpdatePerDeliveryInSequenceOrder) {
  CreateWebhook("acme");
  CreateWebhook("acme");
  const std::string paused = CreateWebhook("acme");
  Pause("acme", paused);

  auto first = Publish("acme", "booking.created");
  auto second = Publish("acme", "booking.created");

  ASSERT_TRUE(first.ok() && second.ok());
  const std::vector<DeliveryUpdate> updates = listener_.updates();
  EXPECT_THAT(Sequences(updates), ElementsAre(2u, 3u, 4u, 5u, 6u, 7u));
  EXPECT_EQ(first->event.watch_cursor(), 1u);
  EXPECT_EQ(second->event.watch_cursor(), 4u);
  ASSERT_EQ(updates.size(), 6u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(updates[i].delivery.event_id(), first->event.id());
    EXPECT_FALSE(updates[i].delivery.has_last_attempt()) << "not attempted yet";
    EXPECT_EQ(updates[i].delivery.SerializeAsString(),
              Delivery(updates[i].delivery.webhook_id(), first->event.id()).SerializeAsString());
    EXPECT_EQ(updates[i + 3].delivery.event_id(), second->event.id());
  }
  EXPECT_EQ(storage_->next_update_sequence(), 8u);
  // The stored event carries the cursor too (GetEvent is what a later caller
  // sees).
  EXPECT_EQ(events().GetEvent("acme", second->event.id())->watch_cursor(), 4u);
}

// Idempotency ----------------------------------------------------------------

TEST_F(EventStoreTest, ReplayWithTheSameKeyAndRequestReturnsTheFirstEvent) {
  const std::string webhook = CreateWebhook("acme");
  auto first = Publish("acme", "booking.created", "key-1", "fp-1");
  ASSERT_TRUE(first.ok()) << first.status();
  const size_t updates_before = listener_.size();
  ASSERT_TRUE(Record(AttemptOf(webhook, first->event.id(), AttemptOutcome::kDelivered, 200)).ok());

  auto replay = Publish("acme", "booking.created", "key-1", "fp-1");

  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->event.id(), first->event.id());
  EXPECT_EQ(replay->event.watch_cursor(), first->event.watch_cursor());
  // The deliveries as they are now.
  ASSERT_EQ(replay->deliveries.size(), 1u);
  EXPECT_EQ(replay->deliveries[0].webhook_id(), webhook);
  EXPECT_EQ(replay->deliveries[0].state(), kSucceeded);
  EXPECT_EQ(listener_.size(), updates_before + 1) << "only the attempt's update";
  EXPECT_THAT(EventIds(events().ListEvents("acme", "", "", 10)->events),
              ElementsAre(first->event.id()));
  EXPECT_EQ(events().ListDeliveriesOfWebhook("acme", webhook, "", 0, 10)->deliveries.size(), 1u);
}

TEST_F(EventStoreTest, SameKeyWithAnotherRequestIsInvalidArgumentAndPublishesNothing) {
  CreateWebhook("acme");
  auto first = Publish("acme", "booking.created", "key-1", "fp-1");
  ASSERT_TRUE(first.ok()) << first.status();
  const uint64_t next_sequence = storage_->next_update_sequence();

  auto other = Publish("acme", "booking.created", "key-1", "fp-2");

  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(other.status().message()), StartsWith("idempotency_key:"));
  EXPECT_THAT(EventIds(events().ListEvents("acme", "", "", 10)->events),
              ElementsAre(first->event.id()));
  EXPECT_EQ(storage_->next_update_sequence(), next_sequence);
  EXPECT_EQ(listener_.size(), 1u);

  // Keys are per account.
  auto elsewhere = Publish("other", "booking.created", "key-1", "fp-2");
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status();
  EXPECT_FALSE(elsewhere->replayed);
  EXPECT_NE(elsewhere->event.id(), first->event.id());
}

TEST_F(EventStoreTest, AKeyIsRememberedForItsRetentionThenPublishesAnew) {
  CreateWebhook("acme");
  auto first = Publish("acme", "booking.created", "key-1", "fp-1", absl::Hours(1));
  ASSERT_TRUE(first.ok()) << first.status();

  clock_.Advance(absl::Hours(1) - absl::Microseconds(1));
  auto still_remembered = Publish("acme", "booking.created", "key-1", "fp-1", absl::Hours(1));
  ASSERT_TRUE(still_remembered.ok()) << still_remembered.status();
  EXPECT_TRUE(still_remembered->replayed);
  EXPECT_EQ(still_remembered->event.id(), first->event.id());

  clock_.Advance(absl::Microseconds(1));
  auto anew = Publish("acme", "booking.created", "key-1", "fp-2", absl::Hours(1));
  ASSERT_TRUE(anew.ok()) << anew.status();
  EXPECT_FALSE(anew->replayed);
  EXPECT_NE(anew->event.id(), first->event.id());
  EXPECT_EQ(anew->deliveries.size(), 1u);

  // The key now stands for the new event.
  auto replay = Publish("acme", "booking.created", "key-1", "fp-2", absl::Hours(1));
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->event.id(), anew->event.id());
}

// Reads ----------------------------------------------------------------------

TEST_F(EventStoreTest, ListEventsIsNewestFirstAndPagesWithContinueFrom) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    MustPublish("acm");
    ids.push_back(MustPublish("acme"));
    MustPublish("acmex");
    clock_.Advance(absl::Milliseconds(1));
  }

  auto first = events().ListEvents("acme", "", "", 2);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(EventIds(first->events), ElementsAre(ids[4], ids[3]));
  EXPECT_EQ(first->continue_from, ids[3]);

  auto second = events().ListEvents("acme", first->continue_from, "", 2);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(EventIds(second->events), ElementsAre(ids[2], ids[1]));
  EXPECT_EQ(second->continue_from, ids[1]);

  auto last = events().ListEvents("acme", second->continue_from, "", 2);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_THAT(EventIds(last->events), ElementsAre(ids[0]));
  EXPECT_EQ(last->continue_from, "");

  auto everything = events().ListEvents("acme", "", "", 5);
  ASSERT_TRUE(everything.ok()) << everything.status();
  EXPECT_THAT(EventIds(everything->events), ElementsAre(ids[4], ids[3], ids[2], ids[1], ids[0]));
  EXPECT_EQ(everything->continue_from, "") << "nothing older is left";
}

TEST_F(EventStoreTest, ListEventsFiltersByEventType) {
  std::vector<std::string> invoices;
  for (int i = 0; i < 3; ++i) {
    MustPublish("acme", "booking.created");
    invoices.push_back(MustPublish("acme", "invoice.paid"));
  }
  MustPublish("acme", "booking.created");

  auto page = events().ListEvents("acme", "", "invoice.paid", 10);

  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(EventIds(page->events), ElementsAre(invoices[2], invoices[1], invoices[0]));
  EXPECT_EQ(page->continue_from, "");
  for (const EventRecord& event : page->events) EXPECT_EQ(event.type(), "invoice.paid");

  auto first_only = events().ListEvents("acme", "", "invoice.paid", 1);
  ASSERT_TRUE(first_only.ok()) << first_only.status();
  EXPECT_THAT(EventIds(first_only->events), ElementsAre(invoices[2]));
  auto next = events().ListEvents("acme", first_only->continue_from, "invoice.paid", 1);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_THAT(EventIds(next->events), ElementsAre(invoices[1]));
}

TEST_F(EventStoreTest, GetEventReturnsTheAccountsEventAndNotFoundForOtherAccounts) {
  const std::string id = MustPublish("acme");

  auto got = events().GetEvent("acme", id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id(), id);
  EXPECT_EQ(got->data_json(), R"({"booking":"b-1"})");
  EXPECT_EQ(got->version(), kEventRecordVersion);

  auto foreign = events().GetEvent("other", id);
  EXPECT_EQ(foreign.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(foreign.status().message()), HasSubstr(id));
  EXPECT_EQ(events().GetEvent("acm", id).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(EventStoreTest, ListDeliveriesFilterByStatePageAndStayInsideTheAccount) {
  const std::string first_webhook = CreateWebhook("acme");
  const std::string second_webhook = CreateWebhook("acme");
  const std::string e1 = MustPublish("acme");
  const std::string e2 = MustPublish("acme");
  const std::string e3 = MustPublish("acme");
  ASSERT_TRUE(Record(AttemptOf(first_webhook, e2, AttemptOutcome::kDelivered, 204)).ok());

  auto all = events().ListDeliveriesOfWebhook("acme", first_webhook, "", 0, 10);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(EventIds(all->deliveries), ElementsAre(e1, e2, e3));
  EXPECT_EQ(all->continue_from, "");
  EXPECT_THAT(
      EventIds(
          events().ListDeliveriesOfWebhook("acme", first_webhook, "", kSucceeded, 10)->deliveries),
      ElementsAre(e2));
  EXPECT_THAT(
      EventIds(
          events().ListDeliveriesOfWebhook("acme", first_webhook, "", kPending, 10)->deliveries),
      ElementsAre(e1, e3));

  auto page = events().ListDeliveriesOfWebhook("acme", first_webhook, "", 0, 2);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(EventIds(page->deliveries), ElementsAre(e1, e2));
  EXPECT_EQ(page->continue_from, e2);
  auto rest = events().ListDeliveriesOfWebhook("acme", first_webhook, page->continue_from, 0, 2);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_THAT(EventIds(rest->deliveries), ElementsAre(e3));
  EXPECT_EQ(rest->continue_from, "");

  auto of_event = events().ListDeliveriesOfEvent("acme", e2, "", 0, 10);
  ASSERT_TRUE(of_event.ok()) << of_event.status();
  EXPECT_THAT(WebhookIds(of_event->deliveries), ElementsAre(first_webhook, second_webhook));
  EXPECT_THAT(WebhookIds(events().ListDeliveriesOfEvent("acme", e2, "", kPending, 10)->deliveries),
              ElementsAre(second_webhook));
  auto of_event_page = events().ListDeliveriesOfEvent("acme", e2, "", 0, 1);
  ASSERT_TRUE(of_event_page.ok()) << of_event_page.status();
  EXPECT_THAT(WebhookIds(of_event_page->deliveries), ElementsAre(first_webhook));
  EXPECT_EQ(of_event_page->continue_from, first_webhook);
  EXPECT_THAT(WebhookIds(events()
                             .ListDeliveriesOfEvent("acme", e2, of_event_page->continue_from, 0, 1)
                             ->deliveries),
              ElementsAre(second_webhook));

  // Another account sees nothing of acme's.
  auto foreign_webhook = events().ListDeliveriesOfWebhook("other", first_webhook, "", 0, 10);
  ASSERT_TRUE(foreign_webhook.ok()) << foreign_webhook.status();
  EXPECT_THAT(foreign_webhook->deliveries, IsEmpty());
  EXPECT_EQ(foreign_webhook->continue_from, "");
  auto foreign_event = events().ListDeliveriesOfEvent("other", e2, "", 0, 10);
  ASSERT_TRUE(foreign_event.ok()) << foreign_event.status();
  EXPECT_THAT(foreign_event->deliveries, IsEmpty());
  EXPECT_EQ(foreign_event->continue_from, "");
  EXPECT_EQ(events().GetDelivery("other", first_webhook, e2).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(events().GetDelivery("acme", first_webhook, e2).ok());
}

// RecordAttempt --------------------------------------------------------------

TEST_F(EventStoreTest, ADeliveredAttemptSucceedsTheDeliveryAndLeavesTheQueue) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  clock_.Advance(absl::Seconds(2));

  ASSERT_TRUE(Record(AttemptOf(webhook, event, AttemptOutcome::kDelivered, 200)).ok());

  const DeliveryRecord delivery = Delivery(webhook, event);
  EXPECT_EQ(delivery.state(), kSucceeded);
  EXPECT_EQ(delivery.state_reason(), "delivered: HTTP 200");
  EXPECT_EQ(delivery.attempt_count(), 1);
  EXPECT_EQ(delivery.next_attempt_time_us(), 0);
  EXPECT_EQ(delivery.update_time_us(), NowUs());
  EXPECT_EQ(delivery.last_attempt().attempt_number(), 1);
  EXPECT_EQ(delivery.last_attempt().http_status(), 200);
  EXPECT_EQ(delivery.last_attempt().response_body(), "") << "only the attempt keeps the body";
  EXPECT_THAT(Due(), IsEmpty());
  auto next = events().EarliestDueTimeAfter(clock_.Now() - absl::Hours(1));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, std::nullopt);

  auto attempts = events().ListAttempts(webhook, event);
  ASSERT_TRUE(attempts.ok()) << attempts.status();
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].attempt_number(), 1);
  EXPECT_EQ((*attempts)[0].version(), kAttemptRecordVersion);
  EXPECT_EQ((*attempts)[0].http_status(), 200);
  EXPECT_EQ((*attempts)[0].latency_us(), 1500);
  EXPECT_TRUE((*attempts)[0].succeeded());
  EXPECT_EQ((*attempts)[0].response_body(), "response 200");

  const std::vector<DeliveryUpdate> updates = listener_.updates();
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_EQ(updates[1].delivery.state(), kSucceeded);
  EXPECT_EQ(updates[1].delivery.last_attempt().response_body(), "");
}

TEST_F(EventStoreTest, ARetryableFailureReschedulesTheDeliveryAfterTheDelay) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  clock_.Advance(absl::Seconds(1));
  const absl::Time now = clock_.Now();
  RecordAttemptRequest request = AttemptOf(webhook, event, AttemptOutcome::kRetryLater, 503);
  std::vector<int> asked_for;
  request.next_delay = [&asked_for](int attempts_made) -> std::optional<absl::Duration> {
    asked_for.push_back(attempts_made);
    return absl::Seconds(5);
  };

  ASSERT_TRUE(Record(std::move(request)).ok());

  EXPECT_THAT(asked_for, ElementsAre(1));
  const DeliveryRecord delivery = Delivery(webhook, event);
  EXPECT_EQ(delivery.state(), kRetryScheduled);
  EXPECT_EQ(delivery.state_reason(), "HTTP 503; will retry");
  EXPECT_EQ(delivery.attempt_count(), 1);
  EXPECT_EQ(delivery.next_attempt_time_us(), absl::ToUnixMicros(now + absl::Seconds(5)));
  EXPECT_THAT(Due(now), IsEmpty());
  EXPECT_THAT(Due(now + absl::Seconds(5)), IsEmpty());
  const std::vector<DueDelivery> due = Due(now + absl::Seconds(6));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].due_time_us, absl::ToUnixMicros(now + absl::Seconds(5)));
  EXPECT_EQ(due[0].webhook_id, webhook);
  EXPECT_EQ(due[0].event_id, event);
  auto next = events().EarliestDueTimeAfter(now);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, now + absl::Seconds(5));
  auto none_later = events().EarliestDueTimeAfter(now + absl::Seconds(5));
  ASSERT_TRUE(none_later.ok()) << none_later.status();
  EXPECT_EQ(*none_later, std::nullopt);

  // The retry is attempt 2.
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(Record(AttemptOf(webhook, event, AttemptOutcome::kDelivered, 200)).ok());
  auto attempts = events().ListAttempts(webhook, event);
  ASSERT_TRUE(attempts.ok()) << attempts.status();
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].http_status(), 503);
  EXPECT_EQ((*attempts)[1].attempt_number(), 2);
  EXPECT_EQ(Delivery(webhook, event).state(), kSucceeded);
  EXPECT_THAT(Due(), IsEmpty());
}

TEST_F(EventStoreTest, AFailureWithTheScheduleExhaustedFailsTheDelivery) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  RecordAttemptRequest request = AttemptOf(webhook, event, AttemptOutcome::kRetryLater, 0);
  request.attempt.set_error("connection refused");
  request.next_delay = [](int) -> std::optional<absl::Duration> { return std::nullopt; };

  ASSERT_TRUE(Record(std::move(request)).ok());

  const DeliveryRecord delivery = Delivery(webhook, event);
  EXPECT_EQ(delivery.state(), kFailed);
  EXPECT_EQ(delivery.state_reason(), "connection refused; gave up after 1 attempts");
  EXPECT_EQ(delivery.next_attempt_time_us(), 0);
  EXPECT_THAT(Due(), IsEmpty());
  EXPECT_TRUE(GetWebhook("acme", webhook).enabled());
}

TEST_F(EventStoreTest, GoneFailsTheDeliveryAndDisablesTheWebhook) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  clock_.Advance(absl::Seconds(1));

  ASSERT_TRUE(Record(AttemptOf(webhook, event, AttemptOutcome::kDisableEndpoint, 410)).ok());

  const DeliveryRecord delivery = Delivery(webhook, event);
  EXPECT_EQ(delivery.state(), kFailed);
  EXPECT_THAT(delivery.state_reason(), HasSubstr("410"));
  EXPECT_THAT(Due(), IsEmpty());
  const WebhookRecord disabled = GetWebhook("acme", webhook);
  EXPECT_FALSE(disabled.enabled());
  EXPECT_EQ(disabled.disabled_reason(), kDisabledReasonEndpointGone);
  EXPECT_EQ(disabled.disable_time_us(), NowUs());
  EXPECT_EQ(disabled.failing_since_us(), NowUs());

  // Published while disabled: held.
  const std::string later = MustPublish("acme");
  EXPECT_EQ(Delivery(webhook, later).state(), kHeld);
}

TEST_F(EventStoreTest, AFailureStreakDisablesTheWebhookOnceItLastsLongEnough) {
  const absl::Duration limit = absl::Hours(1);
  const std::string webhook = CreateWebhook("acme");
  auto fail = [&](const std::string& event) {
    RecordAttemptRequest request = AttemptOf(webhook, event, AttemptOutcome::kRetryLater, 500);
    request.disable_after_failing_for = limit;
    return Record(std::move(request));
  };

  const std::string e1 = MustPublish("acme");
  const int64_t first_failure_us = NowUs();
  ASSERT_TRUE(fail(e1).ok());
  EXPECT_EQ(GetWebhook("acme", webhook).failing_since_us(), first_failure_us);
  clock_.Advance(absl::Minutes(30));
  ASSERT_TRUE(fail(e1).ok());
  EXPECT_EQ(GetWebhook("acme", webhook).failing_since_us(), first_failure_us)
      << "the streak keeps its start";

  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(Record(AttemptOf(webhook, e1, AttemptOutcome::kDelivered, 200)).ok());
  EXPECT_EQ(GetWebhook("acme", webhook).failing_since_us(), 0) << "a success ends the streak";

  const std::string e2 = MustPublish("acme");
  const int64_t streak_start_us = NowUs();
  ASSERT_TRUE(fail(e2).ok());
  EXPECT_EQ(GetWebhook("acme", webhook).failing_since_us(), streak_start_us);
  clock_.Advance(limit - absl::Microseconds(1));
  ASSERT_TRUE(fail(e2).ok());
  EXPECT_TRUE(GetWebhook("acme", webhook).enabled());

  clock_.Advance(absl::Microseconds(1));
  ASSERT_TRUE(fail(e2).ok());

  const WebhookRecord disabled = GetWebhook("acme", webhook);
  EXPECT_FALSE(disabled.enabled());
  EXPECT_EQ(disabled.disabled_reason(), kDisabledReasonFailing);
  EXPECT_EQ(disabled.disable_time_us(), NowUs());
  EXPECT_EQ(disabled.failing_since_us(), streak_start_us);
}

TEST_F(EventStoreTest, AnAttemptForAnOutdatedDueTimeIsRecordedButLeavesTheState) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  // The engine starts an attempt for the publish-time due entry...
  const RecordAttemptRequest started = AttemptOf(webhook, event, AttemptOutcome::kDelivered, 200);
  // ...while a caller retries the delivery, which moves it.
  clock_.Advance(absl::Seconds(1));
  auto retried = events().RetryNow("acme", webhook, event);
  ASSERT_TRUE(retried.ok()) << retried.status();
  const int64_t retry_due_us = NowUs();

  ASSERT_TRUE(Record(started).ok());

  const DeliveryRecord delivery = Delivery(webhook, event);
  EXPECT_EQ(delivery.state(), kPending);
  EXPECT_EQ(delivery.state_reason(), "retry requested");
  EXPECT_EQ(delivery.next_attempt_time_us(), retry_due_us);
  EXPECT_EQ(delivery.attempt_count(), 1);
  EXPECT_EQ(delivery.last_attempt().http_status(), 200);
  auto attempts = events().ListAttempts(webhook, event);
  ASSERT_TRUE(attempts.ok()) << attempts.status();
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ((*attempts)[0].attempt_number(), 1);
  const std::vector<DueDelivery> due = Due();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].due_time_us, retry_due_us);
}

TEST_F(EventStoreTest, AnAttemptForAPurgedDeliveryIsIgnored) {
  const std::string webhook = CreateWebhook("acme");

  RecordAttemptRequest request;
  request.webhook_id = webhook;
  request.event_id = "evt_00000000000000000000000000";
  request.outcome = AttemptOutcome::kDelivered;
  request.attempt.set_http_status(200);

  EXPECT_TRUE(Record(std::move(request)).ok());

  EXPECT_EQ(events().ListAttempts(webhook, "evt_00000000000000000000000000")->size(), 0u);
  EXPECT_EQ(listener_.size(), 0u);
}

// Park -----------------------------------------------------------------------

TEST_F(EventStoreTest, ParkForAPausedWebhookHoldsTheDeliveryUntilResume) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  const int64_t publish_us = NowUs();
  Pause("acme", webhook);  // pausing leaves due deliveries to the engine
  EXPECT_EQ(Delivery(webhook, event).state(), kPending);
  clock_.Advance(absl::Seconds(1));

  ASSERT_TRUE(Park(Due()[0]).ok());

  EXPECT_EQ(Delivery(webhook, event).state(), kHeld);
  EXPECT_EQ(Delivery(webhook, event).next_attempt_time_us(), 0);
  EXPECT_THAT(Due(), IsEmpty());
  EXPECT_EQ(listener_.updates().back().delivery.state(), kHeld);

  clock_.Advance(absl::Seconds(1));
  Resume("acme", webhook);
  const DeliveryRecord released = Delivery(webhook, event);
  EXPECT_EQ(released.state(), kPending);
  EXPECT_EQ(released.next_attempt_time_us(), publish_us);
  EXPECT_THAT(DueEvents(), ElementsAre(event));
}

TEST_F(EventStoreTest, ParkLeavesTheDeliveryDueWhenTheWebhookWasResumedMeanwhile) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  Pause("acme", webhook);   // the engine sees it paused and parks...
  Resume("acme", webhook);  // ...but the resume commits first

  ASSERT_TRUE(Park(Due()[0]).ok());

  EXPECT_EQ(Delivery(webhook, event).state(), kPending);
  EXPECT_THAT(DueEvents(), ElementsAre(event));
}

// A crash between a resume (or delete) and the end of its cascade leaves held
// deliveries behind an enabled (or missing) webhook; RepairHeld finishes it.
TEST_F(EventStoreTest, RepairHeldFinishesCascadesACrashInterrupted) {
  const std::string resumed = CreateWebhook("acme");
  const std::string deleted = CreateWebhook("acme");
  const std::string still_paused = CreateWebhook("acme");
  for (const std::string& webhook : {resumed, deleted, still_paused}) Pause("acme", webhook);
  const std::string event = MustPublish("acme");
  WebhookRecord enabled = *storage_->webhooks().Get("acme", resumed);
  enabled.set_enabled(true);
  storage_.reset();
  {
    DatabaseOptions options;
    options.path = dir_.Child("db");
    options.sync_writes = false;
    options.clock = &clock_;
    auto db = Database::Open(options);
    ASSERT_TRUE(db.ok()) << db.status();
    rocksdb::WriteBatch batch;  // the webhook writes, without their cascades
    batch.Put((*db)->handle(ColumnFamily::kWebhooks), WebhookKey("acme", resumed),
              enabled.SerializeAsString());
    batch.Delete((*db)->handle(ColumnFamily::kWebhooks), WebhookKey("acme", deleted));
    ASSERT_TRUE((*db)->Write(batch).ok());
  }
  OpenStorage();
  ASSERT_EQ(Delivery(resumed, event).state(), kHeld);

  auto repaired = events().RepairHeld();

  ASSERT_TRUE(repaired.ok()) << repaired.status();
  EXPECT_EQ(*repaired, 2);
  EXPECT_EQ(Delivery(resumed, event).state(), kPending);
  EXPECT_EQ(Delivery(deleted, event).state(), kCancelled);
  EXPECT_EQ(Delivery(still_paused, event).state(), kHeld);
  EXPECT_EQ(*events().RepairHeld(), 0) << "nothing left to repair";
}

TEST_F(EventStoreTest, ParkForADeletedWebhookCancelsTheDelivery) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  DeleteWebhookRecordOffline("acme", webhook);

  ASSERT_TRUE(Park(Due()[0]).ok());

  const DeliveryRecord delivery = Delivery(webhook, event);
  EXPECT_EQ(delivery.state(), kCancelled);
  EXPECT_EQ(delivery.state_reason(), "cancelled: the webhook was deleted");
  EXPECT_THAT(Due(), IsEmpty());
}

TEST_F(EventStoreTest, ParkOfAnOutdatedDueEntryLeavesTheDeliveryAlone) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  const DueDelivery outdated = Due()[0];
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(events().RetryNow("acme", webhook, event).ok());
  const size_t updates_before = listener_.size();

  ASSERT_TRUE(Park(outdated).ok());

  EXPECT_EQ(Delivery(webhook, event).state(), kPending);
  const std::vector<DueDelivery> due = Due();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].due_time_us, NowUs());
  EXPECT_EQ(listener_.size(), updates_before);
}

// RetryNow -------------------------------------------------------------------

TEST_F(EventStoreTest, RetryNowMakesAFailedDeliveryDueNow) {
  const std::string webhook = CreateWebhook("acme");
  const std::string event = MustPublish("acme");
  RecordAttemptRequest request = AttemptOf(webhook, event, AttemptOutcome::kRetryLater, 500);
  request.next_delay = [](int) -> std::optional<absl::Duration> { return std::nullopt; };
  ASSERT_TRUE(Record(std::move(request)).ok());
  ASSERT_EQ(Delivery(webhook, event).state(), kFailed);
  clock_.Advance(absl::Minutes(10));

  auto retried = events().RetryNow("acme", webhook, event);

  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->state(), kPending);
  EXPECT_EQ(retried->next_attempt_time_us(), NowUs());
  EXPECT_EQ(retried->attempt_count(), 1) << "earlier attempts still count";
  EXPECT_EQ(Delivery(webhook, event).SerializeAsString(), retried->SerializeAsString());
  const std::vector<DueDelivery> due = Due(clock_.Now() + absl::Microseconds(1));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].due_time_us, NowUs());
  EXPECT_EQ(listener_.updates().back().delivery.state(), kPending);
}

TEST_F(EventStoreTest, RetryNowRefusesCancelledPausedAndDeletedOnesAndOtherAccounts) {
  const std::string webhook = CreateWebhook("acme");
  const std::string cancelled = MustPublish("acme");
  ASSERT_TRUE(storage_->webhooks()
                  .Update(
                      "acme", webhook, [](WebhookRecord&) { return absl::OkStatus(); },
                      UpdateWebhookOptions{})
                  .ok());
  Pause("acme", webhook);
  ASSERT_TRUE(Park(Due()[0]).ok());  // held
  ASSERT_TRUE(storage_->webhooks()
                  .Update(
                      "acme", webhook,
                      [](WebhookRecord& record) {
                        record.set_enabled(true);
                        return absl::OkStatus();
                      },
                      UpdateWebhookOptions{/*drop_held_deliveries=*/true})
                  .ok());
  ASSERT_EQ(Delivery(webhook, cancelled).state(), kCancelled);
  const std::string delivered = MustPublish("acme");
  ASSERT_TRUE(Record(AttemptOf(webhook, delivered, AttemptOutcome::kDelivered, 200)).ok());

  auto of_cancelled = events().RetryNow("acme", webhook, cancelled);
  EXPECT_EQ(of_cancelled.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(of_cancelled.status().message()), HasSubstr("cancelled"));

  auto of_foreign = events().RetryNow("other", webhook, delivered);
  EXPECT_EQ(of_foreign.status().code(), absl::StatusCode::kNotFound);
  auto of_unknown = events().RetryNow("acme", webhook, "evt_00000000000000000000000000");
  EXPECT_EQ(of_unknown.status().code(), absl::StatusCode::kNotFound);

  Pause("acme", webhook);
  auto of_paused = events().RetryNow("acme", webhook, delivered);
  EXPECT_EQ(of_paused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(of_paused.status().message()), HasSubstr("paused"));

  ASSERT_TRUE(webhooks().Delete("acme", webhook).ok());
  auto of_deleted = events().RetryNow("acme", webhook, delivered);
  EXPECT_EQ(of_deleted.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(of_deleted.status().message()), HasSubstr("deleted"));

  EXPECT_EQ(Delivery(webhook, delivered).state(), kSucceeded) << "nothing changed";
  EXPECT_THAT(Due(), IsEmpty());
}

// Webhook changes and their cascades -----------------------------------------

TEST_F(EventStoreTest, PauseRecordsWhyAndWhenAndResumeReleasesHeldDeliveriesInPublishOrder) {
  const std::string webhook = CreateWebhook("acme");
  clock_.Advance(absl::Seconds(1));
  auto paused = SetEnabled("acme", webhook, false);
  ASSERT_TRUE(paused.ok()) << paused.status();
  EXPECT_EQ(paused->disabled_reason(), kDisabledReasonManual);
  EXPECT_EQ(paused->disable_time_us(), NowUs());
  EXPECT_EQ(GetWebhook("acme", webhook).SerializeAsString(), paused->SerializeAsString());

  std::vector<std::string> held;
  std::vector<int64_t> publish_times;
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Seconds(10));
    publish_times.push_back(NowUs());
    held.push_back(MustPublish("acme"));
    EXPECT_EQ(Delivery(webhook, held.back()).state(), kHeld);
  }
  EXPECT_THAT(Due(), IsEmpty());
  clock_.Advance(absl::Hours(1));
  const size_t updates_before = listener_.size();

  auto resumed = SetEnabled("acme", webhook, true);

  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_TRUE(resumed->enabled());
  EXPECT_EQ(resumed->disabled_reason(), 0);
  EXPECT_EQ(resumed->disable_time_us(), 0);
  const std::string after_resume = MustPublish("acme");
  for (int i = 0; i < 3; ++i) {
    const DeliveryRecord released = Delivery(webhook, held[i]);
    EXPECT_EQ(released.state(), kPending);
    EXPECT_EQ(released.next_attempt_time_us(), publish_times[i]);
    EXPECT_EQ(released.update_time_us(), NowUs());
  }
  EXPECT_THAT(DueEvents(clock_.Now() + absl::Microseconds(1)),
              ElementsAre(held[0], held[1], held[2], after_resume));
  const std::vector<DeliveryUpdate> updates = listener_.updates();
  ASSERT_EQ(updates.size(), updates_before + 4);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(updates[updates_before + i].delivery.event_id(), held[i]);
    EXPECT_EQ(updates[updates_before + i].delivery.state(), kPending);
  }
}

TEST_F(EventStoreTest, ResumeWithDropHeldDeliveriesCancelsThem) {
  const std::string webhook = CreateWebhook("acme");
  Pause("acme", webhook);
  const std::string e1 = MustPublish("acme");
  const std::string e2 = MustPublish("acme");

  Resume("acme", webhook, /*drop_held=*/true);

  for (const std::string& event : {e1, e2}) {
    const DeliveryRecord dropped = Delivery(webhook, event);
    EXPECT_EQ(dropped.state(), kCancelled);
    EXPECT_THAT(dropped.state_reason(), HasSubstr("dropped"));
  }
  EXPECT_THAT(Due(), IsEmpty());
  // Their held entries went with them: another pause and resume releases none.
  Pause("acme", webhook);
  Resume("acme", webhook);
  EXPECT_EQ(Delivery(webhook, e1).state(), kCancelled);
  EXPECT_THAT(Due(), IsEmpty());
}

TEST_F(EventStoreTest, DeleteCancelsUnfinishedDeliveriesAndRemovesTheirQueueEntries) {
  const std::string webhook = CreateWebhook("acme");
  const std::string other_webhook = CreateWebhook("acme");
  const std::string succeeded = MustPublish("acme");
  ASSERT_TRUE(Record(AttemptOf(webhook, succeeded, AttemptOutcome::kDelivered, 200)).ok());
  const std::string retrying = MustPublish("acme");
  ASSERT_TRUE(Record(AttemptOf(webhook, retrying, AttemptOutcome::kRetryLater, 500)).ok());
  const std::string pending = MustPublish("acme");
  Pause("acme", webhook);
  const std::string held = MustPublish("acme");
  ASSERT_EQ(Delivery(webhook, held).state(), kHeld);
  const size_t updates_before = listener_.size();

  ASSERT_TRUE(webhooks().Delete("acme", webhook).ok());

  EXPECT_EQ(Delivery(webhook, succeeded).state(), kSucceeded);
  for (const std::string& event : {retrying, pending, held}) {
    const DeliveryRecord cancelled = Delivery(webhook, event);
    EXPECT_EQ(cancelled.state(), kCancelled) << event;
    EXPECT_EQ(cancelled.state_reason(), "cancelled: the webhook was deleted");
  }
  EXPECT_EQ(listener_.size(), updates_before + 3);
  std::vector<std::string> due_webhooks;
  for (const DueDelivery& entry : Due()) due_webhooks.push_back(entry.webhook_id);
  EXPECT_EQ(due_webhooks, std::vector<std::string>(4, other_webhook));
  EXPECT_THAT(CountKeysOffline({ColumnFamily::kHeld}), ElementsAre(0));
}

// More than one chunk: the rest follows in follow-up operations.
TEST_F(EventStoreTest, ResumeReleasesMoreHeldDeliveriesThanOneCascadeChunk) {
  constexpr int kEvents = 2500;
  static_assert(kEvents > 2 * kCascadeChunk);
  const std::string webhook = CreateWebhook("acme");
  Pause("acme", webhook);
  absl::Mutex mu;
  int published = 0;
  int failed = 0;
  for (int i = 0; i < kEvents; ++i) {
    PublishRequest request;
    request.account = "acme";
    request.event_type = "booking.created";
    request.data_json = "{}";
    events().Publish(std::move(request), [&](absl::StatusOr<PublishResult> result) {
      absl::MutexLock lock(&mu);
      ++published;
      if (!result.ok()) ++failed;
    });
  }
  {
    absl::MutexLock lock(&mu);
    auto all_done = [&] { return published == kEvents; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all_done), absl::Seconds(60)));
    ASSERT_EQ(failed, 0);
  }
  ASSERT_EQ(listener_.size(), static_cast<size_t>(kEvents));

  Resume("acme", webhook);

  ASSERT_TRUE(listener_.WaitForAtLeast(2 * kEvents, absl::Seconds(60)))
      << "released " << listener_.size() - kEvents << " of " << kEvents;
  const std::vector<DeliveryUpdate> updates = listener_.updates();
  ASSERT_EQ(updates.size(), static_cast<size_t>(2 * kEvents));
  for (size_t i = 0; i < updates.size(); ++i) {
    ASSERT_EQ(updates[i].sequence, i + kFirstUpdateSequence);
    ASSERT_EQ(updates[i].delivery.state(), i < static_cast<size_t>(kEvents) ? kHeld : kPending)
        << i;
  }
  auto pending = events().ListDeliveriesOfWebhook("acme", webhook, "", kPending, 2 * kEvents);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_EQ(pending->deliveries.size(), static_cast<size_t>(kEvents));
  // Due in publish order, which is the order of the held updates.
  std::vector<std::string> publish_order;
  for (int i = 0; i < kEvents; ++i) publish_order.push_back(updates[i].delivery.event_id());
  EXPECT_THAT(DueEvents(), ElementsAreArray(publish_order));
}

// Update log -----------------------------------------------------------------

TEST_F(EventStoreTest, ReadUpdatesReturnsTheLogInOrderFromAfter) {
  const std::string first_webhook = CreateWebhook("acme");
  CreateWebhook("acme");
  CreateWebhook("acme");
  const std::string e1 = MustPublish("acme");
  MustPublish("acme");
  ASSERT_TRUE(Record(AttemptOf(first_webhook, e1, AttemptOutcome::kDelivered, 200)).ok());
  const std::vector<DeliveryUpdate> told = listener_.updates();
  ASSERT_EQ(told.size(), 7u);

  auto head = events().ReadUpdates(0, 4);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_THAT(Sequences(*head), ElementsAre(2u, 3u, 4u, 5u));
  auto tail = events().ReadUpdates(5, 100);
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_THAT(Sequences(*tail), ElementsAre(6u, 7u, 8u));
  auto none = events().ReadUpdates(8, 100);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, IsEmpty());

  std::vector<DeliveryUpdate> read = *head;
  read.insert(read.end(), tail->begin(), tail->end());
  for (size_t i = 0; i < read.size(); ++i) {
    EXPECT_EQ(read[i].delivery.SerializeAsString(), told[i].delivery.SerializeAsString()) << i;
  }
  EXPECT_EQ(read[6].delivery.state(), kSucceeded);
  EXPECT_EQ(read[6].delivery.last_attempt().http_status(), 200);
  EXPECT_EQ(read[6].delivery.last_attempt().response_body(), "");
  auto oldest = events().OldestUpdateSequence();
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  EXPECT_EQ(*oldest, 2u);
}

TEST_F(EventStoreTest, OldestUpdateSequenceOfAnEmptyLogIsZero) {
  auto oldest = events().OldestUpdateSequence();
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  EXPECT_EQ(*oldest, 0u);
}

// Retention ------------------------------------------------------------------

TEST_F(EventStoreTest, PurgeDeletesOldEventsWithEverythingTheyLeftAndKeepsYoungOnes) {
  const std::string webhook = CreateWebhook("acme");
  const std::string paused = CreateWebhook("acme");
  Pause("acme", paused);
  const std::string old_retrying = MustPublish("acme");
  ASSERT_TRUE(Record(AttemptOf(webhook, old_retrying, AttemptOutcome::kRetryLater, 500)).ok());
  const std::string old_pending = MustPublish("acme");
  const std::string old_elsewhere = MustPublish("other");
  clock_.Advance(absl::Hours(48));
  const std::string young = MustPublish("acme");
  ASSERT_TRUE(Record(AttemptOf(webhook, young, AttemptOutcome::kRetryLater, 500)).ok());
  const uint64_t first_young_sequence = events().GetEvent("acme", young)->watch_cursor() + 1;

  auto purged = events().PurgeOlderThan(clock_.Now() - absl::Hours(24), 100);

  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, 3);
  for (const std::string& event : {old_retrying, old_pending}) {
    EXPECT_EQ(events().GetEvent("acme", event).status().code(), absl::StatusCode::kNotFound);
    for (const std::string& to : {webhook, paused}) {
      EXPECT_EQ(events().ReadDelivery(to, event).status().code(), absl::StatusCode::kNotFound);
    }
    EXPECT_THAT(events().ListDeliveriesOfEvent("acme", event, "", 0, 10)->deliveries, IsEmpty());
  }
  EXPECT_EQ(events().GetEvent("other", old_elsewhere).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(*events().ListAttempts(webhook, old_retrying), IsEmpty());
  EXPECT_THAT(EventIds(events().ListEvents("acme", "", "", 10)->events), ElementsAre(young));
  EXPECT_THAT(DueEvents(), ElementsAre(young));
  EXPECT_EQ(Delivery(webhook, young).state(), kRetryScheduled);
  EXPECT_EQ(Delivery(paused, young).state(), kHeld);
  EXPECT_EQ(events().ListAttempts(webhook, young)->size(), 1u);
  auto oldest = events().OldestUpdateSequence();
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  EXPECT_EQ(*oldest, first_young_sequence);
  EXPECT_THAT(
      Sequences(*events().ReadUpdates(0, 100)),
      ElementsAre(first_young_sequence, first_young_sequence + 1, first_young_sequence + 2));

  auto again = events().PurgeOlderThan(clock_.Now() - absl::Hours(24), 100);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, 0);

  // Only the young event's entries are left: its held delivery, one attempt,
  // two deliveries with their index entries.
  EXPECT_THAT(
      CountKeysOffline({ColumnFamily::kHeld, ColumnFamily::kAttempts, ColumnFamily::kDeliveries,
                        ColumnFamily::kDeliveriesByEvent, ColumnFamily::kEvents}),
      ElementsAre(1, 1, 2, 2, 1));
}

TEST_F(EventStoreTest, PurgeDeletesAtMostLimitEventsPerCall) {
  for (int i = 0; i < 3; ++i) MustPublish("acme");
  clock_.Advance(absl::Hours(48));
  const absl::Time cutoff = clock_.Now() - absl::Hours(24);

  EXPECT_EQ(*events().PurgeOlderThan(cutoff, 2), 2);
  EXPECT_EQ(*events().PurgeOlderThan(cutoff, 2), 1);
  EXPECT_EQ(*events().PurgeOlderThan(cutoff, 2), 0);
  EXPECT_THAT(events().ListEvents("acme", "", "", 10)->events, IsEmpty());
}

// Reopening ------------------------------------------------------------------

TEST_F(EventStoreTest, AfterReopenTheUpdateSequenceContinuesAfterTheLastOne) {
  CreateWebhook("acme");
  CreateWebhook("acme");
  const std::string before = MustPublish("acme");
  ASSERT_EQ(storage_->next_update_sequence(), 4u);

  storage_.reset();
  OpenStorage();

  EXPECT_EQ(storage_->next_update_sequence(), 4u);
  auto after = Publish("acme", "booking.created");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->event.watch_cursor(), 3u);
  EXPECT_THAT(Sequences(listener_.updates()), ElementsAre(2u, 3u, 4u, 5u));
  EXPECT_TRUE(events().GetEvent("acme", before).ok());
}

// A watcher's cursor must stay valid across a restart even when retention has
// removed every old update: sequence numbers are never handed out twice.
TEST_F(EventStoreTest, AfterPurgingTheWholeLogAndReopeningSequencesAreNotReused) {
  CreateWebhook("acme");
  MustPublish("acme");
  MustPublish("acme");
  ASSERT_EQ(storage_->next_update_sequence(), 4u);
  clock_.Advance(absl::Hours(48));
  ASSERT_EQ(*events().PurgeOlderThan(clock_.Now() - absl::Hours(24), 100), 2);
  auto oldest = events().OldestUpdateSequence();
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  EXPECT_EQ(*oldest, 3u) << "the newest entry is kept";
  EXPECT_EQ(*events().PurgeOlderThan(clock_.Now() - absl::Hours(24), 100), 0);
  EXPECT_EQ(*events().OldestUpdateSequence(), 3u);

  storage_.reset();
  OpenStorage();

  EXPECT_EQ(storage_->next_update_sequence(), 4u);
  auto after = Publish("acme", "booking.created");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->event.watch_cursor(), 3u);
  EXPECT_EQ(listener_.updates().back().sequence, 4u);
}

}  // namespace
}  // namespace wink::webhooks::storage
