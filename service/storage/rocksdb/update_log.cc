// RocksDbUpdateLog: column family `updates`, keys (sequence). Sequences are
// assigned by the writer in commit order (writer.h).
#include <memory>

#include "service/common/status_macros.h"
#include "service/storage/records.h"
#include "service/storage/rocksdb/keys.h"
#include "service/storage/rocksdb/stores.h"
#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::storage::rocks {
namespace {

using ::wink::webhooks::internal::v1::DeliveryUpdateRecord;

}  // namespace

absl::StatusOr<std::vector<DeliveryUpdate>> RocksDbUpdateLog::ReadUpdates(uint64_t after,
                                                                          int limit) {
  std::unique_ptr<rocksdb::Iterator> it = context_.db.NewIterator(ColumnFamily::kUpdates);
  std::vector<DeliveryUpdate> updates;
  for (it->Seek(UpdateKey(after + 1)); it->Valid(); it->Next()) {
    if (static_cast<int>(updates.size()) == limit) break;
    DeliveryUpdate update;
    if (!DecodeUpdateKey(View(it->key()), &update.sequence)) {
      return absl::DataLossError("corrupt key in the update log");
    }
    DeliveryUpdateRecord record;
    WINK_RETURN_IF_ERROR(
        DecodeRecord(View(it->value()), kUpdateRecordVersion, "delivery update", record));
    update.delivery = std::move(*record.mutable_delivery());
    updates.push_back(std::move(update));
  }
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "reading the update log"));
  return updates;
}

absl::StatusOr<uint64_t> RocksDbUpdateLog::OldestSequence() {
  std::unique_ptr<rocksdb::Iterator> it = context_.db.NewIterator(ColumnFamily::kUpdates);
  it->SeekToFirst();
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "reading the update log"));
  if (!it->Valid()) return 0;
  uint64_t sequence = 0;
  if (!DecodeUpdateKey(View(it->key()), &sequence)) {
    return absl::DataLossError("corrupt key in the update log");
  }
  return sequence;
}

uint64_t RocksDbUpdateLog::LastSequence() { return context_.writer.next_update_sequence() - 1; }

void RocksDbUpdateLog::AddListener(UpdateListener* listener) { context_.listeners.Add(listener); }

void RocksDbUpdateLog::RemoveListener(UpdateListener* listener) {
  context_.listeners.Remove(listener);
}

}  // namespace wink::webhooks::storage::rocks
