// RocksDbDueQueue: column family `due`, keys (time, webhook id, event id).
#include <memory>

#include "service/common/status_macros.h"
#include "service/storage/rocksdb/keys.h"
#include "service/storage/rocksdb/stores.h"

namespace wink::webhooks::storage::rocks {
namespace {

absl::string_view View(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

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

uint64_t RocksDbDueQueue::EstimatedSize() {
  // A RocksDB property, so a scrape costs no scan.
  uint64_t keys = 0;
  context_.db.rocksdb()->GetIntProperty(context_.db.handle(ColumnFamily::kDue),
                                        "rocksdb.estimate-num-keys", &keys);
  return keys;
}

}  // namespace wink::webhooks::storage::rocks
