// RocksDbDeliveryLedger: column families `deliveries`, `deliveries_by_event`,
// `attempts`, and the queue entries (`due`, `held`) StageTransition keeps.
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/common/ids.h"
#include "service/common/status_macros.h"
#include "service/domain/webhook_lifecycle.h"
#include "service/storage/records.h"
#include "service/storage/rocksdb/delivery_writes.h"
#include "service/storage/rocksdb/keys.h"
#include "service/storage/rocksdb/stores.h"

namespace wink::webhooks::storage::rocks {
namespace {

absl::Status DeliveryNotFound(absl::string_view webhook_id, absl::string_view event_id) {
  return absl::NotFoundError(
      absl::StrCat("delivery of event ", event_id, " to webhook ", webhook_id, " not found"));
}

}  // namespace

absl::StatusOr<DeliveryRecord> RocksDbDeliveryLedger::ReadDelivery(absl::string_view webhook_id,
                                                                   absl::string_view event_id) {
  WINK_ASSIGN_OR_RETURN(std::optional<DeliveryRecord> delivery,
                        ReadRecord<DeliveryRecord>(context_.db, ColumnFamily::kDeliveries,
                                                   DeliveryKey(webhook_id, event_id),
                                                   kDeliveryRecordVersion, "delivery"));
  if (!delivery.has_value()) return DeliveryNotFound(webhook_id, event_id);
  return *std::move(delivery);
}

absl::StatusOr<DeliveryRecord> RocksDbDeliveryLedger::GetDelivery(absl::string_view account,
                                                                  absl::string_view webhook_id,
                                                                  absl::string_view event_id) {
  WINK_ASSIGN_OR_RETURN(DeliveryRecord delivery, ReadDelivery(webhook_id, event_id));
  if (delivery.account() != account) return DeliveryNotFound(webhook_id, event_id);
  return delivery;
}

absl::StatusOr<std::vector<AttemptRecord>> RocksDbDeliveryLedger::ListAttempts(
    absl::string_view webhook_id, absl::string_view event_id) {
  PrefixIterator it(context_.db, ColumnFamily::kAttempts, DeliveryKey(webhook_id, event_id));
  std::vector<AttemptRecord> attempts;
  for (it->Seek(it.prefix()); it->Valid(); it->Next()) {
    AttemptRecord attempt;
    WINK_RETURN_IF_ERROR(
        DecodeRecord(View(it->value()), kAttemptRecordVersion, "attempt", attempt));
    attempts.push_back(std::move(attempt));
  }
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "listing attempts"));
  return attempts;
}

absl::StatusOr<DeliveryPage> RocksDbDeliveryLedger::ListDeliveriesOfWebhook(
    absl::string_view account, absl::string_view webhook_id, absl::string_view after_event_id,
    int state, int limit) {
  PrefixIterator it(context_.db, ColumnFamily::kDeliveries, DeliveryKeyPrefix(webhook_id));
  it.SeekPast(after_event_id.empty() ? "" : DeliveryKey(webhook_id, after_event_id));
  DeliveryPage page;
  int scanned = 0;
  std::string last_scanned;
  for (; it->Valid(); it->Next()) {
    if (static_cast<int>(page.deliveries.size()) == limit || scanned == limit * kScanFactor) {
      page.continue_from = last_scanned;
      break;
    }
    ++scanned;
    DeliveryRecord delivery;
    WINK_RETURN_IF_ERROR(
        DecodeRecord(View(it->value()), kDeliveryRecordVersion, "delivery", delivery));
    // All deliveries of a webhook belong to its account: one foreign record
    // means a foreign webhook.
    if (delivery.account() != account) return DeliveryPage{};
    last_scanned = delivery.event_id();
    if (state != 0 && delivery.state() != state) continue;
    page.deliveries.push_back(std::move(delivery));
  }
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "listing deliveries"));
  return page;
}

