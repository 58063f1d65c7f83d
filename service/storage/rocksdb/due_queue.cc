// RocksDbDueQueue: column family `due`, keys (time, webhook id, event id),
// and its index by webhook, `due_by_webhook` (delivery_writes.cc keeps both).
#include <algorithm>
#include <cstdint>
#include <memory>

#include "rocksdb/write_batch.h"
#include "service/common/status_macros.h"
#include "service/storage/records.h"
#include "service/storage/rocksdb/delivery_writes.h"
#include "service/storage/rocksdb/keys.h"
#include "service/storage/rocksdb/stores.h"

namespace wink::webhooks::storage::rocks {
namespace {

// In kDefault once `due_by_webhook` holds every entry of `due`.
constexpr absl::string_view kDueIndexedKey = "due_by_webhook_indexed";

}  // namespace

absl::Status RocksDbDueQueue::ScanDue(absl::Time from, absl::Time before,
                                      const std::function<bool(const DueDelivery&)>& visit) {
  const std::string bound = DueKeyLowerBound(absl::ToUnixMicros(before));
  const rocksdb::Slice bound_slice(bound);
  std::unique_ptr<rocksdb::Iterator> it = context_.db.NewIterator(ColumnFamily::kDue, &bound_slice);
  if (from == absl::InfinitePast()) {
    it->SeekToFirst();
  } else {
    it->Seek(DueKeyLowerBound(absl::ToUnixMicros(from)));
  }
  for (; it->Valid(); it->Next()) {
    DueKeyParts parts;
    if (!DecodeDueKey(View(it->key()), &parts)) continue;
    if (!visit(DueDelivery{parts.time_us, std::string(parts.webhook_id),
                           std::string(parts.event_id)})) {
      break;
    }
  }
  return FromRocksDb(it->status(), "scanning the delivery queue");
}

absl::StatusOr<std::optional<absl::Time>> RocksDbDueQueue::EarliestDueTimeAfter(absl::Time after) {
  std::unique_ptr<rocksdb::Iterator> it = context_.db.NewIterator(ColumnFamily::kDue);
  it->Seek(DueKeyLowerBound(absl::ToUnixMicros(after) + 1));
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "reading the delivery queue"));
  if (!it->Valid()) return std::nullopt;
  DueKeyParts parts;
  if (!DecodeDueKey(View(it->key()), &parts)) {
    return absl::DataLossError("corrupt key in the delivery queue");
  }
  return absl::FromUnixMicros(parts.time_us);
}

absl::StatusOr<std::optional<DueDelivery>> RocksDbDueQueue::FirstOfWebhook(
    absl::string_view webhook_id) {
  PrefixIterator it(context_.db, ColumnFamily::kDueByWebhook, DeliveryKeyPrefix(webhook_id));
  it->Seek(it.prefix());
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "reading the delivery queue"));
  if (!it->Valid()) return std::nullopt;
  KeyReader reader(View(it->key()));
  absl::string_view webhook, event;
  if (!reader.Str(&webhook) || !reader.Str(&event)) {
    return absl::DataLossError("corrupt key in the delivery queue's webhook index");
  }
  // The due time is the delivery's own: the index is not rewritten when a
  // retry moves it.
  WINK_ASSIGN_OR_RETURN(std::optional<DeliveryRecord> delivery,
                        ReadRecord<DeliveryRecord>(context_.db, ColumnFamily::kDeliveries,
                                                   DeliveryKey(webhook_id, event),
                                                   kDeliveryRecordVersion, "delivery"));
  if (!delivery.has_value()) {
    return absl::DataLossError("the delivery queue's webhook index names a missing delivery");
  }
  return DueDelivery{delivery->next_attempt_time_us(), std::string(webhook_id), std::string(event)};
}

absl::Status IndexDueByWebhookIfNotIndexed(Database& db) {
  auto indexed = db.Get(ColumnFamily::kDefault, kDueIndexedKey);
  if (indexed.ok()) return absl::OkStatus();
  if (!absl::IsNotFound(indexed.status())) return indexed.status();
  // One batch with the marker: a crash midway leaves no half index.
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it = db.NewIterator(ColumnFamily::kDue);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    DueKeyParts parts;
    if (!DecodeDueKey(View(it->key()), &parts)) continue;
    batch.Put(db.handle(ColumnFamily::kDueByWebhook), DeliveryKey(parts.webhook_id, parts.event_id),
              "");
  }
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "indexing the delivery queue by webhook"));
  batch.Put(db.handle(ColumnFamily::kDefault), std::string(kDueIndexedKey), "");
  return db.Write(batch);
}

uint64_t RocksDbDueQueue::EstimatedSize() {
  // Kept as writes commit, so a scrape costs no scan.
  return static_cast<uint64_t>(std::max<int64_t>(0, context_.due_entries.load()));
}

}  // namespace wink::webhooks::storage::rocks