absl::StatusOr<DeliveryPage> RocksDbDeliveryLedger::ListDeliveriesOfEvent(
    absl::string_view account, absl::string_view event_id, absl::string_view after_webhook_id,
    int state, int limit) {
  PrefixIterator it(context_.db, ColumnFamily::kDeliveriesByEvent,
                    DeliveryByEventKeyPrefix(event_id));
  it.SeekPast(after_webhook_id.empty() ? "" : DeliveryByEventKey(event_id, after_webhook_id));
  DeliveryPage page;
  int scanned = 0;
  std::string last_scanned;
  for (; it->Valid(); it->Next()) {
    if (static_cast<int>(page.deliveries.size()) == limit || scanned == limit * kScanFactor) {
      page.continue_from = last_scanned;
      break;
    }
    ++scanned;
    KeyReader reader(View(it->key()));
    absl::string_view stored_event, webhook_id;
    if (!reader.Str(&stored_event) || !reader.Str(&webhook_id)) continue;
    last_scanned = std::string(webhook_id);
    auto delivery = ReadDelivery(webhook_id, event_id);
    if (absl::IsNotFound(delivery.status())) continue;
    WINK_RETURN_IF_ERROR(delivery.status());
    if (delivery->account() != account) return DeliveryPage{};
    if (state != 0 && delivery->state() != state) continue;
    page.deliveries.push_back(*std::move(delivery));
  }
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "listing deliveries"));
  return page;
}

absl::StatusOr<DeliveryLogPage> RocksDbDeliveryLedger::ListDeliveriesOfAccount(
    absl::string_view account, const DeliveryLogFilter& filter,
    const std::optional<DeliveryLogPosition>& after, int limit) {
  // The account's events newest first, each with its deliveries from the
  // by-event index. Starts at the event the previous page ended in (it may
  // have more deliveries), else just below the end of the time range.
  const std::string prefix = EventKeyPrefix(account);
  std::unique_ptr<rocksdb::Iterator> events = context_.db.NewIterator(ColumnFamily::kEvents);
  if (after.has_value()) {
    events->SeekForPrev(EventKey(account, after->event_id));
  } else {
    const std::string end = filter.published_before == absl::InfiniteFuture()
                                ? PrefixSuccessor(prefix)
                                : EventKey(account, FirstIdAt(filter.published_before,
                                                              kEventIdPrefix));
    if (end.empty()) {
      events->SeekToLast();
    } else {
      events->SeekForPrev(end);
      if (events->Valid() && View(events->key()) == end) events->Prev();
    }
  }

  DeliveryLogPage page;
  const int max_scanned = limit * kScanFactor;
  int scanned = 0;
  // The last place looked at completely: where the next page starts.
  std::optional<DeliveryLogPosition> done;
  const auto page_ends = [&] {
    return static_cast<int>(page.deliveries.size()) == limit || scanned >= max_scanned;
  };
  for (; events->Valid() && absl::StartsWith(View(events->key()), prefix); events->Prev()) {
    if (page_ends() && done.has_value()) {
      page.continue_from = std::move(done);
      return page;
    }
    ++scanned;
    KeyReader event_key(View(events->key()));
    absl::string_view stored_account, event_id;
    if (!event_key.Str(&stored_account) || !event_key.Str(&event_id)) continue;
    const absl::Time published = IdTime(event_id, kEventIdPrefix);
    if (published < filter.published_from) break;  // the rest is older still
    const bool resuming = after.has_value() && after->event_id == event_id;
    done = DeliveryLogPosition{std::string(event_id), resuming ? after->webhook_id : ""};
    if (published >= filter.published_before) continue;

    PrefixIterator deliveries(context_.db, ColumnFamily::kDeliveriesByEvent,
                              DeliveryByEventKeyPrefix(event_id));
    deliveries.SeekPast(done->webhook_id.empty() ? ""
                                                 : DeliveryByEventKey(event_id, done->webhook_id));
    for (; deliveries->Valid(); deliveries->Next()) {
      if (page_ends()) {
        page.continue_from = std::move(done);
        return page;
      }
      ++scanned;
      KeyReader delivery_key(View(deliveries->key()));
      absl::string_view stored_event, webhook_id;
      if (!delivery_key.Str(&stored_event) || !delivery_key.Str(&webhook_id)) continue;
      done->webhook_id = std::string(webhook_id);
      auto delivery = ReadDelivery(webhook_id, event_id);
      if (absl::IsNotFound(delivery.status())) continue;  // purged meanwhile
      WINK_RETURN_IF_ERROR(delivery.status());
      if (delivery->account() != account) continue;
      if (filter.state != 0 && delivery->state() != filter.state) continue;
      page.deliveries.push_back(*std::move(delivery));
    }
    WINK_RETURN_IF_ERROR(FromRocksDb(deliveries->status(), "listing deliveries"));
  }
  WINK_RETURN_IF_ERROR(FromRocksDb(events->status(), "listing deliveries"));
  return page;
}

absl::StatusOr<DeliveryRecord> RocksDbDeliveryLedger::RetryNow(absl::string_view account,
                                                               absl::string_view webhook_id,
                                                               absl::string_view event_id) {
  DeliveryRecord result;
  WINK_RETURN_IF_ERROR(context_.writer.Run([&](WriteTxn& txn) -> absl::Status {
    WINK_ASSIGN_OR_RETURN(const std::optional<DeliveryRecord> before,
                          ReadDeliveryIn(txn, webhook_id, event_id));
    if (!before.has_value() || before->account() != account) {
      return DeliveryNotFound(webhook_id, event_id);
    }
    WINK_ASSIGN_OR_RETURN(const std::optional<WebhookRecord> webhook,
                          ReadWebhookIn(txn, account, webhook_id));
    domain::Transition retried =
        domain::NextDelivery(&*before, webhook.has_value() ? &*webhook : nullptr,
                             domain::ManualRetry{}, context_.clock.Now());
    WINK_RETURN_IF_ERROR(retried.status);
    result = *retried.after;
    result.set_version(kDeliveryRecordVersion);
    StageTransition(txn, context_, &*before, std::move(retried));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<AttemptContext> RocksDbDeliveryLedger::LoadAttempt(absl::string_view webhook_id,
                                                                  absl::string_view event_id) {
  AttemptContext loaded;
  WINK_ASSIGN_OR_RETURN(loaded.delivery, ReadDelivery(webhook_id, event_id));
  const std::string& account = loaded.delivery.account();
  WINK_ASSIGN_OR_RETURN(loaded.webhook, WebhookForAttempt(account, webhook_id));
  WINK_ASSIGN_OR_RETURN(loaded.event, ReadRecord<EventRecord>(context_.db, ColumnFamily::kEvents,
                                                              EventKey(account, event_id),
                                                              kEventRecordVersion, "event"));
  return loaded;
}

absl::StatusOr<std::optional<WebhookRecord>> RocksDbDeliveryLedger::WebhookForAttempt(
    absl::string_view account, absl::string_view webhook_id) {
  std::string key = WebhookKey(account, webhook_id);
  // Taken before the read: a commit that lands after it moves it, so what
  // is read now is never kept past a change it did not see.
  const uint64_t generation = context_.writer.webhooks_generation();
  {
    absl::MutexLock lock(&kept_webhooks_mu_);
    auto kept = kept_webhooks_.find(key);
    if (kept != kept_webhooks_.end() && kept->second.generation == generation) {
      return kept->second.record;
    }
  }
  WINK_ASSIGN_OR_RETURN(std::optional<WebhookRecord> read,
                        ReadRecord<WebhookRecord>(context_.db, ColumnFamily::kWebhooks, key,
                                                  kWebhookRecordVersion, "webhook"));
  if (!read.has_value()) return read;
  absl::MutexLock lock(&kept_webhooks_mu_);
  if (kept_webhooks_.size() >= kMaxKeptWebhooks) kept_webhooks_.clear();
  kept_webhooks_.insert_or_assign(std::move(key), KeptWebhook{generation, *read});
  return read;
}

void RocksDbDeliveryLedger::RecordAttempt(RecordAttemptRequest request,
                                          std::function<void(absl::Status)> done) {
  context_.writer.Submit(
      [this, request = std::move(request)](WriteTxn& txn) mutable -> absl::Status {
        WINK_ASSIGN_OR_RETURN(const std::optional<DeliveryRecord> before,
                              ReadDeliveryIn(txn, request.webhook_id, request.event_id));
        if (!before.has_value()) return absl::OkStatus();  // purged meanwhile
        WINK_ASSIGN_OR_RETURN(
            const std::shared_ptr<const WebhookRecord> webhook,
            context_.known_webhooks.Find(txn, before->account(), request.webhook_id));
        request.finished.rules = request.rules.get();
        StageTransition(txn, context_, &*before,
                        domain::NextDelivery(&*before, webhook.get(), request.finished,
                                             context_.clock.Now()));
        return absl::OkStatus();
      },
      std::move(done));
}

void RocksDbDeliveryLedger::Park(std::string webhook_id, std::string event_id, int64_t due_time_us,
                                 std::function<void(absl::Status)> done) {
  context_.writer.Submit(
      [this, webhook_id = std::move(webhook_id), event_id = std::move(event_id),
       due_time_us](WriteTxn& txn) -> absl::Status {
        WINK_ASSIGN_OR_RETURN(const std::optional<DeliveryRecord> before,
                              ReadDeliveryIn(txn, webhook_id, event_id));
        const std::string due_key = DueKey(due_time_us, webhook_id, event_id);
        if (!before.has_value()) {
          txn.Delete(ColumnFamily::kDue, due_key);  // nothing points to it
          txn.Delete(ColumnFamily::kDueByWebhook, DeliveryKey(webhook_id, event_id));
          return absl::OkStatus();
        }
        if (!domain::IsDue(before->state()) || before->next_attempt_time_us() != due_time_us) {
          // A stale queue entry: the delivery moved on, and the transition
          // that moved it put its new entries (not put again here: a queue
          // key is put once, IsPutOnceQueue). Deleting one that is gone
          // already is harmless.
          txn.Delete(ColumnFamily::kDue, due_key);
          if (!domain::IsDue(before->state())) {
            txn.Delete(ColumnFamily::kDueByWebhook, DeliveryKey(webhook_id, event_id));
          }
          return absl::OkStatus();
        }
        // Decided on the state as of this write, not as the engine saw it: a
        // webhook resumed since must not end up with a HELD delivery nothing
        // would release.
        WINK_ASSIGN_OR_RETURN(const std::optional<WebhookRecord> webhook,
                              ReadWebhookIn(txn, before->account(), webhook_id));
        bool event_exists = true;
        if (webhook.has_value() && webhook->enabled()) {
          auto event = txn.Get(ColumnFamily::kEvents, EventKey(before->account(), event_id));
          if (!event.ok() && !absl::IsNotFound(event.status())) return event.status();
          event_exists = event.ok();
        }
        StageTransition(
            txn, context_, &*before,
            domain::NextDelivery(&*before, webhook.has_value() ? &*webhook : nullptr,
                                 domain::Park{due_time_us, event_exists}, context_.clock.Now()));
        return absl::OkStatus();
      },
      std::move(done));
}

absl::Status RocksDbDeliveryLedger::ProbeWritable() {
  // After a full disk RocksDB recovers by itself once it sees free space
  // again; the write only asks whether it has. (A manual DB::Resume while
  // the disk is still full would make its error fatal: then only a restart
  // of the server brings writes back, and loses nothing acknowledged.)
  return context_.writer.Run([](WriteTxn& txn) -> absl::Status {
    txn.Put(ColumnFamily::kDefault, kWriteProbeKey, "");
    return absl::OkStatus();
  });
}

absl::StatusOr<int> RocksDbDeliveryLedger::RepairInterruptedCascades() {
  // Webhooks with held deliveries: one seek per webhook.
  struct Candidate {
    std::string account;
    std::string webhook_id;
  };
  std::vector<Candidate> candidates;
  {
    std::unique_ptr<rocksdb::Iterator> it = context_.db.NewIterator(ColumnFamily::kHeld);
    it->SeekToFirst();
    while (it->Valid()) {
      KeyReader reader(View(it->key()));
      absl::string_view webhook_id, event_id;
      if (!reader.Str(&webhook_id) || !reader.Str(&event_id)) {
        it->Next();
        continue;
      }
      auto delivery = ReadDelivery(webhook_id, event_id);
      if (delivery.ok()) {
        candidates.push_back(Candidate{delivery->account(), std::string(webhook_id)});
      }
      const std::string next = PrefixSuccessor(DeliveryKeyPrefix(webhook_id));
      if (next.empty()) break;
      it->Seek(next);
    }
    WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "scanning held deliveries"));
  }
  int repaired = 0;
  for (const Candidate& candidate : candidates) {
    WINK_RETURN_IF_ERROR(context_.writer.Run([&](WriteTxn& txn) -> absl::Status {
      WINK_ASSIGN_OR_RETURN(const std::optional<WebhookRecord> webhook,
                            ReadWebhookIn(txn, candidate.account, candidate.webhook_id));
      const domain::Cascade cascade =
          domain::InterruptedCascade(webhook.has_value() ? &*webhook : nullptr);
      if (cascade == domain::Cascade::kNone) return absl::OkStatus();  // held, rightly
      ++repaired;
      return StageCascade(txn, context_, cascade, candidate.account, candidate.webhook_id,
                          webhook.has_value() ? webhook->resume_generation() : 0);
    }));
  }
  return repaired;
}

}  // namespace wink::webhooks::storage::rocks
